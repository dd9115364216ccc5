"""The lean baseline: a competent first version of kmblog's reader side, on its database.

What it does, the way a developer who knows Flask writes a first good version:

- Flask-SQLAlchemy with typed models of kmblog's tables (its own, not kmblog's), every
  relationship lazy as declared by default: a listing loads each post's labels with a
  query of its own and counts each post's comments with another (N+1); no eager-loading
  options, no cache of any kind, no ETag or Last-Modified (a conditional GET gets the
  whole page again).
- HTML stored at save time: pages and feeds show `posts.body_html` and
  `comments.body_html` as kmblog stored them (no Markdown, no bleach per request).
- Jinja templates (a dict loader: base, listing, post) with autoescaping; dates in the
  blog's time zone.
- Every page is computed per request: the settings row, then the sidebar's Blog Archive
  (a GROUP BY year and month) and Labels (a GROUP BY label), both counted over the
  visible posts every time.
- A post page shows the post, its labels, its newest 100 published comments oldest
  first (kmblog's first page of comments is the same 100) with their total and an
  "Older comments" link (`?comments-before=<id>`), the comment form's HTML (no CSRF
  token, as kmblog's page for a shared cache has none), and links to the newer and older
  post.
- Listings (home, a label, an archive month, "Older Posts" through Blogger's
  `updated-max` and `max-results`) are newest first, one query with LIMIT, and link to
  the next page by the last post's time.
- Search (`/search?q=...`) is a plain case-insensitive LIKE of every word on the title
  and the Markdown source, newest matches first: no full-text index, no ranking. A word
  that many posts use is found in the newest few hundred rows; a rare one reads them
  all.
- Feeds with feedgen (as kmblog builds them): the newest posts, a label's, the newest
  comments on visible posts (a join), one post's comments; the blog's `items_per_feed`.

What it does not do: sessions, comment posting, authoring, Blogger redirects (`?m=1`,
moved posts, old archive names), KM plan/strategy companion links, start-index paging,
security headers. It only reads the database.

Serve it with `gunicorn --pythonpath bench "lean_app:create_app()"` and DATABASE_URL.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feedgen.feed import FeedGenerator
from flask import Flask, Response, abort, render_template, request, url_for
from flask_sqlalchemy import SQLAlchemy
from jinja2 import DictLoader
from sqlalchemy import (
    Column,
    ColumnElement,
    DateTime,
    ForeignKey,
    String,
    Table,
    Text,
    TypeDecorator,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, WriteOnlyMapped, mapped_column, relationship

PUBLISHED = "published"
COMMENTS_SHOWN = 100
MAX_RESULTS = 100


class UTCDateTime(TypeDecorator[datetime]):
    """UTC in the database, timezone-aware in Python (SQLite keeps no zone; feedgen
    refuses naive datetimes)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        # kmblog stores SQLite times without a zone suffix: compare like with like.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

post_labels = Table(
    "post_labels",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id"), primary_key=True),
    Column("label_id", ForeignKey("labels.id"), primary_key=True),
)


class Settings(Base):
    __tablename__ = "settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500))
    timezone: Mapped[str] = mapped_column(String(64))
    posts_per_page: Mapped[int]
    items_per_feed: Mapped[int]
    comment_policy: Mapped[str] = mapped_column(String(16))
    atom_id: Mapped[str] = mapped_column(String(200))


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(100))


class Label(Base):
    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))

    posts: Mapped[list[Post]] = relationship(secondary=post_labels, back_populates="labels")


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    slug: Mapped[str] = mapped_column(String(200))
    year: Mapped[int | None]
    month: Mapped[int | None]
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    comments_open: Mapped[bool]
    change_note: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    author: Mapped[User] = relationship()
    labels: Mapped[list[Label]] = relationship(
        secondary=post_labels, back_populates="posts", order_by=Label.name
    )
    # Write-only: a post's comments are read a page at a time, never all at once.
    comments: WriteOnlyMapped[Comment] = relationship(back_populates="post")


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    author_url: Mapped[str] = mapped_column(String(2000))
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))

    post: Mapped[Post] = relationship(back_populates="comments")


# --- queries ------------------------------------------------------------------------


def visible() -> ColumnElement[bool]:
    """Posts a reader may see: published, and not scheduled for later."""
    return and_(Post.status == PUBLISHED, Post.published_at <= datetime.now(UTC))


def newest_posts(conditions: list[ColumnElement[bool]], limit: int) -> list[Post]:
    """Visible posts matching `conditions`, newest first."""
    query = select(Post).where(visible(), *conditions)
    return list(db.session.scalars(query.order_by(Post.published_at.desc()).limit(limit)))


