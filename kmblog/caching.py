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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g, request, session
from flask.wrappers import Response
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event, func, inspect, select, update
from sqlalchemy.orm import Session

from kmblog.comments.forms import new_form_timer
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
    utcnow,
)

CACHEABLE_BLUEPRINTS = {"blog", "feeds"}
TOKEN_PLACEHOLDER = "\x00kmblog-csrf\x00"  # noqa: S105 - a marker, not a secret
TIMER_PLACEHOLDER = "\x00kmblog-timer\x00"
REVALIDATE = "public, max-age=0, must-revalidate"
# Set by the nginx front (bench/nginx.conf) on requests whose answers it may keep.
SHARED_CACHE_HEADER = "X-Kmblog-Shared-Cache"
SHARED_CACHE_SECONDS = 5
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PageVersion:
    content_version: int
    # The newest publication time readers can see: it moves when a scheduled post's
    # time comes, with no write at all.
    newest_visible: datetime
    last_modified: datetime

    @property
    def etag(self) -> str:
        return f"v{self.content_version}-{int(self.newest_visible.timestamp())}"


def load_settings_and_version(now: datetime) -> tuple[Settings, PageVersion]:
    """The settings row and the page version, in one small query."""
    newest = (
        select(func.max(Post.published_at))
        .where(Post.status == PostStatus.PUBLISHED, Post.published_at <= now)
        .scalar_subquery()
    )
    settings, newest_visible = db.session.execute(
        select(Settings, newest).order_by(Settings.id).limit(1)
    ).one()
    if newest_visible is not None and newest_visible.tzinfo is None:
        newest_visible = newest_visible.replace(tzinfo=UTC)
    newest_visible = newest_visible or _EPOCH
    last = max(settings.changed_at or _EPOCH, newest_visible).replace(microsecond=0)
    return settings, PageVersion(settings.content_version, newest_visible, last)


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


def _serve_cached(entry: dict[str, Any]) -> Response:
    body: str = entry["body"]
    if TOKEN_PLACEHOLDER in body:
        body = body.replace(TOKEN_PLACEHOLDER, generate_csrf())
    if TIMER_PLACEHOLDER in body:
        body = body.replace(TIMER_PLACEHOLDER, new_form_timer())
    return Response(body, status=entry["status"], content_type=entry["content_type"])


def register(app: Flask) -> None:
    @app.before_request
    def conditional_or_cached() -> Response | None:
        if not _anonymous_reader():
            return None
        settings, version = load_settings_and_version(utcnow())
        g.settings = settings
        g.page_version = version
        if request.if_none_match.contains_weak(version.etag) or (
            not request.if_none_match
            and request.if_modified_since is not None
            and request.if_modified_since >= version.last_modified
        ):
            response = Response(status=304)
            return _with_validators(response, version)
        if not current_app.config["PAGE_CACHE"]:
            return None
        path = hashlib.sha256(request.full_path.encode(errors="surrogatepass")).hexdigest()
        shared = "shared" if for_shared_cache() else "own"
        g.cache_key = f"page:{version.etag}:{shared}:{path}"
        entry = cache.get(g.cache_key)
        if entry is not None:
            return _with_validators(_serve_cached(entry), version)
        return None

    @app.after_request
    def store_and_stamp(response: Response) -> Response:
        version: PageVersion | None = g.get("page_version")
        if version is None:
            return response
        key = g.get("cache_key")
        cacheable = key and response.status_code == 200 and not response.direct_passthrough
        if cacheable and cache.get(key) is None:
            cache.set(key, _cache_entry(response))
        return _with_validators(response, version)


def _with_validators(response: Response, version: PageVersion) -> Response:
    response.set_etag(version.etag, weak=True)
    response.last_modified = version.last_modified
    response.headers["Cache-Control"] = REVALIDATE
    response.vary.add("Cookie")
    if for_shared_cache() and "Set-Cookie" not in response.headers:
        # nginx keeps it briefly and does not pass this header on; browsers revalidate.
        response.headers["X-Accel-Expires"] = str(SHARED_CACHE_SECONDS)
    return response


def _cache_entry(response: Response) -> dict[str, Any]:
    body = response.get_data(as_text=True)
    token = g.get("csrf_token")
    if token:
        body = body.replace(token, TOKEN_PLACEHOLDER)
    timer = g.get("comment_form_timer")
    if timer:
        body = body.replace(timer, TIMER_PLACEHOLDER)
    return {"body": body, "status": response.status_code, "content_type": response.content_type}


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
