"""Read side of a post's public history (issue 18): its revisions, newest first, and
the two a reader compares. Revisions are written by kmblog/manage/services.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kmblog.blog.queries import visible
from kmblog.extensions import db
from kmblog.models import Post, PostRevision, User


class HistoryError(ValueError):
    """The revisions asked for are not in this post's history; the message says so."""


@dataclass(frozen=True)
class RevisionEntry:
    """One line of the history: a revision without its text."""

    number: int
    created_at: datetime
    note: str
    typo: bool
    author_name: str


@dataclass(frozen=True)
class RevisionText:
    number: int
    title: str
    body_source: str
    summary: str


@dataclass
class PostHistory:
    post: Post
    revisions: list[RevisionEntry]  # newest first; never empty
    old: RevisionText | None  # None: a post with one revision has nothing to compare
    new: RevisionText


def find_post_for_history(year: int, month: int, slug: str, now: datetime) -> Post | None:
    """The visible post at /year/month/slug.html with its author: no labels or companion,
    which the history page does not show."""
    return db.session.scalars(
        select(Post)
        .where(Post.year == year, Post.month == month, Post.slug == slug, visible(now))
        .options(joinedload(Post.author))
    ).one_or_none()


def load_history(
    post: Post, now: datetime, old_number: int | None, new_number: int | None
) -> PostHistory:
    """A visible post's public revisions and two of them to compare (by default the
    newest and the one before), in two queries whatever the number of revisions.

    Revisions dated after `now` (a post rescheduled after it was public) are not public
    yet. A post published without a history (imported after the history began) has its
    current text as revision 1, not stored until its next change."""
    rows = db.session.execute(
        select(
            PostRevision.number,
            PostRevision.created_at,
            PostRevision.note,
            PostRevision.typo,
            User.display_name,
        )
        .outerjoin(User, User.id == PostRevision.author_id)
        .where(PostRevision.post_id == post.id, PostRevision.created_at <= now)
        .order_by(PostRevision.number.desc())
    ).all()
    revisions = [RevisionEntry(*row) for row in rows]
    if not revisions:
        current = RevisionText(1, post.title, post.body_source, post.summary)
        seen_from = post.published_at or post.updated_at
        revisions = [RevisionEntry(1, seen_from, "", False, post.author.display_name)]
        if {old_number, new_number} - {None, 1}:
            raise HistoryError("This post has only one revision: number 1.")
        return PostHistory(post, revisions, None, current)
    numbers = {entry.number for entry in revisions}
    for asked in (old_number, new_number):
        if asked is not None and asked not in numbers:
            raise HistoryError(f"This post has no public revision number {asked}.")
    new_number = revisions[0].number if new_number is None else new_number
    if old_number is None:
        older = [entry.number for entry in revisions if entry.number < new_number]
        old_number = older[0] if older else None
    wanted = {new_number} | ({old_number} if old_number is not None else set())
    texts = {
        row.number: RevisionText(*row)
        for row in db.session.execute(
            select(
                PostRevision.number,
                PostRevision.title,
                PostRevision.body_source,
                PostRevision.summary,
            ).where(PostRevision.post_id == post.id, PostRevision.number.in_(wanted))
        )
    }
    return PostHistory(
        post,
        revisions,
        texts[old_number] if old_number is not None else None,
        texts[new_number],
    )
