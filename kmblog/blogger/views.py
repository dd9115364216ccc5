"""The admin's import and export page: upload a Blogger export, download everything."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField

from kmblog.audit.services import record_now
from kmblog.blogger.exporter import archive_export, blogger_export, json_export
from kmblog.blogger.importer import (
    AnotherBloggerBlog,
    BloggerImportError,
    ImportReport,
    import_blogger,
)
from kmblog.blogger.json_import import (
    BlogNotEmpty,
    JsonImportError,
    JsonImportReport,
    import_json,
)
from kmblog.extensions import csrf
from kmblog.media.web import folder
from kmblog.models import User, utcnow

transfer = Blueprint("transfer", __name__, url_prefix="/manage/transfer")


class ImportForm(FlaskForm):
    export = FileField(
        "Blogger export file (.xml)",
        validators=[FileRequired("Choose the export file Blogger gave you.")],
    )
    merge = BooleanField(
        "Merge: the file is another Blogger blog; add it and keep this blog's settings and feed ids"
    )


class JsonImportForm(FlaskForm):
    export = FileField(
        "kmblog JSON export (.zip or .json)",
        validators=[FileRequired("Choose the export file (kmblog.zip or kmblog.json).")],
    )


@transfer.before_request
@login_required
def require_admin() -> None:
    """Only an administrator moves the whole blog in or out."""
    if not current_user.is_admin:
        abort(403, description="Only an administrator may import or export the blog.")


def _admin() -> User:
    """The signed-in admin, as the audit trail names them."""
    admin: User = current_user._get_current_object()
    return admin


def _page(
    form: ImportForm | None = None,
    report: ImportReport | JsonImportReport | None = None,
    error: str = "",
    json_form: JsonImportForm | None = None,
) -> str:
    return render_template(
        "manage/transfer.html",
        form=form or ImportForm(),
        json_form=json_form or JsonImportForm(prefix="json"),
        report=report,
        error=error,
    )


@transfer.get("/")
def index() -> str:
    """The upload form and the download links."""
    return _page(ImportForm())


@csrf.exempt  # the form checks its own token, to answer with the form, not a bare 400
@transfer.post("/import")
def import_upload() -> Any:
    """Import an uploaded Blogger export and show the report."""
    form = ImportForm()
    if not form.validate_on_submit():
        return _page(form), 400
    try:
        report = import_blogger(
            form.export.data.stream, utcnow(), merge=form.merge.data, by=_admin()
        )
    except AnotherBloggerBlog as error:
        return _page(form, error=str(error)), 409  # a conflict with the blog as it is
    except BloggerImportError as error:
        return _page(form, error=str(error)), 400
    return _page(ImportForm(), report=report)


@csrf.exempt  # as import_upload: the form checks its own token
@transfer.post("/import-json")
def import_json_upload() -> Any:
    """Fill the empty blog from an uploaded kmblog JSON export and show the report."""
    form = JsonImportForm(prefix="json")
    if not form.validate_on_submit():
        return _page(json_form=form), 400
    try:
        report = import_json(form.export.data.stream, folder(), by=_admin())
    except BlogNotEmpty as error:
        return _page(json_form=form, error=str(error)), 409
    except JsonImportError as error:
        return _page(json_form=form, error=str(error)), 400
    return _page(report=report)


def _download(pieces: Any, name: str, mimetype: str) -> Response:
    response = Response(stream_with_context(pieces), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@transfer.get("/export/blogger.xml")
def export_blogger() -> Response:
    """The whole blog as a Blogger export."""
    stamp = utcnow()
    record_now("export.blogger", "Downloaded the Blogger export", actor=_admin(), now=stamp)
    self_url = url_for("transfer.export_blogger", _external=True)
    pieces = (piece.encode() for piece in blogger_export(stamp, request.url_root, self_url))
    return _download(pieces, f"blog-{stamp:%Y-%m-%d}.xml", "application/atom+xml")


@transfer.get("/export/kmblog.json")
def export_json() -> Response:
    """The whole blog as JSON; the images described, their files not included."""
    stamp = utcnow()
    record_now("export.json", "Downloaded the JSON export", actor=_admin(), now=stamp)
    pieces = (piece.encode() for piece in json_export(stamp, folder()))
    return _download(pieces, f"blog-{stamp:%Y-%m-%d}.json", "application/json")


@transfer.get("/export/kmblog.zip")
def export_archive() -> Response:
    """The whole blog as JSON with the images' files: a ZIP archive, sent as it is made."""
    stamp = utcnow()
    summary = "Downloaded the JSON export with the images' files"
    record_now("export.json", summary, actor=_admin(), detail={"archive": True}, now=stamp)
    return _download(
        archive_export(stamp, folder()), f"blog-{stamp:%Y-%m-%d}.zip", "application/zip"
    )
