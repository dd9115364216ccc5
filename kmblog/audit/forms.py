"""The audit page's filter: a GET form, read from the query string (no token: it
changes nothing)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from wtforms import DateField, Form, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from kmblog.audit.services import ACTION_GROUPS, ACTIONS, SUBJECT_TYPES, AuditFilter
from kmblog.models import MAX_ID


def _strip(value: str | None) -> str:
    return (value or "").strip()


class AuditFilterForm(Form):
    action = SelectField(
        "What",
        choices=[SelectChoice("", "Everything")]
        + [SelectChoice(group, f"{label} (all)") for group, label in ACTION_GROUPS.items()]
        + [SelectChoice(action, label) for action, label in ACTIONS.items()],
        validate_choice=True,
        default="",
    )
    person = StringField("Who (username)", filters=[_strip], validators=[Length(max=64)])
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])
    subject_type = SelectField(
        "Subject",
        choices=[SelectChoice("", "Any")]
        + [SelectChoice(kind, label) for kind, label in SUBJECT_TYPES.items()],
        default="",
    )
    subject_id = IntegerField(
        "Its number",
        validators=[Optional(), NumberRange(min=1, max=MAX_ID, message="Give a number above 0.")],
    )

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        for field in (self.since, self.until):
            if field.errors and field.data is None and field.raw_data:
                # A date input may hold only a date: the text typed goes in the message.
                typed = field.raw_data[0][:40]
                field.errors = [f"\u201c{typed}\u201d is not a date; pick one, as 2026-12-07."]
                field.raw_data = []
        return valid

    def validate_until(self, field: DateField) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("The end date comes before the start date.")

    def filter(self, zone: ZoneInfo) -> AuditFilter:
        """What the form asks for; dates are whole days in the blog's time zone."""
        return AuditFilter(
            action=self.action.data or "",
            person=self.person.data or "",
            since=_day_start(self.since.data, zone),
            until=_day_start(self.until.data + timedelta(days=1), zone)
            if self.until.data
            else None,
            subject_type=self.subject_type.data or "",
            subject_id=self.subject_id.data if self.subject_type.data else None,
        )


def _day_start(day: object, zone: ZoneInfo) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time(), tzinfo=zone)  # type: ignore[arg-type]
