"""The signed links in mail: confirm an address, unsubscribe, see all subscriptions.

Signed with the app's SECRET_KEY (itsdangerous, Flask's own signer), so they work
without signing in and cannot be made up; each kind has its own salt, so a link of one
kind is never read as another. Unsubscribe links never expire: an old mail's link must
still work. A confirmation link does (CONFIRM_DAYS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

CONFIRM_DAYS = 14


@dataclass(frozen=True)
class Unsubscribe:
    """What one unsubscribe link ends: a subscriber's subscriptions to one post, or an
    author's comment mail."""

    subscriber_id: int | None = None
    email: str = ""
    post_id: int | None = None
    user_id: int | None = None


def _signer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"kmblog-mail-{salt}")


def _load(salt: str, token: str) -> Any:
    try:
        return _signer(salt).loads(token)
    except BadSignature:
        return None


def confirm_token(subscriber_id: int, email: str) -> str:
    signer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="kmblog-mail-confirm")
    return signer.dumps([subscriber_id, email])


def read_confirm_token(token: str) -> tuple[int, str] | None:
    """(subscriber id, address), or None for a link that is forged, damaged or too old."""
    signer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="kmblog-mail-confirm")
    try:
        data = signer.loads(token, max_age=CONFIRM_DAYS * 86400)
    except BadSignature:
        return None
    return _id_and_email(data)


def unsubscribe_token(target: Unsubscribe) -> str:
    return _signer("unsubscribe").dumps(
        [target.subscriber_id, target.email, target.post_id, target.user_id]
    )


def read_unsubscribe_token(token: str) -> Unsubscribe | None:
    data = _load("unsubscribe", token)
    if not (isinstance(data, list) and len(data) == 4):
        return None
    subscriber_id, email, post_id, user_id = data
    if not all(v is None or isinstance(v, int) for v in (subscriber_id, post_id, user_id)):
        return None
    if not isinstance(email, str):
        return None
    return Unsubscribe(subscriber_id, email, post_id, user_id)


def subscriptions_token(subscriber_id: int, email: str) -> str:
    return _signer("subscriptions").dumps([subscriber_id, email])


def read_subscriptions_token(token: str) -> tuple[int, str] | None:
    return _id_and_email(_load("subscriptions", token))


def _id_and_email(data: Any) -> tuple[int, str] | None:
    if (
        isinstance(data, list)
        and len(data) == 2
        and isinstance(data[0], int)
        and isinstance(data[1], str)
    ):
        return data[0], data[1]
    return None
