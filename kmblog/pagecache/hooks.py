"""The page cache inside Flask: conditional GETs, cached pages for readers the front let
through (a cookie that is not a session), storing what was rendered, and the per-request
page version the views read."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from flask import Flask, current_app, g, request, session
from flask.wrappers import Response
from flask_wtf.csrf import generate_csrf

from kmblog.extensions import cache
from kmblog.formtimer import new_form_timer
from kmblog.models import utcnow
from kmblog.pagecache.entries import (
    TIMER_PLACEHOLDER,
    TOKEN_PLACEHOLDER,
    CachedPage,
    cached_page,
    not_modified,
    page_key,
)
from kmblog.pagecache.front import SHARED_CACHE_HEADER, VERSION_ENVIRON_KEY
from kmblog.pagecache.version import PageVersion, VersionMemo, load_page_version

CACHEABLE_BLUEPRINTS = {"blog", "feeds"}
# How long the nginx front keeps a page before it asks again (browsers revalidate).
SHARED_CACHE_SECONDS = 5


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


def _serve_cached(entry: CachedPage) -> Response:
    """A cached page with this reader's own form token and timer filled in (made only
    for a page that has them: a token starts a session)."""
    needed = {slot for _, slot in entry.slots}
    token = generate_csrf().encode() if TOKEN_PLACEHOLDER in needed else b""
    timer = new_form_timer().encode() if TIMER_PLACEHOLDER in needed else b""
    body = entry.filled(token, timer)
    return Response(body, headers=list(entry.headers))


def _with_validators(response: Response, version: PageVersion) -> Response:
    response.headers.extend(version.headers)
    response.vary.add("Cookie")
    if for_shared_cache() and "Set-Cookie" not in response.headers:
        # nginx keeps it briefly and does not pass this header on; browsers revalidate.
        response.headers["X-Accel-Expires"] = str(SHARED_CACHE_SECONDS)
    return response


def register_hooks(app: Flask) -> None:
    """Answer conditional and cached requests before the view; store what it rendered."""

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
            entry = cached_page(response, g.get("csrf_token"), g.get("comment_form_timer"))
            cache.set(key, entry)
        return response
