"""Forms of the authoring area."""

from __future__ import annotations

import re
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from kmblog.auth.services import FEDIVERSE_HANDLE_LENGTH, UserError, parse_fediverse_handle
from kmblog.models import CommentMail, CommentPolicy, PostKind, Role
from kmblog.slugs import SLUG_MAX_LENGTH

TIMEZONES = sorted(available_timezones())


def _strip(value: str | None) -> str:
    return (value or "").strip()


# What a search result or a link card shows of a description is about 160 characters;
# a summary may run a little past that (the feeds show it whole), not into an essay.
SUMMARY_LENGTH = 300
# The longest body a post may have (the editor and its live preview).
MAX_BODY_LENGTH = 200_000


class PostForm(FlaskForm):
    title = StringField(
        "Title",
        filters=[_strip],
        validators=[DataRequired(message="A post needs a title."), Length(max=300)],
    )
    body = TextAreaField("Body (Markdown)", validators=[Length(max=MAX_BODY_LENGTH)])
    summary = TextAreaField(
        "Summary",
        filters=[_strip],
        validators=[
            Length(
                max=SUMMARY_LENGTH,
                message=f"Keep the summary to {SUMMARY_LENGTH} characters or fewer.",
            )
        ],
        description="Optional. One or two sentences for search engines, link previews and "
        "the summary feed; without it they show the start of the post's first paragraph. "
        "About 160 characters is what most of them show.",
    )
    labels = StringField(
        "Labels",
        filters=[_strip],
        validators=[Length(max=2000)],
        description="Separate labels with commas; pick existing ones from the list.",
    )
    kind = SelectField(
        "Kind",
        choices=[SelectChoice(k.value, k.value.capitalize()) for k in PostKind],
        default=PostKind.ARTICLE.value,
    )
    companion_id = SelectField(
        "Companion",
        coerce=int,
        default=0,
        validate_choice=True,
        invalid_choice_message="A strategy can only follow a plan; other posts name no companion.",
        description="The plan this strategy follows. A plan may serve several strategies; "
        "its page lists them all.",
    )
    # Choices: the series the author may add to (kmblog/series); shown when there is one.
    series_id = SelectField(
        "Series",
        coerce=int,
        default=0,
        validate_choice=True,
        invalid_choice_message="Choose one of the series listed.",
    )
    # Shown only with the warning that a plan made another kind leaves its strategies
    # without a plan: ticked, the save goes ahead (without a script too).
    unpair_strategies = BooleanField("Save it anyway: those strategies will follow no plan")
    slug = StringField(
        "Address (slug)",
        filters=[_strip],
        description="Made from the title when empty. A changed address of a published "
        "post keeps the old one redirecting.",
    )
    publish_at = DateTimeLocalField(
        "Publish at",
        validators=[Optional()],
        description="In the blog's time zone. A future time schedules the post.",
    )
    comments_open = BooleanField("Allow comments", default=True)
    # An image to upload into the body ("Upload image" puts its Markdown at the end;
    # static/js/image-upload.js at the cursor, and takes dropped or pasted images).
    image = FileField("Image (JPEG, PNG or WebP)")
    image_alt = StringField(
        "Image description (alternative text)",
        filters=[_strip],
        validators=[Length(max=500)],
        description="What the image shows, for readers who cannot see it. Required.",
    )
    change_note = StringField(
        "What changed (shown under the post)",
        filters=[_strip],
        validators=[Length(max=500)],
    )
    # Kept in the public history like any change, but with no note, and the post's
    # "Updated" line keeps the note it had.
    typo = BooleanField("This is a typo fix (no note shown)")

    # The post's version the editor was opened at (Post.version): a save from an older
    # one is refused rather than put over someone else's. Empty for a new post.
    version = HiddenField(filters=[_strip])

    # The address the post has now: saved unchanged it passes as it is, even when it
    # is not one the editor would make (an imported "km-plan_29").
    current_slug = ""

    def version_number(self) -> int | None:
        """The version the editor was opened at; None when the form carries none (a
        script's post), 0 for one that is not a number (no post has it: refused)."""
        value = self.version.data or ""
        if not value:
            return None
        return int(value[:9]) if value.isascii() and value.isdigit() else 0

    def validate_slug(self, field: StringField) -> None:
        check_slug(field.data or "", self.current_slug)

    def validate_publish_at(self, field: DateTimeLocalField) -> None:
        # Far ends of the calendar overflow when moved between time zones.
        if field.data is not None and not 1970 <= field.data.year <= 9000:
            raise ValidationError("Choose a date between the years 1970 and 9000.")

    def label_names(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in (self.labels.data or "").split(",") if name.strip())


