"""Adding a reader's comment."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from kmblog.extensions import db
from kmblog.models import Comment, CommentPolicy, CommentStatus, Post, User
from kmblog.rendering import clean_line, clean_text, render_comment


class CommentsClosed(Exception):
    """The post or the blog takes no new comments."""


@dataclass(frozen=True)
class NewComment:
    """What a reader typed into the comment form."""

    body: str
    name: str = ""
    url: str = ""


def comments_open(post: Post, policy: CommentPolicy) -> bool:
    return post.comments_open and policy != CommentPolicy.CLOSED


def hash_ip(address: str, secret: str) -> str:
    """A salted (keyed) hash of the poster's address: enough to spot a flood, no more."""
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


def needs_moderation(
    post: Post, policy: CommentPolicy, moderate_after_days: int | None, now: datetime
) -> bool:
    """Held when the blog is moderated, or the post is older than the setting's days."""
    if policy == CommentPolicy.MODERATED:
        return True
    if moderate_after_days is None or post.published_at is None:
        return False
    return post.published_at < now - timedelta(days=moderate_after_days)


def add_comment(
    post: Post,
    comment: NewComment,
    policy: CommentPolicy,
    now: datetime,
    ip_hash: str = "",
    user: User | None = None,
    moderate_after_days: int | None = None,
) -> Comment:
    """Store a comment, rendered once now; held for moderation when the settings say so."""
    if not comments_open(post, policy):
        raise CommentsClosed(post.id)
    held = needs_moderation(post, policy, moderate_after_days, now)
    status = CommentStatus.PENDING if held else CommentStatus.PUBLISHED
    stored = Comment(
        post=post,
        author_name=clean_line(comment.name),
        author_url=clean_line(comment.url),
        body_source=clean_text(comment.body).strip(),
        body_html=render_comment(comment.body),
        created_at=now,
        status=status,
        ip_hash=ip_hash,
        user=user,
    )
    db.session.add(stored)
    db.session.commit()
    return stored
