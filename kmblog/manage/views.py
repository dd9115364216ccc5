"""The authoring area: dashboard, editor, moderation, settings and users."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_user
from wtforms import SelectChoice

from kmblog import editing
from kmblog.audit.services import record_second_factors_reset, record_security_change
from kmblog.auth import totp
from kmblog.auth.notices import mail_security_change
from kmblog.auth.passkeys import authors_with_passkeys, forget_passkeys
from kmblog.auth.services import (
    UserError,
    create_user,
    find_user,
    list_users,
    password_is_right,
    set_active,
    set_fediverse_actor,
    set_fediverse_creator,
    set_password,
    set_role,
)
from kmblog.context import current_settings, current_zone
from kmblog.extensions import csrf
from kmblog.federation import services as federation_services
from kmblog.mail.services import set_comment_mail
from kmblog.manage.forms import (
    MAX_BODY_LENGTH,
    AccountMailForm,
    AutosaveForm,
    ConfirmForm,
    DisableTotpForm,
    NewRecoveryCodesForm,
    OwnPasswordForm,
    PasswordForm,
    PostForm,
    RoleForm,
    SettingsForm,
    TotpConfirmForm,
    UserForm,
)
from kmblog.manage.post_templates import TEMPLATES
from kmblog.manage.services import (
    AutosaveText,
    PostAction,
    PostConflict,
    PostDraft,
    PostError,
    PostState,
    StrategiesWouldLosePlan,
    all_label_names,
    comment_counts_by_status,
    companion_choices,
    create_post,
    dashboard_posts,
    delete_post,
    discard_autosave,
    find_autosave,
    find_post_by_id,
    moderatable_comments,
    moderation_list,
    render_post_body,
    save_post,
    set_comment_status,
    store_autosave,
    strategies_of,
)
from kmblog.media.services import MediaError, markdown_for
from kmblog.media.web import store_file
from kmblog.models import (
    MAX_ID,
    CommentMail,
    CommentStatus,
    Post,
    PostAutosave,
    PostKind,
    PostStatus,
    Role,
    SourceFormat,
    User,
    utcnow,
)
from kmblog.rendering import ReadingTime, reading_time, text_diff
from kmblog.series.services import SeriesChoice, series_choices
from kmblog.settings import update_settings
from kmblog.webmention.web import post_changed

manage = Blueprint("manage", __name__, url_prefix="/manage")

MODERATION_ACTIONS = {
    "approve": CommentStatus.PUBLISHED,
    "spam": CommentStatus.SPAM,
    "delete": CommentStatus.DELETED,
}


@manage.before_request
@login_required
def require_sign_in() -> None:
    """Everything under /manage/ is for signed-in authors."""


def admin_required(view: View) -> View:
    """403 for authors who are not admins: they are told, not silently redirected."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(403, description="Only an administrator may open this page.")
        return view(*args, **kwargs)

    return cast(View, wrapped)


View = TypeVar("View", bound=Callable[..., Any])
E = TypeVar("E", bound=enum.StrEnum)
D = TypeVar("D")


def parse_enum(enum_class: type[E], value: str | None, default: D) -> E | D:
    """The member of `enum_class` named by a value from a request, or `default`."""
    if value is None:
        return default
    try:
        return enum_class(value)
    except ValueError:
        return default


def _page_number() -> int:
    page = request.args.get("page", type=int) or 1
    return max(1, min(page, 100_000))


def _own_post(post_id: int) -> Post:
    """The post, if the signed-in author may edit it: 404 if missing, 403 if not theirs."""
    post = find_post_by_id(post_id) if 0 < post_id <= MAX_ID else None
    if post is None:
        abort(404, description="There is no post with that number.")
    if not current_user.is_admin and post.author_id != current_user.id:
        abort(403, description="This post belongs to another author.")
    return post


