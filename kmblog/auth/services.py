"""Authors' accounts."""

from __future__ import annotations

import re
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from kmblog.audit.services import Actor, record
from kmblog.extensions import db
from kmblog.models import MAX_ID, Role, User
from kmblog.rendering import clean_line

MIN_PASSWORD_LENGTH = 8
DEFAULT_HASH_METHOD = "pbkdf2:sha256:600000"


def hash_password(password: str) -> str:
    """A salted hash at the configured cost (PASSWORD_HASH_METHOD; OWASP's by default)."""
    method = DEFAULT_HASH_METHOD
    if has_app_context():
        method = current_app.config.get("PASSWORD_HASH_METHOD", DEFAULT_HASH_METHOD)
    return generate_password_hash(password, method=method)


class UserError(ValueError):
    """A user could not be created or changed; the message says why, for the person who
    asked (in the authoring area, at the command line, in an import's report)."""


LAST_ADMIN = "the blog needs at least one active administrator"


def create_user(
    username: str,
    password: str | None,
    role: Role,
    now: datetime,
    display_name: str = "",
    email: str | None = None,
    bio: str = "",
    by: Actor = None,
) -> User:
    """A new author (made by `by`: see kmblog.audit). Without a password the account
    cannot sign in."""
    role = Role(role)  # also from its name ("admin"), as the command line gives it
    user = add_user(username, password, role, now, display_name, email, bio)
    db.session.flush()
    record(
        "user.created",
        f"Created {role.value} {user.username}",
        actor=by,
        subject=("user", user.id),
        detail={"username": user.username, "role": role.value, "password": bool(password)},
        now=now,
    )
    db.session.commit()
    return user


def add_user(
    username: str,
    password: str | None,
    role: Role,
    now: datetime,
    display_name: str = "",
    email: str | None = None,
    bio: str = "",
    active: bool = True,
) -> User:
    """A new author in the current unit of work, which the caller commits (create_user,
    or an import that commits everything at its end); the same checks for both."""
    username = clean_line(username)
    if not username or len(username) > 64 or any(c in username for c in "/?#% "):
        raise UserError("a username is 1 to 64 characters, without spaces or / ? # %")
    # No autoflush: an import's half-built rows must not be flushed by this look-up.
    with db.session.no_autoflush:
        if db.session.scalars(select(User.id).where(User.username == username)).first():
            raise UserError(f"the username {username!r} is taken")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    user = User(
        username=username,
        display_name=clean_line(display_name)[:100] or username,
        email=email,
        password_hash=hash_password(password) if password else None,
        role=role,
        bio=bio,
        active=active,
        created_at=now,
    )
    db.session.add(user)
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, or None (whichever was wrong)."""
    user = None
    if "\x00" not in username:  # PostgreSQL refuses NUL in text; no username has one
        user = db.session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None or not user.password_hash:
        # Hash anyway so that a missing user takes as long as a wrong password.
        hash_password(password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def password_is_right(user: User, password: str) -> bool:
    """Whether `password` is `user`'s (asked again before a change to how they sign in)."""
    return bool(user.password_hash) and check_password_hash(user.password_hash or "", password)


