"""Uploaded images served to everyone; the media library and uploads for authors."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from kmblog.extensions import csrf
from kmblog.media.forms import ACCEPT, UploadForm
from kmblog.media.services import (
    FILE_NAME,
    MediaError,
    content_type_of,
    delete_media,
    find_media,
    library,
    markdown_for,
    uses,
)
from kmblog.media.web import folder, store_file
from kmblog.models import MAX_ID

media = Blueprint("media", __name__)
media_library = Blueprint("media_library", __name__, url_prefix="/manage/media")

ONE_YEAR = 365 * 24 * 3600


@media.get("/media/<name>")
def serve(name: str) -> Response:
    """A stored image: its name holds its content's hash, so it may be cached for good."""
    if not FILE_NAME.fullmatch(name):
        abort(404)
    response = send_from_directory(
        folder(), name, mimetype=content_type_of(name), max_age=ONE_YEAR, conditional=True
    )
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response


@media_library.before_request
@login_required
def require_sign_in() -> None:
    """The library is for signed-in authors."""


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@media_library.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge) -> Any:
    message = too_large_message()
    if _wants_json():
        return jsonify(error=message), 413
    return render_template(
        "errors/error.html", code=413, title="Too much at once", description=message
    ), 413


def too_large_message() -> str:
    megabytes = current_app.config["MEDIA_MAX_BYTES"] // (1024 * 1024)
    return f"The file is too large: images may be up to {megabytes} MB. Nothing was stored."


def _page(form: UploadForm, status: int = 200, error: str = "") -> Any:
    items = library()
    return (
        render_template(
            "manage/media.html",
            form=form,
            items=items,
            uses=uses(items),
            markdown_for=markdown_for,
            accept=ACCEPT,
            error=error,
        ),
        status,
    )


@media_library.get("/")
def index() -> Any:
    """Every uploaded image with its description, where it is used and its Markdown."""
    return _page(UploadForm())


@csrf.exempt  # the form checks its own token, to answer with the form, not a bare 400
@media_library.post("/upload")
def upload() -> Any:
    """Store an image: JSON for the editor's script, else back to the library."""
    form = UploadForm()
    if not form.validate_on_submit():
        message = (
            " ".join(str(error) for field in form for error in field.errors)
            or "The form had expired; please send it again."
        )
        if _wants_json():
            return jsonify(error=message), 400 if form.csrf_token.errors else 422
        return _page(form, 400 if form.csrf_token.errors else 422)
    try:
        stored = store_file(form.image.data, form.alt.data or "", current_user)
    except MediaError as error:
        if _wants_json():
            return jsonify(error=str(error)), error.status
        return _page(form, error.status, error=str(error))
    if _wants_json():
        return jsonify(markdown=markdown_for(stored), url=stored.url, alt=stored.alt), 201
    flash(f"Uploaded. Its Markdown: {markdown_for(stored)}")
    return redirect(url_for("media_library.index"), 303)


@media_library.post("/<int:media_id>/delete")
def delete(media_id: int) -> Any:
    """Delete an image no post or page uses; its uploader or an administrator may."""
    item = find_media(media_id) if media_id <= MAX_ID else None
    if item is None:
        abort(404)
    if not (current_user.is_admin or item.uploader_id == current_user.id):
        abort(403, description="Only its uploader or an administrator may delete an image.")
    try:
        delete_media(item, folder())
    except MediaError as error:
        return _page(UploadForm(), 409, error=str(error))
    flash("The image was deleted.")
    return redirect(url_for("media_library.index"), 303)
