"""Index the four foreign keys that had none, so that deleting a row never scans the
table that points at it.

Deleting a post made SQLite (and PostgreSQL) look for posts naming it as their
companion, and for notifications about it, by reading every row of both tables; a
comment, every mail event; a user, every comment. Emptying a blog of 60,000 posts took
longer than ten minutes; with these indexes each check is one lookup.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# (table, column): the index is ix_<table>_<column>, the name index=True gives.
CHILD_KEYS = [
    ("posts", "companion_id"),
    ("comments", "user_id"),
    ("mail_events", "comment_id"),
    ("notifications", "post_id"),
]


def upgrade() -> None:
    for table, column in CHILD_KEYS:
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    for table, column in CHILD_KEYS:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
