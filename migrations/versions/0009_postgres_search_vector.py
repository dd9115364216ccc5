"""PostgreSQL search reads a stored tsvector: rare words through its GIN index, common
words by walking posts in date order, neither rebuilding a post's words per query.

Search ranks the newest matches (0007), so it asks for matches newest first. With only
an expression index, PostgreSQL either walked the date index and rebuilt to_tsvector()
for every post it passed (816 ms for a word in no post of 10,000) or found every match
through the GIN index and rebuilt it to recheck each. A generated column keeps each
post's words, computed when the post is written, and its GIN index replaces the
expression index of 0005. SQLite is unchanged (its FTS5 table does this job).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# kmblog.blog.services._matches and migrations/env.py's SEARCH_OBJECTS name these.
POSTGRES_UP = [
    """ALTER TABLE posts ADD COLUMN search_vector tsvector
       GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body_source)) STORED""",
    # fastupdate off: new posts go straight into the index instead of a pending list
    # that every search reads through until a vacuum; a blog is read far more than
    # written.
    """CREATE INDEX ix_posts_search_vector ON posts USING gin (search_vector)
       WITH (fastupdate = off)""",
    "DROP INDEX ix_posts_search",
    "ANALYZE posts",
]
POSTGRES_DOWN = [
    """CREATE INDEX ix_posts_search ON posts
       USING gin (to_tsvector('simple', title || ' ' || body_source))""",
    "DROP INDEX ix_posts_search_vector",
    "ALTER TABLE posts DROP COLUMN search_vector",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_DOWN:
            op.execute(statement)
