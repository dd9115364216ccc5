"""Sign-in form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(
        "Username", validators=[DataRequired(message="Enter your username."), Length(max=64)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired(message="Enter your password."), Length(max=1024)]
    )
    remember = BooleanField("Keep me signed in on this device")
    next = HiddenField()


class TotpCodeForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app",
        filters=[lambda value: "".join(value.split()) if value else value],
        validators=[
            DataRequired(message="Enter the 6-digit code your app shows."),
            Length(max=16, message="A code from your app has 6 digits."),
        ],
    )


class RecoveryCodeForm(FlaskForm):
    recovery_code = StringField(
        "Recovery code",
        validators=[
            DataRequired(message="Enter one of your recovery codes."),
            Length(max=64, message="A recovery code has 10 letters and digits."),
        ],
    )


class PasskeyNameForm(FlaskForm):
    """A passkey's name, as the author calls it (the device it is on)."""

    name = StringField(
        "Name",
        validators=[
            DataRequired(message="Give the passkey a name, such as the device it is on."),
            Length(max=100, message="A passkey's name is at most 100 characters."),
        ],
    )


class PasskeyRemoveForm(FlaskForm):
    """Asks before a passkey is removed (the CSRF token is all it holds)."""
