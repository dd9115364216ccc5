"""Write side of the authoring area: posts, labels, slugs, moderation, settings.

Every function that changes data is one unit of work and commits once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from kmblog.extensions import db
from kmblog.federation import services as federation
from kmblog.mail.services import fan_out_later, record_event
from kmblog.media.services import image_variants
from kmblog.models import (
    Comment,
    CommentEvent,
    CommentStatus,
    FederationEventKind,
    Label,
    Post,
    PostKind,
    PostRedirect,
    PostRevision,
    PostStatus,
    User,
    utcnow,
)
from kmblog.rendering import clean_line, clean_text, render_body
from kmblog.settings import get_settings
from kmblog.slugs import make_slug
from kmblog.timefmt import blog_zone
from kmblog.transaction import unit_of_work

COMPANION_KIND = {PostKind.PLAN: PostKind.STRATEGY, PostKind.STRATEGY: PostKind.PLAN}


class PostError(ValueError):
    """The post cannot be saved as asked; the message says why, for the author."""


class PostAction(enum.StrEnum):
    SAVE = "save"  # keep the current state (a draft stays a draft)
    PUBLISH = "publish"  # now, or at the given time when that is in the future
    UNPUBLISH = "unpublish"


class PostState(enum.StrEnum):
    DRAFTS = "drafts"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"


@dataclass(frozen=True)
class PostDraft:
    """What an author wrote in the editor."""

    title: str
    body: str
    labels: tuple[str, ...] = ()
    kind: PostKind = PostKind.ARTICLE
    summary: str = ""
    comments_open: bool = True
    slug: str = ""
    change_note: str = ""
    companion_id: int | None = None
    # A typo fix: kept in the public history, but with no note, and the post's note
    # stays the one it had.
    typo: bool = False


@dataclass(frozen=True)
class _Shown:
    """What readers could read of a post before a change (see _record_revision)."""

    visible: bool
    title: str
    body_source: str
    body_html: str
    summary: str
    change_note: str
    author_id: int | None
    seen_from: datetime

    @classmethod
    def of(cls, post: Post, now: datetime) -> _Shown:
        published = post.published_at
        visible = post.id is not None and published is not None and post.is_visible(now)
        changed = post.updated_at if published is None else max(post.updated_at, published)
        return cls(
            visible=visible,
            title=post.title,
            body_source=post.body_source,
            body_html=post.body_html,
            summary=post.summary,
            change_note=post.change_note,
            author_id=post.author_id,
            seen_from=min(changed, now),
        )


def _unique_slug(wanted: str, year: int, month: int, exclude_id: int | None) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`...: unique within its month, old addresses too."""
    taken: set[str] = set()
    # Current addresses and old ones that still redirect are both taken.
    for slug_column, year_column, month_column, owner_column in (
        (Post.slug, Post.year, Post.month, Post.id),
        (PostRedirect.slug, PostRedirect.year, PostRedirect.month, PostRedirect.post_id),
    ):
        taken.update(
            db.session.scalars(
                select(slug_column).where(
                    year_column == year,
                    month_column == month,
                    slug_column.startswith(wanted, autoescape=True),
                    owner_column != (exclude_id or 0),
                )
            )
        )
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
    slugs = {make_slug(name) for name in wanted.values()}
    # SQLite's lower() knows only ASCII: fetch candidates by slug too, compare in Python.
    candidates = db.session.scalars(
        select(Label).where(
            or_(
                func.lower(Label.name).in_([name.lower() for name in wanted.values()]),
                Label.slug.in_(slugs),
            )
        )
    )
    existing = {label.name.casefold(): label for label in candidates}
    labels = []
    given: set[str] = set()  # slugs of labels made in this call, not yet in the table
    for folded, name in wanted.items():
        label = existing.get(folded)
        if label is None:
            label = Label(name=name, slug=_unique_label_slug(make_slug(name), given))
            given.add(label.slug)
            db.session.add(label)
            existing[folded] = label
        labels.append(label)
    return labels


def _unique_label_slug(wanted: str, given: set[str]) -> str:
    """A label slug not yet taken: c, c-2, c-3... for labels like C# and C++."""
    taken = given | set(
        db.session.scalars(select(Label.slug).where(Label.slug.startswith(wanted, autoescape=True)))
    )
    slug, n = wanted, 1
    while slug in taken:
        n += 1
        slug = f"{wanted}-{n}"
    return slug


