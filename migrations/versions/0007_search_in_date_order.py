"""Search in date order: the SQLite full-text index keyed by publication time.

Ranking by bm25 cost O(matches): FTS5 counts every match of each word before scoring
the first row (140 ms for a common word among 100,000 posts). Search now ranks only
the newest matches, and finds them by walking the index backwards from its largest
rowid, which costs O(page) only if rowid order is date order. posts.id is not: an
import from Blogger writes the newest posts first. So the index is rebuilt with
rowid = published_at in Unix seconds * 10^9 + posts.id (drafts: 0 * 10^9 + id), and
the search query gets the post back as rowid % 10^9.

Contentless (content=''), since nothing reads text back out of the index; the
triggers pass the old text to 'delete', as FTS5 needs. detail=none: no positions,
since queries are single words ANDed, never phrases or NEAR, and nothing calls bm25
any more. prefix='1 2 ... 10': a prefix query ("strategy"*) without a prefix index
merges the whole doclist of every word it covers before giving the first row
(3 ms for "strategy"*, 80 ms for "s"* among 100,000 posts); with one it reads one
doclist lazily. The cost is disk: 360 MB for 100,000 posts of 1 kB (posts_fts
was 61 MB), and each post's words are indexed eleven times on save.

PostgreSQL is unchanged: its GIN index serves the same date-ordered query.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DROP_0005 = [
    "DROP TRIGGER posts_fts_update",
    "DROP TRIGGER posts_fts_delete",
    "DROP TRIGGER posts_fts_insert",
    "DROP TABLE posts_fts",
]
# The index's rowid for a post, spelt out in each statement below:
# coalesce(CAST(strftime('%s', published_at) AS INTEGER), 0) * 1000000000 + id
# (kmblog.blog.services.SEARCH_KEY_SPAN is the 1000000000).
SQLITE_UP = [
    *DROP_0005,
    """CREATE VIRTUAL TABLE posts_fts USING fts5(
        title, body_source, content='', detail=none, prefix='1 2 3 4 5 6 7 8 9 10',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
        INSERT INTO posts_fts(rowid, title, body_source)
        VALUES (coalesce(CAST(strftime('%s', new.published_at) AS INTEGER), 0)
                * 1000000000 + new.id,
            new.title, new.body_source);
    END""",
    """CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
        INSERT INTO posts_fts(posts_fts, rowid, title, body_source)
        VALUES ('delete',
            coalesce(CAST(strftime('%s', old.published_at) AS INTEGER), 0)
                * 1000000000 + old.id,
            old.title, old.body_source);
    END""",
    """CREATE TRIGGER posts_fts_update
        AFTER UPDATE OF title, body_source, published_at ON posts BEGIN
        INSERT INTO posts_fts(posts_fts, rowid, title, body_source)
        VALUES ('delete',
            coalesce(CAST(strftime('%s', old.published_at) AS INTEGER), 0)
                * 1000000000 + old.id,
            old.title, old.body_source);
        INSERT INTO posts_fts(rowid, title, body_source)
        VALUES (coalesce(CAST(strftime('%s', new.published_at) AS INTEGER), 0)
                * 1000000000 + new.id,
            new.title, new.body_source);
    END""",
    """INSERT INTO posts_fts(rowid, title, body_source)
        SELECT coalesce(CAST(strftime('%s', posts.published_at) AS INTEGER), 0)
                * 1000000000 + posts.id,
            title, body_source FROM posts""",
]
# Revision 0005's table, triggers and contents, as they were.
SQLITE_DOWN = [
    *DROP_0005,
    """CREATE VIRTUAL TABLE posts_fts USING fts5(
        title, body_source, content='posts', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
        INSERT INTO posts_fts(rowid, title, body_source)
        VALUES (new.id, new.title, new.body_source);
    END""",
    """CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
        INSERT INTO posts_fts(posts_fts, rowid, title, body_source)
        VALUES ('delete', old.id, old.title, old.body_source);
    END""",
    """CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, body_source ON posts BEGIN
        INSERT INTO posts_fts(posts_fts, rowid, title, body_source)
        VALUES ('delete', old.id, old.title, old.body_source);
        INSERT INTO posts_fts(rowid, title, body_source)
        VALUES (new.id, new.title, new.body_source);
    END""",
    "INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
