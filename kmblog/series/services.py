"""Series: what readers see of them (a series' page and feed, a post's place in its
series) and what authors do with them (make, rename, order, delete, put a post in one).

Readers see only the published, visible posts of a series: a draft or a scheduled post
is neither listed nor counted, and a series without a visible post has no page. Every
function that changes data is one unit of work and commits once, but place_post, which
is part of saving a post and runs in the editor's unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import joinedload, load_only

from kmblog.blog.queries import visible
from kmblog.extensions import db
from kmblog.models import MAX_ID, Post, Series, SeriesPost, SourceFormat, User
from kmblog.pages.services import Direction  # the pages' Up and Down, for a series' order
from kmblog.rendering import SERIES_ANCHORS, clean_line, clean_text, render_body
from kmblog.slugs import make_slug
from kmblog.transaction import unit_of_work

# A description is a paragraph or two about the series, not an essay.
DESCRIPTION_LENGTH = 5000


class SeriesError(ValueError):
    """The series cannot be changed as asked; the message says why, for the author."""


# --- readers ----------------------------------------------------------------------------------


@dataclass
class SeriesListing:
    """A series' page: the series and its visible posts, in the authors' order."""

    series: Series
    posts: list[Post]


@dataclass(frozen=True)
class SeriesPlace:
    """Where a post sits in its series, counting visible posts only: "Part 2 of 5"."""

    series: Series
    number: int
    total: int
    previous: Post | None
    next: Post | None


# A series' order: by position, ties (never made here, but harmless) by the post's id.
IN_ORDER = (SeriesPost.position, SeriesPost.post_id)


def find_series_listing(slug: str, now: datetime) -> SeriesListing | None:
    """The series at /series/slug.html with its visible posts (and their authors) in
    order, in one query; None when there is no such series or nothing of it is visible."""
    rows = db.session.execute(
        select(Series, Post)
        .join(SeriesPost, SeriesPost.series_id == Series.id)
        .join(Post, Post.id == SeriesPost.post_id)
        .where(Series.slug == slug, visible(now))
        .options(joinedload(Post.author))
        .order_by(*IN_ORDER)
    ).all()
    if not rows:
        return None
    return SeriesListing(rows[0][0], [post for _, post in rows])


def find_public_series(slug: str, now: datetime) -> Series | None:
    """The series at /series/slug.html if readers may see it (it has a visible post):
    one query, for its feed."""
    has_visible = (
        select(SeriesPost.post_id)
        .join(Post, Post.id == SeriesPost.post_id)
        .where(SeriesPost.series_id == Series.id, visible(now))
        .exists()
    )
    return db.session.scalars(select(Series).where(Series.slug == slug, has_visible)).one_or_none()


def series_place(post: Post, now: datetime) -> SeriesPlace | None:
    """The post's place among its series' visible posts, with the posts before and after
    it. Its series comes with the post (blog.services.find_post loads it): a post in no
    series costs no query, one in a series one query for its neighbours' addresses."""
    entry = post.series_entry
    if entry is None:
        return None
    others = list(
        db.session.scalars(
            select(Post)
            .join(SeriesPost, SeriesPost.post_id == Post.id)
            .where(SeriesPost.series_id == entry.series_id, visible(now))
            .options(load_only(Post.id, Post.title, Post.year, Post.month, Post.slug))
            .order_by(*IN_ORDER)
        )
    )
    ids = [other.id for other in others]
    if post.id not in ids:
        return None  # the post itself is not visible (an author's preview of a draft)
    at = ids.index(post.id)
    return SeriesPlace(
        series=entry.series,
        number=at + 1,
        total=len(others),
        previous=others[at - 1] if at > 0 else None,
        next=others[at + 1] if at + 1 < len(others) else None,
    )


# --- authors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesDraft:
    """What an author wrote in the series form."""

    title: str
    description: str = ""
    slug: str = ""  # only when the series is made; empty: made from the title


@dataclass(frozen=True)
class SeriesChoice:
    """The series a post is to be in (None: none), as chosen in the post editor."""

    series_id: int | None


@dataclass(frozen=True)
class SeriesSummary:
    """A series in the authors' list, with how many posts it holds (drafts too) and how
    many of them readers see."""

    series: Series
    posts: int
    visible: int


def list_series(now: datetime) -> list[SeriesSummary]:
    """Every series by title, with its author and its numbers of posts: one query."""
    counts = (
        select(
            SeriesPost.series_id,
            func.count().label("posts"),
            func.sum(case((visible(now), 1), else_=0)).label("shown"),
        )
        .join(Post, Post.id == SeriesPost.post_id)
        .group_by(SeriesPost.series_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Series, func.coalesce(counts.c.posts, 0), func.coalesce(counts.c.shown, 0))
        .outerjoin(counts, counts.c.series_id == Series.id)
        .options(joinedload(Series.author))
        .order_by(func.lower(Series.title), Series.id)
    ).all()
    return [SeriesSummary(series, int(posts), int(shown)) for series, posts, shown in rows]


def may_change(user: User, series: Series) -> bool:
    """Admins change any series; an author the series they made."""
    return user.is_admin or series.author_id == user.id