@manage.get("/")
def dashboard() -> str:
    """The author's posts by state (everyone's for admins), newest first, with comments."""
    state_name = request.args.get("state", PostState.DRAFTS.value)
    state = parse_enum(PostState, state_name, PostState.DRAFTS)
    author = None if current_user.is_admin else current_user
    page = dashboard_posts(author, state, utcnow(), _page_number())
    counts = comment_counts_by_status([post.id for post in page.items])
    return render_template(
        "manage/dashboard.html",
        page=page,
        state=state,
        states=list(PostState),
        PostState=PostState,
        counts=counts,
        templates=TEMPLATES.values(),
        settings=current_settings(),
    )


def _local_to_utc(moment: datetime | None) -> datetime | None:
    """A datetime-local value, read in the blog's time zone."""
    return None if moment is None else moment.replace(tzinfo=current_zone())


def _fill_choices(form: PostForm, post: Post | None) -> None:
    if post is not None:
        form.current_slug = post.slug
        if post.source_format == SourceFormat.HTML:
            # Imported from Blogger: edited as the HTML it is, sanitised as on import.
            form.body.label.text = "Body (HTML)"
    kind = parse_enum(PostKind, form.kind.data, PostKind.ARTICLE)
    form.companion_id.choices = [SelectChoice(0, "None")] + [
        SelectChoice(other.id, other.title)
        for other in companion_choices(kind, post.id if post else None)
    ]
    form.series_id.choices = [SelectChoice(0, "None")] + [
        SelectChoice(found.id, found.title)
        for found in series_choices(current_user, _series_id(post))
    ]


def _series_id(post: Post | None) -> int | None:
    """The series the post is in now, if any."""
    entry = post.series_entry if post is not None else None
    return entry.series_id if entry is not None else None


def _draft_from(form: PostForm) -> PostDraft:
    return PostDraft(
        title=form.title.data,
        body=form.body.data or "",
        summary=form.summary.data or "",
        labels=form.label_names(),
        kind=PostKind(form.kind.data),
        comments_open=form.comments_open.data,
        slug=form.slug.data or "",
        change_note=form.change_note.data or "",
        companion_id=form.companion_id.data or None,
        unpair_strategies=bool(form.unpair_strategies.data),
        typo=bool(form.typo.data),
        # Sent only when the editor showed the choice: otherwise the post stays put.
        series=SeriesChoice(form.series_id.data or None) if "series_id" in request.form else None,
    )


def _editor(
    post: Post | None,
    form: PostForm,
    status: int = 200,
    preview: str = "",
    uploaded: str = "",
    autosave: PostAutosave | None = None,
    conflict: dict[str, Any] | None = None,
    restored: PostAutosave | None = None,
    unpair_warning: str = "",
) -> Any:
    """The editor page; `autosave` is unsaved text to offer, `restored` the one now in
    the form, `conflict` what another save stored while this editor was open."""
    # How long the previewed text is, else the saved one; the live preview keeps it up.
    reading: ReadingTime | None = None
    if preview:
        reading = reading_time(preview)
    elif post is not None and request.method == "GET":
        reading = reading_time(post.body_html)
    return (
        render_template(
            "manage/editor.html",
            post=post,
            form=form,
            preview=preview,
            reading=reading,
            uploaded=uploaded,
            # A plan's editor names the strategies that follow it.
            strategies=strategies_of(post) if post and post.kind == PostKind.PLAN else [],
            unpair_warning=unpair_warning,
            label_names=all_label_names(),
            now=utcnow(),
            settings=current_settings(),
            autosave=autosave,
            restored=restored,
            conflict=conflict,
        ),
        status,
    )


def _offer_or_restore(post: Post | None, form: PostForm) -> Any:
    """The editor as first opened: with the author's unsaved text offered, or, after
    "Restore" (a link, so that it needs no script), put in the form."""
    autosave = find_autosave(current_user, post)
    if autosave is None or request.args.get("restore") != "autosave":
        return _editor(post, form, autosave=autosave)
    form.title.data = autosave.title
    form.body.data = autosave.body
    form.summary.data = autosave.summary
    form.labels.data = autosave.labels
    if post is not None:
        # Saved, it is checked against the version it was written from: text written
        # before someone else's save never silently replaces theirs.
        form.version.data = str(autosave.base_version)
    return _editor(post, form, restored=autosave)


