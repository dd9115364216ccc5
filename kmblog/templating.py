"""Filters and globals for templates: formatting only, never a query of their own
(the settings row they read for the time zone is loaded once per request)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, g, url_for
from markupsafe import Markup, escape

from kmblog import timefmt
from kmblog.context import to_local
from kmblog.models import CommentStatus, Post, PostKind, PostStatus, Role, SourceFormat
from kmblog.rendering import as_html, comment_items, mention_link, post_description, reading_time
from kmblog.urls import comment_link, label_url, post_url, series_url


def html_datetime(moment: datetime) -> str:
    """A moment as HTML's valid date-time string in the blog's time zone: to the second,
    or to the millisecond when it has a fraction (HTML allows at most three digits of
    one; isoformat gives six)."""
    local = to_local(moment)
    return local.isoformat(timespec="milliseconds" if local.microsecond else "seconds")


def time_tag(moment: datetime, mf2_class: str = "") -> Markup:
    """<time datetime="2009-07-23T20:07:00-07:00">July 23, 2009 at 8:07 PM</time>: one
    call where a comment list would make three for each of hundreds of comments.
    `mf2_class` names the microformats2 property it is ("dt-published")."""
    local = to_local(moment)
    shown = f"{timefmt.long_date(local)} at {timefmt.clock(local)}"
    css = f' class="{mf2_class}"' if mf2_class else ""
    return Markup(f'<time datetime="{html_datetime(local)}"{css}>{shown}</time>')  # noqa: S704 - digits, month names and our own class


def own_comment_links(comment_id: int) -> str:
    """The Edit and Delete links under a comment its visitor may still change."""
    edit = url_for("comments.edit", comment_id=comment_id)
    delete = url_for("comments.delete", comment_id=comment_id)
    return (
        f'<span class="own-comment-links"><a class="edit-comment" href="{escape(edit)}">Edit</a>'
        f' · <a class="delete-comment" href="{escape(delete)}">Delete</a></span>'
    )


def comment_permalink(post: Post) -> Callable[[Any], str]:
    """A comment's own absolute address on `post` (Blogger's comment link, as the feeds
    and mails give it), for its microformats2 u-url: one url_for for the whole page."""
    address = post_url(post, external=True)
    return lambda comment: comment_link(address, comment.created_at, comment.id)


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(lambda moment: timefmt.clock(to_local(moment)), "clock")
    app.add_template_filter(lambda moment: timefmt.long_date(to_local(moment)), "long_date")
    app.add_template_filter(lambda moment: timefmt.day_header(to_local(moment)), "day_header")
    app.add_template_filter(html_datetime, "local_iso")
    app.add_template_filter(as_html, "stored_html")
    app.add_template_filter(timefmt.month_name, "month_name")
    # Templates compare with the enums themselves, never with their values as strings.
    for enum_class in (CommentStatus, PostKind, PostStatus, Role, SourceFormat):
        app.add_template_global(enum_class, enum_class.__name__)
    app.add_template_global(post_url)
    app.add_template_global(label_url)
    app.add_template_global(series_url)
    app.add_template_global(post_description)
    app.add_template_global(reading_time)
    app.add_template_global(mention_link)
    app.add_template_global(
        lambda threads, post, can_reply=False, own=frozenset(): comment_items(
            threads, time_tag, can_reply, own, own_comment_links, comment_permalink(post)
        ),
        "comment_items",
    )

    @app.context_processor
    def blog_title() -> dict[str, Any]:
        # Error pages may be drawn before (or without) the settings row being read.
        return {"blog_title": g.settings.title if "settings" in g else "kmblog"}
