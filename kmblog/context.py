"""Per-request state shared by the views of every blueprint (view layer only)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar, cast
from zoneinfo import ZoneInfo

from flask import g, render_template
from markupsafe import Markup

from kmblog.blog.services import Sidebar, load_sidebar
from kmblog.models import Settings
from kmblog.pagecache import current_content_version, version_memo
from kmblog.settings import get_settings
from kmblog.timefmt import blog_zone

T = TypeVar("T")


def current_settings() -> Settings:
    """The settings row, read once per request."""
    if "settings" not in g:
        g.settings = get_settings()
    return cast(Settings, g.settings)


def current_zone() -> ZoneInfo:
    """The blog's time zone, looked up once per request (a page may show 1,500 times)."""
    if "zone" not in g:
        g.zone = blog_zone(current_settings().timezone)
    return cast(ZoneInfo, g.zone)


def to_local(moment: datetime) -> datetime:
    """A stored UTC time in the blog's time zone."""
    return moment.astimezone(current_zone())


def current_sidebar(now: datetime) -> Sidebar:
    """Blog Archive and Labels, built once per page version in this process."""
    version = current_content_version(now)
    return version_memo().get(version, "sidebar", lambda: load_sidebar(now))


def per_version(now: datetime, name: str, build: Callable[[], T]) -> T:
    """A value that holds for a whole page version (a feed's total count, say), built
    once per version in this process, as the sidebar is."""
    return version_memo().get(current_content_version(now), name, build)


def current_sidebar_html(now: datetime) -> Markup:
    """The sidebar's Blog Archive and Labels as HTML, rendered once per page version in
    this process: hundreds of links whose addresses cost more to build than the rest of
    a page (half of an uncached home page on the large benchmark blog)."""
    version = current_content_version(now)
    return version_memo().get(
        version,
        "sidebar_html",
        lambda: Markup(  # noqa: S704 - our own template's output, escaped by Jinja
            render_template("_partials/sidebar_counts.html", sidebar=current_sidebar(now))
        ),
    )
