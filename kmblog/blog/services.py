"""Read side of the blog: the queries behind every reader's page and feed.

Each function runs a fixed number of queries whatever the number of posts, labels and
comments, so that a page's cost does not grow with the blog.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    column,
    false,
    func,
    literal,
    select,
    table,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased, joinedload, selectinload

from kmblog.extensions import db
from kmblog.models import (
    Comment,
    CommentStatus,
    Label,
    Page,
    Post,
    PostKind,
    PostRedirect,
    PostStatus,
    Settings,
    User,
    UTCDateTime,
    post_labels,
)


@dataclass(frozen=True)
class Cursor:
    """A place in the newest-first list of posts: keyset paging, never OFFSET."""

    published_at: datetime
    post_id: int | None = None

    @classmethod
    def of(cls, post: Post) -> Cursor:
        if post.published_at is None:
            raise ValueError(f"post {post.id} is not published")
        return cls(post.published_at, post.id)


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


@dataclass
class ArchiveYear:
    year: int
    count: int
    months: list[tuple[int, int]] = field(default_factory=list)  # (month, count), newest first


@dataclass
class Sidebar:
    archive: list[ArchiveYear]
    labels: list[LabelCount]

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

    Nothing set: the newest page. `before` / `after`: the page of comments just older or
    newer than that comment. `since`: the page starting at the first comment made at or
    after that moment (Blogger's `showComment=<milliseconds>` comment links).
    """

    before: int | None = None
    after: int | None = None
    since: datetime | None = None


# What a post page shows of a comment: plain rows, not ORM objects, which cost three
# times as much to load for a page of a hundred comments.
SHOWN_COMMENT = (
    Comment.id,
    Comment.blogger_id,
    Comment.created_at,
    Comment.author_name,
    Comment.author_url,
    Comment.body_html,
)
ShownComment = Any  # a Row with the attributes above


@dataclass
class PostPage:
    post: Post
    comments: list[ShownComment]  # one page of them, oldest first
    newer: Post | None
    older: Post | None
    comment_count: int = 0  # all the post's published comments
    # The comment to page on from, for the "Older comments" and "Newer comments" links.
    older_comments: int | None = None
    newer_comments: int | None = None


def get_settings() -> Settings:
    """The blog's one settings row (made by the first migration)."""
    return db.session.execute(select(Settings).order_by(Settings.id).limit(1)).scalar_one()


def visible(now: datetime) -> ColumnElement[bool]:
    """Posts a reader may see: published, and not scheduled for later."""
    return and_(Post.status == PostStatus.PUBLISHED, Post.published_at <= now)


def _filtered(query, post_filter: PostFilter):  # type: ignore[no-untyped-def]
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
        query = query.where(_matches(post_filter.words))
    if post_filter.year is not None:
        query = query.where(Post.year == post_filter.year)
    if post_filter.month is not None:
        query = query.where(Post.month == post_filter.month)
    if post_filter.author_id is not None:
        query = query.where(Post.author_id == post_filter.author_id)
    if post_filter.kind is not None:
        query = query.where(Post.kind == post_filter.kind)
    return query


# Letters and digits: the index's tokenizer (unicode61) splits words at an underscore,
# as at any punctuation, and a term it would split is a phrase, which an index without
# positions refuses ("phrase queries are not supported").
_WORD = re.compile(r"[^\W_]+")


def search_terms(words: tuple[str, ...]) -> list[str]:
    """The letters-and-digits tokens of a search, as the full-text indexes see words."""
    return [token.lower() for word in words for token in _WORD.findall(word)][:10]


# The FTS5 table of revision 0007 (SQLite only). Its rowid is a post's publication time
# in Unix seconds * SEARCH_KEY_SPAN + the post's id, so that rowid order is date order.
_POSTS_FTS = table("posts_fts", column("rowid", Integer))
SEARCH_KEY_SPAN = 1_000_000_000


def _matches(words: tuple[str, ...]) -> ColumnElement[bool]:
    """Posts whose title or body has every word (as a word prefix), through the index:
    FTS5 on SQLite, the GIN index over the stored tsvector on PostgreSQL."""
    terms = search_terms(words)
    if not terms:
        return false()
    if db.session.get_bind().dialect.name == "sqlite":
        return Post.id.in_(
            select(_POSTS_FTS.c.rowid % SEARCH_KEY_SPAN)
            .select_from(_POSTS_FTS)
            .where(_index_match(terms))
        )
    return _index_match(terms)


def _index_match(terms: list[str]) -> ColumnElement[bool]:
    """Every term, as a word or a word's beginning, in the full-text index: FTS5's table
    on SQLite, the stored, GIN-indexed words of revision 0009 on PostgreSQL."""
    if db.session.get_bind().dialect.name == "sqlite":
        fts = " ".join(f'"{term}"*' for term in terms)
        return text("posts_fts MATCH :fts").bindparams(fts=fts)
    tsquery = " & ".join(f"{term}:*" for term in terms)
    return text("posts.search_vector @@ to_tsquery('simple', :tsquery)").bindparams(tsquery=tsquery)


