"""Standalone pages in the authoring area: list and order, write, publish, delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from kmblog import editing
from kmblog.context import current_settings
from kmblog.extensions import csrf
from kmblog.manage.forms import ConfirmForm
from kmblog.media.services import image_variants
from kmblog.models import Page, PageAutosave, PostStatus, SourceFormat, utcnow
from kmblog.pages.forms import PageAutosaveForm, PageForm
from kmblog.pages.services import (
    Direction,
    PageAction,
    PageConflict,
    PageDraft,
    PageError,
    create_page,
    delete_page,
    discard_page_autosave,
    find_page_autosave,
    find_page_by_id,
    list_pages,
    move_page,
    save_page,
    store_page_autosave,
)
from kmblog.rendering import PAGE_ANCHORS, render_body, text_diff

pages = Blueprint("pages", __name__, url_prefix="/manage/pages")


@pages.before_request
@login_required
def require_sign_in() -> None:
    """Pages are written by signed-in authors only."""


def _own_page(page_id: int) -> Page:
    """The page, if the signed-in author may change it: 404 if missing, 403 if not theirs."""
    page = find_page_by_id(page_id)
    if page is None:
        abort(404, description="There is no page with that number.")
    if not current_user.is_admin and page.author_id != current_user.id:
        abort(403, description="This page belongs to another author.")
    return page


@pages.get("/")
def index() -> str:
    """Every page in the sidebar's order, with buttons that move one up or down."""
    return render_template(
        "pages/index.html",
        pages=list_pages(),
        form=ConfirmForm(),
        now=utcnow(),
        settings=current_settings(),
    )


def _editor(
    page: Page | None,
    form: PageForm,
    status: int = 200,
    preview: str = "",
    autosave: PageAutosave | None = None,
    conflict: dict[str, Any] | None = None,
    restored: PageAutosave | None = None,
) -> Any:
    return (
        render_template(
            "pages/editor.html",
            page=page,
            form=form,
            preview=preview,
            now=utcnow(),
            settings=current_settings(),
            autosave=autosave,
            conflict=conflict,
            restored=restored,
        ),
        status,
    )


def _offer_or_restore(page: Page | None, form: PageForm) -> Any:
    """The editor as first opened, with the author's unsaved text offered, or restored
    (a plain link: no script needed), as in the post editor."""
    autosave = find_page_autosave(current_user, page)
    if autosave is None or request.args.get("restore") != "autosave":
        return _editor(page, form, autosave=autosave)
    form.title.data = autosave.title
    form.body.data = autosave.body
    if page is not None:
        form.version.data = str(autosave.base_version)
    return _editor(page, form, restored=autosave)


def _handle_editor(page: Page | None, form: PageForm) -> Any:
    """Preview, save, publish or unpublish, from the button that was pressed."""
    if not form.validate_on_submit():
        return _editor(page, form, editing.form_status(form))
    action = request.form.get("action", PageAction.SAVE.value)
    draft = PageDraft(title=form.title.data, body=form.body.data or "", slug=form.slug.data)
    if action == "preview":
        source_format = page.source_format if page else SourceFormat.MARKDOWN
        preview = render_body(
            draft.body, source_format, image_variants(draft.body), anchors=PAGE_ANCHORS
        )
        return _editor(page, form, preview=preview)
    if action not in set(PageAction):
        abort(400, description="Unknown editor action.")
    now = utcnow()
    try:
        if page is None:
            page = create_page(current_user, draft, now, publish=action == PageAction.PUBLISH)
        else:
            page = save_page(
                page,
                draft,
                PageAction(action),
                now,
                by=current_user,
                expected_version=form.version_number(),
            )
    except PageConflict as error:
        assert page is not None  # noqa: S101 - only an existing page's save conflicts
        return _conflict(page.id, form, str(error))
    except PageError as error:
        form.title.errors = [*form.title.errors, str(error)]
        return _editor(page if page and page.id else None, form, 422)
    flash("Saved and published." if page.is_visible(now) else "Saved as a draft.")
    return redirect(url_for("pages.edit", page_id=page.id), 303)


