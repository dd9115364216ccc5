"""Conditional GETs and a page cache for anonymous readers.

What a reader sees changes only when something is written (a post, a comment, the
settings) or when a scheduled post's time comes. Every such write raises
Settings.content_version in its own transaction (a flush hook below, so no service can
forget it), and the newest visible publication time is read with the settings row. The
pair is the page's version: it makes the ETag and Last-Modified, and keys the cache, so
a stale entry is never served and several processes with their own caches agree.

A cached page carries placeholders where a reader's own form token and form timer go;
they are filled in for each reader when the page is served.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask.wrappers import Response
from flask_wtf.csrf import generate_csrf
from itsdangerous import Serializer, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from sqlalchemy import Connection, Dialect, Engine, event, inspect, update
from sqlalchemy.orm import Session, make_transient_to_detached
from werkzeug.http import dump_cookie, http_date, parse_cookie, parse_date, parse_etags, quote_etag

from kmblog.comments.forms import new_form_timer, timer_signer
from kmblog.extensions import cache, db
from kmblog.models import (
    Comment,
    CommentStatus,
    Label,
    Page,
    Post,
    PostRedirect,
    PostStatus,
    Settings,
    User,
    UTCDateTime,
    utcnow,
)
from kmblog.security import HEADERS as SECURITY_HEADERS

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

CACHEABLE_BLUEPRINTS = {"blog", "feeds"}
TOKEN_PLACEHOLDER = "\x00kmblog-csrf\x00"  # noqa: S105 - a marker, not a secret
TIMER_PLACEHOLDER = "\x00kmblog-timer\x00"
REVALIDATE = "public, max-age=0, must-revalidate"
# Set by the nginx front (bench/nginx.conf) on requests whose answers it may keep.
SHARED_CACHE_HEADER = "X-Kmblog-Shared-Cache"
SHARED_CACHE_SECONDS = 5
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
VERSION_ENVIRON_KEY = "kmblog.page_version"
KEPT_ENTRIES = 64
Answer = tuple[str, list[tuple[str, str]], bytes]  # WSGI status, headers, body
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
        self.bind = newest_type.bind_processor(dialect) or (lambda value: value)
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
            f" WHERE status = '{PostStatus.PUBLISHED.value}' AND published_at <= {placeholder})"
            " FROM settings ORDER BY id LIMIT 1"
        )

    def read(self, connection: Connection, now: datetime) -> tuple[dict[str, Any], datetime | None]:
        value = self.bind(now)
        parameters: Any = {"now": value} if self.named else (value,)
        row = connection.exec_driver_sql(self.sql, parameters).one()
        values = {
            name: processor(raw) if processor else raw
            for name, processor, raw in zip(self.columns, self.processors, row, strict=False)
        }
        newest = row[-1]
        return values, self.newest_processor(newest) if self.newest_processor else newest


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


def load_page_version(
    now: datetime, engine: Engine | None = None
) -> tuple[SettingsRow, PageVersion]:
    """The settings row and the page version, in one small query."""
    engine = engine or db.engine
    reader = _readers.get(engine.dialect.name)
    if reader is None:
        reader = _readers[engine.dialect.name] = _VersionReader(engine.dialect)
    # A connection of its own, not the ORM session: a cache hit then never sets one up.
    with engine.connect() as connection:
        values, newest_visible = reader.read(connection, now)
    if newest_visible is not None and newest_visible.tzinfo is None:
        newest_visible = newest_visible.replace(tzinfo=UTC)
    newest_visible = newest_visible or _EPOCH
    last = max(values["changed_at"] or _EPOCH, newest_visible).replace(microsecond=0)
    version = PageVersion(values["content_version"], newest_visible, last, values["changed_at"])
    return SettingsRow(values), version


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


def version_memo() -> VersionMemo:
    """This app's memo (one per app, so that apps in one process never share it)."""
    memo = current_app.extensions.get("kmblog_version_memo")
    if memo is None:
        memo = current_app.extensions["kmblog_version_memo"] = VersionMemo()
    return cast(VersionMemo, memo)


