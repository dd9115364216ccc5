"""Imported entries keep their Atom ids verbatim (issue 17): posts, pages and comments
brought in from a Blogger export serve the ids their feed subscribers already have.

Plain ADD COLUMN, no batch mode (as 0006: a batch migration would rebuild `posts` on
SQLite and drop the full-text triggers of 0005). Rows imported before this revision get
the id Blogger gave them, made from the blog's and the item's Blogger ids, which is the
form both real exports in tests/fixtures/blogger use.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# Blogger names comments like posts: blog-N.post-M (both samples do).
KINDS = {"posts": "post", "pages": "page", "comments": "post"}


def upgrade() -> None:
    for table, kind in KINDS.items():
        op.add_column(table, sa.Column("atom_id", sa.String(length=200), nullable=True))
        # `||` concatenates on SQLite and PostgreSQL alike.
        op.execute(
            sa.text(
                f"UPDATE {table} SET atom_id = 'tag:blogger.com,1999:blog-' || "  # noqa: S608 - constants
                "(SELECT blogger_blog_id FROM settings WHERE id = 1) || "
                f"'.{kind}-' || blogger_id "
                "WHERE blogger_id IS NOT NULL AND "
                "(SELECT blogger_blog_id FROM settings WHERE id = 1) IS NOT NULL"
            )
        )


def downgrade() -> None:
    for table in reversed(KINDS):
        op.drop_column(table, "atom_id")