# Row values, (published_at, id) < (t, n): both databases seek the (status,
# published_at, id) index with them, where the same test spelt with OR made SQLite scan
# (12 ms for a post's neighbours among 100,000 posts).


def _older_than(cursor: Cursor) -> ColumnElement[bool]:
    if cursor.post_id is None:
        return Post.published_at < cursor.published_at
    return tuple_(Post.published_at, Post.id) < tuple_(
        literal(cursor.published_at, UTCDateTime()), cursor.post_id
    )


def _newer_than(cursor: Cursor) -> ColumnElement[bool]:
    if cursor.post_id is None:
        return Post.published_at > cursor.published_at
    return tuple_(Post.published_at, Post.id) > tuple_(
        literal(cursor.published_at, UTCDateTime()), cursor.post_id
    )


def list_posts(
    now: datetime,
    post_filter: PostFilter,
    limit: int,
    before: Cursor | None = None,
    after: Cursor | None = None,
    titles_only: bool = False,
    offset: int = 0,
) -> PostListing:
    """One page of visible posts, newest first, with labels, authors and comment counts.

    `before` pages towards older posts ("Older Posts"), `after` towards newer ones
    ("Newer Posts", Blogger's reverse-paginate). Three queries in all; one when
    `titles_only` (no labels, no comment counts). `offset` skips the newest posts
    (Blogger's start-index in old feed addresses), without cursors only.
    """
    # The page's ids first, sorted on the index's narrow columns; then their whole rows.
    # Sorting whole rows (bodies included) cost 16 ms for a label of 2,000 posts.
    ids = _filtered(select(Post.id).where(visible(now)), post_filter)
    if after is not None:
        ordering = (Post.published_at.asc(), Post.id.asc())
        ids = ids.where(_newer_than(after))
    else:
        ordering = (Post.published_at.desc(), Post.id.desc())
        if before is not None:
            ids = ids.where(_older_than(before))
    if offset and before is None and after is None:
        ids = ids.offset(offset)
    ids = ids.order_by(*ordering).limit(limit + 1)
    query = select(Post).where(Post.id.in_(ids.scalar_subquery())).order_by(*ordering)
    if not titles_only:
        query = query.options(joinedload(Post.author), selectinload(Post.labels))
    rows = list(db.session.scalars(query).unique())
    more = len(rows) > limit
    posts = rows[:limit]
    if after is not None:
        posts.reverse()
        older = Cursor.of(posts[-1]) if posts else after
        newer = Cursor.of(posts[0]) if more else None
    else:
        older = Cursor.of(posts[-1]) if more else None
        # Any page reached through a cursor has newer posts before it.
        newer = None if before is None else Cursor.of(posts[0]) if posts else before
    counts = {} if titles_only else comment_counts([post.id for post in posts])
    return PostListing(posts, counts, older, newer)


@dataclass
class SearchResults:
    posts: list[Post]
    comment_counts: dict[int, int]
    start: int  # 0-based place of the first post among all matches
    more: bool  # whether matches follow this page


# Search ranks the newest RANKED_MATCHES matches and lists older ones by date after
# them: a page costs the same for a word in 10 posts or in 100,000.
RANKED_MATCHES = 200

# A word in a title says more about a post than the same word in its body.
TITLE_WEIGHT = 4.0
# BM25's term-frequency saturation and length normalisation.
_K1, _B = 1.2, 0.75


def _date_ordered_matches(now: datetime, terms: list[str], *columns: Any):  # type: ignore[no-untyped-def]
    """Visible posts with every term, newest first, read off the full-text index in
    index order so that a LIMIT stops the walk: FTS5 by its date-keyed rowid on SQLite;
    on PostgreSQL the planner's choice of the GIN index or the date index."""
    if db.session.get_bind().dialect.name == "sqlite":
        return (
            select(*columns)
            .select_from(_POSTS_FTS)
            .join(Post, Post.id == _POSTS_FTS.c.rowid % SEARCH_KEY_SPAN)
            .where(_index_match(terms), visible(now))
            .order_by(_POSTS_FTS.c.rowid.desc())
        )
    return (
        select(*columns)
        .where(visible(now), _index_match(terms))
        .order_by(Post.published_at.desc(), Post.id.desc())
    )


