"""Adding a reader's comment (its fate decided by the rules of kmblog.comments.spam),
and its commenter's own edits while they may."""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from kmblog.audit.services import record_rule_decision
from kmblog.comments.spam import Commenter, CommentRules, judge, judge_edit
from kmblog.extensions import db
from kmblog.mail.services import event_for, fan_out_later, record_event, subscribe
from kmblog.models import (
    MAX_ID,
    Comment,
    CommentPolicy,
    CommentStatus,
    Post,
    SubscriptionKind,
    User,
)
from kmblog.rendering import clean_line, clean_text, render_comment

__all__ = ["CommentRules"]  # the rules live in kmblog.comments.spam; callers find them here


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
class MailWish:
    """An address given with a comment, and what its writer wants to hear of."""

    email: str
    kind: SubscriptionKind


def comments_open(post: Post, policy: CommentPolicy) -> bool:
    return post.comments_open and policy != CommentPolicy.CLOSED


def hash_ip(address: str, secret: str) -> str:
    """A salted (keyed) hash of the poster's address: enough to spot a flood, no more."""
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


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


def comment_at(post: Post, address: str) -> Comment | None:
    """The published comment of `post` that one of its addresses names by its anchor:
    /yyyy/mm/slug.html#c123, or the comment's own link (...?showComment=...#c123); an
    imported comment by its Blogger id (#c<that id>) too. None for the post itself."""
    try:
        fragment = urlsplit(address).fragment
    except ValueError:
        return None
    anchor = fragment[1:]
    if not fragment.startswith("c") or not anchor.isdigit() or len(anchor) > 32:
        return None
    mine = select(Comment).where(
        Comment.post_id == post.id, Comment.status == CommentStatus.PUBLISHED
    )
    found = None
    if int(anchor) <= MAX_ID:
        found = db.session.scalar(mine.where(Comment.id == int(anchor)))
    return found or db.session.scalar(mine.where(Comment.blogger_id == anchor))


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
    mail: MailWish | None = None,
) -> Comment:
    """Store a comment, rendered once now, as published, held or spam; with `parent_id`,
    a reply to that comment (see find_parent for when a reply is refused); with `mail`,
    in the same transaction, its writer's wish for mail and the event that mail comes
    from (kmblog/mail: nothing is sent from here, and nothing for a held comment or spam)."""
    if not comments_open(post, rules.policy):
        raise CommentsClosed(post.id)
    parent = find_parent(post, parent_id)
    cleaned = NewComment(
        body=clean_text(comment.body).strip(),
        name=clean_line(comment.name),
        url=clean_line(comment.url),
    )
    body_html = render_comment(cleaned.body)
    commenter = Commenter(cleaned.name, cleaned.url, user, mail.email if mail else "")
    decision = judge(post, cleaned.body, body_html, commenter, rules, now, bot_suspected)
    stored = Comment(
        post=post,
        author_name=cleaned.name,
        author_url=cleaned.url,
        body_source=cleaned.body,
        body_html=body_html,
        created_at=now,
        status=decision.status,
        ip_hash=ip_hash,
        user=user,
    )
    place_reply(stored, parent, rules.thread_depth)
    db.session.add(stored)
    db.session.flush()
    # Which rule held it, or made it spam, and why: in the audit trail, with it.
    record_rule_decision(stored, decision)
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


# --- commenters' own edits ----------------------------------------------------------------
#
# For a while after posting (Settings.edit_window_minutes) and until someone answers it,
# the browser that posted a comment may edit or delete it, as Isso allows. What proves the
# browser is a signed claim it carries (kmblog.comments.edit_claims, in a cookie): "comment
# N, made at this moment". The moment guards against a number used again (SQLite may give
# a removed row's number to the next comment).

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Statuses a commenter may still edit: what readers see, and what waits for a moderator.
_EDITABLE = (CommentStatus.PUBLISHED, CommentStatus.PENDING)


def comment_moment(created_at: datetime) -> int:
    """A comment's time as whole microseconds since 1970: exact, unlike a float."""
    return (created_at - _EPOCH) // _MICROSECOND


class EditRefusal(enum.StrEnum):
    """Why a commenter may not change a comment (each with its own answer)."""

    GONE = "gone"  # no such comment, or deleted or marked as spam
    NOT_YOURS = "not-yours"  # this browser did not post it (no claim, or a forged one)
    TOO_LATE = "too-late"  # the edit window has passed
    ANSWERED = "answered"  # someone has replied to it


class EditRefused(Exception):
    """A commenter may not change this comment; `comment` is it, when there is one."""

    def __init__(self, reason: EditRefusal, comment: Comment | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.comment = comment


def own_comment(
    comment_id: int, claims: Mapping[int, int], now: datetime, window: timedelta
) -> Comment:
    """The comment `comment_id` if the browser's `claims` (comment id: its moment) show it
    posted it, within `window` of posting, and nobody has answered it yet."""
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.status not in _EDITABLE or not comment.post.is_visible(now):
        raise EditRefused(EditRefusal.GONE)
    if claims.get(comment.id) != comment_moment(comment.created_at):
        raise EditRefused(EditRefusal.NOT_YOURS, comment)
    if now - comment.created_at > window:
        raise EditRefused(EditRefusal.TOO_LATE, comment)
    if db.session.scalar(select(exists().where(Comment.parent_id == comment.id))):
        raise EditRefused(EditRefusal.ANSWERED, comment)
    return comment


_REPLY = aliased(Comment, name="reply")


def editable_comments(claims: Mapping[int, int], now: datetime, window: timedelta) -> set[int]:
    """Which of the claimed comments their browser may still edit: one query."""
    if not claims or window <= timedelta(0):
        return set()
    rows = db.session.execute(
        select(Comment.id, Comment.created_at).where(
            Comment.id.in_(list(claims)),
            Comment.status.in_(_EDITABLE),
            Comment.created_at >= now - window,
            ~select(_REPLY.id).where(_REPLY.parent_id == Comment.id).exists(),
        )
    )
    return {row.id for row in rows if claims.get(row.id) == comment_moment(row.created_at)}


def edit_comment(comment: Comment, body: str, rules: CommentRules, now: datetime) -> Comment:
    """Replace a comment's text with its commenter's new text, sanitised as a new
    comment is; the rules on what it says apply again. Commits."""
    source = clean_text(body).strip()
    body_html = render_comment(source)
    commenter = Commenter(comment.author_name, comment.author_url, comment.user)
    decision = judge_edit(comment.status, source, body_html, commenter, rules)
    record_rule_decision(comment, decision, edited=True)
    comment.status = decision.status
    comment.body_source = source
    comment.body_html = body_html
    comment.edited_at = now
    db.session.commit()
    return comment


def delete_own_comment(comment: Comment) -> None:
    """The commenter takes their comment back (it has no replies: a reply ends the
    window). Kept as deleted, as a moderator's deletion is. Commits."""
    comment.status = CommentStatus.DELETED
    db.session.commit()
