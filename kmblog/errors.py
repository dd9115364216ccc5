"""Error pages in the blog's look. They show no sidebar: an error page must not depend
on the database that may be the cause of the error."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
    SecurityError,
)

from kmblog.context import current_settings
from kmblog.extensions import db

TITLES = {
    400: "That request could not be understood",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed here",
    413: "Too much at once",
    422: "Please check what you entered",
    429: "Slow down a little",
    500: "Something went wrong on our side",
    503: "Back in a moment",
}


def _render(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    if code < 500:
        # The blog's title on the page, when the database can give it.
        try:
            current_settings()
        except SQLAlchemyError:
            db.session.rollback()
    return (
        render_template(
            "errors/error.html",
            code=code,
            title=TITLES.get(code, error.name),
            description=_description(error) if code < 500 else None,
        ),
        code,
    )


def _description(error: HTTPException) -> str | None:
    if isinstance(error, RequestEntityTooLarge) and error.description == (
        RequestEntityTooLarge.description
    ):
        # Werkzeug's words are for developers; say what the author can do.
        limit = request.max_content_length
        size = f" (up to {limit // (1024 * 1024)} MB)" if limit and limit >= 1024 * 1024 else ""
        return (
            f"What was sent is larger than this page accepts{size}, so nothing was saved. "
            "For an image, make it smaller in an image editor and upload it again."
        )
    return error.description


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if error.code is None or error.code < 400:
            return error
        if isinstance(error, SecurityError):
            # An untrusted Host: no URLs can be built for it, so no page in our look.
            return "Bad request: unknown host name.\n", 400, {"Content-Type": "text/plain"}
        if error.response is not None:  # a page made for this case (rate limits)
            return error.response
        return _render(error)

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError) -> Any:
        # The failed request may have left the session mid-transaction.
        db.session.rollback()
        return _render(error)

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError) -> Any:
        """The database is down or unreachable: 503 and a page, never a traceback."""
        app.logger.error("database unavailable: %s", error.orig or error)
        try:
            db.session.rollback()
        except SQLAlchemyError:
            db.session.remove()
        # A page that needs nothing from the database: rendered without the context
        # processors, since Flask-Login's would load the signed-in user from it.
        page = app.jinja_env.get_template("errors/unavailable.html").render(
            disk_full=_disk_full(error)
        )
        return page, 503, {"Retry-After": "30"}


def _disk_full(error: OperationalError) -> bool:
    """The database refused a write for want of disk space (SQLite's SQLITE_FULL,
    PostgreSQL's disk_full): the blog is up, but can store nothing more for now."""
    return (
        "database or disk is full" in str(error.orig)
        or getattr(error.orig, "sqlstate", None) == DISK_FULL_SQLSTATE
    )


DISK_FULL_SQLSTATE = "53100"
