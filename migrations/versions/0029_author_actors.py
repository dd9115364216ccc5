"""Authors as fediverse actors of their own (kmblog/federation): whether an author turned
theirs on, whom each follower follows (the blog or an author), and which actor's key
signs each delivery; a post's events keep its author (a deleted post's Delete goes out
from the author's actor too, after the post's row is gone).

A server may follow the blog and an author both: a follower is one remote actor and one
local actor ("blog", or "user:<id>"), no longer one row per remote actor.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("fediverse_actor", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("followers") as batch:
        batch.add_column(
            sa.Column("local_actor", sa.String(length=64), nullable=False, server_default="blog")
        )
        batch.drop_constraint("uq_followers_actor_id", type_="unique")
        batch.create_unique_constraint(
            "uq_followers_actor_id_local_actor", ["actor_id", "local_actor"]
        )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column("signer", sa.String(length=64), nullable=False, server_default="blog")
        )
    with op.batch_alter_table("federation_events") as batch:
        batch.add_column(sa.Column("author_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("federation_events") as batch:
        batch.drop_column("author_id")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("signer")
    # Follows of authors have no place in the old table.
    op.execute(sa.text("DELETE FROM followers WHERE local_actor != 'blog'"))
    with op.batch_alter_table("followers") as batch:
        batch.drop_constraint("uq_followers_actor_id_local_actor", type_="unique")
        batch.create_unique_constraint("uq_followers_actor_id", ["actor_id"])
        batch.drop_column("local_actor")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("fediverse_actor")
