"""Spam rules in the settings, and a session version per author.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults fill the existing rows; the model keeps the defaults after that.
    with op.batch_alter_table("settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("moderation_links", sa.Integer(), nullable=False, server_default="2")
        )
        batch_op.add_column(
            sa.Column("moderation_words", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("blocked_words", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("hold_first_comment", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("settings", schema=None) as batch_op:
        for column in (
            "moderation_links",
            "moderation_words",
            "blocked_words",
            "hold_first_comment",
        ):
            batch_op.alter_column(column, server_default=None)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("session_version", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
    with op.batch_alter_table("settings", schema=None) as batch_op:
        for column in (
            "hold_first_comment",
            "blocked_words",
            "moderation_words",
            "moderation_links",
        ):
            batch_op.drop_column(column)
