"""The form of a series in the authoring area."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from kmblog.manage.forms import check_slug
from kmblog.series.services import DESCRIPTION_LENGTH


def _strip(value: str | None) -> str:
    return (value or "").strip()


class SeriesForm(FlaskForm):
    title = StringField(
        "Title",
        filters=[_strip],
        validators=[DataRequired(message="A series needs a title."), Length(max=300)],
    )
    description = TextAreaField(
        "Description (Markdown)",
        validators=[
            Length(
                max=DESCRIPTION_LENGTH,
                message=f"Keep the description to {DESCRIPTION_LENGTH} characters or fewer.",
            )
        ],
        description="Optional. A few sentences at the top of the series' page: what it "
        "covers and who it is for.",
    )
    # Only when the series is made (the editor of a series shows its address as text).
    slug = StringField(
        "Address (slug)",
        filters=[_strip],
        description="The series will be at /series/ADDRESS.html; made from the title when "
        "empty. It stays the same when the series is renamed, so links to it keep working.",
    )

    def validate_slug(self, field: StringField) -> None:
        check_slug(field.data or "", "")
