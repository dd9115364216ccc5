"""The request side of an upload, shared by the media library's views and the editor's
(which, as views of another blueprint, may not import the library's)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage

from kmblog.media.services import Upload, media_dir, store_upload
from kmblog.models import Media, User


def folder() -> Path:
    """Where the images are kept: MEDIA_DIR, else instance/media/."""
    return media_dir(current_app.config["MEDIA_DIR"], current_app.instance_path)


def store_file(file: FileStorage, alt: str, uploader: User) -> Media:
    """An uploaded file from a form, checked and stored (MediaError if refused)."""
    limit = current_app.config["MEDIA_MAX_BYTES"]
    # One byte more than allowed is enough to know it is too much.
    data = file.stream.read(limit + 1)
    return store_upload(
        Upload(
            data=data,
            filename=file.filename or "",
            declared_type=file.mimetype or "",
            alt=alt,
        ),
        uploader,
        folder(),
        max_bytes=limit,
        max_pixels=current_app.config["MEDIA_MAX_PIXELS"],
        widths=current_app.config["MEDIA_WIDTHS"],
    )
