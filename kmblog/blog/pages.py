"""What the reader's pages share, for the views of the blog and of comments: the
context of the layout around every page, and the post page with its comments and form
(shown by the blog, and again by the comment form with its errors)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from kmblog.blog.services import CommentsAt, Sidebar, load_post_page
from kmblog.comments.edit_claims import EDIT_COOKIE, read_claims
from kmblog.comments.forms import CommentForm
from kmblog.comments.services import comments_open, editable_comments
from kmblog.context import current_settings, current_sidebar, current_sidebar_html
from kmblog.formtimer import TimerKind
from kmblog.models import MAX_ID, Post
from kmblog.urls import comment_time, post_url


def feed_links(*extra: tuple[str, str]) -> list[tuple[str, str]]:
    """The feeds every page advertises, then the page's own."""
    title = current_settings().title
    return [
        (f"{title} - Atom", url_for("feeds.posts")),
        (f"{title} - Comments - Atom", url_for("feeds.comments")),
        *extra,
    ]


def page_context(now: datetime, sidebar: Sidebar | None = None) -> dict[str, Any]:
    """What the layout around every page shows: settings, sidebar, feed links."""
    return {
        "settings": current_settings(),
        "sidebar": sidebar or current_sidebar(now),
        "sidebar_counts": current_sidebar_html(now),
        "feeds": feed_links(),
    }


def render_post_page(
    post: Post,
    form: CommentForm,
    now: datetime,
    status: int = 200,
    notice: str = "",
) -> Any:
    """A post, its comments and the comment form (also used to show form errors)."""
    if request.method == "POST":
        # The form shown again to the one who sent it: a timer of their own.
        form.keep_reader_timer()
    else:
        # An author's page is made for them alone; a reader's is shared by every reader.
        form.start_timer(TimerKind.READER if current_user.is_authenticated else TimerKind.PAGE)
    at = _comments_at()
    page = load_post_page(post, now, at, current_app.config["COMMENTS_PER_PAGE"])
    if not page.comments and at != CommentsAt():
        # A page of comments that is gone (its comment removed since the link was
        # made, or none older): the post's own page, with its newest comments.
        return redirect(post_url(post) + "#comments")
    context = page_context(now)
    context["feeds"] = context["feeds"] + [
        (
            f"{context['settings'].title} - {post.title} - Comments - Atom",
            url_for("feeds.post_comments", post_id=post.id),
        )
    ]
    return (
        render_template(
            "blog/post.html",
            page=page,
            form=form,
            comments_open=comments_open(post, context["settings"].comment_policy),
            notice=notice,
            own_comments=_own_comments(now, context["settings"].edit_window_minutes),
            companion=post.companion
            if post.companion is not None and post.companion.is_visible(now)
            else None,
            **context,
        ),
        status,
    )


def _own_comments(now: datetime, window_minutes: int) -> set[int]:
    """The comments this browser posted and may still edit: none for a reader who
    carries no claim (and no query then)."""
    claims = read_claims(request.cookies.get(EDIT_COOKIE))
    if not claims:
        return set()
    return editable_comments(claims, now, timedelta(minutes=window_minutes))


# Blogger's comment links give the comment's time in milliseconds; up to the year 9999.
MAX_MILLIS = 253_402_300_799_999


def _comments_at() -> CommentsAt:
    """The page of comments the address asks for: `comments-before` / `comments-after` a
    comment's number, or Blogger's `showComment` (milliseconds since 1970)."""
    names = [name for name in COMMENT_PAGING if name in request.args]
    if not names:
        return CommentsAt()
    if len(names) > 1:
        abort(400, description="Give one of comments-before, comments-after and showComment.")
    name = names[0]
    value = request.args.get(name, type=int)
    if name == "showComment":
        if value is None or not 0 <= value <= MAX_MILLIS:
            abort(400, description="The showComment time is not a number of milliseconds.")
        return CommentsAt(since=comment_time(value))
    if value is None or not 0 < value <= MAX_ID:
        abort(400, description=f"The {name} value is not a comment number.")
    return CommentsAt(before=value) if name == "comments-before" else CommentsAt(after=value)


COMMENT_PAGING = ("comments-before", "comments-after", "showComment")
