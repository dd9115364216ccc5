"""Authors may name their fediverse account, which their posts' pages credit in
<meta name="fediverse:creator"> (Mastodon's link-card byline). Optional: NULL for
every author until they set it on /manage/account.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("fediverse_creator", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("fediverse_creator")