def series_choices(user: User, current_id: int | None) -> list[Series]:
    """The series `user` may put a post into (an admin: all), and the one the post is in
    now whoever made it, so that saving the post keeps it there. By title."""
    query = select(Series).order_by(func.lower(Series.title), Series.id)
    if not user.is_admin:
        query = query.where(or_(Series.author_id == user.id, Series.id == (current_id or 0)))
    return list(db.session.scalars(query))


def find_series_by_id(series_id: int) -> Series | None:
    if not 0 < series_id <= MAX_ID:
        return None
    return db.session.scalars(
        select(Series).where(Series.id == series_id).options(joinedload(Series.author))
    ).one_or_none()


def posts_of(series: Series) -> list[Post]:
    """Every post of a series, drafts and scheduled ones too, in its order (the authors'
    view): one query."""
    return list(
        db.session.scalars(
            select(Post)
            .join(SeriesPost, SeriesPost.post_id == Post.id)
            .where(SeriesPost.series_id == series.id)
            .options(joinedload(Post.author))
            .order_by(*IN_ORDER)
        )
    )


def _apply(series: Series, draft: SeriesDraft) -> None:
    title = clean_line(draft.title)
    if not title:
        raise SeriesError("A series needs a title.")
    series.title = title[:300]
    description = clean_text(draft.description).strip()
    if len(description) > DESCRIPTION_LENGTH:
        raise SeriesError(f"Keep the description to {DESCRIPTION_LENGTH} characters or fewer.")
    series.description_source = description
    series.description_html = render_description(description)


def render_description(source: str) -> str:
    """A series' description as its page shows it: the author's Markdown, rendered and
    sanitised as a post's body is, at save time (and again by `flask rerender`)."""
    return render_body(source, SourceFormat.MARKDOWN, anchors=SERIES_ANCHORS)


def _unique_slug(wanted: str) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`...: another series' address is taken."""
    taken = set(
        db.session.scalars(
            select(Series.slug).where(Series.slug.startswith(wanted, autoescape=True))
        )
    )
    slug, n = wanted, 1
    while slug in taken:
        n += 1
        slug = f"{wanted}-{n}"
    return slug


def create_series(author: User, draft: SeriesDraft, now: datetime) -> Series:
    """A new, empty series; its address is made once, from the slug given or the title."""
    with unit_of_work():
        series = Series(author=author, created_at=now, updated_at=now)
        with db.session.no_autoflush:
            _apply(series, draft)
            series.slug = _unique_slug(make_slug(draft.slug or series.title, fallback="series"))
        db.session.add(series)
    return series


def update_series(series: Series, draft: SeriesDraft, now: datetime) -> Series:
    """Rename a series or change its description; its address stays (links keep working)."""
    with unit_of_work():
        _apply(series, draft)
        series.updated_at = now
    return series


def delete_series(series: Series) -> None:
    """Delete a series; its posts stay, in no series (the database drops their places)."""
    with unit_of_work():
        db.session.delete(series)


def _entries(series_id: int) -> list[SeriesPost]:
    return list(
        db.session.scalars(
            select(SeriesPost).where(SeriesPost.series_id == series_id).order_by(*IN_ORDER)
        )
    )


def move_in_series(series: Series, post_id: int, direction: Direction, now: datetime) -> bool:
    """Swap a post with its neighbour in the series' order; False at either end (or when
    the post is not in the series).

    The positions are numbered 1, 2, 3... again on the way, as the pages' are, so ties
    and gaps (posts taken out) never stop a move."""
    with unit_of_work():
        entries = _entries(series.id)
        at = next((n for n, entry in enumerate(entries) if entry.post_id == post_id), None)
        if at is None:
            return False
        other = at - 1 if direction == Direction.UP else at + 1
        if not 0 <= other < len(entries):
            return False
        entries[at], entries[other] = entries[other], entries[at]
        for number, entry in enumerate(entries, start=1):
            if entry.position != number:
                entry.position = number
        series.updated_at = now
    return True


def remove_from_series(series: Series, post_id: int, now: datetime) -> bool:
    """Take a post out of the series (the post stays); False when it was not in it."""
    with unit_of_work():
        entry = db.session.get(SeriesPost, post_id)
        if entry is None or entry.series_id != series.id:
            return False
        db.session.delete(entry)
        series.updated_at = now
    return True


def place_post(post: Post, choice: SeriesChoice, now: datetime) -> None:
    """Put a post in the series chosen (last in its order), or in none; a post already
    in that series keeps its place. Part of the caller's unit of work: no commit."""
    entry = post.series_entry
    if choice.series_id is None:
        if entry is not None:
            entry.series.updated_at = now
            post.series_entry = None  # the place is deleted with it (delete-orphan)
        return
    if entry is not None and entry.series_id == choice.series_id:
        return
    series = db.session.get(Series, choice.series_id) if 0 < choice.series_id <= MAX_ID else None
    if series is None:
        raise SeriesError("That series no longer exists; choose another.")
    last = db.session.scalar(
        select(func.max(SeriesPost.position)).where(SeriesPost.series_id == series.id)
    )
    if entry is None:
        post.series_entry = SeriesPost(series=series, position=(last or 0) + 1)
    else:
        entry.series.updated_at = now
        entry.series = series
        entry.position = (last or 0) + 1
    series.updated_at = now