def published_comments(post: Post) -> Any:
    """A select of the post's published comments."""
    return post.comments.select().where(Comment.status == PUBLISHED)


def comment_count(post: Post) -> int:
    """How many published comments a post has."""
    counted = select(func.count()).select_from(published_comments(post).subquery())
    return db.session.scalar(counted) or 0


@dataclass
class ArchiveYear:
    year: int
    count: int = 0
    months: list[tuple[int, int]] = field(default_factory=list)


def blog_archive() -> list[ArchiveYear]:
    """Years and months with their numbers of visible posts, newest first."""
    rows = db.session.execute(
        select(Post.year, Post.month, func.count())
        .where(visible())
        .group_by(Post.year, Post.month)
        .order_by(Post.year.desc(), Post.month.desc())
    )
    years: list[ArchiveYear] = []
    for year, month, count in rows:
        if year is None or month is None:  # a published post always has both
            continue
        if not years or years[-1].year != year:
            years.append(ArchiveYear(year))
        years[-1].count += count
        years[-1].months.append((month, count))
    return years


def label_counts() -> list[tuple[str, int]]:
    """Every label with its number of visible posts, by name."""
    rows = db.session.execute(
        select(Label.name, func.count(Post.id))
        .join(Label.posts)
        .where(visible())
        .group_by(Label.id, Label.name)
        .order_by(Label.name)
    )
    return [(name, count) for name, count in rows]


# --- templates ----------------------------------------------------------------------

BASE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{{ settings.title }}{% endblock %}</title>
<link rel="alternate" type="application/atom+xml" title="{{ settings.title }} - Atom"
 href="{{ url_for('posts_feed') }}">
<link rel="alternate" type="application/atom+xml" title="{{ settings.title }} - Comments"
 href="{{ url_for('comments_feed') }}">
</head>
<body>
<header><h1><a href="{{ url_for('index') }}">{{ settings.title }}</a></h1>
<p>{{ settings.description }}</p></header>
<main>{% block main %}{% endblock %}</main>
<aside>
<section><h2>Blog Archive</h2><ul>
{% for year in archive %}<li><details{% if loop.first %} open{% endif %}>
<summary>{{ year.year }} ({{ year.count }})</summary><ul>
{% for month, count in year.months %}<li><a href="{{ url_for('archive_month',
 year=year.year, month=month) }}">{{ month|month_name }}</a> ({{ count }})</li>
{% endfor %}</ul></details></li>
{% endfor %}</ul></section>
<section><h2>Labels</h2><ul>
{% for name, count in labels %}<li><a href="{{ url_for('label', name=name) }}">{{ name }}</a>
 ({{ count }})</li>
{% endfor %}</ul></section>
<section><h2>Subscribe</h2>
<p><a href="{{ url_for('posts_feed') }}">Posts (Atom)</a></p>
<p><a href="{{ url_for('comments_feed') }}">All Comments (Atom)</a></p></section>
<section><h2>Search</h2><form action="{{ url_for('search') }}" method="get">
<input type="search" name="q" value="{{ query or '' }}" maxlength="200">
<button type="submit">Search</button></form></section>
</aside>
<footer>Powered by Flask</footer>
</body>
</html>
"""

MACROS = """{% macro post_footer(post, count=None) %}
<p>Posted by {{ post.author.display_name }} at <a href="{{ post_url(post) }}"><time
 datetime="{{ post.published_at|local|iso }}">{{ post.published_at|local|clock }}</time></a>
{% if count is not none %}<a href="{{ post_url(post) }}#comments">{{ count }}
 {{ "comment" if count == 1 else "comments" }}</a>{% endif %}</p>
{% if post.labels %}<p>Labels: {% for label in post.labels %}<a href="{{ url_for('label',
 name=label.name) }}" rel="tag">{{ label.name }}</a>{{ ", " if not loop.last }}{% endfor %}</p>
{% endif %}
{% endmacro %}
"""

LISTING = """{% extends "base.html" %}
{% from "macros.html" import post_footer %}
{% block title %}{{ settings.title }}{% if heading %}: {{ heading }}{% endif %}{% endblock %}
{% block main %}
{% if heading %}<p>Showing posts {{ heading_intro }} <strong>{{ heading }}</strong>.
 <a href="{{ url_for('index') }}">Show all posts</a></p>{% endif %}
{% for day, day_posts in days %}<section><h2>{{ day }}</h2>
{% for post in day_posts %}<article>
<h3><a href="{{ post_url(post) }}">{{ post.title }}</a></h3>
<div class="post-body">{{ post.body_html|safe }}</div>
{{ post_footer(post, counts[post.id]) }}
</article>
{% endfor %}</section>
{% else %}<p>No posts here.</p>
{% endfor %}
<nav>{% if heading %}<a href="{{ url_for('index') }}">Home</a>{% endif %}
{% if older_url %}<a href="{{ older_url }}">Older Posts</a>{% endif %}</nav>
{% endblock %}
"""

POST = """{% extends "base.html" %}
{% from "macros.html" import post_footer %}
{% block title %}{{ settings.title }}: {{ post.title }}{% endblock %}
{% block main %}
<article>
<h2>{{ post.published_at|local|day }}</h2>
<h3>{{ post.title }}</h3>
<div class="post-body">{{ post.body_html|safe }}</div>
{% if post.change_note %}<p><strong>Updated:</strong> {{ post.change_note }}</p>{% endif %}
{{ post_footer(post) }}
</article>
<section id="comments">
<h4>{{ count }} {{ "Comment" if count == 1 else "Comments" }}:</h4>
{% if older_comments %}<p><a href="{{ post_url(post) }}?comments-before={{ older_comments
 }}#comments">Older comments</a></p>{% endif %}