def _handle_editor(post: Post | None, form: PostForm) -> Any:
    """Preview, save, publish, schedule or unpublish, from the button that was pressed."""
    if request.form.get("action") == "upload":
        return _upload_into_body(post, form)
    if not form.validate_on_submit():
        return _editor(post, form, editing.form_status(form))
    action = request.form.get("action", PostAction.SAVE.value)
    draft = _draft_from(form)
    if action == "preview":
        source_format = post.source_format if post else SourceFormat.MARKDOWN
        preview = render_post_body(draft.body, source_format, post.id if post else None)
        return _editor(post, form, preview=preview)
    publish_at = _local_to_utc(form.publish_at.data)
    now = utcnow()
    was_visible = False
    try:
        if parse_enum(PostAction, action, None) is None:
            abort(400, description="Unknown editor action.")
        if post is None:
            post = create_post(
                current_user,
                draft,
                now,
                publish_at=(publish_at or now) if action == PostAction.PUBLISH else None,
            )
        else:
            was_visible = post.is_visible(now)
            post = save_post(
                post,
                draft,
                PostAction(action),
                now,
                publish_at,
                by=current_user,
                expected_version=form.version_number(),
            )
    except PostConflict as error:
        assert post is not None  # noqa: S101 - only an existing post's save conflicts
        return _conflict(post.id, form, str(error))
    except StrategiesWouldLosePlan as error:
        # Asked, not done: the form again, with the box that confirms it.
        form.unpair_strategies.data = False
        return _editor(post, form, 409, unpair_warning=str(error))
    except PostError as error:
        form.title.errors = [*form.title.errors, str(error)]
        return _editor(post if post and post.id else None, form, 422)
    if post.status == PostStatus.PUBLISHED or was_visible:
        # Webmentions to the sites it links to, and the WebSub hub (kmblog/webmention).
        post_changed(post, gone=post.status != PostStatus.PUBLISHED)
    flash(_saved_message(post, now))
    return redirect(url_for("manage.edit_post", post_id=post.id), 303)


# The editor's live preview (static/js/live-preview.js) posts the body as the author
# types. The app's CSRF check covers it: the script sends the editor's token.
@manage.post("/posts/preview")
@manage.post("/posts/<int:post_id>/preview")
def preview_post(post_id: int | None = None) -> Any:
    """A post's body rendered exactly as saving would render it, with its length, as
    JSON for the editor's live preview; nothing is saved."""
    post = _own_post(post_id) if post_id is not None else None
    body = request.form.get("body", "")
    if len(body) > MAX_BODY_LENGTH:
        answer = jsonify(error=f"The text is longer than {MAX_BODY_LENGTH:,} characters.")
        return answer, 422
    source_format = post.source_format if post else SourceFormat.MARKDOWN
    html = render_post_body(body, source_format, post.id if post else None)
    reading = reading_time(html)
    response = jsonify(
        html=html, words=reading.words, minutes=reading.minutes, summary=reading.summary
    )
    # An author's unsaved words: for this answer only, kept by no cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _conflict(post_id: int, form: PostForm, message: str) -> Any:
    """409: the editor again with the author's text as sent, and what the other save
    stored beside it (its text and the differences), so that nothing is lost. The form
    now carries the post's current version: saving again is a choice made knowingly."""
    current = find_post_by_id(post_id)
    if current is None:
        abort(404, description="The post was deleted while you were editing it.")
    form.version.data = str(current.version)
    conflict = {
        "message": message,
        "item": current,
        "labels": ", ".join(label.name for label in current.labels),
        "title_differs": (form.title.data or "") != current.title,
        "body_diff": text_diff(current.body_source, form.body.data or ""),
    }
    return _editor(current, form, 409, conflict=conflict)