def current_content_version(now: datetime) -> PageVersion:
    """This request's page version: read once per request (before any view, for pages
    and feeds; here for anything else that asks)."""
    if "content_version" not in g:
        g.content_version = load_page_version(now)[1]
    return cast(PageVersion, g.content_version)


def _anonymous_reader() -> bool:
    """No signed-in author, no message waiting: the page is the same for everyone."""
    if request.method not in {"GET", "HEAD"} or request.blueprint not in CACHEABLE_BLUEPRINTS:
        return False
    if "_user_id" in session or "_flashes" in session:
        return False
    return "remember_token" not in request.cookies


def for_shared_cache() -> bool:
    """The request comes through a front cache (nginx) that will keep the page for every
    anonymous reader: the page must carry nothing of this reader's own."""
    return request.headers.get(SHARED_CACHE_HEADER) == "1" and _anonymous_reader()


def page_key(environ: WSGIEnvironment, version: PageVersion, shared: bool) -> str:
    """The cache key of a page: its version, whether it is the copy without any reader's
    own form token, and the address exactly as asked (scheme and host too: feeds carry
    absolute links)."""
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    where = "{}://{}{}?{}".format(
        environ.get("wsgi.url_scheme", "http"),
        host,
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
    )
    digest = hashlib.sha256(where.encode("utf-8", "surrogatepass")).hexdigest()
    return f"page:{version.etag}:{'shared' if shared else 'own'}:{digest}"


def not_modified(environ: WSGIEnvironment, version: PageVersion) -> bool:
    """The reader already holds this version of the page (If-None-Match, or failing
    that If-Modified-Since)."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match:
        return parse_etags(if_none_match).contains_weak(version.etag)
    since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
    return since is not None and since >= version.last_modified


@dataclass(frozen=True)
class CachedPage:
    """A page's bytes, split where each reader's own form token and timer go, and the
    headers it was first sent with (no cookie, no length)."""

    parts: tuple[bytes, ...]
    slots: tuple[tuple[int, str], ...]  # (index in parts, placeholder it stands for)
    headers: tuple[tuple[str, str], ...]

    def validators(self) -> list[tuple[str, str]]:
        """What a 304 repeats of the page's headers."""
        return [(name, value) for name, value in self.headers if name != "Content-Type"]


def _serve_cached(entry: CachedPage) -> Response:
    """A cached page with this reader's own form token and timer filled in."""
    fill = {TOKEN_PLACEHOLDER: generate_csrf, TIMER_PLACEHOLDER: new_form_timer}
    parts = list(entry.parts)
    for place, slot in entry.slots:
        parts[place] = fill[slot]().encode()
    return Response(b"".join(parts), headers=list(entry.headers))


class _KeptKeySigner(TimestampSigner):
    """itsdangerous derives the signing key from the secret and salt for every
    signature; it is the same key each time, so keep it."""

    _derived: ClassVar[dict[tuple[Any, ...], bytes]] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        place = (secret_key, self.secret_keys[-1], self.salt, self.key_derivation,
                 self.digest_method)  # fmt: skip
        key = self._derived.get(place)
        if key is None:
            key = self._derived[place] = super().derive_key(secret_key)
        return key


class _PlainSerializer(URLSafeTimedSerializer):
    """URLSafeTimedSerializer that does not try zlib on a 40-character token (it never
    shrinks it, and zlib lets go of the GIL, so the thread queues to get it back).
    Its output is what the stock one writes when compression does not pay, so Flask
    and Flask-WTF read it as they read their own."""

    signer = _KeptKeySigner

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