def _fold(text_: str) -> str:
    """Lower case without diacritics, as the index's unicode61 tokenizer sees text."""
    text_ = text_.lower()
    if text_.isascii():
        return text_
    decomposed = unicodedata.normalize("NFKD", text_)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _word_starts(term: str, text_: str) -> int:
    """How many words of text_ begin with term (both folded)."""
    # str.find, not a regex with a look-behind: this runs for every candidate, and the
    # regex cost 3 ms for 200 posts where find costs a tenth of that.
    count, at = 0, text_.find(term)
    while at >= 0:
        if at == 0 or not text_[at - 1].isalnum():
            count += 1
        at = text_.find(term, at + len(term))
    return count


def relevance(title: str, body: str, terms: list[str], average_body: float) -> float:
    """BM25's per-post part: each term's occurrences (as a word or its beginning) in
    the title and the body, saturating, the body's normalised by its length.

    No inverse document frequency: it needs every match counted, the very cost this
    ranking avoids. Every result holds every term, so it only weighs one term's
    repetitions against another's.
    """
    title, body = _fold(title), _fold(body)
    norm = _K1 * (1 - _B + _B * len(body) / max(average_body, 1.0))
    score = 0.0
    for term in terms:
        term = _fold(term)
        in_title, in_body = _word_starts(term, title), _word_starts(term, body)
        score += TITLE_WEIGHT * in_title * (_K1 + 1) / (in_title + _K1)
        score += in_body * (_K1 + 1) / (in_body + norm)
    return score


def search_posts(now: datetime, words: tuple[str, ...], limit: int, start: int) -> SearchResults:
    """Visible posts with every word: the newest RANKED_MATCHES matches best first,
    then the older matches newest first. Four queries.

    Ranking every match costs O(matches) (140 ms for a common word among 100,000
    posts); ranking a bounded set of the newest costs the same at any size. The
    trade-off: a strong match older than the newest RANKED_MATCHES ranks below weaker,
    newer ones, in date order. Places are stable, so paging by start-index neither
    repeats nor skips a post; the date-ordered tail pages by OFFSET (up to the
    view's MAX_START_INDEX).
    """
    terms = search_terms(words)
    if not terms:
        return SearchResults([], {}, start, False)
    if start >= RANKED_MATCHES:
        tail = _date_ordered_matches(now, terms, Post.id).offset(start).limit(limit + 1)
        found = list(db.session.scalars(tail))
    else:
        # The candidates' text too, to score them; as many more as the page needs.
        columns = (Post.id, Post.title, Post.body_source)
        newest = _date_ordered_matches(now, terms, *columns).limit(
            max(RANKED_MATCHES, start + limit + 1)
        )
        rows = db.session.execute(newest).all()
        ranked, tail = rows[:RANKED_MATCHES], rows[RANKED_MATCHES:]
        average_body = sum(len(row.body_source) for row in ranked) / max(len(ranked), 1)
        scores = {
            row.id: relevance(row.title, row.body_source, terms, average_body) for row in ranked
        }
        # sorted() is stable: equal scores keep date order, newest first.
        ranked.sort(key=lambda row: scores[row.id], reverse=True)
        found = [row.id for row in ranked + tail][start : start + limit + 1]
    page = found[:limit]
    posts_by_id = {
        post.id: post
        for post in db.session.scalars(
            select(Post)
            .where(Post.id.in_(page))
            .options(joinedload(Post.author), selectinload(Post.labels))
        ).unique()
    }
    posts = [posts_by_id[post_id] for post_id in page]
    return SearchResults(posts, comment_counts(page), start, len(found) > limit)


def comment_counts(post_ids: list[int]) -> dict[int, int]:
    """Published comments per post, for the "N comments" links, in one query."""
    if not post_ids:
        return {}
    rows = db.session.execute(
        select(Comment.post_id, func.count())
        .where(Comment.post_id.in_(post_ids), Comment.status == CommentStatus.PUBLISHED)
        .group_by(Comment.post_id)
    )
    counts = dict.fromkeys(post_ids, 0)
    counts.update({post_id: count for post_id, count in rows})
    return counts


def load_sidebar(now: datetime) -> Sidebar:
    """Blog Archive (years > months with counts) and Labels (with counts): one query, the
    two counts side by side (UNION ALL), as a page may spend only so many round trips."""
    months = (
        select(
            literal(0).label("kind"),
            Post.year.label("a"),
            Post.month.label("b"),
            literal(None, String).label("name"),
            func.count().label("n"),
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
        )
        .join(post_labels, post_labels.c.label_id == Label.id)
        .join(Post, Post.id == post_labels.c.post_id)
        .where(visible(now))
        .group_by(Label.id, Label.name)
    )
    rows = db.session.execute(union_all(months, labels)).all()
    archive: list[ArchiveYear] = []
    month_rows = sorted(((a, b, n) for kind, a, b, _, n in rows if kind == 0), reverse=True)
    for year, month, count in month_rows:
        if not archive or archive[-1].year != year:
            archive.append(ArchiveYear(year, 0))
        archive[-1].count += count
        archive[-1].months.append((month, count))
    found = [LabelCount(a, name, n) for kind, a, _, name, n in rows if kind == 1]
    found.sort(key=lambda label: (label.name.lower(), label.name))
    return Sidebar(archive, found)