def all_label_names() -> list[str]:
    return list(db.session.scalars(select(Label.name).order_by(func.lower(Label.name))))


def create_post(
    author: User,
    draft: PostDraft,
    now: datetime,
    publish_at: datetime | None = None,
) -> Post:
    """Save a new post; with `publish_at` it is published (scheduled if in the future)."""
    events = []
    with unit_of_work():
        post = Post(author=author, created_at=now, updated_at=now)
        db.session.add(post)
        with db.session.no_autoflush:
            _apply(post, draft, now)
            if publish_at is not None:
                _publish(post, publish_at)
                _record_revision(post, None, author, draft.typo, now)
        if publish_at is not None:
            db.session.flush()
            events.append(federation.record_post_change(post, FederationEventKind.CREATE, now))
    federation.fan_out_later(events)
    return post


def save_post(
    post: Post,
    draft: PostDraft,
    action: PostAction,
    now: datetime,
    publish_at: datetime | None = None,
    by: User | None = None,
) -> Post:
    """Apply the editor's changes, then publish, schedule or unpublish as asked.

    Saving a published (or scheduled) post keeps it published, at the time given in the
    editor; the editor shows times to the minute, so the same minute keeps the stored time.
    A change to a published post is kept in its public history, made `by` an author
    (its own author when not given).
    """
    if (
        publish_at is not None
        and post.published_at is not None
        and publish_at.astimezone(UTC).replace(second=0, microsecond=0)
        == post.published_at.replace(second=0, microsecond=0)
    ):
        publish_at = post.published_at
    if action == PostAction.SAVE and post.status == PostStatus.PUBLISHED:
        action = PostAction.PUBLISH
    events = []
    with unit_of_work(), db.session.no_autoflush:
        was_published = post.status == PostStatus.PUBLISHED
        before = _Shown.of(post, now)
        _apply(post, draft, now)
        if action == PostAction.PUBLISH:
            if publish_at is None:
                # A post published before keeps its date unless it was only scheduled.
                due = post.published_at
                publish_at = due if due is not None and due <= now else now
            _publish(post, publish_at)
        elif action == PostAction.UNPUBLISH:
            post.status = PostStatus.DRAFT
        post.updated_at = now
        if post.status == PostStatus.PUBLISHED:
            _record_revision(post, before, by or post.author, draft.typo, now)
            # Followers on the fediverse get it (as Update once they have it).
            events.append(federation.record_post_change(post, FederationEventKind.UPDATE, now))
        elif was_published:
            events.append(federation.record_post_change(post, FederationEventKind.DELETE, now))
    federation.fan_out_later(events)
    return post


def _record_revision(
    post: Post, before: _Shown | None, by: User, typo: bool, now: datetime
) -> None:
    """Keep what readers see of a published post from now on (or from its publish time,
    when it is scheduled) as its newest public revision, in the caller's unit of work.

    The first publication is revision 1. A scheduled post's revision is not public yet:
    later saves before its time replace it rather than add to it. A save that changes
    nothing readers read (labels, comments open) adds nothing. A post published without
    a history (imported, or written before histories were kept) first gets what readers
    could read before this change as its revision 1.
    """
    assert post.published_at is not None  # noqa: S101 - only published posts come here
    seen_from = max(now, post.published_at.replace(microsecond=0))
    latest = None
    if post.id is not None:
        latest = db.session.scalars(
            select(PostRevision)
            .where(PostRevision.post_id == post.id)
            .order_by(PostRevision.number.desc())
            .limit(1)
        ).first()
    if latest is None and before is not None and before.visible:
        latest = PostRevision(
            post_id=post.id,
            number=1,
            title=before.title,
            body_source=before.body_source,
            body_html=before.body_html,
            summary=before.summary,
            note="",
            typo=False,
            author_id=before.author_id,
            created_at=before.seen_from,
        )
        db.session.add(latest)
    # A change note is this change's when the author wrote a new one; the editor shows
    # the post's current note, and saving it again is no new note.
    written = before is not None and post.change_note != before.change_note
    note = post.change_note if written and not typo else ""
    text = (post.title, post.body_source, post.body_html, post.summary)
    if latest is not None and latest.created_at > now:
        # Not yet public (scheduled): what readers will first see, and when.
        latest.title, latest.body_source, latest.body_html, latest.summary = text
        latest.created_at = seen_from
        latest.author_id = by.id
        return
    if latest is not None and (
        (latest.title, latest.body_source, latest.body_html, latest.summary) == text
    ):
        return
    number = 1 if latest is None else latest.number + 1
    db.session.add(
        PostRevision(
            post=post,
            number=number,
            title=post.title,
            body_source=post.body_source,
            body_html=post.body_html,
            summary=post.summary,
            note="" if number == 1 else note,
            typo=typo and number > 1,
            author_id=by.id,
            created_at=seen_from,
        )
    )
    if number > 1:
        post.revised_at = seen_from