def _upload_into_body(post: Post | None, form: PostForm) -> Any:
    """The editor's "Upload image" button (without the script): store the image and give
    the editor back with its Markdown at the end of the body; nothing else is saved."""
    form.validate_on_submit()  # for the CSRF token; the post's own fields wait for Save
    for field in form:
        if field is not form.csrf_token:
            field.errors = []
    if form.csrf_token.errors:
        return _editor(post, form, 400)
    file = form.image.data
    if not file or not getattr(file, "filename", ""):
        form.image.errors = ["Choose an image to upload."]
        return _editor(post, form, 422)
    try:
        stored = store_file(file, form.image_alt.data or "", current_user)
    except MediaError as error:
        form.image.errors = [str(error)]
        return _editor(post, form, error.status)
    snippet = markdown_for(stored)
    body = (form.body.data or "").rstrip("\n")
    form.body.data = f"{body}\n\n{snippet}\n" if body else f"{snippet}\n"
    form.image_alt.data = ""
    return _editor(post, form, uploaded=snippet)


def _saved_message(post: Post, now: datetime) -> str:
    if not post.is_visible(now) and post.published_at and post.status == PostStatus.PUBLISHED:
        return "Saved: the post is scheduled and readers will see it from its publish time."
    if post.is_visible(now):
        return "Saved and published."
    return "Saved as a draft."


# The editor's, settings' and authors' forms check their own CSRF token (FlaskForm), so
# that an expired token gives the author the form back with what they typed, not a bare
# 400 page; the global check would refuse the request before the view could.
@csrf.exempt
@manage.route("/posts/new", methods=["GET", "POST"])
def new_post() -> Any:
    """A new post, blank or from the KM Plan or KM Strategy template."""
    form = PostForm()
    if request.method == "GET":
        kind_name = request.args.get("kind", PostKind.ARTICLE.value)
        template = TEMPLATES[parse_enum(PostKind, kind_name, PostKind.ARTICLE)]
        form.kind.data = template.kind.value
        form.title.data = template.title
        form.body.data = template.body
    _fill_choices(form, None)
    if request.method == "GET":
        return _offer_or_restore(None, form)
    return _handle_editor(None, form)


@csrf.exempt
@manage.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
def edit_post(post_id: int) -> Any:
    """Edit a post; the buttons preview, save, publish, schedule or unpublish it."""
    post = _own_post(post_id)
    if request.method == "GET":
        form = PostForm(
            data={
                "title": post.title,
                "body": post.body_source,
                "summary": post.summary,
                "labels": ", ".join(label.name for label in post.labels),
                "kind": post.kind.value,
                "slug": post.slug,
                "comments_open": post.comments_open,
                "change_note": post.change_note,
                "companion_id": post.companion_id or 0,
                "series_id": _series_id(post) or 0,
                "publish_at": post.published_at.astimezone(current_zone()).replace(tzinfo=None)
                if post.published_at
                else None,
                "version": str(post.version),
            }
        )
        _fill_choices(form, post)
        return _offer_or_restore(post, form)
    form = PostForm()
    _fill_choices(form, post)
    return _handle_editor(post, form)


# Checked by its own form, like the editor's: the script is answered in JSON, not with
# the bare 400 page of the global check.
@csrf.exempt
@manage.post("/posts/new/autosave")
def autosave_new_post() -> Any:
    """Keep what the author has typed in the editor of a new post (JSON, for autosave.js)."""
    return _autosave(None)


@csrf.exempt
@manage.post("/posts/<int:post_id>/autosave")
def autosave_post(post_id: int) -> Any:
    """Keep what the author has typed in a post's editor, apart from the post (JSON)."""
    return _autosave(_own_post(post_id))


def _autosave(post: Post | None) -> Any:
    form = AutosaveForm()
    if (answer := editing.refused(form, "post")) is not None:
        return answer
    text = AutosaveText(
        title=form.title.data or "",
        body=form.body.data or "",
        summary=form.summary.data or "",
        labels=form.labels.data or "",
    )
    base_version = form.version_number()
    now = utcnow()
    try:
        row = store_autosave(current_user, post, text, base_version, now)
    except PostError as error:
        return jsonify(error=str(error)), 409
    stale = post is not None and bool(base_version) and post.version != base_version
    return editing.kept(
        row.saved_at if row else None, now, post.updated_at if stale and post else None, "post"
    )