<ol>
{% for comment in comments %}<li id="c{{ comment.id }}">
<p>At <a href="#c{{ comment.id }}"><time datetime="{{ comment.created_at|local|iso }}">
{{- comment.created_at|local|long }}</time></a>,
{% if comment.author_url %}<a href="{{ comment.author_url }}" rel="nofollow ugc noopener">
{{- comment.author_name or "Anonymous" }}</a>{% else %}{{ comment.author_name or "Anonymous"
 }}{% endif %} said...</p>
<div class="comment-body">{{ comment.body_html|safe }}</div>
</li>
{% endfor %}</ol>
{% if comments_open %}<h4 id="comment-form">Post a Comment</h4>
<form method="post" action="{{ post_url(post) }}#comment-form">
<p><label for="body">Your comment</label>
<textarea id="body" name="body" rows="6" maxlength="4096" required></textarea></p>
<p><label for="name">Name (optional)</label>
<input id="name" name="name" type="text" maxlength="100"></p>
<p><label for="url">Web address (optional)</label>
<input id="url" name="url" type="url" maxlength="2000"></p>
<p><button type="submit">Publish</button></p>
</form>{% else %}<p>Comments on this post are closed.</p>{% endif %}
<p>Subscribe to: <a href="{{ url_for('post_comments_feed', post_id=post.id) }}">Post Comments
 (Atom)</a></p>
</section>
<nav>{% if newer %}<a href="{{ post_url(newer) }}">Newer Post</a>{% endif %}
<a href="{{ url_for('index') }}">Home</a>
{% if older %}<a href="{{ post_url(older) }}">Older Post</a>{% endif %}</nav>
{% endblock %}
"""

TEMPLATES = {"base.html": BASE, "macros.html": MACROS, "listing.html": LISTING, "post.html": POST}


# --- the app ------------------------------------------------------------------------


def post_url(post: Post, external: bool = False) -> str:
    """/YYYY/MM/slug.html"""
    return url_for("post", year=post.year, month=post.month, slug=post.slug, _external=external)


def blog_settings() -> Settings:
    """The blog's settings row."""
    found = db.session.get(Settings, 1)
    if found is None:
        abort(500, description="no settings row: is this a kmblog database?")
    return found


def blog_zone(settings: Settings) -> ZoneInfo:
    """The blog's time zone (UTC when its name is unknown)."""
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def page_size() -> int:
    """Blogger's max-results, within reason; the blog's setting otherwise."""
    wanted = request.args.get("max-results", type=int)
    if wanted is None or wanted < 1:
        return blog_settings().posts_per_page
    return min(wanted, MAX_RESULTS)


def updated_max() -> datetime | None:
    """Blogger's updated-max: show posts published before this moment."""
    raw = request.args.get("updated-max")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        abort(400, description="updated-max is not an ISO 8601 date and time")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def render_page(template: str, **context: Any) -> str:
    """A page with the layout's settings and sidebar, counted for this request."""
    return render_template(
        template,
        settings=blog_settings(),
        archive=blog_archive(),
        labels=label_counts(),
        **context,
    )


