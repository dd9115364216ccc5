"""A straightforward Flask blog on kmblog's database: the baseline kmblog is compared to.

Written the way a first version usually is: plain SQLAlchemy ORM models with lazy loading
(labels and comments are loaded per post, N+1), Markdown rendered and cleaned with
bleach on every request, one inline template, no cache. It reads the same tables and
answers the same addresses: `/` (newest posts) and `/YYYY/MM/slug.html`.
Serve it with `gunicorn --pythonpath bench "naive_app:create_app()"` and DATABASE_URL.
"""

from __future__ import annotations

import os

import bleach
import markdown
from flask import Flask, abort, render_template_string
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    create_engine,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Query, relationship, scoped_session, sessionmaker

TAGS = {"a", "b", "blockquote", "code", "em", "h2", "h3", "i", "li", "ol", "p", "pre", "strong"}
TAGS |= {"table", "tbody", "td", "th", "thead", "tr", "ul", "br"}


class Base(DeclarativeBase):
    pass


post_labels = Table(
    "post_labels",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id"), primary_key=True),
    Column("label_id", ForeignKey("labels.id"), primary_key=True),
)


class Label(Base):
    __tablename__ = "labels"
    id = Column(Integer, primary_key=True)
    name = Column(String)


class Comment(Base):
    __tablename__ = "comments"
    id = Column(Integer, primary_key=True)
    post_id = Column(ForeignKey("posts.id"))
    author_name = Column(String)
    body_source = Column(Text)
    created_at = Column(DateTime)
    status = Column(String)


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    title = Column(String)
    slug = Column(String)
    year = Column(Integer)
    month = Column(Integer)
    body_source = Column(Text)
    status = Column(String)
    published_at = Column(DateTime)
    labels = relationship(Label, secondary=post_labels, order_by=Label.name)
    comments = relationship(Comment, order_by=Comment.created_at)


def to_html(source: str) -> str:
    """Markdown to cleaned HTML, every time it is shown."""
    return bleach.clean(markdown.markdown(source, extensions=["tables"]), tags=TAGS)


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1><a href="/">A Knowledge Management Blog</a></h1>
{% for post in posts %}<article><h2><a href="/{{ post.year }}/{{ '%02d' % post.month }}/
{{- post.slug }}.html">{{ post.title }}</a></h2><p>{{ post.published_at }}</p>
{{ html(post.body_source)|safe }}
<p>Labels: {% for label in post.labels %}<a href="/search/label/{{ label.name }}">
{{- label.name }}</a> {% endfor %}</p>
{% if single %}<h3>{{ post.comments|length }} comments</h3>
{% for c in post.comments if c.status == "published" %}<div><p>{{ c.author_name or "Anonymous" }}
said at {{ c.created_at }}:</p>{{ html(c.body_source)|safe }}</div>{% endfor %}
{% else %}<p>{{ post.comments|length }} comments</p>{% endif %}</article>{% endfor %}
</body></html>"""


def create_app() -> Flask:
    """The app, on DATABASE_URL."""
    app = Flask(__name__)
    engine = create_engine(os.environ["DATABASE_URL"])
    session = scoped_session(sessionmaker(engine))

    @app.teardown_appcontext
    def close(_error: BaseException | None) -> None:
        session.remove()

    def visible() -> Query[Post]:
        return session.query(Post).filter(
            Post.status == "published", Post.published_at <= func.now()
        )

    @app.get("/")
    def index() -> str:
        per_page = session.execute(text("SELECT posts_per_page FROM settings")).scalar() or 10
        posts = visible().order_by(Post.published_at.desc()).limit(per_page).all()
        return render_template_string(PAGE, posts=posts, title="Home", html=to_html)

    @app.get("/<int:year>/<int:month>/<slug>.html")
    def post(year: int, month: int, slug: str) -> str:
        found = visible().filter_by(year=year, month=month, slug=slug).first()
        if found is None:
            abort(404)
        return render_template_string(
            PAGE, posts=[found], single=True, title=found.title, html=to_html
        )

    return app
