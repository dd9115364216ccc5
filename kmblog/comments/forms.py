"""The comment form under every post."""

from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from kmblog.formtimer import new_form_timer, shown_too_soon
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
        return bool(minimum) and shown_too_soon(self.shown.data or "", minimum)

    def csrf_failed(self) -> bool:
        """True when the only thing wrong is a missing or stale form token."""
        return bool(self.csrf_token.errors)
