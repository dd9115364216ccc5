"""Adding a reader's comment, and deciding whether it is published, held or spam."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from kmblog.extensions import db
from kmblog.mail.services import event_for, fan_out_later, record_event, subscribe
from kmblog.models import (
    Comment,
    CommentPolicy,
    CommentStatus,
    Post,
    Settings,
    SubscriptionKind,
    User,
)
from kmblog.rendering import clean_line, clean_text, render_comment

_LINK = re.compile(r"https?://|<a\s", re.IGNORECASE)


class CommentsClosed(Exception):
    """The post or the blog takes no new comments."""


@dataclass(frozen=True)
class NewComment:
    """What a reader typed into the comment form."""

    body: str
    name: str = ""
    url: str = ""


@dataclass(frozen=True)
class MailWish:
    """An address given with a comment, and what its writer wants to hear of."""

    email: str
    kind: SubscriptionKind


@dataclass(frozen=True)
class CommentRules:
    """The blog's settings that decide a new comment's fate."""

    policy: CommentPolicy = CommentPolicy.OPEN
    moderate_after_days: int | None = None
    moderation_links: int = 2
    moderation_words: tuple[str, ...] = ()
    blocked_words: tuple[str, ...] = ()
    hold_first_comment: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> CommentRules:
        return cls(
            policy=settings.comment_policy,
            moderate_after_days=settings.moderate_after_days,
            moderation_links=settings.moderation_links,
            moderation_words=word_list(settings.moderation_words),
            blocked_words=word_list(settings.blocked_words),
            hold_first_comment=settings.hold_first_comment,
        )


def word_list(text: str) -> tuple[str, ...]:
    """One word or phrase a line, compared without regard to case."""
    return tuple(line.strip().casefold() for line in text.splitlines() if line.strip())


def comments_open(post: Post, policy: CommentPolicy) -> bool:
    return post.comments_open and policy != CommentPolicy.CLOSED


def hash_ip(address: str, secret: str) -> str:
    """A salted (keyed) hash of the poster's address: enough to spot a flood, no more."""
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


def _mentions(comment: NewComment, words: tuple[str, ...]) -> bool:
    text = " ".join((comment.body, comment.name, comment.url)).casefold()
    return any(word in text for word in words)


def _known_commenter(comment: NewComment) -> bool:
    """Has someone with this name (in any case) and web address had a comment approved?"""
    if not comment.name:
        return False
    # Compared in Python: SQLite's lower() folds ASCII letters only.
    names = db.session.scalars(
        select(Comment.author_name)
        .where(
            Comment.status == CommentStatus.PUBLISHED,
            Comment.author_url == comment.url,
            func.length(Comment.author_name) == len(comment.name),
        )
        .distinct()
        .limit(500)
    )
    wanted = comment.name.casefold()
    return any(name.casefold() == wanted for name in names)


def decide_status(
    post: Post, comment: NewComment, rules: CommentRules, now: datetime, bot_suspected: bool
) -> CommentStatus:
    """Spam, held for a moderator, or published at once."""
    if bot_suspected or _mentions(comment, rules.blocked_words):
        return CommentStatus.SPAM
    held = (
        rules.policy == CommentPolicy.MODERATED
        or (
            rules.moderate_after_days is not None
            and post.published_at is not None
            and post.published_at < now - timedelta(days=rules.moderate_after_days)
        )
        or len(_LINK.findall(comment.body)) > rules.moderation_links
        or _mentions(comment, rules.moderation_words)
        or (rules.hold_first_comment and not _known_commenter(comment))
    )
    return CommentStatus.PENDING if held else CommentStatus.PUBLISHED


def add_comment(
    post: Post,
    comment: NewComment,
    rules: CommentRules,
    now: datetime,
    ip_hash: str = "",
    user: User | None = None,
    bot_suspected: bool = False,
    parent: Comment | None = None,
    mail: MailWish | None = None,
) -> Comment:
    """Store a comment, rendered once now, as published, held or spam; with it, in the
    same transaction, its writer's wish for mail and the event that mail comes from
    (kmblog/mail: nothing is sent from here, and nothing for a held comment or spam)."""
    if not comments_open(post, rules.policy):
        raise CommentsClosed(post.id)
    cleaned = NewComment(
        body=clean_text(comment.body).strip(),
        name=clean_line(comment.name),
        url=clean_line(comment.url),
    )
    stored = Comment(
        post=post,
        author_name=cleaned.name,
        author_url=cleaned.url,
        body_source=cleaned.body,
        body_html=render_comment(cleaned.body),
        created_at=now,
        status=decide_status(post, cleaned, rules, now, bot_suspected),
        ip_hash=ip_hash,
        user=user,
        parent_id=parent.id if parent is not None else None,
    )
    db.session.add(stored)
    db.session.flush()
    event = event_for(stored.status)
    events = []
    if event is not None:  # spam: neither its address is kept nor anything sent
        if mail is not None:
            subscribe(stored, mail.email, mail.kind, now)
        events.append(record_event(stored, event, now))
        db.session.flush()
    event_ids = [e.id for e in events]
    db.session.commit()
    fan_out_later(event_ids)
    return stored