@manage.post("/posts/new/autosave/discard")
def discard_new_post_autosave() -> Any:
    """Throw away the unsaved text of a new post; back to an empty editor."""
    return _discard(None, url_for("manage.new_post"))


@manage.post("/posts/<int:post_id>/autosave/discard")
def discard_post_autosave(post_id: int) -> Any:
    """Throw away the author's unsaved text of a post; back to its editor."""
    post = _own_post(post_id)
    return _discard(post, url_for("manage.edit_post", post_id=post.id))


def _discard(post: Post | None, back: str) -> Any:
    return editing.discarded(lambda: discard_autosave(current_user, post), back)


@manage.route("/posts/<int:post_id>/delete", methods=["GET", "POST"])
def delete_post_view(post_id: int) -> Any:
    """Ask, then delete a post with its comments."""
    post = _own_post(post_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        title = post.title
        if post.is_visible(utcnow()):
            post_changed(post, gone=True)  # the sites it linked to are told it is gone
        delete_post(post)
        flash(f"Deleted “{title}”.")
        return redirect(url_for("manage.dashboard"), 303)
    return render_template(
        "manage/delete.html",
        post=post,
        form=form,
        strategies=strategies_of(post) if post.kind == PostKind.PLAN else [],
        settings=current_settings(),
    ), (400 if request.method == "POST" else 200)


@manage.get("/comments")
def comments() -> str:
    """The moderation queue (pending, oldest first), or published or spam comments;
    or one comment of them (?comment=N)."""
    status_name = request.args.get("status", CommentStatus.PENDING.value)
    shown = {CommentStatus.PENDING, CommentStatus.PUBLISHED, CommentStatus.SPAM}
    status = parse_enum(CommentStatus, status_name, CommentStatus.PENDING)
    if status not in shown:
        status = CommentStatus.PENDING
    # ?comment=N: that comment alone (the audit trail links to it so).
    only = request.args.get("comment", type=int)
    only = only if only is not None and 0 < only <= MAX_ID else None
    page = moderation_list(current_user, status, _page_number(), only=only)
    return render_template(
        "manage/comments.html",
        page=page,
        status=status,
        form=ConfirmForm(),
        settings=current_settings(),
    )


@manage.post("/comments/moderate")
def moderate() -> Any:
    """Approve, mark as spam or delete one comment or many (checked boxes)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, description="The form had expired; please try again.")
    # A comment's own button says "action:id"; the buttons below the list act on the
    # ticked boxes.
    action, _, single = request.form.get("single", "").partition(":")
    if not single:
        action = request.form.get("action", "")
    picked = [single] if single else request.form.getlist("ids")
    status = MODERATION_ACTIONS.get(action)
    ids = [int(v) for v in picked if v.isascii() and v.isdigit() and 0 < int(v) <= MAX_ID]
    back = url_for("manage.comments", status=request.form.get("status", "pending"))
    if status is None:
        abort(400, description="Unknown moderation action.")
    if not ids:
        flash("Tick at least one comment first.")
        return redirect(back, 303)
    found, allowed = moderatable_comments(current_user, ids)
    if not allowed:
        abort(403, description="Some of those comments are on another author's posts.")
    changed = set_comment_status(found, status, by=current_user._get_current_object())
    done = {"approve": "approved", "spam": "marked as spam", "delete": "deleted"}[action]
    flash(f"{changed} comment{'s' if changed != 1 else ''} {done}.")
    return redirect(back, 303)


@csrf.exempt
@manage.route("/account", methods=["GET", "POST"])
def account() -> Any:
    """An author's own account: their mail address and each comment, a daily digest or
    none; and the fediverse handle their posts credit. Nothing is saved unless all of it
    is valid."""
    form = AccountMailForm(obj=current_user) if request.method == "GET" else AccountMailForm()
    if request.method == "GET":
        form.comment_mail.data = current_user.comment_mail.value
    if form.validate_on_submit():
        set_comment_mail(current_user, CommentMail(form.comment_mail.data), form.email.data or None)
        handle = form.fediverse_creator.data or None
        if handle != current_user.fediverse_creator:
            # Only a real change: it is on every cached page of their posts.
            set_fediverse_creator(current_user, handle)
        if bool(form.fediverse_actor.data) != current_user.fediverse_actor:
            set_fediverse_actor(current_user, bool(form.fediverse_actor.data))
        flash("Your account settings are saved.")
        return redirect(url_for("manage.account"), 303)
    return render_template(
        "manage/account.html",
        form=form,
        settings=current_settings(),
        fediverse_address=f"@{current_user.username}@{federation_services.host()}",
    ), editing.form_status(form)


@csrf.exempt
@manage.route("/settings", methods=["GET", "POST"])
@admin_required
def settings() -> Any:
    """The blog's settings (admins only)."""
    row = current_settings()
    form = SettingsForm(obj=row) if request.method == "GET" else SettingsForm()
    if request.method == "GET":
        form.comment_policy.data = row.comment_policy.value
    if form.validate_on_submit():
        update_settings(
            row,
            {
                "title": form.title.data,
                "description": form.description.data,
                "about": form.about.data or "",
                "timezone": form.timezone.data,
                "posts_per_page": form.posts_per_page.data,
                "items_per_feed": form.items_per_feed.data,
                "comment_policy": form.comment_policy.data,
                "moderate_after_days": form.moderate_after_days.data,
                "moderation_links": form.moderation_links.data,
                "moderation_words": form.moderation_words.data or "",
                "blocked_words": form.blocked_words.data or "",
                "hold_first_comment": form.hold_first_comment.data,
                "require_second_factor": form.require_second_factor.data,
                "edit_window_minutes": form.edit_window_minutes.data,
                "thread_depth": form.thread_depth.data,
            },
            by=current_user._get_current_object(),
        )
        flash("Settings saved.")
        return redirect(url_for("manage.settings"), 303)
    status = editing.form_status(form)
    return render_template("manage/settings.html", form=form, settings=row), status


@csrf.exempt
@manage.route("/users", methods=["GET", "POST"])
@admin_required
def users() -> Any:
    """Authors: list and create (admins only)."""
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                form.username.data,
                form.password.data,
                Role(form.role.data),
                utcnow(),
                display_name=form.display_name.data or "",
                email=form.email.data or None,
                by=current_user._get_current_object(),
            )
        except UserError as error:
            form.username.errors = [*form.username.errors, str(error).capitalize() + "."]
        else:
            flash(f"Created {user.role.value} {user.username}.")
            return redirect(url_for("manage.users"), 303)
    status = editing.form_status(form)
    listed = list_users()
    return render_template(
        "manage/users.html",
        form=form,
        users=listed,
        # Who has a second factor an admin may turn off: an app (a column), or passkeys.
        with_second_factor={u.id for u in listed if totp.totp_enabled(u)} | authors_with_passkeys(),
        password_form=PasswordForm(),
        role_form=RoleForm(),
        confirm=ConfirmForm(),
        settings=current_settings(),
    ), status