def render_listing(
    conditions: list[ColumnElement[bool]],
    endpoint: str,
    endpoint_args: dict[str, Any],
    heading: str = "",
    heading_intro: str = "",
    query: str = "",
) -> str:
    """A page of posts under their day headers, with a link to older ones."""
    limit = page_size()
    before = updated_max()
    if before is not None:
        conditions = [*conditions, Post.published_at < before]
    posts = newest_posts(conditions, limit + 1)
    older_url = None
    if len(posts) > limit:
        posts = posts[:limit]
        last = posts[-1].published_at
        assert last is not None
        args: dict[str, Any] = {"updated-max": last.isoformat(), "max-results": limit}
        older_url = url_for(endpoint, **endpoint_args, **args)
    zone = blog_zone(blog_settings())

    def day(post: Post) -> str:
        assert post.published_at is not None
        return f"{post.published_at.astimezone(zone):%A, %B %-d, %Y}".upper()

    return render_page(
        "listing.html",
        days=[(header, list(group)) for header, group in itertools.groupby(posts, day)],
        counts={post.id: comment_count(post) for post in posts},
        older_url=older_url,
        heading=heading,
        heading_intro=heading_intro,
        query=query,
    )


def matches(words: list[str]) -> list[ColumnElement[bool]]:
    """Each word in the title or the body, case-insensitive, as typed (no stemming)."""
    return [
        or_(
            Post.title.icontains(word, autoescape=True),
            Post.body_source.icontains(word, autoescape=True),
        )
        for word in words
    ]


def new_feed(settings: Settings, atom_id: str, title: str, page: str) -> FeedGenerator:
    """A feedgen feed with its id, title and links."""
    feed = FeedGenerator()
    feed.id(atom_id)
    feed.title(title)
    if settings.description:
        feed.subtitle(settings.description)
    feed.link(href=page, rel="alternate", type="text/html")
    feed.link(href=request.url, rel="self", type="application/atom+xml")
    feed.generator("lean_app")
    return feed


def atom(feed: FeedGenerator) -> Response:
    """The feed as an Atom response."""
    return Response(feed.atom_str(pretty=True), content_type="application/atom+xml; charset=utf-8")


def posts_feed_response(
    settings: Settings, atom_id: str, title: str, page: str, posts: list[Post]
) -> Response:
    """An Atom feed of posts, newest first."""
    feed = new_feed(settings, atom_id, title, page)
    feed.updated(
        max(
            (max(p.updated_at, p.published_at or p.updated_at) for p in posts),
            default=datetime.now(UTC),
        )
    )
    for post in posts:
        entry = feed.add_entry(order="append")
        entry.id(f"{settings.atom_id}.post-{post.id}")
        entry.title(post.title)
        entry.link(href=post_url(post, external=True), rel="alternate", type="text/html")
        entry.published(post.published_at)
        entry.updated(max(post.updated_at, post.published_at or post.updated_at))
        entry.author(name=post.author.display_name)
        for label in post.labels:
            entry.category(
                term=label.name, scheme=url_for("label", name=label.name, _external=True)
            )
        entry.content(post.body_html, type="html")
    return atom(feed)


def comments_feed_response(
    settings: Settings, atom_id: str, title: str, page: str, comments: list[Comment]
) -> Response:
    """An Atom feed of comments, newest first."""
    feed = new_feed(settings, atom_id, title, page)
    feed.updated(max((c.created_at for c in comments), default=datetime.now(UTC)))
    for comment in comments:
        entry = feed.add_entry(order="append")
        entry.id(f"{settings.atom_id}.comment-{comment.id}")
        text = " ".join(comment.body_source.split())
        entry.title(text if len(text) <= 80 else text[:79].rstrip() + "…")
        entry.link(
            href=f"{post_url(comment.post, external=True)}#c{comment.id}",
            rel="alternate",
            type="text/html",
        )
        entry.published(comment.created_at)
        entry.updated(comment.created_at)
        entry.author(name=comment.author_name or "Anonymous")
        entry.content(comment.body_html, type="html")
    return atom(feed)