def set_password(user: User, password: str, by: Actor = None) -> None:
    """Give `user` a new password (at least 8 characters), set by `by`."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    user.session_version += 1  # every session of the old password ends
    # That it was set, and by whom; never the password.
    record(
        "user.password_set",
        f"New password set for {user.username}",
        actor=by,
        subject=("user", user.id),
        detail={"username": user.username},
    )
    db.session.commit()


def _is_last_admin(user: User) -> bool:
    """True when `user` is the only active administrator."""
    if not (user.is_admin and user.active):
        return False
    others = select(User.id).where(User.role == Role.ADMIN, User.active, User.id != user.id)
    return db.session.scalars(others.limit(1)).first() is None


def set_role(user: User, role: Role, by: Actor = None) -> None:
    """Make `user` an admin or an author (asked by `by`); the last active admin stays one."""
    if role != Role.ADMIN and _is_last_admin(user):
        raise UserError(LAST_ADMIN)
    if user.role != role:
        record(
            "user.role_changed",
            f"{user.username}: {user.role.value} \u2192 {role.value}",
            actor=by,
            subject=("user", user.id),
            detail={"username": user.username, "from": user.role.value, "to": role.value},
        )
    user.role = role
    db.session.commit()


def set_active(user: User, active: bool, by: Actor = None) -> None:
    """Enable or disable `user` (asked by `by`: see kmblog.audit). Disabling ends their
    sessions; nobody disables themselves or the last active admin."""
    if not active and isinstance(by, User) and by.id == user.id:
        raise UserError("you cannot disable yourself")
    if not active and _is_last_admin(user):
        raise UserError(LAST_ADMIN)
    if user.active != active:
        done = "enabled" if active else "disabled"
        record(
            f"user.{done}",
            f"{user.username} {done}",
            actor=by,
            subject=("user", user.id),
            detail={"username": user.username},
        )
    user.active = active
    if not active:
        user.session_version += 1
    db.session.commit()


def end_sessions(user: User) -> None:
    """Make every session and remember cookie issued to `user` so far worthless."""
    user.session_version += 1
    db.session.commit()


# Mastodon's own rule for the name before the server (Account::USERNAME_RE): letters,
# digits and underscores, with single dots or dashes between them.
_FEDIVERSE_NAME = re.compile(r"[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*")
FEDIVERSE_HANDLE_LENGTH = 320
FEDIVERSE_HANDLE_FORMAT = (
    "write a fediverse handle as @name@server.example, for example @dave@mastodon.social"
)


def parse_fediverse_handle(text: str) -> str | None:
    """A fediverse account as "@name@host" (the host in lower case, punycode for an
    international name), from what an author typed ("@name@host" or "name@host"); None
    for nothing typed. Anything else raises UserError with what a handle looks like."""
    handle = clean_line(text)
    if not handle:
        return None
    name, at, host = handle.removeprefix("@").partition("@")
    if not at or not _FEDIVERSE_NAME.fullmatch(name) or len(name) > 64:
        raise UserError(FEDIVERSE_HANDLE_FORMAT)
    # The server's name checked as a mail domain is (a dot, valid labels, a real top-level
    # domain, IDNA): email-validator knows those rules; the name before it is Mastodon's.
    try:
        server = validate_email(f"x@{host}", check_deliverability=False).ascii_domain
    except EmailNotValidError:
        raise UserError(FEDIVERSE_HANDLE_FORMAT) from None
    handle = f"@{name}@{server.lower()}"
    if len(handle) > FEDIVERSE_HANDLE_LENGTH:
        raise UserError(FEDIVERSE_HANDLE_FORMAT)
    return handle


def set_fediverse_creator(user: User, handle: str | None) -> None:
    """The fediverse account credited on `user`'s posts' pages; None removes it. The
    handle is one parse_fediverse_handle returned."""
    user.fediverse_creator = handle
    db.session.commit()


def set_fediverse_actor(user: User, on: bool) -> None:
    """Turn `user`'s own ActivityPub actor on or off. Off, it is not found and takes no
    follows; its followers are kept for when it is turned on again."""
    user.fediverse_actor = on
    db.session.commit()


def find_session_user(session_id: str) -> User | None:
    """The active user a cookie's "id:version" names, if the version is still current."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit() or int(user_id) > MAX_ID:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def find_user(user_id: int) -> User | None:
    """The author with this id, if any."""
    return db.session.get(User, user_id) if 0 < user_id <= MAX_ID else None


def find_user_by_name(username: str) -> User | None:
    """The author with this username, if any."""
    return db.session.scalars(select(User).where(User.username == username)).one_or_none()


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))
