"""The audit trail: recording what was done (in the caller's transaction), reading it
back filtered for the admins' page and the command line, and forgetting old events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, delete, select

from kmblog.extensions import db
from kmblog.models import AuditEvent, Comment, CommentStatus, User, utcnow
from kmblog.rendering import clean_line

if TYPE_CHECKING:  # the rules use the settings, which record here: no import at run time
    from kmblog.comments.spam import Decision

# Who did it, when no signed-in person did: the blog itself (a comment rule, a job) is
# "", and the operator at the command line is this.
COMMAND_LINE = "command line"

# The groups the page offers, by the first part of the action's name.
ACTION_GROUPS = {
    "comment": "Comments",
    "auth": "Sign-ins",
    "user": "Authors",
    "settings": "Settings",
    "import": "Imports",
    "export": "Exports",
    "backup": "Backups",
    "federation": "Fediverse",
}
# Every action recorded, with what the page's filter calls it.
ACTIONS = {
    "comment.held": "Comment held by a rule",
    "comment.spam": "Comment marked as spam",
    "comment.approved": "Comment approved",
    "comment.deleted": "Comment deleted",
    "auth.sign_in": "Signed in",
    "auth.sign_in_failed": "Sign-in failed",
    "user.created": "Author created",
    "user.role_changed": "Role changed",
    "user.disabled": "Author disabled",
    "user.enabled": "Author enabled",
    "user.password_set": "Password set",
    "settings.changed": "Settings changed",
    "import.blogger": "Blogger import",
    "import.json": "JSON import",
    "export.blogger": "Blogger export",
    "export.json": "JSON export",
    "backup.made": "Backup made",
    "backup.restored": "Backup restored",
    "federation.blocked": "Fediverse block",
    "federation.unblocked": "Fediverse unblock",
}
SUBJECT_TYPES = {
    "comment": "Comment",
    "user": "Author",
    "settings": "Settings",
    "federation_block": "Fediverse block",
}
# Words in a setting's name that make its value a secret: the trail says it changed,
# never what it was or became.
SECRET_WORDS = ("password", "secret", "token", "key")
MASKED = "(hidden)"

Actor = User | str | None


def record(
    action: str,
    summary: str,
    *,
    actor: Actor = None,
    subject: tuple[str, int | None] = ("", None),
    detail: Mapping[str, Any] | None = None,
    ip: str = "",
    now: datetime | None = None,
) -> AuditEvent:
    """Add an event to the current unit of work; the caller commits it with its change.

    `actor` is the user who did it, a name without an account (COMMAND_LINE, or the name
    a failed sign-in typed), or None for the blog itself."""
    if isinstance(actor, User):
        actor_id: int | None = actor.id
        actor_name = actor.username
    else:
        actor_id, actor_name = None, actor or ""
    event = AuditEvent(
        created_at=now or utcnow(),
        actor_id=actor_id,
        actor_name=actor_name[:64],
        action=action,
        subject_type=subject[0],
        subject_id=subject[1],
        summary=summary[:500],
        detail=json.dumps(dict(detail or {}), ensure_ascii=False, default=str),
        ip=(ip or "")[:45],
    )
    db.session.add(event)
    return event


def record_now(action: str, summary: str, **kwargs: Any) -> AuditEvent:
    """Record an event in a transaction of its own (a sign-in, an export, a backup:
    nothing else is written with it)."""
    event = record(action, summary, **kwargs)
    db.session.commit()
    return event


def record_sign_in(user: User | None, typed_name: str, ip: str, how: str = "password") -> None:
    """A sign-in that passed every check it had to (`how`: "password", "password and
    authenticator code", "passkey"...), or a password check that failed. A failure keeps
    only the name as typed: whether such an author exists is not looked up, so a wrong
    password and an unknown name leave the same trace."""
    if user is not None:
        record_now(
            "auth.sign_in",
            f"{user.username} signed in with {how}",
            actor=user,
            detail={"how": how},
            ip=ip,
        )
        return
    name = clean_line(typed_name)[:64]
    record_now(
        "auth.sign_in_failed",
        f"A sign-in as \u201c{name}\u201d failed",
        actor=name,
        detail={"name": name},
        ip=ip,
    )


def record_second_factor_refused(user: User, how: str, ip: str) -> None:
    """A right password whose second step failed (`how`: "authenticator code",
    "recovery code", "passkey"): the author is known by then, and named."""
    record_now(
        "auth.sign_in_failed",
        f"{user.username}'s {how} was refused after a right password",
        actor=user,
        detail={"step": "second factor", "how": how},
        ip=ip,
    )


def record_security_change(user: User, change: str) -> None:
    """A change to how `user` signs in, made by themselves (an authenticator app set up
    or turned off, new recovery codes, a passkey added or removed): the sentence their
    mail tells them, kept in the trail too."""
    record_now("auth.security_changed", change, actor=user, subject=("user", user.id))


def record_second_factors_reset(user: User, by: User) -> None:
    """An admin turned off every second factor of `user` (who lost their phone and their
    recovery codes), in the caller's transaction."""
    record(
        "user.second_factors_reset",
        f"{by.username} turned off the second factors of {user.username}",
        actor=by,
        subject=("user", user.id),
    )


def record_rule_decision(comment: Comment, decision: Decision, edited: bool = False) -> None:
    """A comment a rule held or made spam (nothing for one published): which rule and
    why. The comment must have its id (flushed)."""
    if decision.rule is None or decision.status == CommentStatus.PUBLISHED:
        return
    action = "comment.spam" if decision.status == CommentStatus.SPAM else "comment.held"
    verb = "Marked as spam" if decision.status == CommentStatus.SPAM else "Held"
    after = " after an edit" if edited else ""
    record(
        action,
        f"{verb}{after}: {decision.reason}",
        subject=("comment", comment.id),
        detail={
            "rule": decision.rule.value,
            "reason": decision.reason,
            "origin": comment.origin.value if comment.origin else "form",
            "post_id": comment.post_id,
            **({"edited": True} if edited else {}),
        },
    )


MODERATION_ACTIONS = {
    CommentStatus.PUBLISHED: ("comment.approved", "Approved"),
    CommentStatus.SPAM: ("comment.spam", "Marked as spam"),
    CommentStatus.DELETED: ("comment.deleted", "Deleted"),
    CommentStatus.PENDING: ("comment.held", "Held"),
}


def record_moderation(
    comment: Comment, old: CommentStatus, new: CommentStatus, by: Actor, now: datetime
) -> None:
    """A person's decision on a comment (approve, spam, delete), one event a comment."""
    action, verb = MODERATION_ACTIONS[new]
    record(
        action,
        f"{verb} by {by.username if isinstance(by, User) else by or 'the blog'}",
        actor=by,
        subject=("comment", comment.id),
        detail={"from": old.value, "to": new.value, "post_id": comment.post_id},
        now=now,
    )


def is_secret(key: str) -> bool:
    folded = key.casefold()
    return any(word in folded for word in SECRET_WORDS)


def setting_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{key: [old, new]} for each key whose value changed; a secret's values masked."""
    changes: dict[str, list[Any]] = {}
    for key, value in new.items():
        before = old.get(key)
        if _plain(before) == _plain(value):
            continue
        if is_secret(key):
            changes[key] = [MASKED, MASKED]
        else:
            changes[key] = [_plain(before), _plain(value)]
    return changes


def _plain(value: Any) -> Any:
    """A value as JSON holds it (an enum's value, a date as text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return getattr(value, "value", value)
    return str(value)


# --- reading the trail ----------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """What the page or the command line asks for; every part optional."""

    action: str = ""  # "comment.held", or a group: "comment"
    person: str = ""  # a username (or a name a failed sign-in typed)
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    subject_type: str = ""
    subject_id: int | None = None


def _query(wanted: AuditFilter) -> Select[AuditEvent]:
    query = select(AuditEvent)
    if wanted.action:
        if "." in wanted.action:
            query = query.where(AuditEvent.action == wanted.action)
        else:  # a group: the index on (action, created_at) serves a prefix too
            query = query.where(AuditEvent.action.startswith(wanted.action + ".", autoescape=True))
    if wanted.person:
        query = query.where(AuditEvent.actor_name == wanted.person)
    if wanted.since is not None:
        query = query.where(AuditEvent.created_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AuditEvent.created_at < wanted.until)
    if wanted.subject_type:
        query = query.where(AuditEvent.subject_type == wanted.subject_type)
        if wanted.subject_id is not None:
            query = query.where(AuditEvent.subject_id == wanted.subject_id)
    return query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def audit_page(wanted: AuditFilter, page: int, per_page: int = 50) -> Pagination:
    """One page of the events asked for, newest first."""
    return db.paginate(_query(wanted), page=page, per_page=per_page, error_out=False)


def audit_events(wanted: AuditFilter, limit: int) -> list[AuditEvent]:
    """The newest `limit` events asked for."""
    return list(db.session.scalars(_query(wanted).limit(limit)))


def comment_statuses(events: list[AuditEvent]) -> dict[int, CommentStatus]:
    """The current status of each comment the events name (one query), so the page can
    link each to where it now is in moderation."""
    ids = {e.subject_id for e in events if e.subject_type == "comment" and e.subject_id}
    if not ids:
        return {}
    rows = db.session.execute(select(Comment.id, Comment.status).where(Comment.id.in_(ids)))
    return {row.id: row.status for row in rows}


def people() -> list[str]:
    """The usernames of the blog's authors, for the page's person filter."""
    return list(db.session.scalars(select(User.username).order_by(User.username)))


def forget_before(cutoff: datetime) -> int:
    """Delete the events older than `cutoff`; how many went. Looks first, so that a
    blog with nothing to forget takes no write lock (SQLite) each time the job runs."""
    old = select(AuditEvent.id).where(AuditEvent.created_at < cutoff).limit(1)
    if db.session.scalar(old) is None:
        return 0
    gone = db.session.execute(delete(AuditEvent).where(AuditEvent.created_at < cutoff))
    db.session.commit()
    return int(gone.rowcount)  # type: ignore[attr-defined]
