"""Blogger import and export: Blogger ids on posts and comments, and standalone pages.

Plain ADD COLUMN and CREATE INDEX, no batch mode: a batch migration would rebuild
`posts` on SQLite and drop the full-text triggers of revision 0005 with it. Dropping
the columns again needs SQLite 3.35 or later (ALTER TABLE ... DROP COLUMN).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

import kmblog.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("body_source", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                name="page_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("published_at", kmblog.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", kmblog.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kmblog.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("blogger_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_pages_author_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
        sa.UniqueConstraint("slug", name=op.f("uq_pages_slug")),
    )
    op.create_index(op.f("ix_pages_author_id"), "pages", ["author_id"], unique=False)
    op.create_index(op.f("ix_pages_blogger_id"), "pages", ["blogger_id"], unique=True)

    for table in ("posts", "comments"):
        op.add_column(table, sa.Column("blogger_id", sa.String(length=32), nullable=True))
        op.create_index(op.f(f"ix_{table}_blogger_id"), table, ["blogger_id"], unique=True)
    op.add_column("settings", sa.Column("blogger_blog_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("settings", "blogger_blog_id")
    for table in ("comments", "posts"):
        op.drop_index(op.f(f"ix_{table}_blogger_id"), table_name=table)
        op.drop_column(table, "blogger_id")
    op.drop_index(op.f("ix_pages_blogger_id"), table_name="pages")
    op.drop_index(op.f("ix_pages_author_id"), table_name="pages")
    op.drop_table("pages")
