"""A new reader's form token, session cookie and form timer, made without a request.

What Flask-WTF's generate_csrf and Flask's cookie session interface would make for a
reader who has no session yet, with their own key derivation and serialisation, so
that the cached-page front can serve a page with a comment form before Flask builds a
request at all. Flask and Flask-WTF read the results as they read their own.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any, ClassVar

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import Serializer, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from werkzeug.http import dump_cookie

from kmblog.formtimer import PAYLOAD, timer_signer

# The form token, the Set-Cookie value, the form timer.
NewReader = tuple[bytes, str, bytes]


class _KeptKeySigner(TimestampSigner):
    """itsdangerous derives the signing key from the secret and salt for every
    signature; it is the same key each time, so keep it."""

    _derived: ClassVar[dict[tuple[Any, ...], bytes]] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        place = (secret_key, self.secret_keys[-1], self.salt, self.key_derivation,
                 self.digest_method)  # fmt: skip
        key = self._derived.get(place)
        if key is None:
            key = self._derived[place] = super().derive_key(secret_key)
        return key


class _PlainSerializer(URLSafeTimedSerializer):
    """URLSafeTimedSerializer that does not try zlib on a 40-character token (it never
    shrinks it, and zlib lets go of the GIL, so the thread queues to get it back).
    Its output is what the stock one writes when compression does not pay, so Flask
    and Flask-WTF read it as they read their own."""

    signer = _KeptKeySigner

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


def new_reader_maker(app: Flask) -> Callable[[], NewReader] | None:
    """A function that makes a new reader's token, cookie and timer; None unless the app
    uses Flask's own cookie sessions and has a secret key (then the app answers)."""
    interface = app.session_interface
    if type(interface) is not SecureCookieSessionInterface or not app.secret_key:
        return None
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    tokens = _PlainSerializer(secret, salt="wtf-csrf-token")
    # As SecureCookieSessionInterface.get_signing_serializer makes it.
    sessions = _PlainSerializer(
        [*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key],
        salt=interface.salt,
        serializer=interface.serializer,
        signer_kwargs={
            "key_derivation": interface.key_derivation,
            "digest_method": interface.digest_method,
        },
    )
    # The cookie as SecureCookieSessionInterface.save_session sets it for a new,
    # non-permanent session.
    attributes: dict[str, Any] = {
        "path": interface.get_cookie_path(app),
        "domain": interface.get_cookie_domain(app),
        "secure": interface.get_cookie_secure(app),
        "httponly": interface.get_cookie_httponly(app),
        "samesite": interface.get_cookie_samesite(app),
        "partitioned": interface.get_cookie_partitioned(app),
    }
    name = interface.get_cookie_name(app)
    timers = timer_signer(app.config["SECRET_KEY"])

    def new_reader() -> NewReader:
        raw = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - Flask-WTF's raw token
        cookie = dump_cookie(name, sessions.dumps({field: raw}), **attributes)
        return tokens.dumps(raw).encode(), cookie, timers.sign(PAYLOAD)

    return new_reader