def _apply(post: Post, draft: PostDraft, now: datetime) -> None:
    title = clean_line(draft.title)
    if not title:
        raise PostError("A post needs a title.")
    post.title = title[:300]
    post.body_source = clean_text(draft.body)
    post.body_html = render_body(draft.body, post.source_format, image_variants(draft.body))
    post.summary = clean_text(draft.summary)
    post.kind = draft.kind
    post.comments_open = draft.comments_open
    if not draft.typo:  # a typo fix leaves the post's public note as it was
        post.change_note = clean_line(draft.change_note)[:500]
    post.labels = labels_by_name(draft.labels)
    if post.slug and draft.slug in ("", post.slug):
        # Kept as it is, not made again: an imported address ("km-plan_29.html", as
        # Blogger made them) opened and saved stays where its links point.
        wanted = post.slug
    else:
        wanted = make_slug(draft.slug or title)
    if post.year is None or post.month is None:
        post.slug = wanted
    elif wanted != post.slug:
        _move(post, post.year, post.month, wanted)
    _pair(post, draft.companion_id)


def _move(post: Post, year: int, month: int, slug: str) -> None:
    """Give a post with a public address a new one; the old one keeps redirecting."""
    assert post.year is not None and post.month is not None  # noqa: S101 - callers check
    old = (post.year, post.month, post.slug)
    slug = _unique_slug(slug, year, month, post.id)
    if (year, month, slug) == old:
        return
    stale = db.session.scalars(
        select(PostRedirect).where(
            PostRedirect.year == year, PostRedirect.month == month, PostRedirect.slug == slug
        )
    ).one_or_none()
    if stale is not None:  # the post moves back to an address it had before
        db.session.delete(stale)
    db.session.add(PostRedirect(year=old[0], month=old[1], slug=old[2], post_id=post.id))
    post.year, post.month, post.slug = year, month, slug


def _publish(post: Post, publish_at: datetime) -> None:
    """Fix the post's time and URL folders (year/month in the blog's time zone)."""
    # Whole seconds: the paging links carry times to the second.
    publish_at = publish_at.replace(microsecond=0)
    local = publish_at.astimezone(blog_zone(get_settings().timezone))
    post.status = PostStatus.PUBLISHED
    post.published_at = publish_at
    if post.year is None or post.month is None:
        post.slug = _unique_slug(post.slug, local.year, local.month, post.id)
        post.year, post.month = local.year, local.month
    elif (post.year, post.month) != (local.year, local.month):
        _move(post, local.year, local.month, post.slug)


def _pair(post: Post, companion_id: int | None) -> None:
    """Pair a plan with its strategy (or the reverse), both ways; None unpairs."""
    current = post.companion
    if current is not None and current.id != companion_id:
        if current.companion is post:
            current.companion = None
        post.companion = None
    if companion_id is None:
        return
    companion = db.session.get(Post, companion_id)
    if companion is None or COMPANION_KIND.get(post.kind) != companion.kind:
        raise PostError("A plan can only be paired with a strategy, and a strategy with a plan.")
    if companion.companion is not None and companion.companion is not post:
        companion.companion.companion = None
    post.companion = companion
    companion.companion = post


def pair_companions(plan: Post, strategy: Post) -> None:
    """Link a plan and its strategy both ways."""
    _pair(plan, strategy.id)
    db.session.commit()


