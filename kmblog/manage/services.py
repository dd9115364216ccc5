"""Write side of the authoring area: posts, labels, slugs, moderation, settings.

Every function that changes data is one unit of work and commits once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from kmblog.audit.services import Actor, record_moderation
from kmblog.extensions import db
from kmblog.federation import services as federation
from kmblog.mail.services import fan_out_later, record_event
from kmblog.media.services import image_variants
from kmblog.models import (
    Comment,
    CommentEvent,
    CommentStatus,
    FederationEvent,
    FederationEventKind,
    Label,
    Post,
    PostAutosave,
    PostKind,
    PostRedirect,
    PostRevision,
    PostStatus,
    SourceFormat,
    User,
    Webmention,
    utcnow,
)
from kmblog.rendering import clean_line, clean_text, post_anchors, render_body
from kmblog.series.services import SeriesChoice, SeriesError, place_post
from kmblog.settings import get_settings
from kmblog.slugs import make_slug
from kmblog.timefmt import blog_zone
from kmblog.transaction import StaleVersion, claim_version, unit_of_work


class PostError(ValueError):
    """The post cannot be saved as asked; the message says why, for the author."""


class PostConflict(PostError):
    """The post was saved after the editor was opened (by another author, or in another
    window): this save would overwrite that one, so nothing of it was saved."""


class StrategiesWouldLosePlan(PostError):
    """A plan changed to another kind while strategies follow it: saved only once the
    author confirms that they will follow no plan (the editor asks)."""

    def __init__(self, strategies: list[Post]) -> None:
        self.strategies = strategies
        titles = ", ".join(f"“{strategy.title}”" for strategy in strategies)
        follow = "strategy follows" if len(strategies) == 1 else "strategies follow"
        super().__init__(
            f"{len(strategies)} {follow} this plan ({titles}). As another kind of post it"
            " can serve none: tick the box below to save it and leave them without a plan,"
            " or keep it a plan."
        )


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
    # A strategy's plan (see Post.companion_id).
    companion_id: int | None = None
    # The author confirmed that a plan made another kind leaves its strategies without one.
    unpair_strategies: bool = False
    # A typo fix: kept in the public history, but with no note, and the post's note
    # stays the one it had.
    typo: bool = False
    # The series to put the post in (or take it out of); None leaves it where it is, as
    # the importer, the demo and other callers that know nothing of series want.
    series: SeriesChoice | None = None


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
        post = Post(author=author, created_at=now, updated_at=now, title="", slug="")
        db.session.add(post)
        # Its id first: the ids in its HTML begin with it (rendering.post_anchors).
        db.session.flush()
        with db.session.no_autoflush:
            _apply(post, draft, now)
            if publish_at is not None:
                _publish(post, publish_at)
                _record_revision(post, None, author, draft.typo, now)
            _clear_autosave(author, None)
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
    expected_version: int | None = None,
) -> Post:
    """Apply the editor's changes, then publish, schedule or unpublish as asked.

    Saving a published (or scheduled) post keeps it published, at the time given in the
    editor; the editor shows times to the minute, so the same minute keeps the stored time.
    A change to a published post is kept in its public history, made `by` an author
    (its own author when not given), whose autosave of the post it removes.

    `expected_version` is the post's version the editor was opened at (None: the one
    loaded). A post saved since, or saved at the same moment by another request, is not
    overwritten: PostConflict, and nothing of this save is kept.
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
    editor = by or post.author
    try:
        with unit_of_work(), db.session.no_autoflush:
            _claim_version(post, post.version if expected_version is None else expected_version)
            event = _save(post, draft, action, now, publish_at, editor)
            _clear_autosave(editor, post)
    except IntegrityError as error:
        # Two saves at once that both got past the version (a post saved without one
        # through another path): the loser is told, never shown a 500.
        raise PostConflict(
            "Another save of this post happened at the same moment, so yours was not "
            "kept. Your text is still here: check the post, then save again."
        ) from error
    federation.fan_out_later([event] if event is not None else [])
    return post


def _claim_version(post: Post, expected: int) -> None:
    """Hold the post's version for this save (see claim_version): a post saved since the
    editor was opened, or by another request at the same moment, is not overwritten. This
    also keeps two saves from numbering the same public revision."""
    try:
        claim_version(Post, post, expected)
    except StaleVersion:
        raise PostConflict(
            "This post was saved after you opened the editor (by another author, or in "
            "another window), so your save was not kept."
        ) from None


