"""The upload form: one image and the words that stand for it."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length

from kmblog.media.services import ALT_MAX

ACCEPT = "image/jpeg,image/png,image/webp,.jpg,.jpeg,.png,.webp"


class UploadForm(FlaskForm):
    image = FileField("Image (JPEG, PNG or WebP)", validators=[FileRequired("Choose an image.")])
    alt = StringField(
        "Description (alternative text)",
        validators=[Length(max=ALT_MAX)],
        description="What the image shows, for readers who cannot see it. Required.",
    )
