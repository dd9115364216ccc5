"""The addresses a sitemap lists, read in a constant number of queries for any part of
it: the home page, standalone pages, label pages, series pages and posts, in that order,
each with the time it last changed. Never a draft, never a post or page scheduled for
later, never a series with no visible post."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, and_, distinct, func, select
from sqlalchemy.orm import load_only

from kmblog.blog.queries import visible
from kmblog.extensions import db
from kmblog.models import Label, Page, Post, PostStatus, Series, SeriesPost, post_labels

# sitemaps.org: "no more than 50,000 URLs" in one sitemap file; past that, an index.
MAX_URLS = 50_000

_Row = TypeVar("_Row")


def _page_visible(now: datetime) -> ColumnElement[bool]:
    """Standalone pages a reader may open: published, and not scheduled for later."""
    return and_(Page.status == PostStatus.PUBLISHED, Page.published_at <= now)


def _later(*moments: datetime | None) -> datetime | None:
    """The latest of the moments given; None when there is none."""
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


def changed_at(item: Post | Page) -> datetime:
    """When a reader's copy last changed: its update, or its publication when that came
    later (a scheduled post appears after its last edit)."""
    return _later(item.updated_at, item.published_at) or item.updated_at


@dataclass(frozen=True)
class SitemapSize:
    """How many addresses of each kind the sitemap lists, and when the home page last
    changed (the newest visible post's change)."""

    pages: int
    labels: int
    posts: int
    home_changed_at: datetime | None
    series: int = 0

    @property
    def total(self) -> int:
        return 1 + self.pages + self.labels + self.series + self.posts


def sitemap_size(now: datetime) -> SitemapSize:
    """The sitemap's size at `now`, in one query."""
    pages = select(func.count()).select_from(Page).where(_page_visible(now)).scalar_subquery()
    labels = (
        select(func.count(distinct(post_labels.c.label_id)))
        .select_from(post_labels.join(Post, Post.id == post_labels.c.post_id))
        .where(visible(now))
        .scalar_subquery()
    )
    series = (
        select(func.count(distinct(SeriesPost.series_id)))
        .join(Post, Post.id == SeriesPost.post_id)
        .where(visible(now))
        .scalar_subquery()
    )
    row = db.session.execute(
        select(
            pages,
            labels,
            series,
            func.count(Post.id),
            func.max(Post.updated_at),
            func.max(Post.published_at),
        ).where(visible(now))
    ).one()
    return SitemapSize(
        pages=row[0] or 0,
        labels=row[1] or 0,
        series=row[2] or 0,
        posts=row[3] or 0,
        home_changed_at=_later(row[4], row[5]),
    )


@dataclass(frozen=True)
class LabelEntry:
    name: str
    changed_at: datetime


@dataclass(frozen=True)
class SeriesEntry:
    slug: str
    changed_at: datetime


@dataclass(frozen=True)
class SitemapPart:
    """One file's share of the addresses, in the sitemap's order."""

    home: bool
    home_changed_at: datetime | None
    pages: list[Page]
    labels: list[LabelEntry]
    posts: list[Post]
    series: list[SeriesEntry]


@dataclass(frozen=True)
class _Window:
    """The rows of one kind that fall into a part: skip `offset`, take `limit`."""

    offset: int
    limit: int


def _window(kind_start: int, kind_count: int, start: int, stop: int) -> _Window | None:
    """The overlap of [start, stop) with the kind's rows [kind_start, kind_start + count)."""
    first = max(start, kind_start)
    last = min(stop, kind_start + kind_count)
    if first >= last:
        return None
    return _Window(first - kind_start, last - first)


def _rows(query: Select[_Row], window: _Window | None) -> list[_Row]:
    if window is None:
        return []
    return list(db.session.scalars(query.offset(window.offset).limit(window.limit)))


def sitemap_part(now: datetime, size: SitemapSize, start: int, count: int) -> SitemapPart:
    """Addresses number `start` to `start + count - 1` (0 = the home page): at most one
    query for each kind of address, however many the part holds."""
    stop = start + count
    pages_at = 1
    labels_at = pages_at + size.pages
    series_at = labels_at + size.labels
    posts_at = series_at + size.series
    pages = _rows(
        select(Page)
        .options(load_only(Page.slug, Page.published_at, Page.updated_at))
        .where(_page_visible(now))
        .order_by(Page.id),
        _window(pages_at, size.pages, start, stop),
    )
    posts = _rows(
        select(Post)
        .options(load_only(Post.year, Post.month, Post.slug, Post.published_at, Post.updated_at))
        .where(visible(now))
        .order_by(Post.id),
        _window(posts_at, size.posts, start, stop),
    )
    labels: list[LabelEntry] = []
    label_window = _window(labels_at, size.labels, start, stop)
    if label_window is not None:
        rows = db.session.execute(
            select(Label.name, func.max(Post.updated_at), func.max(Post.published_at))
            .join(post_labels, post_labels.c.label_id == Label.id)
            .join(Post, Post.id == post_labels.c.post_id)
            .where(visible(now))
            .group_by(Label.id, Label.name)
            .order_by(Label.id)
            .offset(label_window.offset)
            .limit(label_window.limit)
        )
        labels = [
            LabelEntry(name, _later(updated, published) or updated)
            for name, updated, published in rows
        ]
    return SitemapPart(
        home=start == 0 < stop,
        home_changed_at=size.home_changed_at,
        pages=pages,
        labels=labels,
        posts=posts,
        series=_series_entries(now, _window(series_at, size.series, start, stop)),
    )


def _series_entries(now: datetime, window: _Window | None) -> list[SeriesEntry]:
    """Series with a visible post, each changed when one of its visible posts changed or
    the series itself did (renamed, reordered): one query."""
    if window is None:
        return []
    rows = db.session.execute(
        select(
            Series.slug,
            Series.updated_at,
            func.max(Post.updated_at),
            func.max(Post.published_at),
        )
        .join(SeriesPost, SeriesPost.series_id == Series.id)
        .join(Post, Post.id == SeriesPost.post_id)
        .where(visible(now))
        .group_by(Series.id, Series.slug, Series.updated_at)
        .order_by(Series.id)
        .offset(window.offset)
        .limit(window.limit)
    )
    return [
        SeriesEntry(slug, _later(own, updated, published) or own)
        for slug, own, updated, published in rows
    ]