def _save(
    post: Post,
    draft: PostDraft,
    action: PostAction,
    now: datetime,
    publish_at: datetime | None,
    by: User,
) -> FederationEvent | None:
    """Apply the draft and the action to a post whose version this save holds; returns
    what the fediverse's followers are to be told (kmblog/federation), if anything."""
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
        _record_revision(post, before, by, draft.typo, now)
        # Followers on the fediverse get it (as Update once they have it).
        return federation.record_post_change(post, FederationEventKind.UPDATE, now)
    if was_published:
        return federation.record_post_change(post, FederationEventKind.DELETE, now)
    return None


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
    post.body_html = render_post_body(draft.body, post.source_format, post.id)
    post.summary = clean_text(draft.summary)
    was_plan = post.kind == PostKind.PLAN
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
    plan_changed_kind = was_plan and draft.kind != PostKind.PLAN
    _pair(post, draft.companion_id, plan_changed_kind, draft.unpair_strategies)
    if draft.series is not None:
        try:
            place_post(post, draft.series, now)
        except SeriesError as error:
            raise PostError(str(error)) from None


def render_post_body(body: str, source_format: SourceFormat, post_id: int | None) -> str:
    """A post's body as readers will see it: the one rendering that saving, the editor's
    Preview button and its live preview share (`post_id` None: a post not saved yet)."""
    return render_body(body, source_format, image_variants(body), anchors=post_anchors(post_id))


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


def _pair(
    post: Post, companion_id: int | None, plan_changed_kind: bool, unpair_strategies: bool
) -> None:
    """A strategy follows the plan it names (None: none); a plan serves every strategy
    that names it, so no pairing ever replaces another. A plan that becomes another
    kind leaves its strategies without a plan only when the author said so."""
    if plan_changed_kind:
        following = strategies_of(post)
        if following and not unpair_strategies:
            raise StrategiesWouldLosePlan(following)
        for strategy in following:
            strategy.companion = None
    if companion_id is None:
        post.companion = None
        return
    companion = db.session.get(Post, companion_id)
    if (
        post.kind != PostKind.STRATEGY
        or companion is None
        or companion.kind != PostKind.PLAN
        or companion is post
    ):
        raise PostError("A strategy can only follow a plan; other posts name no companion.")
    post.companion = companion


def strategies_of(plan: Post) -> list[Post]:
    """The strategies that follow a plan, by title (drafts too: the authors' view)."""
    return list(
        db.session.scalars(
            select(Post).where(Post.companion_id == plan.id).order_by(Post.title, Post.id)
        )
    )


def pair_companions(plan: Post, strategy: Post) -> None:
    """Make `strategy` follow `plan`; the plan's other strategies keep it."""
    _pair(strategy, plan.id, plan_changed_kind=False, unpair_strategies=False)
    db.session.commit()


def delete_post(post: Post) -> None:
    """Delete a post with its comments and old addresses; a deleted plan's strategies
    follow none (the delete page names them first)."""
    for strategy in strategies_of(post):
        strategy.companion = None
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
    """The plans a strategy may follow; none for other kinds (a plan's strategies name
    it from their own editors)."""
    if post_kind != PostKind.STRATEGY:
        return []
    return list(
        db.session.scalars(
            select(Post)
            .where(Post.kind == PostKind.PLAN, Post.id != (exclude_id or 0))
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
    moderator: User, status: CommentStatus, page: int, per_page: int = 50, only: int | None = None
) -> Pagination:
    """Comments in one state that `moderator` may act on; pending ones oldest first;
    with `only`, just that comment (when it is in that state)."""
    query = (
        select(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.status == status)
        # A reply says whom it answers, in the same query.
        .options(joinedload(Comment.post), joinedload(Comment.parent))
    )
    if not moderator.is_admin:
        query = query.where(Post.author_id == moderator.id)
    if only is not None:
        query = query.where(Comment.id == only)
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
    comments: list[Comment],
    status: CommentStatus,
    now: datetime | None = None,
    by: Actor = None,
) -> int:
    """Approve, mark as spam or delete comments (`by` a moderator: each decision goes in
    the audit trail); returns how many changed. A held comment approved now causes its
    mail (kmblog/mail), in the same transaction."""
    now = now or utcnow()
    events = []
    for comment in comments:
        if status == CommentStatus.PUBLISHED and comment.status == CommentStatus.PENDING:
            events.append(record_event(comment, CommentEvent.APPROVED, now))
        if comment.status != status:
            record_moderation(comment, comment.status, status, by, now)
        comment.status = status
    # A reply that came as a Webmention: its mention (in the mentions list) follows.
    db.session.execute(
        update(Webmention)
        .where(Webmention.comment_id.in_([comment.id for comment in comments]))
        .values(status=status)
    )
    db.session.flush()
    event_ids = [event.id for event in events]
    db.session.commit()
    fan_out_later(event_ids)
    return len(comments)


