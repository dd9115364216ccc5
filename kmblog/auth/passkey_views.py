"""Passkeys in the browser (static/js/passkeys.js): the options each WebAuthn call needs
and the checks of what the browser answers (JSON, CSRF-protected by the X-CSRFToken
header), and the author's list of their passkeys on the security page.

A challenge waits in the signed session cookie with what it is for and when it was
made; it is taken out by the answer that uses it, right or wrong.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from kmblog.audit.services import record_second_factor_refused, record_security_change
from kmblog.auth.forms import PasskeyNameForm, PasskeyRemoveForm
from kmblog.auth.notices import mail_security_change
from kmblog.auth.passkeys import (
    Challenge,
    PasskeyError,
    Relying,
    add_passkey,
    authentication_options,
    find_own_passkey,
    has_passkey,
    passkeys_of,
    registration_options,
    remove_passkey,
    rename_passkey,
    verify_passkey,
)
from kmblog.auth.twofactor import PENDING_KEY, pending_sign_in
from kmblog.auth.views import finish_sign_in, safe_next
from kmblog.context import current_settings
from kmblog.extensions import limiter
from kmblog.models import Passkey, utcnow

passkeys = Blueprint("passkeys", __name__)

CHALLENGE_KEY = "passkey_challenge"
REGISTER = "register"
SIGN_IN = "sign-in"
SECOND_FACTOR = "second-factor"


def _relying() -> Relying:
    """The blog as a WebAuthn relying party: from the settings, else the request."""
    config = current_app.config
    origin = config.get("WEBAUTHN_ORIGIN") or request.host_url.rstrip("/")
    rp_id = config.get("WEBAUTHN_RP_ID") or urlsplit(origin).hostname or request.host
    return Relying(rp_id=rp_id, origin=origin, name=current_settings().title)


def _encode(data: bytes | None) -> str:
    return base64.urlsafe_b64encode(data or b"").decode()


def _keep_challenge(made: Challenge, purpose: str, user_id: int | None = None) -> None:
    session[CHALLENGE_KEY] = {
        "challenge": _encode(made.challenge),
        "handle": _encode(made.user_handle),
        "purpose": purpose,
        "user": user_id,
        "at": time.time(),
    }


@dataclass(frozen=True)
class Kept:
    """A challenge taken out of the session, with when it was made."""

    challenge: bytes
    user_handle: bytes
    issued_at: float


def _take_challenge(purpose: str, user_id: int | None = None) -> Kept | None:
    """The challenge kept for `purpose` (and user), taken out of the session: one use."""
    kept = session.pop(CHALLENGE_KEY, None)
    if not isinstance(kept, dict) or kept.get("purpose") != purpose:
        return None
    if kept.get("user") != user_id or not isinstance(kept.get("at"), int | float):
        return None
    try:
        return Kept(
            base64.urlsafe_b64decode(str(kept["challenge"])),
            base64.urlsafe_b64decode(str(kept["handle"])),
            float(kept["at"]),
        )
    except (ValueError, KeyError):
        return None


def _credential() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
        return None
    credential: dict[str, Any] = body["credential"]
    return credential


def _problem(message: str, status: int = 400) -> tuple[Response, int]:
    return jsonify(error=message), status


def _options(options_json: str) -> Response:
    return current_app.response_class(options_json, mimetype="application/json")


def _as_json(response: Response) -> Response:
    """A sign-in's redirect as JSON for the script, which then goes there (the cookies
    the sign-in set stay on the response)."""
    location = response.headers.pop("Location")
    response.status_code = 200
    response.mimetype = "application/json"
    response.set_data(json.dumps({"next": location}))
    return response


@passkeys.app_context_processor
def passkey_partials() -> dict[str, Any]:
    """What the passkey partials need, on the pages that include them whichever view
    renders those: the author's passkeys on the security page (_passkeys.html), and on
    the second step whether the author has one (_passkey_second_factor.html)."""
    if not has_request_context():
        return {}
    # The security page, also as the answer to its own forms (manage.security_*).
    if (request.endpoint or "").startswith("manage.security") and current_user.is_authenticated:
        return {"passkey_list": passkeys_of(current_user), "passkey_form": PasskeyNameForm()}
    if request.endpoint == "auth.second_factor":
        found = pending_sign_in()
        return {"pending_has_passkey": found is not None and has_passkey(found.user)}
    return {}


# ---- registering, renaming and removing (signed in) ----


@passkeys.post("/manage/account/passkeys/options")
@login_required
def registration_start() -> Any:
    """Options for navigator.credentials.create() (JSON)."""
    try:
        made = registration_options(current_user, _relying())
    except PasskeyError as error:
        return _problem(str(error), 409)
    _keep_challenge(made, REGISTER, current_user.id)
    return _options(made.options_json)


@passkeys.post("/manage/account/passkeys")
@login_required
def registration_finish() -> Any:
    """Keep the passkey the browser made, under the name the author gave it (JSON)."""
    kept = _take_challenge(REGISTER, current_user.id)
    credential = _credential()
    body = request.get_json(silent=True)
    name = body.get("name") if isinstance(body, dict) else None
    if kept is None or credential is None or not isinstance(name, str):
        return _problem("That passkey could not be added. Reload the page and try again.")
    try:
        passkey = add_passkey(
            current_user,
            credential,
            kept.challenge,
            kept.user_handle,
            kept.issued_at,
            _relying(),
            name,
            utcnow(),
        )
    except PasskeyError as error:
        return _problem(str(error))
    added = f"A passkey named \u201c{passkey.name}\u201d was added to your account."
    record_security_change(current_user, added)
    mail_security_change(current_user, added)
    flash(f"The passkey \u201c{passkey.name}\u201d is added: use it when you sign in.")
    return jsonify(next=url_for("manage.security"))


def _own(passkey_id: int) -> Passkey:
    passkey = find_own_passkey(current_user, passkey_id)
    if passkey is None:
        abort(404, description="You have no passkey with that number.")
    return passkey


@passkeys.post("/manage/account/passkeys/<int:passkey_id>/name")
@login_required
def rename(passkey_id: int) -> Any:
    """Give a passkey another name."""
    passkey = _own(passkey_id)
    form = PasskeyNameForm()
    if form.validate_on_submit():
        try:
            rename_passkey(passkey, form.name.data)
        except PasskeyError as error:
            flash(str(error))
        else:
            flash(f"The passkey is now called \u201c{passkey.name}\u201d.")
    else:
        flash(next(iter(form.errors.values()))[0] if form.errors else "Nothing was changed.")
    return redirect(url_for("manage.security"), 303)


@passkeys.route("/manage/account/passkeys/<int:passkey_id>/remove", methods=["GET", "POST"])
@login_required
def remove(passkey_id: int) -> Any:
    """Ask, then forget a passkey."""
    passkey = _own(passkey_id)
    form = PasskeyRemoveForm()
    if form.validate_on_submit():
        name = passkey.name
        remove_passkey(passkey)
        removed = f"The passkey named \u201c{name}\u201d was removed from your account."
        record_security_change(current_user, removed)
        mail_security_change(current_user, removed)
        flash(f"The passkey \u201c{name}\u201d is removed: it no longer signs you in.")
        return redirect(url_for("manage.security"), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("manage/passkey_remove.html", passkey=passkey, form=form), status


# ---- signing in ----


@passkeys.post("/login/passkey/options")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
def sign_in_start() -> Any:
    """Options for navigator.credentials.get(): the pending author's passkeys after
    their password, or any of this blog's for signing in with a passkey alone (JSON)."""
    body = request.get_json(silent=True)
    purpose = body.get("purpose") if isinstance(body, dict) else None
    if purpose == SECOND_FACTOR:
        found = pending_sign_in()
        if found is None:
            return _problem("Sign in with your username and password first.", 409)
        made = authentication_options(_relying(), found.user)
        _keep_challenge(made, SECOND_FACTOR, found.user.id)
    elif purpose == SIGN_IN:
        made = authentication_options(_relying())
        _keep_challenge(made, SIGN_IN)
    else:
        return _problem("Unknown kind of sign-in.")
    return _options(made.options_json)