class AutosaveForm(FlaskForm):
    """The editor's writing, sent by static/js/autosave.js every few seconds. Limits are
    the editor's own, but a summary still too long is kept: it is unsaved text."""

    title = StringField(validators=[Length(max=300)])
    body = TextAreaField(validators=[Length(max=200_000)])
    summary = TextAreaField(validators=[Length(max=20_000)])
    labels = StringField(validators=[Length(max=2000)])
    version = HiddenField(filters=[_strip])

    def version_number(self) -> int:
        value = self.version.data or ""
        return int(value[:9]) if value.isascii() and value.isdigit() else 0


SLUG_PATTERN = re.compile(r"[a-z0-9-]+")


def check_slug(slug: str, current: str) -> None:
    """A new slug in the editor's form: lower-case letters, digits and hyphens (the
    helper kmblog.slugs.make_slug makes the same); the current one is always accepted."""
    if not slug or slug == current:
        return
    if len(slug) > SLUG_MAX_LENGTH:
        raise ValidationError(f"Keep the address to {SLUG_MAX_LENGTH} characters or fewer.")
    if not SLUG_PATTERN.fullmatch(slug):
        raise ValidationError("Use lower-case letters, digits and hyphens.")


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for confirmations and single buttons."""


class SettingsForm(FlaskForm):
    title = StringField(
        "Blog title", filters=[_strip], validators=[DataRequired(), Length(max=200)]
    )
    description = StringField("Description", filters=[_strip], validators=[Length(max=500)])
    about = TextAreaField("About", validators=[Length(max=5000)])
    timezone = SelectField("Time zone", choices=[SelectChoice(z) for z in TIMEZONES])
    posts_per_page = IntegerField("Posts per page", validators=[NumberRange(min=1, max=50)])
    items_per_feed = IntegerField("Items per feed", validators=[NumberRange(min=1, max=100)])
    comment_policy = SelectField(
        "Comments",
        choices=[
            SelectChoice(CommentPolicy.OPEN.value, "Open: published at once"),
            SelectChoice(CommentPolicy.MODERATED.value, "Moderated: held until approved"),
            SelectChoice(CommentPolicy.CLOSED.value, "Closed: no new comments"),
        ],
    )
    moderate_after_days = IntegerField(
        "Moderate comments on posts older than (days)",
        validators=[Optional(), NumberRange(min=0, max=36500)],
        description="Leave empty to never hold comments because of a post's age.",
    )
    moderation_links = IntegerField(
        "Hold comments with more links than",
        validators=[NumberRange(min=0, max=1000)],
        default=2,
    )
    moderation_words = TextAreaField(
        "Hold comments that contain (one word or phrase a line)",
        validators=[Length(max=20_000)],
    )
    blocked_words = TextAreaField(
        "Mark as spam comments that contain (one word or phrase a line)",
        validators=[Length(max=20_000)],
    )
    require_second_factor = BooleanField(
        "Every author must use a second factor",
        description="Authors without one (an authenticator app or a passkey) are sent to "
        "set one up before they can use the authoring area.",
    )
    hold_first_comment = BooleanField(
        "Hold the first comment of a commenter never approved before",
        description="A commenter is known again by the same name and web address as an "
        "approved comment of theirs, or by an e-mail address they confirmed that came with "
        "an approved comment. Anyone else, anonymous commenters who give no confirmed "
        "address among them, can never be known, so while this is on every comment of "
        "theirs waits for a moderator.",
    )
    edit_window_minutes = IntegerField(
        "Commenters may edit or delete their comment for (minutes)",
        validators=[
            InputRequired(message="Give a number of minutes (0: never)."),
            NumberRange(min=0, max=1440, message="Between 0 and 1440 minutes (a day)."),
        ],
        default=15,
        description="From the browser they posted it with, until someone replies to it; "
        "0 turns editing off. An edit is checked by the rules above again.",
    )
    # Threaded replies.
    thread_depth = IntegerField(
        "Replies nest at most this many levels deep",
        validators=[NumberRange(min=1, max=10, message="Give a depth from 1 to 10.")],
        default=4,
        description=(
            "A reply to a comment at the deepest level is shown beside it, "
            "with a link to the comment it answers."
        ),
    )


class UserForm(FlaskForm):
    username = StringField(
        "Username",
        filters=[_strip],
        validators=[
            DataRequired(),
            Length(max=64),
            Regexp(r"^[A-Za-z0-9_.-]+$", message="Letters, digits, dots, dashes, underscores."),
        ],
    )
    display_name = StringField("Display name", filters=[_strip], validators=[Length(max=100)])
    email = EmailField("Email", filters=[_strip], validators=[Optional(), Email(), Length(max=254)])
    role = SelectField("Role", choices=[SelectChoice(r.value, r.value.capitalize()) for r in Role])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=1024)])


class PasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[
            DataRequired(message="A password needs at least 8 characters."),
            Length(min=8, message="A password needs at least 8 characters."),
            Length(max=1024, message="A password is at most 1024 characters."),
        ],
    )


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=[SelectChoice(r.value, r.value.capitalize()) for r in Role])


class AccountMailForm(FlaskForm):
    """An author's own account: their mail address, how they hear of comments, and the
    fediverse account their posts credit."""

    email = EmailField(
        "Your e-mail address",
        filters=[_strip],
        validators=[Optional(), Email(), Length(max=254)],
        description="Where mail about comments on your posts goes (never shown to readers).",
    )
    comment_mail = SelectField(
        "Mail about comments on your posts",
        choices=[
            SelectChoice(CommentMail.EACH.value, "Each new or held comment"),
            SelectChoice(CommentMail.DIGEST.value, "A daily digest"),
            SelectChoice(CommentMail.NEVER.value, "Never"),
        ],
    )
    fediverse_creator = StringField(
        "Your fediverse handle",
        filters=[_strip],
        validators=[Length(max=FEDIVERSE_HANDLE_LENGTH)],
        description="Optional, as @name@server.example. Mastodon credits you by it on the "
        "link cards of your posts; it is not shown on the blog's pages.",
    )

    fediverse_actor = BooleanField(
        "Let people follow you on the fediverse",
        description="Off by default. On, your posts can be followed apart from the blog's, "
        "at the address shown; your display name and bio make its profile.",
    )

    def validate_fediverse_creator(self, field: StringField) -> None:
        # Checked (and tidied: "@" added, the server in lower case) by the same rule the
        # service keeps, so the form shows what would be stored.
        try:
            handle = parse_fediverse_handle(field.data or "")
        except UserError as error:
            raise ValidationError(str(error).capitalize() + ".") from None
        field.data = handle or ""


class TotpConfirmForm(FlaskForm):
    """The first code from a newly added authenticator app."""

    code = StringField(
        "Code from your authenticator app",
        validators=[
            DataRequired(message="Enter the 6-digit code your app shows."),
            Length(max=16, message="A code from your app has 6 digits."),
        ],
    )


def _password_check(label: str = "Your password") -> PasswordField:
    """The author's password, asked again before a change to how they sign in."""
    return PasswordField(
        label,
        validators=[
            DataRequired(message="Enter your password."),
            Length(max=1024, message="A password is at most 1024 characters."),
        ],
    )


class NewRecoveryCodesForm(FlaskForm):
    codes_password = _password_check()


class DisableTotpForm(FlaskForm):
    disable_password = _password_check()


class OwnPasswordForm(FlaskForm):
    current_password = _password_check("Current password")
    new_password = PasswordField(
        "New password",
        validators=[
            DataRequired(message="A password needs at least 8 characters."),
            Length(min=8, message="A password needs at least 8 characters."),
            Length(max=1024, message="A password is at most 1024 characters."),
        ],
    )
    new_password_again = PasswordField(
        "New password again",
        validators=[
            DataRequired(message="Type the new password a second time."),
            EqualTo("new_password", message="The two new passwords are not the same."),
        ],
    )