def create_app() -> Flask:
    """The app, on DATABASE_URL."""
    app = Flask(__name__, static_folder=None)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.jinja_loader = DictLoader(TEMPLATES)
    db.init_app(app)

    def local(moment: datetime) -> datetime:
        return moment.astimezone(blog_zone(blog_settings()))

    app.jinja_env.filters.update(
        local=local,
        iso=lambda moment: moment.isoformat(),
        clock=lambda moment: f"{moment:%-I:%M %p}",
        day=lambda moment: f"{moment:%A, %B %-d, %Y}".upper(),
        long=lambda moment: f"{moment:%B %-d, %Y at %-I:%M %p}",
        month_name=lambda month: datetime(2000, month, 1).strftime("%B"),
    )
    app.jinja_env.globals["post_url"] = post_url

    @app.get("/")
    def index() -> str:
        """Newest posts."""
        return render_listing([], "search", {})

    @app.get("/search")
    def search() -> str:
        """Search (q=words), or the home page's older posts (updated-max=...)."""
        query = " ".join(request.args.get("q", "").split())
        if not query:
            return render_listing([], "search", {})
        return render_listing(
            matches(query.split()[:10]),
            "search",
            {"q": query},
            query,
            "matching the search for",
            query,
        )

    @app.get("/search/label/<path:name>")
    def label(name: str) -> str:
        """Posts with one label."""
        found = db.one_or_404(select(Label).where(Label.name == name))
        return render_listing(
            [Post.labels.any(Label.id == found.id)],
            "label",
            {"name": found.name},
            found.name,
            "with label",
        )

    @app.get("/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/")
    def archive_month(year: int, month: int) -> str:
        """Posts of one month."""
        if not 1 <= month <= 12:
            abort(404)
        heading = f"{datetime(2000, month, 1):%B} {year}"
        return render_listing(
            [Post.year == year, Post.month == month],
            "archive_month",
            {"year": year, "month": month},
            heading,
            "from",
        )

    @app.get("/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/<slug>.html")
    def post(year: int, month: int, slug: str) -> str:
        """One post, a page of its comments and the comment form."""
        found = db.one_or_404(
            select(Post).where(Post.year == year, Post.month == month, Post.slug == slug, visible())
        )
        comments = published_comments(found)
        before = request.args.get("comments-before", type=int)
        if before is not None:
            cursor = db.get_or_404(Comment, before)
            comments = comments.where(Comment.created_at < cursor.created_at)
        shown = list(
            db.session.scalars(
                comments.order_by(Comment.created_at.desc()).limit(COMMENTS_SHOWN + 1)
            )
        )
        older_comments = shown[COMMENTS_SHOWN - 1].id if len(shown) > COMMENTS_SHOWN else None
        shown = shown[:COMMENTS_SHOWN][::-1]
        assert found.published_at is not None
        newer = db.session.scalars(
            select(Post)
            .where(visible(), Post.published_at > found.published_at)
            .order_by(Post.published_at.asc())
            .limit(1)
        ).first()
        older = db.session.scalars(
            select(Post)
            .where(visible(), Post.published_at < found.published_at)
            .order_by(Post.published_at.desc())
            .limit(1)
        ).first()
        return render_page(
            "post.html",
            post=found,
            comments=shown,
            count=comment_count(found),
            older_comments=older_comments,
            comments_open=found.comments_open and blog_settings().comment_policy != "closed",
            newer=newer,
            older=older,
        )

    @app.get("/feeds/posts/default")
    def posts_feed() -> Response:
        """Atom: the newest posts."""
        settings = blog_settings()
        posts = newest_posts([], settings.items_per_feed)
        return posts_feed_response(
            settings, settings.atom_id, settings.title, url_for("index", _external=True), posts
        )

    @app.get("/feeds/posts/default/-/<path:name>")
    def label_feed(name: str) -> Response:
        """Atom: the newest posts with one label."""
        settings = blog_settings()
        found = db.one_or_404(select(Label).where(Label.name == name))
        posts = newest_posts([Post.labels.any(Label.id == found.id)], settings.items_per_feed)
        return posts_feed_response(
            settings,
            f"{settings.atom_id}.label-{found.id}",
            f"{settings.title}: {found.name}",
            url_for("label", name=found.name, _external=True),
            posts,
        )

    @app.get("/feeds/comments/default")
    def comments_feed() -> Response:
        """Atom: the newest comments on the whole blog."""
        settings = blog_settings()
        comments = db.session.scalars(
            select(Comment)
            .join(Comment.post)
            .where(Comment.status == PUBLISHED, visible())
            .order_by(Comment.created_at.desc())
            .limit(settings.items_per_feed)
        )
        return comments_feed_response(
            settings,
            f"{settings.atom_id}.comments",
            f"{settings.title}: Comments",
            url_for("index", _external=True),
            list(comments),
        )

    @app.get("/feeds/<int:post_id>/comments/default")
    def post_comments_feed(post_id: int) -> Response:
        """Atom: the newest comments on one post."""
        settings = blog_settings()
        found = db.one_or_404(select(Post).where(Post.id == post_id, visible()))
        comments = db.session.scalars(
            published_comments(found)
            .order_by(Comment.created_at.desc())
            .limit(settings.items_per_feed)
        )
        return comments_feed_response(
            settings,
            f"{settings.atom_id}.post-{found.id}.comments",
            f"{settings.title}: Comments on {found.title}",
            post_url(found, external=True),
            list(comments),
        )

    return app
