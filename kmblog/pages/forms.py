"""Forms of the page editor."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from kmblog.manage.forms import check_slug


def _strip(value: str | None) -> str:
    return (value or "").strip()


class PageForm(FlaskForm):
    title = StringField(
        "Title",
        filters=[_strip],
        validators=[DataRequired(message="A page needs a title."), Length(max=300)],
    )
    body = TextAreaField("Body (Markdown)", validators=[Length(max=200_000)])
    slug = StringField(
        "Address (slug)",
        filters=[_strip],
        description="The page is at /p/ADDRESS.html; made from the title when empty. A "
        "changed address of a published page keeps the old one redirecting.",
    )

    # The address the page has now: saved unchanged it passes as it is.
    current_slug = ""

    def validate_slug(self, field: StringField) -> None:
        check_slug(field.data or "", self.current_slug)
