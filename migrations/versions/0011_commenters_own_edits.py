"""Commenters may edit their own comments for a while: when a comment was last edited
(shown as "edited"), and how long after posting its commenter may still change it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("settings") as batch:
        batch.add_column(
            sa.Column("edit_window_minutes", sa.Integer(), nullable=False, server_default="15")
        )


def downgrade() -> None:
    with op.batch_alter_table("settings") as batch:
        batch.drop_column("edit_window_minutes")
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("edited_at")
