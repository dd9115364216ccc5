"""Per-request state shared by the views of every blueprint (view layer only)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import g

from kmblog.blog.services import Sidebar, get_settings, load_sidebar
from kmblog.caching import current_content_version, version_memo
from kmblog.models import Settings
from kmblog.timefmt import blog_zone


def current_settings() -> Settings:
    """The settings row, read once per request."""
    if "settings" not in g:
        g.settings = get_settings()
    return g.settings


def current_zone() -> ZoneInfo:
    return blog_zone(current_settings().timezone)


def to_local(moment: datetime) -> datetime:
    """A stored UTC time in the blog's time zone."""
    return moment.astimezone(current_zone())


def current_sidebar(now: datetime) -> Sidebar:
    """Blog Archive and Labels, built once per page version in this process."""
    version = current_content_version(now)
    return version_memo().get(version, "sidebar", lambda: load_sidebar(now))