def _pending_author_key() -> str:
    """The second step's attempts are also limited per author, from wherever they come."""
    pending = session.get(PENDING_KEY)
    user = pending.get("user") if isinstance(pending, dict) else None
    return "passkey-author:" + str(user).partition(":")[0]


def _no_pending_sign_in() -> bool:
    return not isinstance(session.get(PENDING_KEY), dict)


@passkeys.post("/login/passkey")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
@limiter.limit(
    lambda: current_app.config["LOGIN_USERNAME_RATE_LIMIT"],
    key_func=_pending_author_key,
    exempt_when=_no_pending_sign_in,
    scope="passkey-author",
)
def sign_in_finish() -> Any:
    """Check the browser's answer and sign the author in (JSON: where to go next)."""
    credential = _credential()
    waiting = session.get(CHALLENGE_KEY)
    purpose = waiting.get("purpose") if isinstance(waiting, dict) else None
    user = None
    if purpose == SECOND_FACTOR:
        found = pending_sign_in()
        user = found.user if found is not None else None
        kept = _take_challenge(SECOND_FACTOR, user.id) if user is not None else None
        remember = found.remember if found is not None else False
        next_path = safe_next(found.next if found is not None else None)
    else:
        kept = _take_challenge(SIGN_IN)
        body = request.get_json(silent=True)
        next_path = safe_next(body.get("next") if isinstance(body, dict) else None)
        remember = False
    if kept is None or credential is None:
        session.pop(CHALLENGE_KEY, None)
        return _problem("That took too long, or the page is old. Try again.")
    try:
        signed_in = verify_passkey(
            credential, kept.challenge, kept.issued_at, _relying(), utcnow(), user
        )
    except PasskeyError as error:
        if user is not None:
            record_second_factor_refused(user, "passkey", request.remote_addr or "")
        return _problem(str(error), 401)
    how = "password and a passkey" if user is not None else "a passkey"
    return _as_json(finish_sign_in(signed_in, remember, next_path, how))
