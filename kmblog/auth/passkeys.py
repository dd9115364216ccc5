"""Passkeys (WebAuthn): registering an author's authenticator and checking its signature
when they sign in.

Duo Labs' py_webauthn builds the options and verifies the browser's answers (client data,
authenticator data, attestation, signature, counter): WebAuthn is easy to get subtly
wrong, and that library is the one most Python sites use. What stays here is ours: which
credentials an author may use, single-use challenges, the counter kept, names and dates.

A challenge is made here and kept by the caller (the web layer keeps it in the signed
session cookie with the time it was made); it is good for CHALLENGE_SECONDS and only
before the passkey's last use, so an answer cannot be replayed even with an old cookie.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from kmblog.extensions import db
from kmblog.models import MAX_ID, Passkey, User
from kmblog.rendering import clean_line

CHALLENGE_SECONDS = 300
TIMEOUT_MS = 120_000
MAX_PASSKEYS = 20
NAME_LENGTH = 100
KNOWN_TRANSPORTS = {transport.value for transport in AuthenticatorTransport}


class PasskeyError(ValueError):
    """A passkey could not be registered, used or changed; the message says why, for the
    author (never which part of a forged answer was wrong)."""


REFUSED = "That passkey was not accepted. Try again, or sign in another way."


@dataclass(frozen=True)
class Relying:
    """Who the browser is talking to: the RP id (the blog's host name), the origin the
    browser reports (scheme, host and port) and the name shown in its dialog."""

    rp_id: str
    origin: str
    name: str


@dataclass(frozen=True)
class Challenge:
    """Options for the browser (JSON) and the challenge inside them, to keep; for a
    registration, also the user handle they give the new passkey."""

    options_json: str
    challenge: bytes
    user_handle: bytes | None = None


def passkeys_of(user: User) -> list[Passkey]:
    """The author's passkeys, oldest first."""
    return list(
        db.session.scalars(select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.id))
    )


def has_passkey(user: User) -> bool:
    """Whether the author has registered at least one passkey."""
    found = select(Passkey.id).where(Passkey.user_id == user.id).limit(1)
    return db.session.scalars(found).first() is not None


def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=key.credential_id,
            transports=[AuthenticatorTransport(t) for t in key.transports.split() if t],
        )
        for key in passkeys
    ]


def registration_options(user: User, relying: Relying) -> Challenge:
    """Options to create a passkey for `user` (discoverable, with the device's own check
    of who holds it); the ones they have are excluded, so no device registers twice."""
    existing = passkeys_of(user)
    if len(existing) >= MAX_PASSKEYS:
        raise PasskeyError(f"You have {MAX_PASSKEYS} passkeys; remove one to add another.")
    challenge = secrets.token_bytes(32)
    handle = _user_handle(existing)
    options = generate_registration_options(
        rp_id=relying.rp_id,
        rp_name=relying.name,
        user_name=user.username,
        user_id=handle,
        user_display_name=user.display_name,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(existing),
    )
    return Challenge(options_to_json(options), challenge, handle)


def _user_handle(existing: list[Passkey]) -> bytes:
    """The author's WebAuthn user id: the one their passkeys already carry, or new."""
    return existing[0].user_handle if existing else secrets.token_bytes(32)


def clean_name(name: str) -> str:
    """A passkey's name as shown: one line, 1 to NAME_LENGTH characters."""
    cleaned = clean_line(name)
    if not cleaned:
        raise PasskeyError("Give the passkey a name, such as the device it is on.")
    if len(cleaned) > NAME_LENGTH:
        raise PasskeyError(f"A passkey's name is at most {NAME_LENGTH} characters.")
    return cleaned


def _fresh(issued_at: float, now: datetime) -> bool:
    age = now.timestamp() - issued_at
    return 0 <= age <= CHALLENGE_SECONDS


def add_passkey(
    user: User,
    credential: dict[str, Any],
    challenge: bytes,
    user_handle: bytes,
    issued_at: float,
    relying: Relying,
    name: str,
    now: datetime,
) -> Passkey:
    """Check the browser's answer to registration_options (which gave the passkey
    `user_handle`) and keep the new passkey."""
    name = clean_name(name)
    if not _fresh(issued_at, now):
        raise PasskeyError("That took too long. Try adding the passkey again.")
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=relying.rp_id,
            expected_origin=relying.origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyError("That passkey could not be added. Try again.") from error
    existing = passkeys_of(user)
    if len(existing) >= MAX_PASSKEYS:
        raise PasskeyError(f"You have {MAX_PASSKEYS} passkeys; remove one to add another.")
    taken = select(Passkey.id).where(Passkey.credential_id == verified.credential_id)
    if db.session.scalars(taken).first() is not None:
        raise PasskeyError("That passkey is already registered.")
    response = credential.get("response")
    transports = response.get("transports") if isinstance(response, dict) else None
    known = [t for t in transports or [] if isinstance(t, str) and t in KNOWN_TRANSPORTS]
    passkey = Passkey(
        user_id=user.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=" ".join(dict.fromkeys(known)),
        # Their other passkeys' handle, if one was added meanwhile from another tab.
        user_handle=existing[0].user_handle if existing else user_handle,
        name=name,
        created_at=now,
    )
    db.session.add(passkey)
    db.session.commit()
    return passkey


