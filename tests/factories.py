"""Test data made through the same services the app uses, with small typed defaults.

BlogBuilder methods push their own app context and return plain references (ids and
URLs), so tests talk to the app over HTTP the way a reader does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from kmblog.auth.services import create_user
from kmblog.comments.services import CommentRules, NewComment, add_comment
from kmblog.extensions import db
from kmblog.manage.services import PostDraft, create_post
from kmblog.models import CommentStatus, Post, Role, User, utcnow
from kmblog.pages.services import PageDraft, create_page
from kmblog.series.services import SeriesChoice, SeriesDraft, create_series, place_post
from kmblog.settings import get_settings

BASE_TIME = datetime(2009, 6, 29, 15, 7, tzinfo=UTC)
_serial = count(1)


@dataclass(frozen=True)
class PostRef:
    id: int
    title: str
    url: str  # the path, /YYYY/MM/slug.html, or "" when not published
    published_at: datetime | None


@dataclass(frozen=True)
class CommentRef:
    id: int
    post_id: int
    created_at: datetime | None = None

    @property
    def millis(self) -> int:
        """Its time as Blogger's comment links give it (showComment=...)."""
        assert self.created_at is not None
        return int(self.created_at.timestamp() * 1000)


@dataclass(frozen=True)
class SeriesRef:
    id: int
    title: str
    slug: str

    @property
    def url(self) -> str:
        return f"/series/{self.slug}.html"

    @property
    def feed(self) -> str:
        return f"/feeds/series/{self.slug}/default"


class BlogBuilder:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self._author_id: int | None = None

    def settings(self, **values: Any) -> None:
        with self.app.app_context():
            settings = get_settings()
            for key, value in values.items():
                setattr(settings, key, value)
            db.session.commit()

    def author(self, username: str = "", **overrides: Any) -> int:
        """An author; the first one made writes the posts that name no author."""
        with self.app.app_context():
            user = create_user(
                username or f"author{next(_serial)}",
                overrides.pop("password", None),
                overrides.pop("role", Role.AUTHOR),
                utcnow(),
                **{"display_name": "Dave Author", **overrides},
            )
            if self._author_id is None:
                self._author_id = user.id
            return user.id

    def disable(self, user_id: int) -> None:
        with self.app.app_context():
            user = db.session.get(User, user_id)
            assert user is not None
            user.active = False
            db.session.commit()

    def post(
        self,
        title: str = "",
        body: str = "Knowledge needs come before tools.",
        labels: tuple[str, ...] = (),
        published: datetime | None = BASE_TIME,
        draft: bool = False,
        author_id: int | None = None,
        comments_open: bool = True,
        summary: str = "",
    ) -> PostRef:
        """A post; published at `published` unless `draft` (a future time = scheduled)."""
        with self.app.app_context():
            if author_id is None:
                if self._author_id is None:
                    self._author_id = self.author()
                author_id = self._author_id
            author = db.session.get(User, author_id)
            assert author is not None
            post = create_post(
                author,
                PostDraft(
                    title=title or f"Post number {next(_serial)}",
                    body=body,
                    labels=labels,
                    comments_open=comments_open,
                    summary=summary,
                ),
                now=published or utcnow(),
                publish_at=None if draft else published,
            )
            url = "" if post.year is None else f"/{post.year:04d}/{post.month:02d}/{post.slug}.html"
            return PostRef(post.id, post.title, url, post.published_at)

    def page(self, title: str, body: str = "Who writes here, and why.", draft: bool = False) -> str:
        """A standalone page, last in the sidebar's order; returns its path (/p/slug.html)."""
        with self.app.app_context():
            if self._author_id is None:
                self._author_id = self.author()
            author = db.session.get(User, self._author_id)
            assert author is not None
            page = create_page(author, PageDraft(title=title, body=body), utcnow(), not draft)
            return f"/p/{page.slug}.html"

    def series(
        self,
        title: str,
        posts: tuple[PostRef, ...] = (),
        description: str = "",
        author_id: int | None = None,
    ) -> SeriesRef:
        """A series with `posts` in it, in that order."""
        with self.app.app_context():
            if author_id is None:
                if self._author_id is None:
                    self._author_id = self.author()
                author_id = self._author_id
            author = db.session.get(User, author_id)
            assert author is not None
            made = create_series(
                author, SeriesDraft(title=title, description=description), utcnow()
            )
            for ref in posts:
                post = db.session.get(Post, ref.id)
                assert post is not None
                place_post(post, SeriesChoice(made.id), utcnow())
            db.session.commit()
            return SeriesRef(made.id, made.title, made.slug)

    def posts(
        self,
        n: int,
        start: datetime = BASE_TIME,
        step: timedelta = timedelta(days=1),
        **kwargs: Any,
    ) -> list[PostRef]:
        """`n` posts, the first at `start`, each `step` later; returned oldest first."""
        return [
            self.post(title=f"Series post {i}", published=start + i * step, **kwargs)
            for i in range(n)
        ]

    def comment(
        self,
        post: PostRef,
        body: str = "A useful distinction.",
        name: str = "",
        url: str = "",
        at: datetime | None = None,
        status: CommentStatus | None = None,
        reply_to: CommentRef | None = None,
        thread_depth: int = 4,
    ) -> CommentRef:
        """A comment on `post`, or with `reply_to` a reply to that comment."""
        with self.app.app_context():
            stored_post = db.session.get(Post, post.id)
            assert stored_post is not None
            comment = add_comment(
                stored_post,
                NewComment(body=body, name=name, url=url),
                CommentRules(thread_depth=thread_depth),
                at or (post.published_at or BASE_TIME) + timedelta(hours=1),
                parent_id=reply_to.id if reply_to is not None else None,
            )
            if status is not None:
                comment.status = status
                db.session.commit()
            return CommentRef(comment.id, post.id, comment.created_at)

    def count(self, model: type) -> int:
        with self.app.app_context():
            return db.session.scalar(select(func.count()).select_from(model)) or 0
