"""Static files under fingerprinted names, cached by browsers for a year.

`asset_url("css/kmblog.css")` gives /assets/css/kmblog.3f9c2a1b7d.css; a changed file gets
a new name, so it can be cached "immutable". Hashes are computed once per process, and so
are the compressed copies of the text files (CSS, JavaScript) for the clients that take
them: every page waits on the style sheet, and gzip makes it a third of its size.
"""

from __future__ import annotations

import hashlib
import mimetypes
from functools import cache
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, request, send_from_directory, url_for
from flask.wrappers import Response
from werkzeug.security import safe_join

from kmblog.pagecache.compression import preferred_encoding, stored_variants

assets = Blueprint("assets", __name__)

ONE_YEAR = 365 * 24 * 3600


@cache
def _fingerprint(folder: str, filename: str) -> str | None:
    """The file's hash, or None when `filename` is not a file inside `folder`."""
    path = safe_join(folder, filename)
    if path is None:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]
    except (OSError, ValueError):  # missing, a folder, a name too long, a NUL byte
        return None


def _split(filename: str) -> tuple[str, str]:
    stem, dot, suffix = filename.rpartition(".")
    return (stem, f".{suffix}") if dot else (filename, "")


def asset_url(filename: str) -> str:
    """The fingerprinted URL of a file in static/."""
    stem, suffix = _split(filename)
    digest = _fingerprint(str(current_app.static_folder), filename)
    return url_for("assets.fingerprinted", filename=f"{stem}.{digest}{suffix}")


@assets.get("/assets/<path:filename>")
def fingerprinted(filename: str) -> Response:
    """A static file by its fingerprinted name (a stale or unknown fingerprint: 404)."""
    stem, suffix = _split(filename)
    name, dot, digest = stem.rpartition(".")
    folder = str(current_app.static_folder)
    real = f"{name}{suffix}"
    # safe_join refuses "..", absolute paths and other ways out of static/.
    if not dot or not digest or safe_join(folder, real) is None:
        abort(404)
    if _fingerprint(folder, real) != digest:
        abort(404)
    encoding = preferred_encoding(request.headers.get("Accept-Encoding"))
    data = _encoded(folder, real, digest).get(encoding) if encoding else None
    if data is None:
        response = send_from_directory(folder, real, max_age=ONE_YEAR)
    else:
        # The name holds the content's hash, so no validators are needed: the copy is
        # kept for a year and never asked for again.
        response = Response(data, mimetype=_content_type(real))
        response.headers["Content-Encoding"] = encoding
        response.cache_control.max_age = ONE_YEAR
    if encoding is not None or _encoded(folder, real, digest):
        response.vary.add("Accept-Encoding")
    response.cache_control.immutable = True
    response.cache_control.public = True
    return response


def _content_type(filename: str) -> str:
    """The type send_from_directory gives the file (Flask adds the charset of text)."""
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


@cache
def _encoded(folder: str, filename: str, digest: str) -> dict[str, bytes]:
    """The file compressed in each encoding worth having (none for images and small
    files), once per file version and process. `digest` keys the cache: a changed file
    is compressed again."""
    path = safe_join(folder, filename)
    if path is None or _fingerprint(folder, filename) != digest:
        return {}
    kind = _content_type(filename)
    # Some systems' type tables name JavaScript application/javascript: text all the same.
    if kind == "application/javascript":
        kind = "text/javascript"
    return stored_variants(Path(path).read_bytes(), kind)


@assets.get("/favicon.ico")
def favicon() -> Response:
    """The icon browsers ask for by this name where a page names none (a feed, an image):
    an answer, not a 404 in every reader's console and the server's log."""
    response = send_from_directory(str(current_app.static_folder), "favicon.ico", max_age=86400)
    response.cache_control.public = True
    return response


def register(app: Flask) -> None:
    app.register_blueprint(assets)
    app.add_template_global(asset_url)
