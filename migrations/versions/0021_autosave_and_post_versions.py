"""Editing without loss (issue 18): an author's unsaved text kept apart from the post in
post_autosaves (page_autosaves for standalone pages), and posts.version (pages.version),
the number the editor's form carries so that a save from an editor opened before
someone else's save is refused instead of overwriting it.

Plain ADD COLUMN, no batch mode: rebuilding `posts` on SQLite would drop the full-text
triggers of revision 0005 (as 0017 and 0018 explain).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from kmblog.models import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("posts", "pages"):
        op.add_column(table, sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "post_autosaves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_post_autosaves_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_post_autosaves_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_autosaves")),
        sa.UniqueConstraint("user_id", "post_id", name="uq_post_autosaves_user_id_post_id"),
    )
    op.create_index(op.f("ix_post_autosaves_post_id"), "post_autosaves", ["post_id"])
    op.create_table(
        "page_autosaves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["pages.id"],
            name=op.f("fk_page_autosaves_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_page_autosaves_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_autosaves")),
        sa.UniqueConstraint("user_id", "page_id", name="uq_page_autosaves_user_id_page_id"),
    )
    op.create_index(op.f("ix_page_autosaves_page_id"), "page_autosaves", ["page_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_page_autosaves_page_id"), table_name="page_autosaves")
    op.drop_table("page_autosaves")
    op.drop_index(op.f("ix_post_autosaves_post_id"), table_name="post_autosaves")
    op.drop_table("post_autosaves")
    for table in ("pages", "posts"):
        op.drop_column(table, "version")