class CachedPageFront:
    """WSGI: answers a reader who carries no session from the page cache before Flask
    builds a request at all. Anything else, or anything unexpected, goes on to the app.

    A cache hit through Flask cost 2-3 times Flask's own floor (request context, session,
    every hook); here it is one small query, a dictionary lookup and, for a page with a
    comment form, the new reader's form token and session cookie.
    """

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.personal_cookies = {
            app.config["SESSION_COOKIE_NAME"],
            app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
        }
        self._new_session: Callable[[str], tuple[bytes, str, bytes]] | None = None
        # Found on first use, inside an app context; after that a hit needs none.
        self._engine: Engine | None = None
        self._cache: Any = None
        # Pages already read from the cache, unpickled: a key names one version of one
        # page, so an entry never goes stale (a few dozen of them, then start again).
        self._entries: dict[str, CachedPage] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        answer = self._from_cache(environ)
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]

    def _from_cache(self, environ: WSGIEnvironment) -> Answer | None:
        if environ.get("REQUEST_METHOD") not in {"GET", "HEAD"}:
            return None
        if not self.app.config["PAGE_CACHE"]:
            return None
        cookies = environ.get("HTTP_COOKIE")
        if cookies and self.personal_cookies & parse_cookie(cookies).keys():
            return None
        shared = environ.get(f"HTTP_{SHARED_CACHE_HEADER.upper().replace('-', '_')}") == "1"
        answer: Answer | None = None
        try:
            if self._engine is None:
                with self.app.app_context():
                    self._engine, self._cache = db.engine, cache.cache
            found = load_page_version(utcnow(), self._engine)
            entry = self._entry(page_key(environ, found[1], shared))
            if entry is None:
                pass
            elif not_modified(environ, found[1]):
                answer = ("304 NOT MODIFIED", entry.validators(), b"")
            elif entry.slots:
                answer = self._for_a_new_reader(entry)
            else:
                body = entry.parts[0]
                headers = [*entry.headers, ("Content-Length", str(len(body)))]
                answer = ("200 OK", headers, body)
        except Exception:  # noqa: BLE001 - the app itself answers (503 for a database down)
            log.warning("cached-page front: the app answers instead", exc_info=True)
            return None
        # The app reads the version once per request: pass it on.
        environ[VERSION_ENVIRON_KEY] = found
        return answer

    def _entry(self, key: str) -> CachedPage | None:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._cache.get(key)
            if entry is not None:
                if len(self._entries) >= KEPT_ENTRIES:
                    self._entries = {}
                self._entries[key] = entry
        return entry

    def _for_a_new_reader(self, entry: CachedPage) -> Answer | None:
        """The page with a form token and timer of the reader's own, and the session
        cookie that holds the token's other half: what Flask-WTF's generate_csrf and
        Flask's session interface do, with their own serializers, without a request."""
        if self._new_session is None:
            self._new_session = self._session_maker()
            if self._new_session is None:
                return None
        raw = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - Flask-WTF's raw token
        token, cookie, timer = self._new_session(raw)
        fill = {TOKEN_PLACEHOLDER: token, TIMER_PLACEHOLDER: timer}
        parts = list(entry.parts)
        for place, slot in entry.slots:
            parts[place] = fill[slot]
        body = b"".join(parts)
        headers = [*entry.headers, ("Set-Cookie", cookie), ("Content-Length", str(len(body)))]
        return ("200 OK", headers, body)

    def _session_maker(self) -> Callable[[str], tuple[bytes, str, bytes]] | None:
        """For Flask's own cookie sessions only (anything else: the app answers)."""
        app, interface = self.app, self.app.session_interface
        if type(interface) is not SecureCookieSessionInterface:
            return None
        field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        tokens = _PlainSerializer(secret, salt="wtf-csrf-token")
        if not app.secret_key:
            return None
        # As SecureCookieSessionInterface.get_signing_serializer makes it.
        sessions = _PlainSerializer(
            [*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key],
            salt=interface.salt,
            serializer=interface.serializer,
            signer_kwargs={
                "key_derivation": interface.key_derivation,
                "digest_method": interface.digest_method,
            },
        )
        # The cookie as SecureCookieSessionInterface.save_session sets it for a new,
        # non-permanent session.
        attributes = {
            "path": interface.get_cookie_path(app),
            "domain": interface.get_cookie_domain(app),
            "secure": interface.get_cookie_secure(app),
            "httponly": interface.get_cookie_httponly(app),
            "samesite": interface.get_cookie_samesite(app),
            "partitioned": interface.get_cookie_partitioned(app),
        }
        name = interface.get_cookie_name(app)
        timers = timer_signer(app.config["SECRET_KEY"])

        def new_session(raw: str) -> tuple[bytes, str, bytes]:
            cookie = dump_cookie(name, sessions.dumps({field: raw}), **attributes)
            return tokens.dumps(raw).encode(), cookie, timers.sign(b"comment-form")

        return new_session


