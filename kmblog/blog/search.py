"""Search: every word of a query, through each database's full-text index, the newest
matches ranked best first.

SQLite reads an FTS5 table keyed by publication time (revision 0007); PostgreSQL a
stored, GIN-indexed tsvector (revision 0009). Ranking is a BM25-like score per post in
Python over a bounded set of the newest matches, so a search costs the same for a word
in ten posts or in 100,000 (see search_posts for the trade-off).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    TextClause,
    column,
    false,
    select,
    table,
    text,
)
from sqlalchemy.orm import joinedload, selectinload

from kmblog.blog.queries import comment_counts, visible
from kmblog.extensions import db
from kmblog.models import Post

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


def matches(words: tuple[str, ...]) -> ColumnElement[bool] | TextClause:
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


def _index_match(terms: list[str]) -> TextClause:
    """Every term, as a word or a word's beginning, in the full-text index: FTS5's table
    on SQLite, the stored, GIN-indexed words of revision 0009 on PostgreSQL."""
    if db.session.get_bind().dialect.name == "sqlite":
        fts = " ".join(f'"{term}"*' for term in terms)
        return text("posts_fts MATCH :fts").bindparams(fts=fts)
    tsquery = " & ".join(f"{term}:*" for term in terms)
    return text("posts.search_vector @@ to_tsquery('simple', :tsquery)").bindparams(tsquery=tsquery)


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


def _date_ordered_matches(now: datetime, terms: list[str], *columns: Any) -> Select[Any]:
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
        older = _date_ordered_matches(now, terms, Post.id).offset(start).limit(limit + 1)
        found = list(db.session.scalars(older))
    else:
        # The candidates' text too, to score them; as many more as the page needs.
        columns = (Post.id, Post.title, Post.body_source)
        newest = _date_ordered_matches(now, terms, *columns).limit(
            max(RANKED_MATCHES, start + limit + 1)
        )
        rows = list(db.session.execute(newest).all())
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
