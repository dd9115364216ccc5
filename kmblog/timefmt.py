"""Dates and times as the blog shows them, in the blog's time zone (Blogger's wording)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def blog_zone(name: str) -> ZoneInfo:
    """The blog's time zone; an unknown name falls back to UTC rather than failing pages."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def clock(moment: datetime) -> str:
    """8:07 PM"""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def long_date(moment: datetime) -> str:
    """July 23, 2009"""
    return f"{moment:%B} {moment.day}, {moment.year}"


def day_header(moment: datetime) -> str:
    """MONDAY, JUNE 29, 2009 (the CSS keeps it upper case; the text says it too)."""
    return f"{moment:%A}, {long_date(moment)}".upper()


def month_name(month: int) -> str:
    return datetime(2000, month, 1).strftime("%B")
