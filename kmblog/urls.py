"""The blog's public addresses, built in one place: a post's, a label's, a series', and
Blogger's link to a comment (which imported blogs' readers and feed readers already hold)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import url_for

from kmblog.models import Post


def post_url(post: Post, external: bool = False) -> str:
    """/YYYY/MM/slug.html of a published post."""
    year, month, slug = post.path_parts
    return url_for("blog.post", year=year, month=month, slug=slug, _external=external)


def label_url(name: str, external: bool = False) -> str:
    """/search/label/<Label Name>."""
    return url_for("blog.label", name=name, _external=external)


def series_url(slug: str, external: bool = False) -> str:
    """/series/slug.html: a series' posts in order."""
    return url_for("blog.series", slug=slug, _external=external)


def comment_link(post_address: str, created_at: datetime, anchor: str | int) -> str:
    """Blogger's link to a comment: its post, `showComment=` its time in milliseconds
    (kmblog opens the page of comments that starts there), and its `#c` anchor."""
    return f"{post_address}?showComment={int(created_at.timestamp() * 1000)}#c{anchor}"


def comment_time(millis: int) -> datetime:
    """The moment a `showComment=` value names."""
    return datetime.fromtimestamp(millis / 1000, UTC)
