"""Standalone pages written here, and the format of every post's and page's source.

`source_format` says how a body is edited and rendered: "markdown" for what authors
write here, "html" for what came from Blogger (rows with a Blogger id), which the editor
keeps as HTML and sanitises as on import instead of reading it as Markdown.
`pages.position` is the authors' order of the sidebar's Pages widget; existing pages
keep the order they were stored in. `page_redirects` keeps a published page's old
address answering after its slug changes.

Plain ADD COLUMN, no batch mode: a batch migration would rebuild `posts` on SQLite and
drop the full-text triggers of revision 0005 with it. SQLite accepts a CHECK on an added
column; dropping the columns again needs SQLite 3.35 or later.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _source_format(table: str) -> sa.Column[str]:
    return sa.Column(
        "source_format",
        sa.String(length=16),
        sa.CheckConstraint(
            "source_format IN ('markdown', 'html')", name=op.f(f"ck_{table}_source_format")
        ),
        nullable=False,
        server_default="markdown",
    )


def upgrade() -> None:
    for table in ("posts", "pages"):
        op.add_column(table, _source_format(table))
        op.execute(
            sa.text(f"UPDATE {table} SET source_format = 'html' WHERE blogger_id IS NOT NULL")  # noqa: S608 - a constant table name
        )
    op.add_column("pages", sa.Column("position", sa.Integer(), nullable=False, server_default="0"))
    op.execute(sa.text("UPDATE pages SET position = id"))
    op.create_table(
        "page_redirects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["pages.id"],
            name=op.f("fk_page_redirects_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_redirects")),
        sa.UniqueConstraint("slug", name=op.f("uq_page_redirects_slug")),
    )
    op.create_index(op.f("ix_page_redirects_page_id"), "page_redirects", ["page_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_page_redirects_page_id"), table_name="page_redirects")
    op.drop_table("page_redirects")
    op.drop_column("pages", "position")
    for table in ("pages", "posts"):
        op.drop_column(table, "source_format")
