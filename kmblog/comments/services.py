"""Adding a reader's comment."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

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


def add_comment(
    post: Post,
    comment: NewComment,
    policy: CommentPolicy,
    now: datetime,
    ip_hash: str = "",
    user: User | None = None,
) -> Comment:
    """Store a comment, rendered once now; held for moderation when the policy says so."""
    if not comments_open(post, policy):
        raise CommentsClosed(post.id)
    status = CommentStatus.PENDING if policy == CommentPolicy.MODERATED else CommentStatus.PUBLISHED
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
