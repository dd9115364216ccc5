"""Authors' accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from kmblog.extensions import db
from kmblog.models import Role, User
from kmblog.rendering import clean_line


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
    if password is not None and len(password) < 8:
        raise UserError("a password needs at least 8 characters")
    user = User(
        username=username,
        display_name=clean_line(display_name) or username,
        email=email,
        password_hash=generate_password_hash(password) if password else None,
        role=role,
        bio=bio,
        created_at=now,
    )
    db.session.add(user)
    db.session.commit()
    return user