def delete_post(post: Post) -> None:
    """Delete a post with its comments and old addresses."""
    if post.companion is not None and post.companion.companion is post:
        post.companion.companion = None
    event = federation.record_post_change(post, FederationEventKind.DELETE, utcnow())
    db.session.delete(post)
    db.session.commit()
    federation.fan_out_later([event])


def find_post_by_id(post_id: int) -> Post | None:
    return (
        db.session.scalars(
            select(Post)
            .where(Post.id == post_id)
            .options(joinedload(Post.author), selectinload(Post.labels), joinedload(Post.companion))
        )
        .unique()
        .one_or_none()
    )


def companion_choices(post_kind: PostKind, exclude_id: int | None) -> list[Post]:
    """Posts a post of `post_kind` may be paired with."""
    other = COMPANION_KIND.get(post_kind)
    if other is None:
        return []
    return list(
        db.session.scalars(
            select(Post)
            .where(Post.kind == other, Post.id != (exclude_id or 0))
            .order_by(Post.title)
        )
    )


def dashboard_posts(
    author: User | None, state: PostState, now: datetime, page: int, per_page: int = 20
) -> Pagination:
    """The posts of one state, newest first; `author` None means everyone's (admins)."""
    query = select(Post).options(joinedload(Post.author))
    if author is not None:
        query = query.where(Post.author_id == author.id)
    if state == PostState.DRAFTS:
        query = query.where(Post.status == PostStatus.DRAFT).order_by(Post.updated_at.desc())
    elif state == PostState.SCHEDULED:
        query = query.where(Post.status == PostStatus.PUBLISHED, Post.published_at > now)
        query = query.order_by(Post.published_at.asc())
    else:
        query = query.where(Post.status == PostStatus.PUBLISHED, Post.published_at <= now)
        query = query.order_by(Post.published_at.desc())
    return db.paginate(
        query.order_by(Post.id.desc()), page=page, per_page=per_page, error_out=False
    )


def comment_counts_by_status(post_ids: list[int]) -> dict[int, dict[str, int]]:
    """Comments per post and status ("published", "pending"...), for the dashboard."""
    counts: dict[int, dict[str, int]] = {post_id: {} for post_id in post_ids}
    if post_ids:
        rows = db.session.execute(
            select(Comment.post_id, Comment.status, func.count())
            .where(Comment.post_id.in_(post_ids))
            .group_by(Comment.post_id, Comment.status)
        )
        for post_id, status, count in rows:
            counts[post_id][status.value] = count
    return counts


def moderation_list(
    moderator: User, status: CommentStatus, page: int, per_page: int = 50
) -> Pagination:
    """Comments in one state that `moderator` may act on; pending ones oldest first."""
    query = (
        select(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.status == status)
        # A reply says whom it answers, in the same query.
        .options(joinedload(Comment.post), joinedload(Comment.parent))
    )
    if not moderator.is_admin:
        query = query.where(Post.author_id == moderator.id)
    if status == CommentStatus.PENDING:
        query = query.order_by(Comment.created_at.asc(), Comment.id.asc())
    else:
        query = query.order_by(Comment.created_at.desc(), Comment.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def moderatable_comments(moderator: User, ids: list[int]) -> tuple[list[Comment], bool]:
    """The comments with these ids, and whether `moderator` may act on all of them."""
    comments = list(
        db.session.scalars(
            select(Comment).where(Comment.id.in_(ids)).options(joinedload(Comment.post))
        )
    )
    allowed = moderator.is_admin or all(c.post.author_id == moderator.id for c in comments)
    return comments, allowed


def set_comment_status(
    comments: list[Comment], status: CommentStatus, now: datetime | None = None
) -> int:
    """Approve, mark as spam or delete comments; returns how many changed. A held
    comment approved now causes its mail (kmblog/mail), in the same transaction."""
    events = []
    for comment in comments:
        if status == CommentStatus.PUBLISHED and comment.status == CommentStatus.PENDING:
            events.append(record_event(comment, CommentEvent.APPROVED, now or utcnow()))
        comment.status = status
    db.session.flush()
    event_ids = [event.id for event in events]
    db.session.commit()
    fan_out_later(event_ids)
    return len(comments)
