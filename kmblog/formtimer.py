"""The comment form's timer: the moment a form was shown, signed.

A comment sent sooner after its form was drawn than a person could type it is a bot's.
A leaf module: the comment form stamps and checks timers, and the page cache's front
stamps a new one into each cached copy of a page it serves.
"""

from __future__ import annotations

import time

from flask import current_app, g
from itsdangerous import BadSignature, TimestampSigner

PAYLOAD = b"comment-form"


def timer_signer(secret_key: str | bytes) -> TimestampSigner:
    """What signs and checks a form timer."""
    return TimestampSigner(secret_key, salt="comment-form-shown")


def new_form_timer() -> str:
    """A timer for a form shown now, kept in g so that the page cache can find it in the
    page and give each reader a timer of their own."""
    g.comment_form_timer = timer_signer(current_app.config["SECRET_KEY"]).sign(PAYLOAD).decode()
    return str(g.comment_form_timer)


def shown_too_soon(timer: str, minimum_seconds: float) -> bool:
    """True when the form came back sooner than `minimum_seconds` after it was shown, or
    its timer is missing or forged."""
    try:
        _, shown_at = timer_signer(current_app.config["SECRET_KEY"]).unsign(
            timer, return_timestamp=True
        )
    except BadSignature:
        return True
    return time.time() - shown_at.timestamp() < minimum_seconds
