"""Response headers and request limits that every page gets."""

from __future__ import annotations

from flask import Flask, abort, request
from flask.wrappers import Response

# No inline script or style anywhere: every asset is the app's own. Images in posts
# may come from other sites by URL (http or https).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: http: data:",
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
    def limit_body_size() -> None:
        # Readers' forms are small; only the authoring area may send more (Flask 3.1
        # reads this per request).
        if not request.path.startswith("/manage/"):
            request.max_content_length = app.config["MAX_BODY_BYTES"]
        elif request.endpoint == "transfer.import_upload":
            # A whole blog's export, from an administrator.
            request.max_content_length = app.config["IMPORT_MAX_BYTES"]

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
