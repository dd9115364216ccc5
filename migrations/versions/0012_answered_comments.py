"""Comments know whether they have been answered, so that a top-level comment removed
after a reply keeps its thread on the post page (as a placeholder).

A post page walks its published top-level comments on ix_comments_post_id_status_
created_at. The few removed ones that still head a thread with published replies are
found on their own index, (post_id, replied, status, created_at): the walk never reads
a post's spam or deleted comments that nobody answered, however many there are.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.add_column(
            sa.Column("replied", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    comments = sa.table(
        "comments",
        sa.column("id", sa.Integer),
        sa.column("parent_id", sa.Integer),
        sa.column("replied", sa.Boolean),
    )
    replies = comments.alias("replies")
    op.execute(
        comments.update()
        .where(
            comments.c.id.in_(sa.select(replies.c.parent_id).where(replies.c.parent_id.isnot(None)))
        )
        .values(replied=True)
    )
    op.create_index(
        "ix_comments_post_id_replied_status_created_at",
        "comments",
        ["post_id", "replied", "status", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_comments_post_id_replied_status_created_at", table_name="comments")
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("replied")
