"""What the authoring area's editors share (posts in kmblog/manage, pages in
kmblog/pages, series in kmblog/series): a form's status code, and the answers of the
autosave endpoints, one wording and one JSON shape, so static/js/autosave.js reads
either."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import abort, flash, jsonify, redirect, request
from flask_wtf import FlaskForm

from kmblog.context import to_local
from kmblog.manage.forms import ConfirmForm
from kmblog.timefmt import clock


def form_status(form: FlaskForm) -> int:
    """200 for a form shown, 400 for a bad CSRF token, 422 for other errors."""
    if request.method != "POST":
        return 200
    return 400 if form.csrf_token.errors else 422


def refused(form: FlaskForm, noun: str) -> Any | None:
    """The JSON answer for an autosave whose form does not validate (None: it does).
    An expired token is 400 and the browser keeps the text; bad fields are 422."""
    if form.validate_on_submit():
        return None
    if form.csrf_token.errors:
        message = (
            "The editor has expired, so the server keeps no copy: your text is kept in "
            f"this browser. Save the {noun} to renew it."
        )
        return jsonify(error=message), 400
    problems = " ".join(str(error) for field in form for error in field.errors)
    return jsonify(error=f"Not kept on the server: {problems}"), 422


def kept(saved_at: datetime | None, now: datetime, stale_since: datetime | None, noun: str) -> Any:
    """What the server did with the text (`saved_at` None: nothing to keep, as it is the
    saved text), and whether the post or page was saved since its editor was opened."""
    local = to_local(now if saved_at is None else saved_at)
    answer: dict[str, Any] = {
        "kept": saved_at is not None,
        "saved_at": local.isoformat(),
        "message": f"Unsaved changes kept at {clock(local)}; readers do not see them."
        if saved_at is not None
        else "No unsaved changes.",
    }
    if stale_since is not None:
        answer["stale"] = (
            f"This {noun} was saved at {clock(to_local(stale_since))} after you opened the "
            "editor (by another author, or in another window). Saving will show you both texts."
        )
    return jsonify(answer)


def discarded(discard: Callable[[], None], back: str) -> Any:
    """Throw the unsaved text away (a confirmed form), then back to the editor."""
    if not ConfirmForm().validate_on_submit():
        abort(400, description="The form had expired; please try again.")
    discard()
    flash("The unsaved text was discarded.")
    return redirect(back, 303)
