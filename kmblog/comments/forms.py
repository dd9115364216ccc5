"""The comment form under every post."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
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

    def csrf_failed(self) -> bool:
        """True when the only thing wrong is a missing or stale form token."""
        return bool(self.csrf_token.errors)
