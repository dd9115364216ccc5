"""Comments can answer comments: each knows its parent, its thread's top-level comment
and its depth.

root_id lets a post page load one page of whole threads with one query (the page's
top-level comments and everything under them), so a thread is never cut between pages.
Existing comments are all top-level (root_id None).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("root_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("depth", sa.Integer(), nullable=False, server_default="0"))
        batch.create_foreign_key(
            "fk_comments_parent_id_comments", "comments", ["parent_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_comments_parent_id", ["parent_id"])
        batch.create_index("ix_comments_root_id", ["root_id"])
    with op.batch_alter_table("settings") as batch:
        batch.add_column(
            sa.Column("thread_depth", sa.Integer(), nullable=False, server_default="4")
        )


def downgrade() -> None:
    with op.batch_alter_table("settings") as batch:
        batch.drop_column("thread_depth")
    with op.batch_alter_table("comments") as batch:
        batch.drop_index("ix_comments_root_id")
        batch.drop_index("ix_comments_parent_id")
        batch.drop_constraint("fk_comments_parent_id_comments", type_="foreignkey")
        batch.drop_column("depth")
        batch.drop_column("root_id")
        batch.drop_column("parent_id")