def register(app: Flask) -> None:
    app.wsgi_app = CachedPageFront(app, app.wsgi_app)  # type: ignore[method-assign]

    @app.before_request
    def conditional_or_cached() -> Response | None:
        if request.method not in {"GET", "HEAD"} or request.blueprint not in CACHEABLE_BLUEPRINTS:
            return None
        found = request.environ.pop(VERSION_ENVIRON_KEY, None)
        row, version = found or load_page_version(utcnow())
        g.content_version = version  # what the sidebar memo is keyed by, for every reader
        if not _anonymous_reader():
            g.settings = row.to_settings()
            return None
        g.page_version = version
        if not_modified(request.environ, version):
            g.cache_hit = True
            return Response(status=304)
        if not current_app.config["PAGE_CACHE"]:
            g.settings = row.to_settings()
            return None
        g.cache_key = page_key(request.environ, version, for_shared_cache())
        entry = cache.get(g.cache_key)
        if entry is not None:
            g.cache_hit = True
            return _serve_cached(entry)
        g.settings = row.to_settings()
        return None

    @app.after_request
    def store_and_stamp(response: Response) -> Response:
        version: PageVersion | None = g.get("page_version")
        if version is None:
            return response
        if g.get("cache_hit"):
            if response.status_code == 304:
                response.headers.extend(version.headers)
                response.vary.add("Cookie")
            return response
        _with_validators(response, version)
        key = g.get("cache_key")
        if key and response.status_code == 200 and not response.direct_passthrough:
            cache.set(key, _cache_entry(response))
        return response


def _with_validators(response: Response, version: PageVersion) -> Response:
    response.headers.extend(version.headers)
    response.vary.add("Cookie")
    if for_shared_cache() and "Set-Cookie" not in response.headers:
        # nginx keeps it briefly and does not pass this header on; browsers revalidate.
        response.headers["X-Accel-Expires"] = str(SHARED_CACHE_SECONDS)
    return response


def _cache_entry(response: Response) -> CachedPage:
    body = response.get_data(as_text=True)
    token = g.get("csrf_token")
    if token:
        body = body.replace(token, TOKEN_PLACEHOLDER)
    timer = g.get("comment_form_timer")
    if timer:
        body = body.replace(timer, TIMER_PLACEHOLDER)
    pieces = re.split(f"({re.escape(TOKEN_PLACEHOLDER)}|{re.escape(TIMER_PLACEHOLDER)})", body)
    slots = tuple((n, piece) for n, piece in enumerate(pieces) if n % 2)
    # The headers every reader gets: the security headers are added after this hook.
    headers = [
        (name, value)
        for name, value in response.headers.items()
        if name not in {"Set-Cookie", "Content-Length"}
    ]
    present = {name for name, _ in headers}
    headers += [(name, value) for name, value in SECURITY_HEADERS.items() if name not in present]
    return CachedPage(tuple(piece.encode() for piece in pieces), slots, tuple(headers))


# --- the content version: raised by any write a reader could see -----------------


def _changes_pages(session: Session) -> bool:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Comment):
            if obj in session.new:
                if obj.status == CommentStatus.PUBLISHED:
                    return True
            elif obj in session.deleted or inspect(obj).attrs.status.history.has_changes():
                return True
        elif isinstance(obj, Post | Page | Label | PostRedirect | User):
            if obj in session.new or obj in session.deleted or session.is_modified(obj):
                return True
        elif isinstance(obj, Settings) and session.is_modified(obj):
            return True
    return False


@event.listens_for(Session, "before_flush")
def _mark_change(session: Session, flush_context: Any, instances: Any) -> None:
    if _changes_pages(session):
        session.info["content_changed"] = True


@event.listens_for(Session, "after_flush")
def _raise_content_version(session: Session, flush_context: Any) -> None:
    if session.info.pop("content_changed", False):
        table = Settings.__table__
        # Core, not ORM: inside a flush, and the same transaction as the change itself.
        session.connection().execute(
            update(table).values(content_version=table.c.content_version + 1, changed_at=utcnow())
        )
