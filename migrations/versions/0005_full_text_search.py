"""Full-text search: SQLite FTS5 kept in step by triggers, PostgreSQL a GIN index.

Search must use an index, not read every post. On SQLite an external-content FTS5
table mirrors posts' titles and bodies; triggers keep it in step with every write, so
no code path can forget it. On PostgreSQL an expression index over the same
to_tsvector() the search query uses.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SQLITE_UP = [
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
SQLITE_DOWN = [
    "DROP TRIGGER posts_fts_update",
    "DROP TRIGGER posts_fts_delete",
    "DROP TRIGGER posts_fts_insert",
    "DROP TABLE posts_fts",
]
POSTGRES_UP = [
    """CREATE INDEX ix_posts_search ON posts
       USING gin (to_tsvector('simple', title || ' ' || body_source))""",
]
POSTGRES_DOWN = ["DROP INDEX ix_posts_search"]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_UP if dialect == "sqlite" else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