def _other_user(user_id: int) -> User:
    user = find_user(user_id)
    if user is None:
        abort(404, description="There is no such author.")
    return user


@manage.post("/users/<int:user_id>/password")
@admin_required
def reset_password(user_id: int) -> Any:
    """Set a new password for an author."""
    user = _other_user(user_id)
    form = PasswordForm()
    if not form.validate_on_submit():
        problems = [error for errors in form.errors.values() for error in errors]
        flash(" ".join(problems) or "The form had expired; please try again.")
        return redirect(url_for("manage.users"), 303)
    try:
        set_password(user, form.password.data, by=current_user._get_current_object())
    except UserError as error:
        flash(str(error).capitalize() + ".")
    else:
        mail_security_change(
            user, f"An administrator ({current_user.username}) set a new password for you."
        )
        flash(f"New password set for {user.username}.")
    return redirect(url_for("manage.users"), 303)


@manage.post("/users/<int:user_id>/second-factors")
@admin_required
def reset_second_factors(user_id: int) -> Any:
    """Turn off an author's second factors (app, recovery codes, passkeys): the way back
    in for an author who lost their phone and their recovery codes; their password
    alone signs them in again until they set new ones up."""
    user = _other_user(user_id)
    if not ConfirmForm().validate_on_submit():
        flash("The form had expired; please try again.")
        return redirect(url_for("manage.users"), 303)
    admin = current_user._get_current_object()
    passkeys = forget_passkeys(user)
    if passkeys or totp.totp_enabled(user):
        record_second_factors_reset(user, admin)
        totp.disable(user)  # commits the passkeys' removal and the record with it
        mail_security_change(
            user,
            f"An administrator ({admin.username}) turned off your second factors (your "
            "authenticator app, its recovery codes and your passkeys): your password alone "
            "signs you in until you set them up again on your security page.",
        )
        flash(
            f"{user.username} signs in with their password alone until they set up a second factor."
        )
    else:
        flash(f"{user.username} has no second factor to turn off.")
    return redirect(url_for("manage.users"), 303)