def authentication_options(relying: Relying, user: User | None = None) -> Challenge:
    """Options to sign in with a passkey: `user`'s own (the second factor after their
    password), or any discoverable one of this blog (signing in with the passkey alone)."""
    challenge = secrets.token_bytes(32)
    allowed = _descriptors(passkeys_of(user)) if user is not None else []
    options = generate_authentication_options(
        rp_id=relying.rp_id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=allowed,
        user_verification=(
            UserVerificationRequirement.PREFERRED
            if user is not None
            else UserVerificationRequirement.REQUIRED
        ),
    )
    return Challenge(options_to_json(options), challenge)


def _raw_id(credential: dict[str, Any]) -> bytes | None:
    raw = credential.get("rawId")
    if not isinstance(raw, str) or len(raw) > 2048:
        return None
    try:
        return base64url_to_bytes(raw)
    except (ValueError, TypeError):
        return None


def verify_passkey(
    credential: dict[str, Any],
    challenge: bytes,
    issued_at: float,
    relying: Relying,
    now: datetime,
    user: User | None = None,
) -> User:
    """The author a passkey answer signs in: with `user`, only one of their passkeys (the
    second factor); without, any passkey whose user handle matches (the passkey alone,
    which then needs the device's check of who holds it). Raises PasskeyError otherwise,
    changing nothing."""
    if not _fresh(issued_at, now):
        raise PasskeyError("That took too long. Try again.")
    raw_id = _raw_id(credential)
    passkey = None
    if raw_id is not None:
        passkey = db.session.scalars(
            select(Passkey).where(Passkey.credential_id == raw_id)
        ).one_or_none()
    if passkey is None or (user is not None and passkey.user_id != user.id):
        raise PasskeyError(REFUSED)
    # A challenge made before the passkey's last use was spent by it (or by one the
    # author asked for later): an answer to it is a replay.
    if passkey.last_used_at is not None and issued_at <= passkey.last_used_at.timestamp():
        raise PasskeyError(REFUSED)
    if user is None and not _handle_matches(credential, passkey):
        raise PasskeyError(REFUSED)
    owner = db.session.get(User, passkey.user_id) if passkey.user_id <= MAX_ID else None
    if owner is None or not owner.active:
        raise PasskeyError(REFUSED)
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=relying.rp_id,
            expected_origin=relying.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=user is None,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        # The counter going backwards (a cloned authenticator) ends up here too.
        raise PasskeyError(REFUSED) from error
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = now
    db.session.commit()
    return owner


def _handle_matches(credential: dict[str, Any], passkey: Passkey) -> bool:
    response = credential.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if not isinstance(handle, str):
        return False
    try:
        return secrets.compare_digest(base64url_to_bytes(handle), passkey.user_handle)
    except (ValueError, TypeError):
        return False


def find_own_passkey(user: User, passkey_id: int) -> Passkey | None:
    """One of `user`'s passkeys by its number, or None."""
    if not 0 < passkey_id <= MAX_ID:
        return None
    passkey = db.session.get(Passkey, passkey_id)
    return passkey if passkey is not None and passkey.user_id == user.id else None


def rename_passkey(passkey: Passkey, name: str) -> None:
    """Give a passkey another name."""
    passkey.name = clean_name(name)
    db.session.commit()


def authors_with_passkeys() -> set[int]:
    """The ids of the authors who have a passkey (the authors' list marks them)."""
    return set(db.session.scalars(select(Passkey.user_id).distinct()))


def forget_passkeys(user: User) -> int:
    """Remove every passkey of `user` in the caller's transaction (an admin's reset of
    their second factors); how many there were."""
    ids = list(db.session.scalars(select(Passkey.id).where(Passkey.user_id == user.id)))
    if ids:
        db.session.execute(delete(Passkey).where(Passkey.id.in_(ids)))
    return len(ids)


def remove_passkey(passkey: Passkey) -> None:
    """Forget a passkey: it signs no one in from now on."""
    db.session.delete(passkey)
    db.session.commit()
