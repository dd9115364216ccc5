"""The page cache inside Flask: conditional GETs, cached pages for readers the front let
through (a cookie that is not a session), storing what was rendered, compressing what
goes out, and the per-request page version the views read."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from flask import Flask, current_app, g, request, session
from flask.wrappers import Response

from kmblog.extensions import cache
from kmblog.models import utcnow
from kmblog.pagecache.compression import LIVE, compress, compressible, preferred_encoding
from kmblog.pagecache.entries import CachedPage, cached_page, not_modified, page_key
from kmblog.pagecache.front import VERSION_ENVIRON_KEY, personal_cookies
from kmblog.pagecache.version import PageVersion, VersionMemo, version_watch

CACHEABLE_BLUEPRINTS = {"blog", "feeds", "seo"}
# How long the nginx front (bench/nginx.conf) keeps a reader's page before it asks
# again; nginx does not pass the header on, and browsers revalidate every time.
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
        g.content_version = version_watch(current_app).load(now)[1]
    return cast(PageVersion, g.content_version)


def _without_session() -> bool:
    """No signed-in author, no message waiting, no comment of theirs they may still
    edit: nothing of the visitor's own."""
    if "_user_id" in session or "_flashes" in session:
        return False
    return personal_cookies(current_app).isdisjoint(request.cookies)


def _anonymous_reader() -> bool:
    """A reader's page or feed, the same for everyone."""
    if request.method not in {"GET", "HEAD"} or request.blueprint not in CACHEABLE_BLUEPRINTS:
        return False
    return _without_session()


def _serve_cached(entry: CachedPage) -> Response:
    """A cached page, in the encoding the client takes."""
    body, headers = entry.answer(preferred_encoding(request.headers.get("Accept-Encoding")))
    return Response(body, headers=headers)


def _with_validators(response: Response, version: PageVersion) -> Response:
    response.headers.extend(version.headers)
    response.vary.add("Cookie")
    if "Set-Cookie" not in response.headers:
        # Every reader's copy is the same bytes: any front cache may keep it briefly.
        response.headers["X-Accel-Expires"] = str(SHARED_CACHE_SECONDS)
    return response


def register_hooks(app: Flask) -> None:
    """Answer conditional and cached requests before the view; store what it rendered;
    compress what goes out."""

    @app.before_request
    def conditional_or_cached() -> Response | None:
        if request.method not in {"GET", "HEAD"} or request.blueprint not in CACHEABLE_BLUEPRINTS:
            return None
        found = request.environ.pop(VERSION_ENVIRON_KEY, None)
        row, version = found or version_watch(current_app).load(utcnow())
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
        g.cache_key = page_key(request.environ, version)
        entry = cache.get(g.cache_key)
        if entry is not None:
            g.cache_hit = True
            return _serve_cached(entry)
        g.settings = row.to_settings()
        return None

    # Flask runs after-request hooks last registered first: this one runs after the
    # page was stored (which keeps each encoding of it, reused here).
    @app.after_request
    def compress_answer(response: Response) -> Response:
        if g.get("cache_hit") or not _compressible(response):
            return response
        response.vary.add("Accept-Encoding")
        encoding = preferred_encoding(request.headers.get("Accept-Encoding"))
        if encoding is None or not _without_session():
            return response
        stored: CachedPage | None = g.get("stored_page")
        data = stored.encoded.get(encoding) if stored else None
        if data is None:
            data = compress(response.get_data(), encoding, LIVE[encoding])
        response.set_data(data)
        response.headers["Content-Encoding"] = encoding
        return response

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
            if _compressible(response):
                response.vary.add("Accept-Encoding")
            g.stored_page = cached_page(response)
            cache.set(key, g.stored_page)
        return response


def _compressible(response: Response) -> bool:
    """An answer with a body of text worth compressing, not yet compressed or streamed."""
    if response.direct_passthrough or response.is_streamed or response.status_code in {204, 304}:
        return False
    if "Content-Encoding" in response.headers:
        return False
    return compressible(response.content_type or "", response.content_length or 0)