def _conflict(page_id: int, form: PageForm, message: str) -> Any:
    """409: the author's text kept in the form, the page as saved now beside it; the
    form carries the current version, so that saving again is a knowing choice."""
    current = find_page_by_id(page_id)
    if current is None:
        abort(404, description="The page was deleted while you were editing it.")
    form.version.data = str(current.version)
    conflict = {
        "message": message,
        "item": current,
        "title_differs": (form.title.data or "") != current.title,
        "body_diff": text_diff(current.body_source, form.body.data or ""),
    }
    return _editor(current, form, 409, conflict=conflict)


def _with_format(form: PageForm, page: Page) -> PageForm:
    form.current_slug = page.slug
    if page.source_format == SourceFormat.HTML:
        form.body.label.text = "Body (HTML)"
    return form


# The editor checks its own CSRF token (FlaskForm), so that an expired token gives the
# author the form back with what they typed, not a bare 400 page (as the post editor).
@csrf.exempt
@pages.route("/new", methods=["GET", "POST"])
def new() -> Any:
    """A new page, written in Markdown."""
    form = PageForm()
    if request.method == "GET":
        return _offer_or_restore(None, form)
    return _handle_editor(None, form)


@csrf.exempt
@pages.route("/<int:page_id>/edit", methods=["GET", "POST"])
def edit(page_id: int) -> Any:
    """Edit a page; the buttons preview, save, publish or unpublish it."""
    page = _own_page(page_id)
    if request.method == "GET":
        form = PageForm(
            data={
                "title": page.title,
                "body": page.body_source,
                "slug": page.slug,
                "version": str(page.version),
            }
        )
        return _offer_or_restore(page, _with_format(form, page))
    return _handle_editor(page, _with_format(PageForm(), page))


# Checked by its own form, to answer the script in JSON (as the post editor's autosave).
@csrf.exempt
@pages.post("/new/autosave")
def autosave_new() -> Any:
    """Keep what the author has typed in the editor of a new page (JSON)."""
    return _autosave(None)


@csrf.exempt
@pages.post("/<int:page_id>/autosave")
def autosave(page_id: int) -> Any:
    """Keep what the author has typed in a page's editor, apart from the page (JSON)."""
    return _autosave(_own_page(page_id))


def _autosave(page: Page | None) -> Any:
    form = PageAutosaveForm()
    if (answer := editing.refused(form, "page")) is not None:
        return answer
    base_version = form.version_number()
    now = utcnow()
    try:
        row = store_page_autosave(
            current_user, page, form.title.data or "", form.body.data or "", base_version, now
        )
    except PageError as error:
        return jsonify(error=str(error)), 409
    stale = page is not None and bool(base_version) and page.version != base_version
    return editing.kept(
        row.saved_at if row else None, now, page.updated_at if stale and page else None, "page"
    )


@pages.post("/new/autosave/discard")
def discard_new_autosave() -> Any:
    """Throw away the unsaved text of a new page."""
    return _discard(None, url_for("pages.new"))


@pages.post("/<int:page_id>/autosave/discard")
def discard_autosave(page_id: int) -> Any:
    """Throw away the author's unsaved text of a page."""
    page = _own_page(page_id)
    return _discard(page, url_for("pages.edit", page_id=page.id))


def _discard(page: Page | None, back: str) -> Any:
    return editing.discarded(lambda: discard_page_autosave(current_user, page), back)


@pages.post("/<int:page_id>/move")
def move(page_id: int) -> Any:
    """Move a page one place up or down in the sidebar's order (a plain form: no script)."""
    page = find_page_by_id(page_id)
    if page is None:
        abort(404, description="There is no page with that number.")
    try:
        direction = Direction(request.form.get("direction", ""))
    except ValueError:
        abort(400, description="Move a page up or down.")
    if move_page(page, direction):
        flash(f"Moved “{page.title}” {direction.value}.")
    return redirect(url_for("pages.index", _anchor=f"page-{page.id}"), 303)


@pages.route("/<int:page_id>/delete", methods=["GET", "POST"])
def delete(page_id: int) -> Any:
    """Ask, then delete a page."""
    page = _own_page(page_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        title = page.title
        delete_page(page)
        flash(f"Deleted “{title}”.")
        return redirect(url_for("pages.index"), 303)
    return render_template(
        "pages/delete.html",
        page=page,
        form=form,
        published=page.status == PostStatus.PUBLISHED,
        settings=current_settings(),
    ), (400 if request.method == "POST" else 200)
