"""Read side of the blog: the queries behind every reader's page and feed.

Each function runs a fixed number of queries whatever the number of posts, labels and
comments, so that a page's cost does not grow with the blog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased, joinedload, selectinload, with_expression

from kmblog.blog.queries import Cursor, comment_counts, newer_than, older_than, visible
from kmblog.blog.search import matches
from kmblog.extensions import db
from kmblog.models import (
    Comment,
    CommentStatus,
    FediverseComment,
    Label,
    MentionKind,
    MentionState,
    Page,
    PageRedirect,
    Post,
    PostKind,
    PostRedirect,
    PostStatus,
    Reaction,
    ReactionKind,
    SeriesPost,
    UTCDateTime,
    Webmention,
    post_labels,
)


@dataclass(frozen=True)
class PostFilter:
    """Which posts a listing shows; the empty filter is the home page."""

    label_id: int | None = None
    # The label is on a large share of posts: walk the newest posts and keep the
    # labelled ones, rather than sort every post with the label (see label_filter).
    label_is_common: bool = False
    words: tuple[str, ...] = ()
    year: int | None = None
    month: int | None = None
    author_id: int | None = None
    kind: PostKind | None = None
    series_id: int | None = None


@dataclass
class PostListing:
    posts: list[Post]
    comment_counts: dict[int, int]
    # Where the "Older Posts" and "Newer Posts" links lead; None when there is nothing.
    older: Cursor | None
    newer: Cursor | None


@dataclass(frozen=True)
class LabelCount:
    id: int
    name: str
    count: int


@dataclass(frozen=True)
class PageLink:
    """A published page in the sidebar's Pages widget."""

    slug: str
    title: str


@dataclass
class ArchiveYear:
    year: int
    count: int
    months: list[tuple[int, int]] = field(default_factory=list)  # (month, count), newest first


# The sidebar's Labels widget shows this many labels, the most used: a list one line a
# label, about a screen's height (WordPress's tag cloud packs 45 into a few lines). The
# rest are one link away, on the page of all labels.
SIDEBAR_LABELS = 30


@dataclass
class Sidebar:
    archive: list[ArchiveYear]  # newest year first
    labels: list[LabelCount]  # every label with visible posts, alphabetical
    top_labels: list[LabelCount]  # the SIDEBAR_LABELS most used of them, alphabetical
    # Published pages in the authors' order (Page.position): the Pages widget.
    pages: list[PageLink] = field(default_factory=list)

    def posts_in(self, year: int, month: int | None = None) -> int:
        """How many visible posts a year (or one of its months) has."""
        for shown in self.archive:
            if shown.year == year:
                if month is None:
                    return shown.count
                return next((count for number, count in shown.months if number == month), 0)
        return 0

    def find_label(self, name: str) -> LabelCount | None:
        """The label called `name` (case-insensitive), among labels with visible posts."""
        folded = name.casefold()
        exact = [label for label in self.labels if label.name == name]
        return (
            exact[0]
            if exact
            else next((label for label in self.labels if label.name.casefold() == folded), None)
        )


def label_filter(sidebar: Sidebar, label: LabelCount) -> PostFilter:
    """The filter for one label's posts, with the plan that keeps its cost flat.

    A page of a label's posts either sorts every post with the label (cheap for a rare
    label: 0.6 ms for 23 posts of 100,000, but 195 ms for 17,830 of them) or walks the
    newest posts until it has a page of labelled ones (0.16 ms for the common label,
    31 ms for the rare one). The counts the sidebar already has tell which.
    """
    visible_posts = sum(year.count for year in sidebar.archive)
    common = label.count > COMMON_LABEL_POSTS or label.count * 50 >= visible_posts
    return PostFilter(label_id=label.id, label_is_common=common)


# Above this many posts, sorting a label's posts costs more than walking to them.
COMMON_LABEL_POSTS = 500


