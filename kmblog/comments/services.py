"""Adding a reader's comment, its fate decided by the rules of kmblog.comments.spam."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from kmblog.comments.spam import Commenter, CommentRules, decide_status
from kmblog.extensions import db
from kmblog.models import Comment, CommentPolicy, Post, User
from kmblog.rendering import clean_line, clean_text, render_comment

__all__ = ["CommentRules"]  # the rules live in kmblog.comments.spam; callers find them here


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
    rules: CommentRules,
    now: datetime,
    ip_hash: str = "",
    user: User | None = None,
    bot_suspected: bool = False,
) -> Comment:
    """Store a comment, rendered once now, as published, held or spam."""
    if not comments_open(post, rules.policy):
        raise CommentsClosed(post.id)
    cleaned = NewComment(
        body=clean_text(comment.body).strip(),
        name=clean_line(comment.name),
        url=clean_line(comment.url),
    )
    body_html = render_comment(cleaned.body)
    commenter = Commenter(cleaned.name, cleaned.url, user)
    stored = Comment(
        post=post,
        author_name=cleaned.name,
        author_url=cleaned.url,
        body_source=cleaned.body,
        body_html=body_html,
        created_at=now,
        status=decide_status(post, cleaned.body, body_html, commenter, rules, now, bot_suspected),
        ip_hash=ip_hash,
        user=user,
    )
    db.session.add(stored)
    db.session.commit()
    return stored
