"""/healthz for load balancers: the app answers and its database does."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask.wrappers import Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from kmblog.extensions import db, limiter

health = Blueprint("health", __name__)


@health.get("/healthz")
@limiter.exempt
def healthz() -> Response:
    """200 "ok" when the database answers, 503 when it does not; never cached."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        response = Response("database unavailable\n", status=503, mimetype="text/plain")
    else:
        response = Response("ok\n", mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    app.register_blueprint(health)
