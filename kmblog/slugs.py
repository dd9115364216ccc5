"""Slugs for addresses, made the one way whoever makes them (the editor, the importer)."""

from __future__ import annotations

from slugify import slugify

SLUG_MAX_LENGTH = 60


def make_slug(text: str, fallback: str = "post") -> str:
    """A URL slug from a title, as Blogger made them: lower case, hyphens, short."""
    return slugify(text, max_length=SLUG_MAX_LENGTH, word_boundary=True) or fallback
