"""Fixtures: a real database built by the migrations, an app, a client, a query counter.

SQLite (a temporary file) by default; PostgreSQL when KMBLOG_TEST_DATABASE_URL is set.
The schema is migrated once per run; each test starts from empty tables and the
settings row as the migration made it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from kmblog import create_app
from kmblog.extensions import db
from kmblog.models import Base, Role, Settings
from tests.factories import BlogBuilder
from tests.forms import hidden_field

POSTGRES_URL = os.environ.get("KMBLOG_TEST_DATABASE_URL")
SECRET_KEY = "test-secret-key"
# The password of every author the tests make with BlogBuilder.author(..., password=PASSWORD).
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if POSTGRES_URL:
        # A clean schema each run: the migrations, not leftovers, make the tables.
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return POSTGRES_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'kmblog.sqlite'}"


@pytest.fixture(scope="session")
def migrated(database_url: str) -> dict[str, Any]:
    """Run the migrations once; return the settings row they made, to restore per test."""
    app = create_app(app_config(database_url))
    with app.app_context():
        upgrade()
        settings = db.session.get(Settings, 1)
        assert settings is not None
        snapshot = {c.key: getattr(settings, c.key) for c in Settings.__table__.columns}
        db.session.remove()
        db.engine.dispose()
    return snapshot


# The test apps' job queue: one file for the run, removed at its end.
JOBS_QUEUE_FILE = os.path.join(tempfile.gettempdir(), f"kmblog-jobs-{os.getpid()}.db")


@pytest.fixture(scope="session", autouse=True)
def _remove_the_jobs_queue_file() -> Iterator[None]:
    yield
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(JOBS_QUEUE_FILE + suffix)


def app_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    """The settings of every test app on `database_url`, with `overrides` on top."""
    return {
        "TESTING": True,
        "SECRET_KEY": SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SERVER_NAME": "blog.test",
        # Spam and flood guards have tests of their own that turn them on.
        "RATELIMIT_ENABLED": False,
        "COMMENT_MIN_SECONDS": 0,
        # OWASP's cost is for production; tests hash many passwords.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # Jobs queued by the tests stay out of the checkout's instance folder; the mail
        # tests give their apps a queue (and a worker) of their own.
        "JOBS_SQLITE_PATH": JOBS_QUEUE_FILE,
        **overrides,
    }


@pytest.fixture
def app(database_url: str, migrated: dict[str, Any]) -> Iterator[Flask]:
    # No app context stays pushed: each request gets its own, as in production (a
    # shared one would share `g` and the session's identity map between requests).
    app = create_app(app_config(database_url))
    yield app
    with app.app_context():
        _reset_tables(migrated)
        db.engine.dispose()


@pytest.fixture
def other_apps(app: Flask) -> Iterator[list[Flask]]:
    """Apps a test builds besides `app` (whose teardown empties the tables); their
    connections are closed after the test."""
    built: list[Flask] = []
    yield built
    for other in built:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def make_app(database_url: str, other_apps: list[Flask]) -> Callable[..., Flask]:
    """Another app on the test database (another worker process, other settings):
    `make_app(without=keys, **overrides)`, the settings in `without` left unset."""

    def factory(*, without: Iterable[str] = (), **overrides: Any) -> Flask:
        config = app_config(database_url, **overrides)
        for key in without:
            del config[key]
        other = create_app(config)
        other_apps.append(other)
        return other

    return factory


def _reset_tables(settings: dict[str, Any]) -> None:
    with db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "settings":
                connection.execute(table.delete())
        connection.execute(Settings.__table__.update().values(**settings))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


class QueryCounter:
    """Counts the SQL statements the app sends while it is active."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries():  # type: ignore[no-untyped-def]
    """`with count_queries() as queries:` then `len(queries)`: every statement any engine
    in this process sends meanwhile (the `app` fixture's, or one from `make_app`)."""

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
            counter.statements.append(statement)

        event.listen(Engine, "before_cursor_execute", record)
        try:
            yield counter
        finally:
            event.remove(Engine, "before_cursor_execute", record)

    return counting


@pytest.fixture
def blog(app: Flask) -> BlogBuilder:
    """Builds blog content through the real services; see tests/factories.py."""
    return BlogBuilder(app)


@pytest.fixture
def admin(blog: BlogBuilder) -> int:
    """The administrator "admin", who signs in with PASSWORD."""
    return blog.author("admin", role=Role.ADMIN, password=PASSWORD)


@pytest.fixture
def writer(blog: BlogBuilder, admin: int) -> int:
    """The author "writer" (made after the admin), who signs in with PASSWORD."""
    return blog.author("writer", role=Role.AUTHOR, password=PASSWORD)


class AuthActions:
    """Signs in and out through the real forms (flaskr's helper, with CSRF tokens)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def csrf_token(self, path: str) -> str:
        """The CSRF token of the form on the page at `path`."""
        return hidden_field(self.client.get(path).text, "csrf_token", path)

    def login(
        self, username: str, password: str = PASSWORD, next_url: str = "", remember: bool = False
    ):  # type: ignore[no-untyped-def]
        data = {
            "csrf_token": self.csrf_token("/login"),
            "username": username,
            "password": password,
            "next": next_url,
        }
        if remember:
            data["remember"] = "y"
        return self.client.post("/login", data=data)

    def logout(self):  # type: ignore[no-untyped-def]
        return self.client.post("/logout", data={"csrf_token": self.csrf_token("/manage/")})

    def post_form(self, path: str, data: dict[str, Any], form_page: str | None = None):  # type: ignore[no-untyped-def]
        """POST a form of the authoring area with a fresh CSRF token."""
        return self.client.post(
            path, data={"csrf_token": self.csrf_token(form_page or path), **data}
        )


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
