"""Authors' accounts."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

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
    """A user could not be created; the message says why, for the person who asked."""


def create_user(
    username: str,
    password: str | None,
    role: Role,
    now: datetime,
    display_name: str = "",
    email: str | None = None,
    bio: str = "",
) -> User:
    """A new author. Without a password the account cannot sign in."""
    username = clean_line(username)
    if not username or len(username) > 64 or any(c in username for c in "/?#% "):
        raise UserError("a username is 1 to 64 characters, without spaces or / ? # %")
    if db.session.scalars(select(User.id).where(User.username == username)).first():
        raise UserError(f"the username {username!r} is taken")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    user = User(
        username=username,
        display_name=clean_line(display_name) or username,
        email=email,
        password_hash=hash_password(password) if password else None,
        role=role,
        bio=bio,
        created_at=now,
    )
    db.session.add(user)
    db.session.commit()
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


def set_password(user: User, password: str) -> None:
    """Give `user` a new password (at least 8 characters)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    user.session_version += 1  # every session of the old password ends
    db.session.commit()


def set_role(user: User, role: Role) -> None:
    user.role = role
    db.session.commit()


def set_active(user: User, active: bool) -> None:
    user.active = active
    if not active:
        user.session_version += 1
    db.session.commit()


def end_sessions(user: User) -> None:
    """Make every session and remember cookie issued to `user` so far worthless."""
    user.session_version += 1
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


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))
