"""Per-request state shared by the views of every blueprint (view layer only)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import g

from kmblog.blog.services import get_settings
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
