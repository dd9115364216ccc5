"""The comment form under every post."""

from __future__ import annotations

import enum

from flask import current_app
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from kmblog.formtimer import TimerKind, new_timer, read_timer
from kmblog.models import MAX_ID, SubscriptionKind
from kmblog.rendering import clean_line, clean_text, is_safe_url

BODY_MAX = 4096
NAME_MAX = 100
URL_MAX = 2000
EMAIL_MAX = 254
NO_MAIL = "none"


def _strip(value: str | None) -> str:
    return clean_text(value or "").strip()


def _one_line(value: str | None) -> str:
    return clean_line(value or "")


def _web_address(form: FlaskForm, field: StringField) -> None:
    if field.data and not is_safe_url(field.data):
        raise ValidationError("Give a web address starting with http:// or https://, or none.")


def comment_number(value: str | None) -> int | None:
    """A comment's number as a form or an address gives it; None for anything else."""
    raw = (value or "").strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 10 and 0 < int(raw) <= MAX_ID:
        return int(raw)
    return None


def _comment_number(form: FlaskForm, field: HiddenField) -> None:
    if field.data and comment_number(field.data) is None:
        raise ValidationError(
            "The comment you replied to could not be found. Your reply was not posted; "
            "please cancel the reply and publish it as a comment on the post."
        )


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

    # E-mail notifications (kmblog/mail): an address never shown anywhere, kept only if
    # mail is asked for, and used only once confirmed.
    email = EmailField(
        "E-mail (optional, never shown)",
        filters=[_one_line],
        validators=[
            Optional(),
            Length(max=EMAIL_MAX, message="An e-mail address is at most %(max)d characters."),
            Email(message="Give an e-mail address like name@example.org, or none."),
        ],
    )
    notify = RadioField(
        "Mail me",
        choices=[
            SelectChoice(SubscriptionKind.REPLIES.value, "replies to my comment"),
            SelectChoice(SubscriptionKind.POST.value, "all new comments on this post"),
            SelectChoice(NO_MAIL, "nothing"),
        ],
        default=SubscriptionKind.REPLIES.value,
        validators=[Optional()],
    )

    # Spam traps. People never see the honeypot (hidden by CSS and from screen readers);
    # bots fill every field. `shown` carries when the form was shown, signed
    # (kmblog.formtimer: a page timer in the page, a reader timer from its script).
    website = StringField("Leave this field empty")
    shown = HiddenField()
    # The comment a reply answers (its number), empty for a comment on the post.
    parent = HiddenField(validators=[_comment_number])

    @classmethod
    def for_visitor(cls) -> CommentForm:
        """The form with a CSRF token bound to the session for a signed-in author (whose
        comment is made in their name); for readers without one, and without a session:
        the cross-site check (kmblog.security) and the form's timer guard theirs."""
        return cls(meta={"csrf": bool(current_user.is_authenticated)})

    def start_timer(self, kind: TimerKind) -> None:
        """Stamp the form with the time it is shown: a page timer in a page every reader
        shares, a reader timer in a form made for one reader."""
        self.shown.data = new_timer(kind)

    def keep_reader_timer(self) -> None:
        """Shown again after a POST: keep this reader's own timer, or give them one."""
        timer = read_timer(self.shown.data or "")
        if timer is None or timer.kind != TimerKind.READER:
            self.start_timer(TimerKind.READER)

    def verdict(self) -> Verdict:
        """What the honeypot and the timer say of a form sent back (see Verdict)."""
        if self.website.data:
            return Verdict.SPAM
        timer = read_timer(self.shown.data or "")
        if timer is None:
            return Verdict.EXPIRED
        # A page timer may be as old as a copy of the page kept in a cache or a browser:
        # it proves where the form came from, not when. A reader timer is this reader's.
        limit = current_app.config["WTF_CSRF_TIME_LIMIT"]
        if timer.kind == TimerKind.READER and timer.age_seconds > limit:
            return Verdict.EXPIRED
        minimum = current_app.config["COMMENT_MIN_SECONDS"]
        if not minimum:
            return Verdict.ACCEPT
        if timer.kind == TimerKind.PAGE:
            return Verdict.CONFIRM
        return Verdict.SPAM if timer.age_seconds < minimum else Verdict.ACCEPT

    def mail_wish(self) -> tuple[str, SubscriptionKind] | None:
        """The address and what to mail it, or None: no address, or no mail wanted."""
        if not self.email.data or self.notify.data in (None, NO_MAIL):
            return None
        return self.email.data, SubscriptionKind(self.notify.data)

    @property
    def parent_id(self) -> int | None:
        """The comment this reply answers, or None for a comment on the post."""
        return comment_number(self.parent.data)

    def csrf_failed(self) -> bool:
        """True when the only thing wrong is a missing or stale form token (signed-in
        authors' forms carry one; readers' forms carry none)."""
        return bool(getattr(self, "csrf_token", None) and self.csrf_token.errors)


class EditCommentForm(FlaskForm):
    """A commenter's new text for their comment. No form token: the browser's signed
    claim (kmblog.comments.edit_claims) and the cross-site check guard it."""

    body = TextAreaField(
        "Your comment",
        filters=[_strip],
        validators=[
            DataRequired(message="Write a comment before you save it, or delete it instead."),
            Length(max=BODY_MAX, message="A comment is at most %(max)d characters."),
        ],
    )

    class Meta:
        csrf = False


class Verdict(enum.StrEnum):
    """What becomes of a comment form sent back, before the blog's own rules."""

    ACCEPT = "accept"  # on to the comment rules (published or held)
    SPAM = "spam"  # the honeypot was filled, or a reader timer came back too soon
    # Only the page's own timer: this reader's pace is unknown (no script ran), so the
    # form is shown once more with a reader timer, to be sent again.
    CONFIRM = "confirm"
    # No timer from this blog, or a reader timer older than a form may be: the form
    # again, with what was typed (400).
    EXPIRED = "expired"
