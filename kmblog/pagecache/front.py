"""The cached-page front: WSGI middleware that answers a reader who carries no session
from the page cache before Flask builds a request at all. Anything else, or anything
unexpected, goes on to the app.

A cache hit through Flask cost 2-3 times Flask's own floor (request context, session,
every hook); here it is one small query (none while the blog is unchanged, on SQLite: see
kmblog.change_signal) and a dictionary lookup. Every reader gets the
same bytes (in the encoding their client takes), and no cookie.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.http import parse_cookie

from kmblog.comments.edit_claims import EDIT_COOKIE
from kmblog.extensions import cache
from kmblog.models import utcnow
from kmblog.pagecache.compression import preferred_encoding
from kmblog.pagecache.entries import CachedPage, not_modified, page_key
from kmblog.pagecache.version import VersionWatch, version_watch

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

# Where the front leaves the version it read, so that the app reads it once a request.
VERSION_ENVIRON_KEY = "kmblog.page_version"
# Pages kept unpickled in this process (a key names one version of one page, so an
# entry never goes stale): a few dozen of them, then start again.
KEPT_ENTRIES = 64
Answer = tuple[str, list[tuple[str, str]], bytes]  # WSGI status, headers, body


def personal_cookies(app: Flask) -> frozenset[str]:
    """Cookies besides the session that make a visitor's pages their own: a signed-in
    author's remember-me cookie, and a commenter's claim to comments they may still
    edit. Such a visitor is never answered from the cache (nor is their page kept)."""
    return frozenset({app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), EDIT_COOKIE})


class CachedPageFront:
    """WSGI: cached pages for readers without a session; the app for everything else."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        # A session, "keep me signed in", and a commenter's claim on the comments they
        # may still edit (their page shows Edit and Delete links): made for them alone.
        self.personal_cookies = {app.config["SESSION_COOKIE_NAME"], *personal_cookies(app)}
        # Found on first use, inside an app context; after that a hit needs none.
        self._watch: VersionWatch | None = None
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
        answer: Answer | None = None
        try:
            if self._watch is None:
                with self.app.app_context():
                    self._watch, self._cache = version_watch(self.app), cache.cache
            found = self._watch.load(utcnow())
            entry = self._entry(page_key(environ, found[1]))
            if entry is None:
                pass
            elif not_modified(environ, found[1]):
                answer = ("304 NOT MODIFIED", entry.validators(), b"")
            else:
                encoding = preferred_encoding(environ.get("HTTP_ACCEPT_ENCODING"))
                body, headers = entry.answer(encoding)
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
