"""Adding a reader's comment, and deciding whether it is published, held or spam."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from kmblog.extensions import db
from kmblog.models import Comment, CommentPolicy, CommentStatus, Post, Settings, User
from kmblog.rendering import clean_line, clean_text, render_comment

_LINK = re.compile(r"https?://|<a\s", re.IGNORECASE)


class CommentsClosed(Exception):
    """The post or the blog takes no new comments."""


class ReplyRefused(Exception):
    """The comment a reply answers cannot be answered: it is held, spam or removed, or
    it is on another post. The message says why, in the reader's terms."""


@dataclass(frozen=True)
class NewComment:
    """What a reader typed into the comment form."""

    body: str
    name: str = ""
    url: str = ""


@dataclass(frozen=True)
class CommentRules:
    """The blog's settings that decide a new comment's fate."""

    policy: CommentPolicy = CommentPolicy.OPEN
    moderate_after_days: int | None = None
    moderation_links: int = 2
    moderation_words: tuple[str, ...] = ()
    blocked_words: tuple[str, ...] = ()
    hold_first_comment: bool = False
    # Replies nest this many levels at most (Settings.thread_depth).
    thread_depth: int = 4

    @classmethod
    def from_settings(cls, settings: Settings) -> CommentRules:
        return cls(
            policy=settings.comment_policy,
            moderate_after_days=settings.moderate_after_days,
            moderation_links=settings.moderation_links,
            moderation_words=word_list(settings.moderation_words),
            blocked_words=word_list(settings.blocked_words),
            hold_first_comment=settings.hold_first_comment,
            thread_depth=settings.thread_depth,
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


# What a reader is told when the comment they answer cannot be answered. The reply is
# not stored; the form comes back with their text, ready to post on the post itself.
REPLY_TO_HELD = (
    "The comment you replied to is waiting for a moderator, so it cannot be answered yet. "
    "Your reply was not posted; it is still below, to publish as a comment on the post."
)
REPLY_TO_REMOVED = (
    "The comment you replied to has been removed, so it cannot be answered. "
    "Your reply was not posted; it is still below, to publish as a comment on the post."
)
REPLY_TO_ELSEWHERE = (
    "The comment you replied to is not on this post. "
    "Your reply was not posted; it is still below, to publish as a comment on the post."
)


def find_parent(post: Post, parent_id: int | None) -> Comment | None:
    """The published comment of `post` a reply answers; None when there is none to
    answer (no parent asked for, or the comment is gone: the reply goes to the post).

    Raises ReplyRefused for a held, spam or removed comment, or one of another post."""
    if parent_id is None:
        return None
    parent = db.session.get(Comment, parent_id)
    if parent is None:
        return None
    if parent.post_id != post.id:
        raise ReplyRefused(REPLY_TO_ELSEWHERE)
    if parent.status == CommentStatus.PENDING:
        raise ReplyRefused(REPLY_TO_HELD)
    if parent.status != CommentStatus.PUBLISHED:
        raise ReplyRefused(REPLY_TO_REMOVED)
    return parent


def place_reply(comment: Comment, parent: Comment | None, thread_depth: int) -> None:
    """Put `comment` in its parent's thread: the thread's top comment, and a depth no
    deeper than `thread_depth` (a deeper reply sits at the deepest level and names the
    comment it answers, which stays its parent)."""
    if parent is None:
        comment.parent, comment.root_id, comment.depth = None, None, 0
        return
    comment.parent = parent
    parent.replied = True
    comment.root_id = parent.root_id if parent.root_id is not None else parent.id
    comment.depth = max(1, min(parent.depth + 1, thread_depth))


def add_comment(
    post: Post,
    comment: NewComment,
    rules: CommentRules,
    now: datetime,
    ip_hash: str = "",
    user: User | None = None,
    bot_suspected: bool = False,
    parent_id: int | None = None,
) -> Comment:
    """Store a comment, rendered once now, as published, held or spam; with `parent_id`,
    a reply to that comment (see find_parent for when a reply is refused)."""
    if not comments_open(post, rules.policy):
        raise CommentsClosed(post.id)
    parent = find_parent(post, parent_id)
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
    )
    place_reply(stored, parent, rules.thread_depth)
    db.session.add(stored)
    db.session.commit()
    return stored
