"""The admin's forms on /manage/fediverse: block a server or an actor, unblock."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from kmblog.models import BlockKind


class BlockForm(FlaskForm):
    kind = SelectField(
        "Block",
        choices=[
            SelectChoice(BlockKind.DOMAIN.value, "a server (domain)"),
            SelectChoice(BlockKind.ACTOR.value, "an account (its address)"),
        ],
    )
    value = StringField("Domain or address", validators=[DataRequired(), Length(max=2000)])


class UnblockForm(FlaskForm):
    """Only its CSRF token: the block is in the address."""
