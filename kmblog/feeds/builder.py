"""Atom (and RSS 2.0) feeds with feedgen: the only module that builds a feed.

It takes plain data (posts, comments, absolute URLs) and returns bytes; the views
decide what goes in. Content is the sanitised HTML stored at save time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from feedgen.feed import FeedGenerator

from kmblog.models import Comment, Post
from kmblog.rendering import plain_excerpt

GENERATOR = "kmblog"


@dataclass(frozen=True)
class FeedInfo:
    """A feed's own identity and links."""

    atom_id: str
    title: str
    subtitle: str
    self_url: str
    page_url: str
    # The time to show when the feed has no entries yet.
    fallback_updated: datetime


def post_atom_id(blog_atom_id: str, post: Post) -> str:
    return f"{blog_atom_id}.post-{post.id}"


def comment_atom_id(blog_atom_id: str, comment: Comment) -> str:
    return f"{blog_atom_id}.comment-{comment.id}"


def _new_feed(info: FeedInfo, updated: datetime, rss: bool = False) -> FeedGenerator:
    feed = FeedGenerator()
    feed.id(info.atom_id)
    feed.title(info.title)
    if info.subtitle or rss:
        # RSS requires a channel description; Atom's subtitle is optional.
        feed.subtitle(info.subtitle or info.title)
    feed.link(href=info.page_url, rel="alternate", type="text/html")
    feed.link(href=info.self_url, rel="self", type="application/atom+xml")
    feed.updated(updated)
    feed.generator(GENERATOR)
    return feed


def _post_updated(post: Post) -> datetime:
    """An entry changes when it is edited, and is new when it is published."""
    return max(post.updated_at, post.published_at or post.updated_at)


def build_posts_feed(
    info: FeedInfo,
    blog_atom_id: str,
    posts: list[Post],
    post_url: Callable[[Post], str],
    label_url: Callable[[str], str],
    rss: bool = False,
) -> bytes:
    """Atom (or RSS 2.0, Blogger's alt=rss) for a list of posts, newest first."""
    updated = max((_post_updated(post) for post in posts), default=info.fallback_updated)
    feed = _new_feed(info, updated, rss)
    for post in posts:
        entry = feed.add_entry(order="append")
        entry.id(post_atom_id(blog_atom_id, post))
        entry.title(post.title)
        entry.link(href=post_url(post), rel="alternate", type="text/html")
        entry.published(post.published_at)
        entry.updated(_post_updated(post))
        entry.author(name=post.author.display_name)
        for label in post.labels:
            entry.category(term=label.name, scheme=label_url(label.name), label=label.name)
        entry.content(post.body_html, type="html")
    return _serialise(feed, rss)


def build_comments_feed(
    info: FeedInfo,
    blog_atom_id: str,
    comments: list[Comment],
    comment_url: Callable[[Comment], str],
    rss: bool = False,
) -> bytes:
    """Atom (or RSS 2.0) for a list of comments, newest first."""
    updated = max(
        (_comment_updated(comment) for comment in comments), default=info.fallback_updated
    )
    feed = _new_feed(info, updated, rss)
    for comment in comments:
        entry = feed.add_entry(order="append")
        entry.id(comment_atom_id(blog_atom_id, comment))
        entry.title(plain_excerpt(comment.body_source) or f"Comment on {comment.post.title}")
        entry.link(href=comment_url(comment), rel="alternate", type="text/html")
        entry.published(comment.created_at)
        entry.updated(_comment_updated(comment))
        entry.author(name=comment.display_name)
        entry.content(comment.body_html, type="html")
    return _serialise(feed, rss)


def _comment_updated(comment: Comment) -> datetime:
    """A comment's entry changes when its commenter edits it."""
    return comment.edited_at or comment.created_at


def _serialise(feed: FeedGenerator, rss: bool) -> bytes:
    data: bytes = feed.rss_str(pretty=True) if rss else feed.atom_str(pretty=True)
    return data
