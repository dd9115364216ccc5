"""The page version: which state of the blog a page shows.

What a reader sees changes only when something is written (a post, a comment, the
settings) or when a scheduled post's time comes. Every such write raises
Settings.content_version in its own transaction (kmblog.content_version), and the newest
visible publication time is read with the settings row. The pair is the page's version:
it makes the ETag and Last-Modified and keys the cache, so that a stale entry is never
served and several processes with caches of their own agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, TypeVar, cast

from flask import Flask
from sqlalchemy import Connection, Dialect, Engine, inspect
from sqlalchemy.orm import make_transient_to_detached
from werkzeug.http import http_date, quote_etag

from kmblog.change_signal import change_signal
from kmblog.extensions import db
from kmblog.models import PostStatus, Settings, UTCDateTime

REVALIDATE = "public, max-age=0, must-revalidate"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
T = TypeVar("T")


@dataclass(frozen=True)
class PageVersion:
    content_version: int
    # The newest publication time readers can see: it moves when a scheduled post's
    # time comes, with no write at all.
    newest_visible: datetime
    last_modified: datetime
    changed_at: datetime | None = None

    @property
    def etag(self) -> str:
        return f"v{self.content_version}-{int(self.newest_visible.timestamp())}"

    @cached_property
    def headers(self) -> list[tuple[str, str]]:
        """ETag, Last-Modified and Cache-Control of every page of this version."""
        return [
            ("ETag", quote_etag(self.etag, weak=True)),
            ("Last-Modified", http_date(self.last_modified)),
            ("Cache-Control", REVALIDATE),
        ]


class _VersionReader:
    """Reads the settings row and the newest visible publication time in one statement.

    This runs on every anonymous request, cached or not, so it is written once per
    database as plain SQL and run with exec_driver_sql: SQLAlchemy's compiled-statement
    path (a cache key per call) cost three times as much here (125 against 40-90 us
    a request, measured in-process), a third of a cached page's whole cost. The values
    still go through each column type's own processors, so they come out as the ORM
    would give them.
    """

    def __init__(self, dialect: Dialect) -> None:
        table = Settings.__table__
        self.columns = [column.name for column in table.c]
        self.processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in table.c
        ]
        newest_type = UTCDateTime().dialect_impl(dialect)
        self.newest_processor = newest_type.result_processor(dialect, None)
        self.bind: Callable[[Any], Any] = newest_type.bind_processor(dialect) or (lambda v: v)
        named = dialect.paramstyle in {"named", "pyformat"}
        self.named = named
        placeholder = {"qmark": "?", "named": ":now", "pyformat": "%(now)s"}.get(
            dialect.paramstyle, "%s"
        )
        quote = dialect.identifier_preparer.quote
        # Nothing here comes from a request: column names, a constant, a placeholder.
        columns = ", ".join(quote(name) for name in self.columns)
        self.sql = (
            f"SELECT {columns},"  # noqa: S608
            " (SELECT max(published_at) FROM posts"
            f" WHERE status = '{PostStatus.PUBLISHED.value}' AND published_at <= {placeholder}),"
            " (SELECT min(published_at) FROM posts"
            f" WHERE status = '{PostStatus.PUBLISHED.value}' AND published_at > {placeholder})"
            " FROM settings ORDER BY id LIMIT 1"
        )

    def read(
        self, connection: Connection, now: datetime
    ) -> tuple[dict[str, Any], datetime | None, datetime | None]:
        """The settings row, the newest visible publication time and the next one due."""
        value = self.bind(now)
        parameters: Any = {"now": value} if self.named else (value, value)
        row = connection.exec_driver_sql(self.sql, parameters).one()
        values = {
            name: processor(raw) if processor else raw
            for name, processor, raw in zip(self.columns, self.processors, row, strict=False)
        }
        newest, due = row[-2:]
        if self.newest_processor:
            newest, due = self.newest_processor(newest), self.newest_processor(due)
        return values, newest, due


_readers: dict[str, _VersionReader] = {}


@dataclass(frozen=True)
class SettingsRow:
    """The settings row as the version query read it; an ORM object only when needed."""

    values: dict[str, Any]

    def to_settings(self) -> Settings:
        """The row as a persistent Settings object, without reading it again (the way
        SQLAlchemy's own caching recipes turn a cached row back into an object)."""
        mapper = inspect(Settings)
        settings = Settings(
            **{prop.key: self.values[prop.columns[0].name] for prop in mapper.column_attrs}
        )
        make_transient_to_detached(settings)
        return db.session.merge(settings, load=False)


Found = tuple[SettingsRow, PageVersion]


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _read_page_version(now: datetime, engine: Engine) -> tuple[Found, datetime | None]:
    """The settings row and the page version, in one small query, and when the next
    scheduled post is due (the version moves then, with no write)."""
    reader = _readers.get(engine.dialect.name)
    if reader is None:
        reader = _readers[engine.dialect.name] = _VersionReader(engine.dialect)
    # A connection of its own, not the ORM session: a cache hit then never sets one up.
    with engine.connect() as connection:
        values, newest, due = reader.read(connection, now)
    newest_visible = _aware(newest) or _EPOCH
    last = max(values["changed_at"] or _EPOCH, newest_visible).replace(microsecond=0)
    version = PageVersion(values["content_version"], newest_visible, last, values["changed_at"])
    return (SettingsRow(values), version), _aware(due)


def load_page_version(now: datetime, engine: Engine | None = None) -> Found:
    """The settings row and the page version, read now."""
    return _read_page_version(now, engine or db.engine)[0]


@dataclass(frozen=True)
class _Seen:
    signal: int  # the change signal's value before the version was read
    read_at: datetime
    until: datetime  # the recheck time, or the next scheduled post if sooner
    found: Found


class VersionWatch:
    """The page version of one database, read again only when it may have changed.

    On a database with a change signal (kmblog.change_signal: SQLite), the version read
    last holds while the signal has not moved, no scheduled post has come due, and no
    more than `recheck` seconds have passed; the recheck catches what no signal tells
    of (a database restored under the running app, or written by another program). On
    any other database, or with `recheck` 0, the version is read on every page.
    """

    def __init__(self, engine: Engine, recheck: float) -> None:
        self.engine = engine
        self.signal = change_signal(engine) if recheck > 0 else None
        self.recheck = timedelta(seconds=recheck)
        self._seen: _Seen | None = None

    def load(self, now: datetime) -> Found:
        signal = self.signal
        if signal is None:
            return _read_page_version(now, self.engine)[0]
        mark = signal.value()
        seen = self._seen
        if seen is not None and seen.signal == mark and seen.read_at <= now < seen.until:
            return seen.found
        # Read the signal before the version: a write that lands in between moves the
        # signal after this read, so the next page reads again.
        found, due = _read_page_version(now, self.engine)
        until = now + self.recheck
        if due is not None:
            until = min(until, due)
        # Threads may race here; either version they store was current when read.
        self._seen = _Seen(mark, now, until, found)
        return found


class VersionMemo:
    """Values that hold for a whole page version, kept in this process: the sidebar's
    archive and label counts, which are the dearest part of any page to build (they
    count every visible post). A write or a scheduled post's time makes a new version,
    and the first page after it builds them again; every other page reuses them.
    """

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._values: dict[str, Any] = {}

    def get(self, version: PageVersion, name: str, build: Callable[[], T]) -> T:
        # changed_at too: a database restored or reset under a running app may repeat a
        # version number, not the moment of its last change.
        key = (version.content_version, version.newest_visible, version.changed_at)
        values = self._values
        if self._key != key:
            # Threads may race here; the worst case is building a value twice.
            values = {}
            self._key, self._values = key, values
        if name not in values:
            values[name] = build()
        return cast(T, values[name])


def version_watch(app: Flask) -> VersionWatch:
    """The app's watch on its database's page version (made on first use, in an app
    context)."""
    watch = app.extensions.get("kmblog_version_watch")
    if watch is None:
        watch = VersionWatch(db.engine, app.config["PAGE_VERSION_RECHECK_SECONDS"])
        app.extensions["kmblog_version_watch"] = watch
    return cast(VersionWatch, watch)
