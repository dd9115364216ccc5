"""Two-factor sign-in: who needs a second factor, and the sign-in that waits for one.

After a right password, an author with a second factor is not signed in yet: the
session holds a pending sign-in (who, "keep me signed in", where to go, since when) for
SECOND_FACTOR_SECONDS (5 minutes), and /login/second-factor finishes it
(auth.views.finish_sign_in) with a code from their app, a recovery code, or a passkey.
Nothing under /manage/ opens meanwhile: they are not signed in.

When the admins require a second factor for every author, an author signed in without
one is sent to /manage/account/security from every page of the authoring area until
they have enrolled one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app, session

from kmblog.auth.passkeys import has_passkey
from kmblog.auth.services import find_session_user
from kmblog.auth.totp import totp_enabled
from kmblog.context import current_settings
from kmblog.models import User

PENDING_KEY = "pending_sign_in"
# Open to an author who must still enrol a second factor (the passkey pages included).
ENROLMENT_PATH = "/manage/account/security"


def has_second_factor(user: User) -> bool:
    """Whether `user` has a second factor to sign in with: an authenticator app, or a
    passkey (which, used after the password, stands as one)."""
    return totp_enabled(user) or has_passkey(user)


def second_factor_required(user: User) -> bool:
    """Whether `user` must give a second factor: they have one, or every author must."""
    return has_second_factor(user) or current_settings().require_second_factor


def must_enrol(user: User) -> bool:
    """Every author must use a second factor and `user` has none yet."""
    # The requirement first: it comes with the settings every page reads anyway, so an
    # author's pages cost no query more unless the admins ask for a second factor.
    return current_settings().require_second_factor and not has_second_factor(user)


@dataclass(frozen=True)
class PendingSignIn:
    user: User
    remember: bool
    next: str


def begin_pending(user: User, remember: bool, next_path: str) -> None:
    """Remember, in the session, a sign-in that waits for `user`'s second factor."""
    session[PENDING_KEY] = {
        "user": user.get_id(),
        "remember": bool(remember),
        "next": next_path,
        "at": time.time(),
    }


def pending_sign_in() -> PendingSignIn | None:
    """The sign-in waiting for a second factor, if there is one and it is recent; one
    that expired is forgotten. The user must still be active with the same session
    version (a new password or a sign-out everywhere ends it)."""
    state = session.get(PENDING_KEY)
    if not isinstance(state, dict):
        return None
    started = state.get("at")
    age = time.time() - started if isinstance(started, int | float) else -1
    user = find_session_user(str(state.get("user", "")))
    if not 0 <= age <= current_app.config["SECOND_FACTOR_SECONDS"] or user is None:
        end_pending()
        return None
    return PendingSignIn(
        user=user, remember=bool(state.get("remember")), next=str(state.get("next") or "")
    )


def end_pending() -> bool:
    """Forget the pending sign-in; whether there was one."""
    return session.pop(PENDING_KEY, None) is not None


def pending_user_key() -> str:
    """Second-factor attempts are also limited per account, whatever address they come
    from (the rate limiter's key)."""
    state = session.get(PENDING_KEY)
    user = state.get("user", "") if isinstance(state, dict) else ""
    return "pending:" + str(user).partition(":")[0]