@manage.post("/users/<int:user_id>/role")
@admin_required
def change_role(user_id: int) -> Any:
    """Make an author an admin or the reverse (the last admin stays one)."""
    user = _other_user(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400, description="Unknown role.")
    role = Role(form.role.data)
    try:
        set_role(user, role, by=current_user._get_current_object())
    except UserError as error:
        flash(str(error).capitalize() + ".")
    else:
        flash(f"{user.username} is now {role.value}.")
    return redirect(url_for("manage.users"), 303)


@manage.post("/users/<int:user_id>/active")
@admin_required
def toggle_active(user_id: int) -> Any:
    """Disable an author (they can no longer sign in) or enable them again."""
    user = _other_user(user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, description="The form had expired; please try again.")
    try:
        set_active(user, not user.active, by=current_user._get_current_object())
    except UserError as error:
        flash(str(error).capitalize() + ".")
    else:
        flash(f"{user.username} is now {'enabled' if user.active else 'disabled'}.")
    return redirect(url_for("manage.users"), 303)


# -- How an author signs in: two-factor sign-in and their password --------------------


def _security_page(status: int = 200, **forms: Any) -> Any:
    """The security page, with the forms given (filled, with their errors) or fresh."""
    user = current_user._get_current_object()
    enrolling = not totp.totp_enabled(user) and user.totp_secret is not None
    uri = None
    if enrolling:
        uri = totp.provisioning_uri(user, user.totp_secret, current_settings().title)
    page_forms = {
        "start_form": ConfirmForm(),
        "confirm_form": TotpConfirmForm(),
        "codes_form": NewRecoveryCodesForm(),
        "disable_form": DisableTotpForm(),
        "password_form": OwnPasswordForm(),
        **forms,
    }
    return render_template(
        "manage/security.html",
        totp_enabled=totp.totp_enabled(user),
        enrolling=enrolling,
        secret=user.totp_secret if enrolling else None,
        otpauth_uri=uri,
        qr_code=totp.qr_code_data_uri(uri) if uri else None,
        codes_left=totp.recovery_codes_left(user) if totp.totp_enabled(user) else 0,
        **page_forms,
    ), status


