"""Series in the authoring area: list, make, rename, order their posts, delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from kmblog import editing
from kmblog.context import current_settings
from kmblog.extensions import csrf
from kmblog.manage.forms import ConfirmForm
from kmblog.models import MAX_ID, Series, utcnow
from kmblog.pages.services import Direction
from kmblog.series.forms import SeriesForm
from kmblog.series.services import (
    SeriesDraft,
    SeriesError,
    create_series,
    delete_series,
    find_series_by_id,
    list_series,
    may_change,
    move_in_series,
    posts_of,
    remove_from_series,
    update_series,
)

series = Blueprint("series", __name__, url_prefix="/manage/series")


@series.before_request
@login_required
def require_sign_in() -> None:
    """Series are made by signed-in authors only."""


def _own_series(series_id: int) -> Series:
    """The series, if the signed-in author may change it: 404 if missing, 403 if not
    theirs (an admin may change any)."""
    found = find_series_by_id(series_id)
    if found is None:
        abort(404, description="There is no series with that number.")
    if not may_change(current_user, found):
        abort(403, description="This series belongs to another author.")
    return found


def _post_number(post_id: int) -> int:
    if not 0 < post_id <= MAX_ID:
        abort(404, description="There is no post with that number.")
    return post_id


@series.get("/")
def index() -> str:
    """Every series with its number of posts."""
    return render_template(
        "series/index.html", summaries=list_series(utcnow()), settings=current_settings()
    )


def _editor(found: Series | None, form: SeriesForm, status: int = 200) -> Any:
    return (
        render_template(
            "series/editor.html",
            series=found,
            form=form,
            posts=posts_of(found) if found is not None else [],
            now=utcnow(),
            settings=current_settings(),
        ),
        status,
    )


def _draft(form: SeriesForm) -> SeriesDraft:
    return SeriesDraft(
        title=form.title.data or "",
        description=form.description.data or "",
        slug=form.slug.data or "",
    )


# The series form checks its own CSRF token (FlaskForm), so that an expired token gives
# the author the form back with what they typed (as the post and page editors).
@csrf.exempt
@series.route("/new", methods=["GET", "POST"])
def new() -> Any:
    """A new, empty series; posts join it from the post editor."""
    form = SeriesForm()
    if not form.validate_on_submit():
        return _editor(None, form, editing.form_status(form))
    try:
        made = create_series(current_user, _draft(form), utcnow())
    except SeriesError as error:
        form.title.errors = [*form.title.errors, str(error)]
        return _editor(None, form, 422)
    flash(f"Made the series “{made.title}”. Add posts to it from the post editor.")
    return redirect(url_for("series.edit", series_id=made.id), 303)


@csrf.exempt
@series.route("/<int:series_id>/edit", methods=["GET", "POST"])
def edit(series_id: int) -> Any:
    """Rename a series or change its description; below, its posts to put in order."""
    found = _own_series(series_id)
    if request.method == "GET":
        form = SeriesForm(data={"title": found.title, "description": found.description_source})
        return _editor(found, form)
    form = SeriesForm()
    form.slug.data = ""  # its address is fixed: whatever was sent is not read
    if not form.validate_on_submit():
        return _editor(found, form, editing.form_status(form))
    try:
        update_series(found, _draft(form), utcnow())
    except SeriesError as error:
        form.title.errors = [*form.title.errors, str(error)]
        return _editor(found, form, 422)
    flash("Saved the series.")
    return redirect(url_for("series.edit", series_id=found.id), 303)


@series.post("/<int:series_id>/posts/<int:post_id>/move")
def move(series_id: int, post_id: int) -> Any:
    """Move a post one place up or down in the series (a plain form: no script)."""
    found = _own_series(series_id)
    try:
        direction = Direction(request.form.get("direction", ""))
    except ValueError:
        abort(400, description="Move a post up or down.")
    if move_in_series(found, _post_number(post_id), direction, utcnow()):
        flash(f"Moved the post {direction.value}.")
    return redirect(url_for("series.edit", series_id=found.id, _anchor=f"post-{post_id}"), 303)


@series.post("/<int:series_id>/posts/<int:post_id>/remove")
def remove(series_id: int, post_id: int) -> Any:
    """Take a post out of the series; the post itself stays as it is."""
    found = _own_series(series_id)
    if remove_from_series(found, _post_number(post_id), utcnow()):
        flash("Took the post out of the series.")
    return redirect(url_for("series.edit", series_id=found.id), 303)


@series.route("/<int:series_id>/delete", methods=["GET", "POST"])
def delete(series_id: int) -> Any:
    """Ask, then delete a series (its posts stay)."""
    found = _own_series(series_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        title = found.title
        delete_series(found)
        flash(f"Deleted the series “{title}”; its posts are still there.")
        return redirect(url_for("series.index"), 303)
    return render_template(
        "series/delete.html",
        series=found,
        form=form,
        count=len(posts_of(found)),
        settings=current_settings(),
    ), (400 if request.method == "POST" else 200)
