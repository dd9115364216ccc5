"""Response headers and request limits that every page gets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, request
from flask.wrappers import Response
from werkzeug.datastructures import Headers

# The only frames a page may hold: the privacy-enhanced players that a post's
# click-to-load video opens (kmblog/rendering.py, static/js/video-embeds.js).
VIDEO_FRAME_SOURCES = ("https://www.youtube-nocookie.com", "https://player.vimeo.com")

# No inline script or style anywhere: every asset is the app's own. Images in posts
# may come from other sites by URL (http or https).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: http: data:",
        "frame-src " + " ".join(VIDEO_FRAME_SOURCES),
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


View = TypeVar("View", bound=Callable[..., Any])

# The endpoints that take an image (kmblog/media): their requests may be larger than
# MEDIA_MAX_BYTES by this much (the form's other fields and multipart framing).
UPLOAD_ENDPOINTS = frozenset({"media_library.upload", "manage.new_post", "manage.edit_post"})
UPLOAD_FORM_ROOM = 512 * 1024


def allow_cross_site_post(view: View) -> View:
    """Mark a view whose POST is authorised by a signed token in its address, not by
    where it comes from: a mail provider's one-click unsubscribe (RFC 8058) is sent from
    its own servers, or from a webmail page on another site."""
    view.cross_site_allowed = True  # type: ignore[attr-defined]
    return view


def same_site_request(headers: Headers, host_url: str) -> bool:
    """False when the request says it comes from another site: Sec-Fetch-Site other than
    same-origin or none (typed, bookmarked), or else an Origin other than this blog's."""
    fetch_site = headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in {"same-origin", "none"}
    origin = headers.get("Origin")
    if origin is None:
        return True
    ours = urlsplit(host_url)
    return origin.rstrip("/") == f"{ours.scheme}://{ours.netloc}"


def register(app: Flask) -> None:
    @app.before_request
    def refuse_undecodable_query() -> None:
        # Werkzeug decodes the query string on first use and fails on bytes that are
        # not UTF-8; answer 400 here rather than 500 wherever a view first reads it.
        try:
            request.args  # noqa: B018 - reading it is the check
        except UnicodeDecodeError:
            abort(400, description="The address holds characters that are not UTF-8.")
        # No slug, label or name holds a NUL, and PostgreSQL refuses it in any text.
        if "\x00" in request.path:
            abort(400, description="The address holds a NUL character.")

    @app.before_request
    def refuse_cross_site_writes() -> None:
        # Fetch Metadata first, then Origin: a browser that another site makes send a
        # form says so in one or the other. A client that sends neither is no browser
        # that can be led to post from elsewhere; the forms' own tokens still apply.
        if request.method in {"GET", "HEAD", "OPTIONS"}:
            return
        view = app.view_functions.get(request.endpoint or "")
        if getattr(view, "cross_site_allowed", False):
            return
        if not same_site_request(request.headers, request.host_url):
            abort(
                403,
                description="This form was sent from another site, so nothing was done. "
                "Open the page on this blog and send the form from there.",
            )

    @app.before_request
    def limit_body_size() -> None:
        # Readers' forms are small; only the authoring area may send more (Flask 3.1
        # reads this per request).
        if not request.path.startswith("/manage/"):
            request.max_content_length = app.config["MAX_BODY_BYTES"]
        elif request.endpoint in {"transfer.import_upload", "transfer.import_json_upload"}:
            # A whole blog's export, from an administrator.
            request.max_content_length = app.config["IMPORT_MAX_BYTES"]
        elif request.endpoint in UPLOAD_ENDPOINTS:
            # An image from the editor or the media library, and the form around it.
            request.max_content_length = app.config["MEDIA_MAX_BYTES"] + UPLOAD_FORM_ROOM

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
