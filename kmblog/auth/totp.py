"""Authenticator-app codes (TOTP, RFC 6238) and recovery codes for authors' two-factor
sign-in.

pyotp (PyAuth's, maintained since 2011) makes secrets, codes and the otpauth:// link
that apps read; segno draws that link as a QR code in SVG, offline, with no image
library. A code from the time step before or after the current one is accepted (a
clock a little off), but never one whose step is not later than the last accepted:
a code seen over someone's shoulder cannot be used again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update

from kmblog.extensions import db
from kmblog.models import RecoveryCode, User

RECOVERY_CODE_COUNT = 10
# Ten letters and digits without look-alikes (no l, o, 0, 1): 50 bits each.
_RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10


class TotpError(ValueError):
    """A step of enrolment that cannot be done now (the message says why)."""


def totp_enabled(user: User) -> bool:
    """Whether `user` signs in with a code from an authenticator app."""
    return user.totp_enabled_at is not None


def start_enrolment(user: User) -> str:
    """A new secret for `user`, kept but not used until a code from it is confirmed."""
    if totp_enabled(user):
        raise TotpError("two-factor sign-in with an app is already on")
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None
    db.session.commit()
    return user.totp_secret


def provisioning_uri(user: User, secret: str, issuer: str) -> str:
    """The otpauth:// link an authenticator app reads (from the QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=issuer)


def qr_code_data_uri(uri: str) -> str:
    """The link as a QR code, an SVG in a data: address (no request leaves the page)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=4, border=4))


def _normalised_code(code: str) -> str:
    return "".join(code.split())


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (now's, or the one before or after) whose code `code` is."""
    totp = pyotp.TOTP(secret)
    code = _normalised_code(code)
    if len(code) != totp.digits or not code.isdigit():
        return None
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(user: User, step: int) -> bool:
    """Record `step` as used, unless it (or a later one) was: one UPDATE, so two
    requests with the same code cannot both win."""
    claimed = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    won = bool(claimed.rowcount)  # type: ignore[attr-defined]  # a CursorResult
    if won:
        user.totp_last_step = step
    return won


def confirm_enrolment(user: User, code: str, now: datetime) -> list[str] | None:
    """Turn the app on if `code` comes from the new secret: returns the recovery codes
    (shown once), or None for a wrong code (nothing changed)."""
    if totp_enabled(user) or not user.totp_secret:
        raise TotpError("there is no set-up under way: start again")
    step = _matching_step(user.totp_secret, code, now)
    if step is None or not _claim_step(user, step):
        db.session.rollback()
        return None
    user.totp_enabled_at = now
    codes = _replace_recovery_codes(user, now)
    db.session.commit()
    return codes


def check_code(user: User, code: str, now: datetime) -> bool:
    """Whether `code` is a right, unused code from `user`'s app (and mark it used)."""
    if not totp_enabled(user) or not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, code, now)
    if step is None or not _claim_step(user, step):
        db.session.rollback()
        return False
    db.session.commit()
    return True


def disable(user: User) -> None:
    """Turn two-factor sign-in with an app off, and forget its secret and codes."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.commit()


# -- Recovery codes -------------------------------------------------------------------


def _hash_code(code: str, salt: str) -> str:
    # The codes are random and long, so a salted SHA-256 keeps them as safe as a slow
    # password hash would, and checking ten of them costs nothing.
    return salt + "$" + hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _clean_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _replace_recovery_codes(user: User, now: datetime) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(
            RecoveryCode(
                user_id=user.id, code_hash=_hash_code(raw, secrets.token_hex(8)), created_at=now
            )
        )
    return codes


def new_recovery_codes(user: User, now: datetime) -> list[str]:
    """Ten new recovery codes for `user`; the old ones stop working."""
    if not totp_enabled(user):
        raise TotpError("recovery codes come with two-factor sign-in with an app")
    codes = _replace_recovery_codes(user, now)
    db.session.commit()
    return codes


def use_recovery_code(user: User, code: str, now: datetime) -> bool:
    """Whether `code` is one of `user`'s unused recovery codes (now used up)."""
    cleaned = _clean_recovery_code(code)
    if not totp_enabled(user) or len(cleaned) != _RECOVERY_LENGTH:
        return False
    unused = db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    for row in unused:
        salt = row.code_hash.partition("$")[0]
        if hmac.compare_digest(_hash_code(cleaned, salt), row.code_hash):
            # Only one request can use it, even two at once.
            used = db.session.execute(
                update(RecoveryCode)
                .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
            return bool(used.rowcount)  # type: ignore[attr-defined]  # a CursorResult
    return False


def recovery_codes_left(user: User) -> int:
    """How many of `user`'s recovery codes are still unused."""
    count = db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)
