"""The authors' form for a mention: approve or delete."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf


class MentionActionForm(FlaskForm):
    action = HiddenField(validators=[AnyOf(["approve", "delete"])])