def find_post(year: int, month: int, slug: str, now: datetime) -> Post | None:
    """The visible post at /year/month/slug.html, with its author and labels."""
    return (
        db.session.scalars(
            select(Post)
            .where(Post.year == year, Post.month == month, Post.slug == slug, visible(now))
            # Labels by a second small query: joined, SQLite materialises the whole
            # post_labels x labels join for every post page (17 ms on the large blog).
            .options(joinedload(Post.author), selectinload(Post.labels), joinedload(Post.companion))
        )
        .unique()
        .one_or_none()
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
        select(Page)
        .where(
            Page.slug == slug,
            Page.status == PostStatus.PUBLISHED,
            Page.published_at <= now,
        )
        .options(joinedload(Page.author))
    ).one_or_none()


# The count, the look beyond a page and its cursor read the comments table as well as
# the page does: aliases, so that none is correlated with the page's rows. Made once
# (an alias costs as much to build as the rest of the query).
_COUNTED = aliased(Comment, name="counted")
_BEYOND = aliased(Comment, name="beyond")
_CURSOR = aliased(Comment, name="cursor")


def load_post_page(
    post: Post, now: datetime, at: CommentsAt | None = None, per_page: int = 100
) -> PostPage:
    """One page of a post's published comments, oldest first, how many there are in all,
    and the post's neighbours: two queries, whatever the number of comments."""
    at = at or CommentsAt()
    total = select(func.count()).where(*_published_on(post, _COUNTED)).scalar_subquery()
    oldest_first = at.after is not None or at.since is not None
    start = _comments_start(post, at)
    if at == CommentsAt():
        others: Any = false()
    else:  # whether comments lie on the side of the cursor not fetched
        others = select(_BEYOND.id).where(*_published_on(post, _BEYOND), ~start(_BEYOND)).exists()
    ordering = (Comment.created_at, Comment.id)
    rows = db.session.execute(
        select(*SHOWN_COMMENT, total.label("total"), others.label("others"))
        .where(*_published_on(post, Comment), start(Comment))
        .order_by(*(ordering if oldest_first else (key.desc() for key in ordering)))
        .limit(per_page + 1)
    ).all()
    count = rows[0].total if rows else 0
    newer_follow = len(rows) > per_page
    older_precede = bool(rows and rows[0].others)
    comments = rows[:per_page]
    if not oldest_first:
        comments.reverse()
        newer_follow, older_precede = older_precede, newer_follow
    older_comments = comments[0].id if comments and older_precede else None
    newer_comments = comments[-1].id if comments and newer_follow else None
    here = Cursor.of(post)
    newer_id = (
        select(Post.id)
        .where(visible(now), _newer_than(here))
        .order_by(Post.published_at.asc(), Post.id.asc())
        .limit(1)
        .scalar_subquery()
    )
    older_id = (
        select(Post.id)
        .where(visible(now), _older_than(here))
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    neighbours = db.session.scalars(select(Post).where(Post.id.in_([newer_id, older_id])))
    newer = older = None
    for neighbour in neighbours:
        if (neighbour.published_at, neighbour.id) > (post.published_at, post.id):
            newer = neighbour
        else:
            older = neighbour
    return PostPage(post, comments, newer, older, count, older_comments, newer_comments)


def _published_on(post: Post, comment: Any) -> tuple[ColumnElement[bool], ...]:
    return comment.post_id == post.id, comment.status == CommentStatus.PUBLISHED


def _comments_start(post: Post, at: CommentsAt) -> Callable[[Any], ColumnElement[bool]]:
    """Where a page of comments starts, as a condition on a (possibly aliased) table."""
    if at.since is not None:
        since = literal(at.since, UTCDateTime())
        return lambda comment: comment.created_at >= since
    if at.after is None and at.before is None:
        return lambda comment: true()
    place = (
        select(_CURSOR.created_at, _CURSOR.id)
        .where(_CURSOR.id == (at.after if at.after is not None else at.before))
        .where(_CURSOR.post_id == post.id)
        .scalar_subquery()
    )
    if at.after is not None:
        return lambda comment: tuple_(comment.created_at, comment.id) > place
    return lambda comment: tuple_(comment.created_at, comment.id) < place


def find_author(username: str) -> User | None:
    return db.session.scalars(select(User).where(User.username == username)).one_or_none()


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
        .options(joinedload(Comment.post))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if post_id is not None:
        query = query.where(Comment.post_id == post_id)
    return list(db.session.scalars(query))