@dataclass(frozen=True)
class CommentsAt:
    """Which page of a post's comments to show: keyset paging, never OFFSET.

    Comments are paged by thread (a top-level comment with every reply under it), so a
    thread is never cut between pages. Nothing set: the newest page. `before` / `after`:
    the page of threads just older or newer than that comment's thread. `since`: the page
    starting at the thread of the first comment made at or after that moment (Blogger's
    `showComment=<milliseconds>` comment links, replies included). `thread`: the page
    starting at that comment's thread (the page of a comment being answered).
    """

    before: int | None = None
    after: int | None = None
    since: datetime | None = None
    thread: int | None = None


# What a post page shows of a comment: plain rows, not ORM objects, which cost three
# times as much to load for a page of a hundred comments.
SHOWN_COMMENT = (
    Comment.id,
    Comment.blogger_id,
    Comment.created_at,
    Comment.author_name,
    Comment.author_url,
    Comment.body_html,
    Comment.edited_at,
    # A reply from another site says so ("via Webmention"), linked to where it is.
    Comment.origin,
    Comment.origin_url,
)
# A reply also says where it sits in its thread, and whether it is still shown (a
# removed comment that has shown replies stays as a placeholder, so they keep their
# place).
# Whether a comment came from the fediverse (shown "via the fediverse").
_VIA_FEDIVERSE = (
    select(FediverseComment.comment_id)
    .where(FediverseComment.comment_id == Comment.id)
    .exists()
    .label("via_fediverse")
)
SHOWN_REPLY = (
    *SHOWN_COMMENT,
    Comment.parent_id,
    Comment.root_id,
    Comment.depth,
    Comment.status,
    _VIA_FEDIVERSE,
)
ShownComment = Any  # a Row with the attributes above


@dataclass
class CommentNode:
    """A comment as a post page shows it: its row, the replies shown under it (oldest
    first), and, for a reply placed beside the comment it answers (a thread is only so
    deep), that comment."""

    comment: ShownComment
    replies: list[CommentNode] = field(default_factory=list)
    answers: ShownComment | None = None
    removed: bool = False  # a placeholder: the comment is gone, its replies are not
    level: int = 0  # how deep it is shown


@dataclass
class PostPage:
    post: Post
    comments: list[CommentNode]  # one page of threads, oldest first
    newer: Post | None
    older: Post | None
    comment_count: int = 0  # all the post's published comments, replies included
    # The thread to page on from, for the "Older comments" and "Newer comments" links.
    older_comments: int | None = None
    newer_comments: int | None = None
    # Every published comment shown, by id (the comment a reader answers is named).
    shown: dict[int, ShownComment] = field(default_factory=dict)
    # What other sites said (kmblog/webmention): likes and reposts, and how many of
    # their pages link to the post (listed only when there are some).
    likes: int = 0
    reposts: int = 0
    links: int = 0


def _filtered(query: Select[Any], post_filter: PostFilter) -> Select[Any]:
    if post_filter.label_id is not None:
        if post_filter.label_is_common:
            query = query.where(
                select(post_labels.c.post_id)
                .where(
                    post_labels.c.post_id == Post.id,
                    post_labels.c.label_id == post_filter.label_id,
                )
                .exists()
            )
        else:
            query = query.join(post_labels, post_labels.c.post_id == Post.id).where(
                post_labels.c.label_id == post_filter.label_id
            )
    if post_filter.words:
        query = query.where(matches(post_filter.words))
    if post_filter.year is not None:
        query = query.where(Post.year == post_filter.year)
    if post_filter.month is not None:
        query = query.where(Post.month == post_filter.month)
    if post_filter.author_id is not None:
        query = query.where(Post.author_id == post_filter.author_id)
    if post_filter.kind is not None:
        query = query.where(Post.kind == post_filter.kind)
    if post_filter.series_id is not None:
        query = query.join(SeriesPost, SeriesPost.post_id == Post.id).where(
            SeriesPost.series_id == post_filter.series_id
        )
    return query


