"""Sign-in support. The sign-in pages come with the authoring area; the loader is
here now so that a signed-in author's comments carry their account."""

from __future__ import annotations

from flask import Blueprint

from kmblog.extensions import db, login_manager
from kmblog.models import User

auth = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))