def _recovery_codes_page(codes: list[str], first: bool) -> Any:
    """The recovery codes, shown this once and never stored by the browser."""
    response = make_response(
        render_template("manage/recovery_codes.html", codes=codes, first=first)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@manage.get("/account/security")
def security() -> Any:
    """How the author signs in: their authenticator app, recovery codes, passkeys and
    password."""
    return _security_page()


@manage.post("/account/security/totp/start")
def security_totp_start() -> Any:
    """Begin adding an authenticator app: a new secret, shown until a code confirms it."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("The form had expired; please try again.")
        return redirect(url_for("manage.security"), 303)
    try:
        totp.start_enrolment(current_user)
    except totp.TotpError as error:
        flash(str(error).capitalize() + ".")
    return redirect(url_for("manage.security") + "#app", 303)


@csrf.exempt  # the form checks its own token and says so
@manage.post("/account/security/totp/confirm")
def security_totp_confirm() -> Any:
    """Turn the app on once a code from it is right; show the recovery codes once."""
    form = TotpConfirmForm()
    if not form.validate_on_submit():
        return _security_page(400, confirm_form=form)
    try:
        codes = totp.confirm_enrolment(current_user, form.code.data, utcnow())
    except totp.TotpError as error:
        flash(str(error).capitalize() + ".")
        return redirect(url_for("manage.security"), 303)
    if codes is None:
        form.code.errors.append(
            "That code is not right. Check that the app shows this blog's entry and that "
            "your phone's clock is right, then type the code it shows now."
        )
        return _security_page(400, confirm_form=form)
    on = "Two-factor sign-in with an authenticator app was turned on."
    record_security_change(current_user, on)
    mail_security_change(current_user, on)
    return _recovery_codes_page(codes, first=True)


@csrf.exempt
@manage.post("/account/security/recovery-codes")
def security_recovery_codes() -> Any:
    """New recovery codes (the password asked again); the old ones stop working."""
    form = NewRecoveryCodesForm()
    if not form.validate_on_submit():
        return _security_page(400, codes_form=form)
    if not password_is_right(current_user, form.codes_password.data):
        form.codes_password.errors.append("That is not your password; nothing was changed.")
        return _security_page(400, codes_form=form)
    try:
        codes = totp.new_recovery_codes(current_user, utcnow())
    except totp.TotpError as error:
        flash(str(error).capitalize() + ".")
        return redirect(url_for("manage.security"), 303)
    made = "New recovery codes were made for your account; the old ones no longer work."
    record_security_change(current_user, made)
    mail_security_change(current_user, made)
    return _recovery_codes_page(codes, first=False)


@csrf.exempt
@manage.post("/account/security/totp/disable")
def security_totp_disable() -> Any:
    """Turn two-factor sign-in with the app off (the password asked again)."""
    form = DisableTotpForm()
    if not form.validate_on_submit():
        return _security_page(400, disable_form=form)
    if not password_is_right(current_user, form.disable_password.data):
        form.disable_password.errors.append("That is not your password; nothing was changed.")
        return _security_page(400, disable_form=form)
    was_on = totp.totp_enabled(current_user)
    totp.disable(current_user)
    if was_on:
        off = (
            "Two-factor sign-in with an authenticator app was turned off; your recovery "
            "codes no longer work."
        )
        record_security_change(current_user, off)
        mail_security_change(current_user, off)
        flash("Two-factor sign-in with an app is off.")
    return redirect(url_for("manage.security"), 303)


@csrf.exempt
@manage.post("/account/security/password")
def security_password() -> Any:
    """Change one's own password (the current one asked); other sessions end."""
    form = OwnPasswordForm()
    if not form.validate_on_submit():
        return _security_page(400, password_form=form)
    user = current_user._get_current_object()
    if not password_is_right(user, form.current_password.data):
        form.current_password.errors.append("That is not your password; nothing was changed.")
        return _security_page(400, password_form=form)
    try:
        set_password(user, form.new_password.data, by=user)
    except UserError as error:
        form.new_password.errors.append(str(error).capitalize() + ".")
        return _security_page(400, password_form=form)
    # Every other session ended with the old password; this browser stays signed in.
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    login_user(user, remember=remember_cookie in request.cookies)
    mail_security_change(user, "Your password was changed.")
    flash("Your password is changed; you are signed out everywhere else.")
    return redirect(url_for("manage.security"), 303)