def list_posts(
    now: datetime,
    post_filter: PostFilter,
    limit: int,
    before: Cursor | None = None,
    after: Cursor | None = None,
    titles_only: bool = False,
    offset: int = 0,
    with_counts: bool = True,
) -> PostListing:
    """One page of visible posts, newest first, with labels, authors and comment counts.

    `before` pages towards older posts ("Older Posts"), `after` towards newer ones
    ("Newer Posts", Blogger's reverse-paginate). Three queries in all; two without
    counts (`with_counts` False: feeds show none); one when `titles_only` (no labels, no
    comment counts). `offset` skips the newest posts (Blogger's start-index in old feed
    addresses), without cursors only.
    """
    # The page's ids first, sorted on the index's narrow columns; then their whole rows.
    # Sorting whole rows (bodies included) cost 16 ms for a label of 2,000 posts.
    ids = _filtered(select(Post.id).where(visible(now)), post_filter)
    if after is not None:
        ordering = (Post.published_at.asc(), Post.id.asc())
        ids = ids.where(newer_than(after))
    else:
        ordering = (Post.published_at.desc(), Post.id.desc())
        if before is not None:
            ids = ids.where(older_than(before))
    if offset and before is None and after is None:
        ids = ids.offset(offset)
    ids = ids.order_by(*ordering).limit(limit + 1)
    query = select(Post).where(Post.id.in_(ids.scalar_subquery())).order_by(*ordering)
    if not titles_only:
        query = query.options(joinedload(Post.author), selectinload(Post.labels))
    rows = list(db.session.scalars(query).unique())
    more = len(rows) > limit
    posts = rows[:limit]
    older: Cursor | None
    if after is not None:
        posts.reverse()
        older = Cursor.of(posts[-1]) if posts else after
        newer = Cursor.of(posts[0]) if more else None
    else:
        older = Cursor.of(posts[-1]) if more else None
        # Any page reached through a cursor has newer posts before it.
        newer = None if before is None else Cursor.of(posts[0]) if posts else before
    counts = {} if titles_only or not with_counts else comment_counts([p.id for p in posts])
    return PostListing(posts, counts, older, newer)


def count_posts(now: datetime, post_filter: PostFilter) -> int:
    """How many visible posts a listing has in all: one query (a feed's openSearch total)."""
    ids = _filtered(select(Post.id).where(visible(now)), post_filter)
    return int(db.session.scalar(select(func.count()).select_from(ids.subquery())) or 0)


def load_sidebar(now: datetime) -> Sidebar:
    """Blog Archive (years > months with counts), Labels (with counts), every label and
    the most used, and the published pages in their order: one query, the three side by
    side (UNION ALL), as a page may spend only so many round trips."""
    no_slug = literal(None, String).label("slug")
    months = (
        select(
            literal(0).label("kind"),
            Post.year.label("a"),
            Post.month.label("b"),
            literal(None, String).label("name"),
            func.count().label("n"),
            no_slug,
        )
        .where(visible(now))
        .group_by(Post.year, Post.month)
    )
    labels = (
        select(
            literal(1).label("kind"),
            Label.id.label("a"),
            literal(None, Integer).label("b"),
            Label.name.label("name"),
            func.count().label("n"),
            no_slug,
        )
        .join(post_labels, post_labels.c.label_id == Label.id)
        .join(Post, Post.id == post_labels.c.post_id)
        .where(visible(now))
        .group_by(Label.id, Label.name)
    )
    pages = select(
        literal(2).label("kind"),
        Page.position.label("a"),
        Page.id.label("b"),
        Page.title.label("name"),
        literal(0).label("n"),
        Page.slug.label("slug"),
    ).where(page_visible(now))
    rows: list[Any] = list(db.session.execute(union_all(months, labels, pages)).all())
    archive: list[ArchiveYear] = []
    month_rows = sorted(((a, b, n) for kind, a, b, _, n, _ in rows if kind == 0), reverse=True)
    for year, month, count in month_rows:
        if not archive or archive[-1].year != year:
            archive.append(ArchiveYear(year, 0))
        archive[-1].count += count
        archive[-1].months.append((month, count))
    found = [LabelCount(a, name, n) for kind, a, _, name, n, _ in rows if kind == 1]
    found.sort(key=lambda label: (label.name.lower(), label.name))
    # A stable sort: among labels used equally often, the first alphabetically make the cut.
    most_used = sorted(found, key=lambda label: label.count, reverse=True)[:SIDEBAR_LABELS]
    top = {label.id for label in most_used}
    page_rows = sorted((a, b, slug, name) for kind, a, b, name, _, slug in rows if kind == 2)
    return Sidebar(
        archive,
        found,
        [label for label in found if label.id in top],
        [PageLink(slug, title) for _, _, slug, title in page_rows],
    )


