"""The comment form's timer: when a form was shown, signed, so that a comment sent
sooner than a person could write it is known for a bot's.

Two kinds, told apart by what is signed:
- a *page* timer is written into the post page when it is rendered. Cached pages are the
  same bytes for every reader, so it says when the page was made, not when this reader
  saw it: it proves the form came from this blog (the fallback against cross-site
  posting for clients that send neither Sec-Fetch-Site nor Origin), never how fast the
  reader was;
- a *reader* timer is made for one reader: the page's script asks for one when the
  comment form comes into view (/comments/form-timer), and a form shown again after a
  POST carries one. Only a reader timer can tell how fast a comment came back.

A leaf module: the comment form and its views use it; nothing in it keeps state.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, TimestampSigner


class TimerKind(enum.StrEnum):
    PAGE = "page"
    READER = "reader"


@dataclass(frozen=True)
class Timer:
    kind: TimerKind
    age_seconds: float


def _signer() -> TimestampSigner:
    return TimestampSigner(current_app.config["SECRET_KEY"], salt="comment-form-shown")


def new_timer(kind: TimerKind) -> str:
    """A timer of `kind` for a form shown now."""
    return _signer().sign(kind.value.encode()).decode()


def read_timer(value: str) -> Timer | None:
    """What a timer sent back with a form says; None when it is missing or forged."""
    try:
        payload, signed_at = _signer().unsign(value, return_timestamp=True)
        kind = TimerKind(payload.decode())
    except (BadSignature, ValueError, UnicodeDecodeError):
        return None
    return Timer(kind, time.time() - signed_at.timestamp())
