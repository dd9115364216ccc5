"""The cached-page front: WSGI middleware that answers a reader who carries no session
from the page cache before Flask builds a request at all. Anything else, or anything
unexpected, goes on to the app.

A cache hit through Flask cost 2-3 times Flask's own floor (request context, session,
every hook); here it is one small query, a dictionary lookup and, for a page with a
comment form, the new reader's form token and session cookie.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.http import parse_cookie

from kmblog.extensions import cache, db
from kmblog.models import utcnow
from kmblog.pagecache.entries import CachedPage, not_modified, page_key
from kmblog.pagecache.tokens import NewReader, new_reader_maker
from kmblog.pagecache.version import load_page_version

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

# Set by the nginx front (bench/nginx.conf) on requests whose answers it may keep.
SHARED_CACHE_HEADER = "X-Kmblog-Shared-Cache"
# Where the front leaves the version it read, so that the app reads it once a request.
VERSION_ENVIRON_KEY = "kmblog.page_version"
# Pages kept unpickled in this process (a key names one version of one page, so an
# entry never goes stale): a few dozen of them, then start again.
KEPT_ENTRIES = 64
Answer = tuple[str, list[tuple[str, str]], bytes]  # WSGI status, headers, body


class CachedPageFront:
    """WSGI: cached pages for readers without a session; the app for everything else."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.personal_cookies = {
            app.config["SESSION_COOKIE_NAME"],
            app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
        }
        self._new_reader: Callable[[], NewReader] | None = None
        # Found on first use, inside an app context; after that a hit needs none.
        self._engine: Any = None
        self._cache: Any = None
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
        cookie that holds the token's other half."""
        if self._new_reader is None:
            self._new_reader = new_reader_maker(self.app)
            if self._new_reader is None:
                return None
        token, cookie, timer = self._new_reader()
        body = entry.filled(token, timer)
        headers = [*entry.headers, ("Set-Cookie", cookie), ("Content-Length", str(len(body)))]
        return ("200 OK", headers, body)
