"""The comment form under every post."""

from __future__ import annotations

import time

from flask import current_app, g
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, TimestampSigner
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from kmblog.rendering import clean_line, clean_text, is_safe_url

BODY_MAX = 4096
NAME_MAX = 100
URL_MAX = 2000


def _strip(value: str | None) -> str:
    return clean_text(value or "").strip()


def _one_line(value: str | None) -> str:
    return clean_line(value or "")


def _web_address(form: FlaskForm, field: StringField) -> None:
    if field.data and not is_safe_url(field.data):
        raise ValidationError("Give a web address starting with http:// or https://, or none.")


class CommentForm(FlaskForm):
    """Name and web address are optional: an empty name posts as Anonymous."""

    name = StringField(
        "Name (optional)",
        filters=[_one_line],
        validators=[
            Optional(),
            Length(max=NAME_MAX, message="A name is at most %(max)d characters."),
        ],
    )
    url = StringField(
        "Web address (optional)",
        filters=[_one_line],
        validators=[
            Optional(),
            Length(max=URL_MAX, message="A web address is at most %(max)d characters."),
            _web_address,
        ],
    )
    body = TextAreaField(
        "Comment",
        filters=[_strip],
        validators=[
            DataRequired(message="Write a comment before you publish it."),
            Length(max=BODY_MAX, message="A comment is at most %(max)d characters."),
        ],
    )

    # Spam traps. People never see the honeypot (hidden by CSS and from screen readers);
    # bots fill every field. `shown` carries when the form was drawn, signed.
    website = StringField("Leave this field empty")
    shown = HiddenField()

    def start_timer(self) -> None:
        """Stamp the form with the time it is shown."""
        self.shown.data = new_form_timer()

    def looks_automated(self) -> bool:
        """True when the honeypot is filled or the form came back too fast (or unsigned)."""
        if self.website.data:
            return True
        minimum = current_app.config["COMMENT_MIN_SECONDS"]
        if not minimum:
            return False
        try:
            _, shown_at = _signer().unsign(self.shown.data or "", return_timestamp=True)
        except BadSignature:
            return True
        return time.time() - shown_at.timestamp() < minimum

    def csrf_failed(self) -> bool:
        """True when the only thing wrong is a missing or stale form token."""
        return bool(self.csrf_token.errors)


def timer_signer(secret_key: str | bytes) -> TimestampSigner:
    """What signs a form timer (the page cache's front keeps one)."""
    return TimestampSigner(secret_key, salt="comment-form-shown")


def _signer() -> TimestampSigner:
    return timer_signer(current_app.config["SECRET_KEY"])


def form_timer() -> str:
    """A signed time stamp for a comment form shown now."""
    return _signer().sign(b"comment-form").decode()


def new_form_timer() -> str:
    """A form timer for this request's page (kept in g for the page cache)."""
    g.comment_form_timer = form_timer()
    return g.comment_form_timer
