"""/sitemap.xml (an index of /sitemap-N.xml files once the blog outgrows one file) and
/robots.txt. Both are readers' pages: cached, revalidated and free of cookies like any
other (kmblog/pagecache)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from math import ceil

from flask import Blueprint, Response, abort, current_app, request, url_for

from kmblog.models import utcnow
from kmblog.seo.builder import build_index, build_urlset
from kmblog.seo.services import (
    MAX_URLS,
    SitemapPart,
    SitemapSize,
    changed_at,
    sitemap_part,
    sitemap_size,
)
from kmblog.urls import label_url, post_url, series_url

seo = Blueprint("seo", __name__)

XML = "application/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

# Where no crawler has business: the authoring area and sign-in, a commenter's own
# edit and delete forms and page timer, and the links in a subscriber's mail.
PRIVATE_PREFIXES = (
    "/manage/",
    "/login",
    "/logout",
    "/comments/",
    "/mail/",
    "/healthz",
    # Machines' endpoints (Webmention, Pingback, ActivityPub, WebFinger, NodeInfo): they
    # answer other servers, and have nothing for a search result.
    "/webmention",
    "/xmlrpc",
    "/ap/",
    "/.well-known/webfinger",
    "/.well-known/nodeinfo",
    "/nodeinfo/",
)


def _urls_per_file() -> int:
    """The protocol's limit; an operator (or a test) may set a lower one."""
    wanted = int(current_app.config.get("SITEMAP_MAX_URLS", MAX_URLS))
    return min(max(wanted, 1), MAX_URLS)


def _entries(part: SitemapPart) -> Iterator[tuple[str, datetime | None]]:
    if part.home:
        yield url_for("blog.index", _external=True), part.home_changed_at
    for page in part.pages:
        yield url_for("blog.page", slug=page.slug, _external=True), changed_at(page)
    for label in part.labels:
        yield label_url(label.name, external=True), label.changed_at
    for series in part.series:
        yield series_url(series.slug, external=True), series.changed_at
    for post in part.posts:
        yield post_url(post, external=True), changed_at(post)


def _urlset(now: datetime, size: SitemapSize, number: int, per_file: int) -> Response:
    """Sitemap file `number` (1-based): its share of the addresses."""
    part = sitemap_part(now, size, (number - 1) * per_file, per_file)
    return Response(build_urlset(_entries(part)), content_type=XML)


@seo.get("/sitemap.xml")
def sitemap() -> Response:
    """Every address a reader may open, or past the protocol's limit the index of the
    numbered files that hold them."""
    now = utcnow()
    size = sitemap_size(now)
    per_file = _urls_per_file()
    files = ceil(size.total / per_file)
    if files == 1:
        return _urlset(now, size, 1, per_file)
    numbers = range(1, files + 1)
    addresses = (url_for("seo.sitemap_file", number=n, _external=True) for n in numbers)
    return Response(build_index(addresses), content_type=XML)


@seo.get("/sitemap-<int:number>.xml")
def sitemap_file(number: int) -> Response:
    """One numbered file of a sitemap that outgrew one file (a small blog's sitemap is
    /sitemap.xml alone: one address for it)."""
    now = utcnow()
    size = sitemap_size(now)
    per_file = _urls_per_file()
    files = ceil(size.total / per_file)
    # /sitemap-01.xml would be a second address for the first file.
    spelt_as_linked = request.path == url_for("seo.sitemap_file", number=number)
    if files == 1 or not 1 <= number <= files or not spelt_as_linked:
        abort(404, description="There is no sitemap file with that number.")
    return _urlset(now, size, number, per_file)


@seo.get("/robots.txt")
def robots() -> Response:
    """The crawlers' rules: the authoring area and private links closed, the sitemap named."""
    root = request.script_root
    lines = ["User-agent: *", *(f"Disallow: {root}{prefix}" for prefix in PRIVATE_PREFIXES)]
    lines += ["", f"Sitemap: {url_for('seo.sitemap', _external=True)}", ""]
    return Response("\n".join(lines), content_type=TEXT)
