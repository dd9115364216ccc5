"""Series: a named run of posts in the authors' order ("Part 2 of 5").

`series` holds each series (its fixed address, its title and the description its author
wrote); `series_posts` gives a post its place in one series at most (the post's id is
its key). New tables only: `posts` is not rebuilt, so the full-text triggers of
revision 0005 stay as they are on SQLite.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import kmblog.models

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("description_source", sa.Text(), nullable=False),
        sa.Column("description_html", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", kmblog.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", kmblog.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_series_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series")),
        sa.UniqueConstraint("slug", name=op.f("uq_series_slug")),
    )
    op.create_index(op.f("ix_series_author_id"), "series", ["author_id"], unique=False)
    op.create_table(
        "series_posts",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_series_posts_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_series_posts_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_series_posts")),
    )
    op.create_index(
        "ix_series_posts_series_id_position",
        "series_posts",
        ["series_id", "position"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_series_posts_series_id_position", table_name="series_posts")
    op.drop_table("series_posts")
    op.drop_index(op.f("ix_series_author_id"), table_name="series")
    op.drop_table("series")
