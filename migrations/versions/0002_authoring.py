"""Authoring: old post addresses that redirect, change notes, moderation by post age.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "post_redirects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_post_redirects_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_redirects")),
        sa.UniqueConstraint("year", "month", "slug", name="uq_post_redirects_path"),
    )
    with op.batch_alter_table("post_redirects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_redirects_post_id"), ["post_id"], unique=False)

    # Existing posts get an empty note; the default stays in the model, not the table.
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_note", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.alter_column("change_note", server_default=None)

    with op.batch_alter_table("settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moderate_after_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("settings", schema=None) as batch_op:
        batch_op.drop_column("moderate_after_days")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("change_note")
    with op.batch_alter_table("post_redirects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_redirects_post_id"))
    op.drop_table("post_redirects")
