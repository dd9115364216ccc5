"""Forms of the page editor."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
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

    # The page's version the editor was opened at (Page.version); empty for a new page.
    version = HiddenField(filters=[_strip])

    # The address the page has now: saved unchanged it passes as it is.
    current_slug = ""

    def version_number(self) -> int | None:
        """As PostForm.version_number: None without one, 0 for one that is no number."""
        value = self.version.data or ""
        if not value:
            return None
        return int(value[:9]) if value.isascii() and value.isdigit() else 0

    def validate_slug(self, field: StringField) -> None:
        check_slug(field.data or "", self.current_slug)


class PageAutosaveForm(FlaskForm):
    """The page editor's writing, sent by static/js/autosave.js every few seconds."""

    title = StringField(validators=[Length(max=300)])
    body = TextAreaField(validators=[Length(max=200_000)])
    version = HiddenField(filters=[_strip])

    def version_number(self) -> int:
        value = self.version.data or ""
        return int(value[:9]) if value.isascii() and value.isdigit() else 0
