"""The second factor of authors' sign-in, whichever kind an author has.

After a correct password, an author with a second factor is not signed in yet: the
sign-in waits in the session (PENDING_KEY: {"user": user.get_id(), "remember": bool,
"next": a local path, "at": unix time}) for PENDING_SECONDS while /login/second-factor
asks for the second factor.
"""

from __future__ import annotations

from kmblog.auth.passkeys import has_passkey
from kmblog.models import User

PENDING_KEY = "pending_sign_in"
PENDING_SECONDS = 300


def has_second_factor(user: User) -> bool:
    """Whether signing in as `user` takes more than the password."""
    return has_passkey(user)
