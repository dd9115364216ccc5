"""What the reader's pages share, for the views of the blog and of comments: the
context of the layout around every page, and the post page with its comments and form
(shown by the blog, and again by the comment form with its errors)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from kmblog.blog import heads
from kmblog.blog.services import CommentsAt, Sidebar, load_post_page, post_companions
from kmblog.comments.edit_claims import EDIT_COOKIE, read_claims
from kmblog.comments.forms import CommentForm, comment_number
from kmblog.comments.services import comments_open, editable_comments
from kmblog.context import current_settings, current_sidebar, current_sidebar_html
from kmblog.formtimer import TimerKind
from kmblog.models import MAX_ID, Post
from kmblog.series.services import series_place
from kmblog.urls import comment_time, post_url
from kmblog.webmention.services import linking_pages
from kmblog.webmention.web import endpoint_headers


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
    """A post, its comments and the comment form (also used to show form errors).

    A reply (`?reply=<comment>` without the page's script, or a reply sent back with
    errors) shows the page of comments with the comment it answers, named above the
    form."""
    if request.method == "POST":
        # The form shown again to the one who sent it: a timer of their own.
        form.keep_reader_timer()
    else:
        # An author's page is made for them alone; a reader's is shared by every reader.
        form.start_timer(TimerKind.READER if current_user.is_authenticated else TimerKind.PAGE)
        asked = request.args.get("reply")
        if asked is not None:
            number = comment_number(asked)
            form.parent.data = str(number) if number is not None else ""
            if number is None:
                notice = notice or CANNOT_REPLY
    reply_to = form.parent_id
    at = _comments_at(reply_to)
    settings = current_settings()
    per_page = current_app.config["COMMENTS_PER_PAGE"]
    page = load_post_page(post, now, at, per_page, settings.thread_depth)
    if reply_to is not None and reply_to not in page.shown:
        # Not a comment that can be answered here (held, removed, of another post):
        # the post's newest comments, and the form for a comment on the post.
        notice = notice or CANNOT_REPLY
        form.parent.data = ""
        reply_to = None
        if at.thread is not None:
            at = CommentsAt()
            page = load_post_page(post, now, at, per_page, settings.thread_depth)
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
            replying_to=page.shown[reply_to] if reply_to is not None else None,
            head=heads.post_head(page),
            companions=post_companions(post, now),
            # "Part n of m" and the parts before and after: one query, for a post in a series.
            series=series_place(post, now),
            linked_from=linking_pages(post.id) if page.links else [],
            reactions=reaction_counts(post),
            **context,
        ),
        status,
        endpoint_headers(),
    )


def reaction_counts(post: Post) -> list[tuple[str, int]]:
    """The post's likes and boosts from the fediverse, as loaded with it."""
    counts = (("like", post.fediverse_likes), ("boost", post.fediverse_boosts))
    return [(kind, number) for kind, number in counts if number]


def _own_comments(now: datetime, window_minutes: int) -> set[int]:
    """The comments this browser posted and may still edit: none for a reader who
    carries no claim (and no query then)."""
    claims = read_claims(request.cookies.get(EDIT_COOKIE))
    if not claims:
        return set()
    return editable_comments(claims, now, timedelta(minutes=window_minutes))


# Blogger's comment links give the comment's time in milliseconds; up to the year 9999.
MAX_MILLIS = 253_402_300_799_999


CANNOT_REPLY = (
    "The comment you wanted to answer cannot be answered: it is waiting for a moderator, "
    "has been removed, or is not on this post. You can still comment on the post below."
)


def _comments_at(reply_to: int | None = None) -> CommentsAt:
    """The page of comments the address asks for: `comments-before` / `comments-after` a
    comment's number, or Blogger's `showComment` (milliseconds since 1970); without
    those, the page with the comment being answered, if any."""
    names = [name for name in COMMENT_PAGING if name in request.args]
    if not names:
        return CommentsAt(thread=reply_to) if reply_to is not None else CommentsAt()
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
