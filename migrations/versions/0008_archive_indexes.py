"""Archive pages walk an index in date order instead of sorting a month's posts.

A month's page looked its posts up by (year, month), then read and sorted every one of
them for the newest ten: 823 posts a month on the huge benchmark blog, which made the
page cost twice what it does on a small blog. These indexes hold the month's (or the
year's) visible posts in publication order, so the page reads ten entries whatever the
month holds. The month index starts with (year, month) and so also serves what the old
ix_posts_year_month did (the sidebar's counts per month).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_posts_year_month_status_published_at_id",
        "posts",
        ["year", "month", "status", "published_at", "id"],
    )
    op.create_index(
        "ix_posts_year_status_published_at_id", "posts", ["year", "status", "published_at", "id"]
    )
    op.drop_index("ix_posts_year_month", table_name="posts")


def downgrade() -> None:
    op.create_index("ix_posts_year_month", "posts", ["year", "month"])
    op.drop_index("ix_posts_year_status_published_at_id", table_name="posts")
    op.drop_index("ix_posts_year_month_status_published_at_id", table_name="posts")
