"""Blocked fediverse servers and actors (an admin's list, kmblog/federation).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import kmblog.models

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "domain",
                "actor",
                name="block_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=2000), nullable=False),
        sa.Column("created_at", kmblog.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_blocks")),
        sa.UniqueConstraint("kind", "value", name="uq_federation_blocks_kind_value"),
    )


def downgrade() -> None:
    op.drop_table("federation_blocks")