def page_visible(now: datetime) -> ColumnElement[bool]:
    """Readers see a page once it is published and its time has come."""
    return and_(Page.status == PostStatus.PUBLISHED, Page.published_at <= now)


def find_post(year: int, month: int, slug: str, now: datetime) -> Post | None:
    """The visible post at /year/month/slug.html, with its author, labels, companion and
    series."""
    return (
        db.session.scalars(
            select(Post)
            .where(Post.year == year, Post.month == month, Post.slug == slug, visible(now))
            # Labels by a second small query: joined, SQLite materialises the whole
            # post_labels x labels join for every post page (17 ms on the large blog).
            # Its series, if any, joined: a post in none costs no query for it.
            .options(
                joinedload(Post.author),
                selectinload(Post.labels),
                joinedload(Post.companion),
                joinedload(Post.series_entry).joinedload(SeriesPost.series),
                with_expression(Post.fediverse_likes, _reactions(ReactionKind.LIKE)),
                with_expression(Post.fediverse_boosts, _reactions(ReactionKind.ANNOUNCE)),
            )
        )
        .unique()
        .one_or_none()
    )


def post_companions(post: Post, now: datetime) -> list[Post]:
    """What a post page links as its companions, readers' view: a strategy's plan (loaded
    with the post), a plan's strategies (one query, only for a plan); none for others."""
    if post.kind == PostKind.PLAN:
        return list(
            db.session.scalars(
                select(Post)
                .where(Post.companion_id == post.id, visible(now))
                .order_by(Post.published_at, Post.id)
            )
        )
    plan = post.companion
    return [plan] if plan is not None and plan.is_visible(now) else []


def _reactions(kind: ReactionKind) -> Any:
    """How many likes or boosts from the fediverse the post has."""
    return (
        select(func.count())
        .where(Reaction.post_id == Post.id, Reaction.kind == kind)
        .correlate(Post)
        .scalar_subquery()
    )


def find_moved_post(year: int, month: int, slug: str, now: datetime) -> Post | None:
    """The visible post that used to live at /year/month/slug.html, if any."""
    return db.session.scalars(
        select(Post)
        .join(PostRedirect, PostRedirect.post_id == Post.id)
        .where(
            PostRedirect.year == year,
            PostRedirect.month == month,
            PostRedirect.slug == slug,
            visible(now),
        )
    ).first()


def find_visible_post(post_id: int, now: datetime) -> Post | None:
    """A visible post by id (the per-post comments feed uses ids, as Blogger's did)."""
    return db.session.scalars(select(Post).where(Post.id == post_id, visible(now))).one_or_none()


def find_visible_post_by_blogger_id(blogger_id: str, now: datetime) -> Post | None:
    """A visible post imported from Blogger, by its Blogger id (old feed addresses)."""
    return db.session.scalars(
        select(Post).where(Post.blogger_id == blogger_id, visible(now))
    ).one_or_none()


def find_page(slug: str, now: datetime) -> Page | None:
    """The published page at /p/slug.html, with its author."""
    return db.session.scalars(
        select(Page).where(Page.slug == slug, page_visible(now)).options(joinedload(Page.author))
    ).one_or_none()


def find_moved_page(slug: str, now: datetime) -> Page | None:
    """The published page that used to live at /p/slug.html, if any."""
    return db.session.scalars(
        select(Page)
        .join(PageRedirect, PageRedirect.page_id == Page.id)
        .where(PageRedirect.slug == slug, page_visible(now))
    ).first()


