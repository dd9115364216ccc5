"""ActivityPub (kmblog/federation): the blog's keypair, remote actors and followers,
post events and their deliveries, inbound activities already seen (replays), comments
that came from the fediverse, and likes and boosts of posts.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import kmblog.models

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbox", sa.String(length=2000), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "delivered",
                "failed",
                name="delivery_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", kmblog.models.UTCDateTime(), nullable=False),
        sa.Column("finished_at", kmblog.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_status_created_at", ["status", "created_at"], unique=False
        )

    op.create_table(
        "federation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "create",
                "update",
                "delete",
                name="federation_event_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("due_at", kmblog.models.UTCDateTime(), nullable=False),
        sa.Column("created_at", kmblog.models.UTCDateTime(), nullable=False),
        sa.Column("processed_at", kmblog.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_events")),
    )
    with op.batch_alter_table("federation_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_federation_events_processed_at_due_at", ["processed_at", "due_at"], unique=False
        )

    op.create_table(
        "federation_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", kmblog.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_keys")),
        sa.UniqueConstraint("owner", name=op.f("uq_federation_keys_owner")),
    )
    op.create_table(
        "remote_actors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(length=2000), nullable=False),
        sa.Column("inbox", sa.String(length=2000), nullable=False),
        sa.Column("shared_inbox", sa.String(length=2000), nullable=True),
        sa.Column("key_id", sa.String(length=2000), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("fetched_at", kmblog.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remote_actors")),
        sa.UniqueConstraint("uri", name=op.f("uq_remote_actors_uri")),
    )
    op.create_table(
        "seen_activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("seen_at", kmblog.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seen_activities")),
        sa.UniqueConstraint("key", name=op.f("uq_seen_activities_key")),
    )
    with op.batch_alter_table("seen_activities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seen_activities_seen_at"), ["seen_at"], unique=False)

    op.create_table(
        "followers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("follow_uri", sa.String(length=2000), nullable=False),
        sa.Column("created_at", kmblog.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["remote_actors.id"],
            name=op.f("fk_followers_actor_id_remote_actors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followers")),
        sa.UniqueConstraint("actor_id", name=op.f("uq_followers_actor_id")),
    )
    op.create_table(
        "reactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "like",
                "announce",
                name="reaction_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("activity_uri", sa.String(length=2000), nullable=False),
        sa.Column("actor_uri", sa.String(length=2000), nullable=False),
        sa.Column("created_at", kmblog.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_reactions_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reactions")),
        sa.UniqueConstraint("activity_uri", name=op.f("uq_reactions_activity_uri")),
    )
    with op.batch_alter_table("reactions", schema=None) as batch_op:
        batch_op.create_index("ix_reactions_post_id_kind", ["post_id", "kind"], unique=False)

    op.create_table(
        "fediverse_comments",
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("note_uri", sa.String(length=2000), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["remote_actors.id"],
            name=op.f("fk_fediverse_comments_actor_id_remote_actors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("fk_fediverse_comments_comment_id_comments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("comment_id", name=op.f("pk_fediverse_comments")),
        sa.UniqueConstraint("note_uri", name=op.f("uq_fediverse_comments_note_uri")),
    )
    with op.batch_alter_table("fediverse_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fediverse_comments_actor_id"), ["actor_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("fediverse_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fediverse_comments_actor_id"))

    op.drop_table("fediverse_comments")
    with op.batch_alter_table("reactions", schema=None) as batch_op:
        batch_op.drop_index("ix_reactions_post_id_kind")

    op.drop_table("reactions")
    op.drop_table("followers")
    with op.batch_alter_table("seen_activities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seen_activities_seen_at"))

    op.drop_table("seen_activities")
    op.drop_table("remote_actors")
    op.drop_table("federation_keys")
    with op.batch_alter_table("federation_events", schema=None) as batch_op:
        batch_op.drop_index("ix_federation_events_processed_at_due_at")

    op.drop_table("federation_events")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_status_created_at")

    op.drop_table("deliveries")