# --- Autosaves: what an author typed and has not saved yet ------------------------------


@dataclass(frozen=True)
class AutosaveText:
    """The editor's fields that hold an author's writing, as typed."""

    title: str = ""
    body: str = ""
    summary: str = ""
    labels: str = ""


def _autosave_query(author: User, post: Post | None) -> Select[PostAutosave]:
    post_key = PostAutosave.post_id.is_(None) if post is None else PostAutosave.post_id == post.id
    return select(PostAutosave).where(PostAutosave.user_id == author.id, post_key)


def find_autosave(author: User, post: Post | None) -> PostAutosave | None:
    """The author's unsaved text of `post` (None: of a new post), if any."""
    return db.session.scalars(
        _autosave_query(author, post).order_by(PostAutosave.saved_at.desc()).limit(1)
    ).first()


def _same_as_post(post: Post | None, text: AutosaveText) -> bool:
    """True when `text` is what the post already holds (or, for a new post, nothing)."""
    labels = tuple(
        sorted(name.strip().casefold() for name in text.labels.split(",") if name.strip())
    )
    if post is None:
        return not (text.title.strip() or text.body.strip() or text.summary.strip() or labels)
    return (
        clean_line(text.title) == post.title
        and clean_text(text.body) == post.body_source
        and clean_text(text.summary.strip()) == post.summary
        and labels == tuple(sorted(label.name.casefold() for label in post.labels))
    )


def store_autosave(
    author: User, post: Post | None, text: AutosaveText, base_version: int, now: datetime
) -> PostAutosave | None:
    """Keep the author's unsaved text of `post` (None: a new post), replacing the one
    kept before. Text the post already holds is nothing unsaved: the autosave is removed
    and None returned. The post itself is never touched."""
    try:
        return _store_autosave(author, post, text, base_version, now)
    except IntegrityError:
        pass  # the same author's other window inserted the row first: update that one
    try:
        return _store_autosave(author, post, text, base_version, now)
    except IntegrityError as error:  # the post was deleted meanwhile
        raise PostError("The post is gone, so its unsaved text could not be kept.") from error


def _store_autosave(
    author: User, post: Post | None, text: AutosaveText, base_version: int, now: datetime
) -> PostAutosave | None:
    with unit_of_work():
        if _same_as_post(post, text):
            _clear_autosave(author, post)
            return None
        kept = list(db.session.scalars(_autosave_query(author, post)))
        # A new post's autosave has no post id to be unique on: two sent at once may
        # both insert; the newest is kept from then on.
        kept.sort(key=lambda row: row.saved_at, reverse=True)
        for extra in kept[1:]:
            db.session.delete(extra)
        row = kept[0] if kept else None
        if row is None:
            row = PostAutosave(user_id=author.id, post_id=None if post is None else post.id)
            db.session.add(row)
        row.title = text.title[:300]
        row.body = text.body
        row.summary = text.summary
        row.labels = text.labels
        row.base_version = base_version
        row.saved_at = now
    return row


def discard_autosave(author: User, post: Post | None) -> None:
    """Throw away the author's unsaved text of `post` (None: of a new post)."""
    with unit_of_work():
        _clear_autosave(author, post)


def _clear_autosave(author: User, post: Post | None) -> None:
    """Remove the author's autosave of `post`, in the caller's unit of work."""
    post_key = PostAutosave.post_id.is_(None) if post is None else PostAutosave.post_id == post.id
    db.session.execute(
        delete(PostAutosave)
        .where(PostAutosave.user_id == author.id, post_key)
        .execution_options(synchronize_session=False)
    )