# The count, the look beyond a page, its cursor and a thread's replies read the comments
# table as well as the page does: aliases, so that none is correlated with the page's
# rows. Made once (an alias costs as much to build as the rest of the query).
_COUNTED = aliased(Comment, name="counted")
_BEYOND = aliased(Comment, name="beyond")
_CURSOR = aliased(Comment, name="cursor")
_HEAD = aliased(Comment, name="head")
_TOP = aliased(Comment, name="top")
_KEPT = aliased(Comment, name="kept")
_BEYOND_KEPT = aliased(Comment, name="beyond_kept")
_KEPT_REPLY = aliased(Comment, name="kept_reply")
_BEYOND_KEPT_REPLY = aliased(Comment, name="beyond_kept_reply")
_CHILD = aliased(Comment, name="child")


def load_post_page(
    post: Post,
    now: datetime,
    at: CommentsAt | None = None,
    per_page: int = 100,
    thread_depth: int = 4,
) -> PostPage:
    """One page of a post's published comments, by thread: `per_page` top-level comments,
    oldest first, each with all its replies (a removed one that still heads published
    replies keeps its place); how many comments there are in all; and the post's
    neighbours. Two queries, whatever the number of comments and replies: the
    page's top-level comments and every reply whose thread starts among them (with the
    count), then the neighbours."""
    at = at or CommentsAt()
    total = select(func.count()).where(*_published_on(post, _COUNTED)).scalar_subquery()
    oldest_first = at != CommentsAt() and at.before is None
    start = _comments_start(post, at)
    if at == CommentsAt():
        others: Any = false()
    else:  # whether threads lie on the side of the cursor not fetched
        others = or_(
            *(
                select(beyond.id).where(*condition, ~start(beyond)).exists()
                for beyond, condition in (
                    (_BEYOND, _shown_tops(post, _BEYOND)),
                    (_BEYOND_KEPT, _kept_tops(post, _BEYOND_KEPT, _BEYOND_KEPT_REPLY)),
                )
            )
        )

    def tops(limit: int) -> Select[Any]:
        """The page's top-level comments (and with one more, whether more follow):
        published ones, and removed ones that still head a thread, each walked on its
        own index in order."""
        walks = []
        for top, condition in (
            (_TOP, _shown_tops(post, _TOP)),
            (_KEPT, _kept_tops(post, _KEPT, _KEPT_REPLY)),
        ):
            ordering = (top.created_at, top.id)
            walks.append(
                select(top.id, top.created_at)
                .where(*condition, start(top))
                .order_by(*(ordering if oldest_first else (key.desc() for key in ordering)))
                .limit(limit)
                .subquery()
            )
        both = union_all(*(select(walk.c.id, walk.c.created_at) for walk in walks)).subquery()
        merged = (both.c.created_at, both.c.id)
        return (
            select(both.c.id)
            .order_by(*(merged if oldest_first else (key.desc() for key in merged)))
            .limit(limit)
        )

    # A removed comment stays (as a placeholder) while a published reply answers it.
    answered = (
        select(_CHILD.id)
        .where(_CHILD.parent_id == Comment.id, _CHILD.status == CommentStatus.PUBLISHED)
        .exists()
    )
    rows = list(
        db.session.execute(
            select(*SHOWN_REPLY, total.label("total"), others.label("others"))
            .where(
                or_(
                    Comment.id.in_(tops(per_page + 1)),
                    and_(
                        Comment.root_id.in_(tops(per_page)),
                        or_(Comment.status == CommentStatus.PUBLISHED, answered),
                    ),
                )
            )
            .order_by(Comment.created_at, Comment.id)
        ).all()
    )
    count = rows[0].total if rows else 0
    heads = [row for row in rows if row.root_id is None]
    more = len(heads) > per_page
    if more:
        heads = heads[:per_page] if oldest_first else heads[1:]
    beyond = bool(rows and rows[0].others)
    newer_follow, older_precede = (more, beyond) if oldest_first else (beyond, more)
    older_comments = heads[0].id if heads and older_precede else None
    newer_comments = heads[-1].id if heads and newer_follow else None
    threads, shown = _threads(heads, rows, thread_depth)
    here = Cursor.of(post)
    newer_id = (
        select(Post.id)
        .where(visible(now), newer_than(here))
        .order_by(Post.published_at.asc(), Post.id.asc())
        .limit(1)
        .scalar_subquery()
    )
    older_id = (
        select(Post.id)
        .where(visible(now), older_than(here))
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    # The neighbours, and the counts of mentions from other sites, in one query: one
    # row always (the counts), joined with each neighbour there is.
    always = select(literal(1).label("one")).subquery()
    counted = [_mention_count(post, kind).label(kind.value) for kind in _COUNTED_KINDS]
    found = db.session.execute(
        select(Post, *counted)
        .select_from(always)
        .outerjoin(Post, Post.id.in_([newer_id, older_id]))
    ).all()
    newer = older = None
    for neighbour, *_counts in found:
        if neighbour is None:
            continue
        if (neighbour.published_at, neighbour.id) > (post.published_at, post.id):
            newer = neighbour
        else:
            older = neighbour
    likes, reposts, links = found[0][1:]
    return PostPage(
        post, threads, newer, older, count, older_comments, newer_comments, shown,
        likes=likes, reposts=reposts, links=links,
    )  # fmt: skip


_COUNTED_KINDS = (MentionKind.LIKE, MentionKind.REPOST, MentionKind.MENTION)


def _mention_count(post: Post, kind: MentionKind) -> Any:
    """How many verified, published mentions of this kind the post has."""
    return (
        select(func.count())
        .where(
            Webmention.post_id == post.id,
            Webmention.state == MentionState.VERIFIED,
            Webmention.status == CommentStatus.PUBLISHED,
            Webmention.kind == kind,
        )
        .scalar_subquery()
    )


def _threads(
    heads: list[ShownComment], rows: list[ShownComment], thread_depth: int
) -> tuple[list[CommentNode], dict[int, ShownComment]]:
    """The page's top-level comments with their replies under them, oldest first. A
    reply sits under the nearest comment above it in its thread that is shown less deep
    than itself; one answering a comment it sits beside names it."""
    nodes = {
        head.id: CommentNode(head, removed=head.status != CommentStatus.PUBLISHED) for head in heads
    }
    shown = {head.id: head for head in heads if not nodes[head.id].removed}
    replies = [row for row in rows if row.root_id is not None and row.root_id in nodes]
    parents: dict[int, int | None] = {}
    for reply in replies:
        removed = reply.status != CommentStatus.PUBLISHED
        level = max(1, min(reply.depth, thread_depth))
        nodes[reply.id] = CommentNode(reply, removed=removed, level=level)
        parents[reply.id] = reply.parent_id
        if not removed:
            shown[reply.id] = reply
    for reply in replies:
        node = nodes[reply.id]
        # Up from the comment it answers to the first one shown less deep.
        above, steps = reply.parent_id, 0
        while above in nodes and nodes[above].level >= node.level and steps < len(nodes):
            above, steps = parents.get(above), steps + 1  # steps: no loop in bad data
        if above is None or above not in nodes:
            # The comments between are gone for good: under the thread's top comment.
            above = reply.root_id
        if reply.parent_id is not None and reply.parent_id != above:
            answered = nodes.get(reply.parent_id)
            if answered is not None and not answered.removed:
                node.answers = answered.comment
        nodes[above].replies.append(node)
    return [nodes[head.id] for head in heads], shown


def _published_on(post: Post, comment: Any) -> tuple[ColumnElement[bool], ...]:
    return comment.post_id == post.id, comment.status == CommentStatus.PUBLISHED


def _shown_tops(post: Post, top: Any) -> tuple[ColumnElement[bool], ...]:
    """A published top-level comment of `post`."""
    return (*_published_on(post, top), top.root_id.is_(None))


# A top-level comment removed (or held again) after it was answered.
_NOT_SHOWN = (CommentStatus.DELETED, CommentStatus.SPAM, CommentStatus.PENDING)


def _kept_tops(post: Post, top: Any, reply: Any) -> tuple[ColumnElement[bool], ...]:
    """A top-level comment of `post` that is not shown but heads a thread with published
    replies (`reply`: an alias to look for them): it keeps its place, as a placeholder
    (walked on ix_comments_post_id_replied_status_created_at)."""
    return (
        top.post_id == post.id,
        top.replied == true(),
        top.status.in_(_NOT_SHOWN),
        top.root_id.is_(None),
        select(reply.id)
        .where(reply.root_id == top.id, reply.status == CommentStatus.PUBLISHED)
        .exists(),
    )


def _thread_place(post: Post, comment_id: Any) -> Any:
    """(created_at, id) of the top-level comment of the thread of `comment_id` (a number
    or a scalar query giving one), on `post`: where a page of threads starts or stops."""
    head_id = (
        select(func.coalesce(_CURSOR.root_id, _CURSOR.id))
        .where(_CURSOR.id == comment_id, _CURSOR.post_id == post.id)
        .scalar_subquery()
    )
    return select(_HEAD.created_at, _HEAD.id).where(_HEAD.id == head_id).scalar_subquery()


def _comments_start(post: Post, at: CommentsAt) -> Callable[[Any], ColumnElement[bool]]:
    """Where a page of threads starts, as a condition on a (possibly aliased) table of
    top-level comments."""
    if at.since is not None:
        since = literal(at.since, UTCDateTime())
        first = (
            select(_COUNTED.id)
            .where(*_published_on(post, _COUNTED), _COUNTED.created_at >= since)
            .order_by(_COUNTED.created_at, _COUNTED.id)
            .limit(1)
            .scalar_subquery()
        )
        place = _thread_place(post, first)
        return lambda comment: tuple_(comment.created_at, comment.id) >= place
    if at.thread is not None:
        place = _thread_place(post, at.thread)
        return lambda comment: tuple_(comment.created_at, comment.id) >= place
    if at.after is None and at.before is None:
        return lambda comment: true()
    place = _thread_place(post, at.after if at.after is not None else at.before)
    if at.after is not None:
        return lambda comment: tuple_(comment.created_at, comment.id) > place
    return lambda comment: tuple_(comment.created_at, comment.id) < place


# What a link to a post (and a comment's fallback title) reads of it.
_POST_ADDRESS = (Post.id, Post.title, Post.slug, Post.year, Post.month, Post.status)
# What a link to the comment a reply answers reads of it (its Atom id and permalink).
_PARENT_LINK = (Comment.id, Comment.post_id, Comment.created_at, Comment.atom_id)


def latest_comments(
    now: datetime, limit: int, post_id: int | None = None, offset: int = 0
) -> list[Comment]:
    """Newest published comments on visible posts, blog-wide or for one post: one query.
    `offset` skips the newest ones (Blogger's start-index)."""
    # The post's visibility as a test per comment, not a join: joined, SQLite filtered
    # the comments through a Bloom filter built over every visible post (11 ms on the
    # large blog) instead of reading the newest comments off their index.
    on_visible_post = select(Post.id).where(Post.id == Comment.post_id, visible(now)).exists()
    query = (
        select(Comment)
        .where(Comment.status == CommentStatus.PUBLISHED, on_visible_post)
        # A reply's entry names the comment it answers, by its id and time: loaded in
        # the same query, without its text.
        .options(joinedload(Comment.parent).load_only(*_PARENT_LINK))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if post_id is not None:
        # The caller holds the post (it found it visible): each comment's post comes
        # from the session, not from 25 joined copies of its row, body and all.
        query = query.where(Comment.post_id == post_id)
    else:
        # A comment's link and title need its post's address and title, not its body.
        query = query.options(joinedload(Comment.post).load_only(*_POST_ADDRESS))
    return list(db.session.scalars(query))


def count_comments(now: datetime, post_id: int | None = None) -> int:
    """How many comments latest_comments() pages through in all: one query (a comment
    feed's openSearch total)."""
    # Joined, not tested per comment as latest_comments() does: counting them all,
    # SQLite's join is five times cheaper than the test (10 against 50 ms of CPU for
    # 200,000 comments).
    query = (
        select(func.count())
        .select_from(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.status == CommentStatus.PUBLISHED, visible(now))
    )
    if post_id is not None:
        query = query.where(Comment.post_id == post_id)
    return int(db.session.scalar(query) or 0)
