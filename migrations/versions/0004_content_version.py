"""A content version and time of last change, for caches and conditional GETs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("content_version", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("settings", schema=None) as batch_op:
        batch_op.alter_column("content_version", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("settings", schema=None) as batch_op:
        batch_op.drop_column("changed_at")
        batch_op.drop_column("content_version")
