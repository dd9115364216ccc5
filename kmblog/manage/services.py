"""Write side for posts: create and publish, labels, slugs. One commit per call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slugify import slugify
from sqlalchemy import func, select

from kmblog.blog.services import get_settings
from kmblog.extensions import db
from kmblog.models import Label, Post, PostKind, PostStatus, User
from kmblog.rendering import clean_line, clean_text, render_post
from kmblog.timefmt import blog_zone

SLUG_MAX_LENGTH = 60


@dataclass(frozen=True)
class PostDraft:
    """What an author wrote: the input of create_post()."""

    title: str
    body: str
    labels: tuple[str, ...] = ()
    kind: PostKind = PostKind.ARTICLE
    summary: str = ""
    comments_open: bool = True
    slug: str = ""


def make_slug(text: str) -> str:
    """A URL slug from a title, as Blogger made them: lower case, hyphens, short."""
    return slugify(text, max_length=SLUG_MAX_LENGTH, word_boundary=True) or "post"


def _unique_slug(wanted: str, year: int, month: int, exclude_id: int | None) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`...: unique within its month."""
    query = select(Post.slug).where(
        Post.year == year, Post.month == month, Post.slug.startswith(wanted, autoescape=True)
    )
    if exclude_id is not None:
        query = query.where(Post.id != exclude_id)
    taken = set(db.session.scalars(query))
    slug, n = wanted, 1
    while slug in taken:
        n += 1
        slug = f"{wanted}-{n}"
    return slug


def labels_by_name(names: tuple[str, ...]) -> list[Label]:
    """Existing labels matched case-insensitively, new ones created as typed."""
    wanted: dict[str, str] = {}
    for name in names:
        cleaned = clean_line(name)[:200]
        if cleaned:
            wanted.setdefault(cleaned.casefold(), cleaned)
    if not wanted:
        return []
    existing = {
        label.name.casefold(): label
        for label in db.session.scalars(
            select(Label).where(func.lower(Label.name).in_([k.lower() for k in wanted]))
        )
    }
    labels = []
    for folded, name in wanted.items():
        label = existing.get(folded)
        if label is None:
            label = Label(name=name, slug=make_slug(name))
            db.session.add(label)
        labels.append(label)
    return labels


def create_post(
    author: User,
    draft: PostDraft,
    now: datetime,
    publish_at: datetime | None = None,
) -> Post:
    """Save a new post; with `publish_at` it is published (scheduled if in the future)."""
    post = Post(
        title=clean_line(draft.title),
        body_source=clean_text(draft.body),
        body_html=render_post(draft.body),
        summary=clean_text(draft.summary),
        kind=draft.kind,
        comments_open=draft.comments_open,
        author=author,
        labels=labels_by_name(draft.labels),
        slug=make_slug(draft.slug or draft.title),
        created_at=now,
        updated_at=now,
    )
    db.session.add(post)
    if publish_at is not None:
        _publish(post, publish_at)
    db.session.commit()
    return post


def _publish(post: Post, publish_at: datetime) -> None:
    """Fix the post's time and URL folders (year/month in the blog's time zone)."""
    # Whole seconds: the paging links carry times to the second.
    publish_at = publish_at.replace(microsecond=0)
    local = publish_at.astimezone(blog_zone(get_settings().timezone))
    post.status = PostStatus.PUBLISHED
    post.published_at = publish_at
    if post.year is None:
        with db.session.no_autoflush:
            post.slug = _unique_slug(post.slug, local.year, local.month, post.id)
        post.year, post.month = local.year, local.month


def pair_companions(plan: Post, strategy: Post) -> None:
    """Link a plan and its strategy both ways."""
    plan.companion = strategy
    strategy.companion = plan
    db.session.commit()
