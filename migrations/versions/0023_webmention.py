"""Webmention and Pingback (kmblog/federation): mentions received from other sites,
Webmentions to send, and where a comment came from.

`comments.origin` says how a comment arrived (the form, a Webmention reply, the
fediverse) and `origin_url` the address of the reply on its own site. Plain ADD COLUMN,
no batch mode, as in 0017 (a batch rebuild of `comments` on SQLite would copy every
comment); SQLite accepts a CHECK on an added column.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import kmblog.models

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def _check(table: str, column: str, name: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{name}"))


STATUSES = ("published", "pending", "spam", "deleted")


def upgrade() -> None:
    op.add_column(
        "comments",
        sa.Column(
            "origin",
            sa.String(length=16),
            _check("comments", "origin", "comment_origin", ("form", "webmention", "fediverse")),
            nullable=False,
            server_default="form",
        ),
    )
    op.add_column("comments", sa.Column("origin_url", sa.String(length=2000), nullable=True))
    op.create_table(
        "webmentions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("target", sa.String(length=1000), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("author_url", sa.String(length=2000), nullable=False),
        sa.Column("author_photo", sa.String(length=2000), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", kmblog.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", kmblog.models.UTCDateTime(), nullable=False),
        sa.Column("verified_at", kmblog.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        _check("webmentions", "protocol", "mention_protocol", ("webmention", "pingback")),
        _check("webmentions", "kind", "mention_kind", ("reply", "like", "repost", "mention")),
        _check(
            "webmentions", "state", "mention_state", ("received", "verified", "refused", "gone")
        ),
        _check("webmentions", "status", "mention_status", STATUSES),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_webmentions_post_id_posts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("fk_webmentions_comment_id_comments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webmentions")),
        sa.UniqueConstraint("post_id", "source", name="uq_webmentions_post_id_source"),
    )
    op.create_index(op.f("ix_webmentions_comment_id"), "webmentions", ["comment_id"], unique=False)
    op.create_index(
        "ix_webmentions_post_id_state_status",
        "webmentions",
        ["post_id", "state", "status"],
        unique=False,
    )
    op.create_index(
        "ix_webmentions_state_updated_at", "webmentions", ["state", "updated_at"], unique=False
    )
    op.create_table(
        "outgoing_webmentions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("target", sa.String(length=1000), nullable=False),
        sa.Column("due_at", kmblog.models.UTCDateTime(), nullable=False),
        sa.Column("claimed_at", kmblog.models.UTCDateTime(), nullable=True),
        sa.Column("sent_at", kmblog.models.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=2000), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_outgoing_webmentions_post_id_posts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_webmentions")),
        sa.UniqueConstraint("source", "target", name="uq_outgoing_webmentions_source_target"),
    )
    op.create_index(
        op.f("ix_outgoing_webmentions_post_id"), "outgoing_webmentions", ["post_id"], unique=False
    )
    op.create_index(
        "ix_outgoing_webmentions_sent_at_due_at",
        "outgoing_webmentions",
        ["sent_at", "due_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_outgoing_webmentions_sent_at_due_at", table_name="outgoing_webmentions")
    op.drop_index(op.f("ix_outgoing_webmentions_post_id"), table_name="outgoing_webmentions")
    op.drop_table("outgoing_webmentions")
    op.drop_index("ix_webmentions_state_updated_at", table_name="webmentions")
    op.drop_index("ix_webmentions_post_id_state_status", table_name="webmentions")
    op.drop_index(op.f("ix_webmentions_comment_id"), table_name="webmentions")
    op.drop_table("webmentions")
    op.drop_column("comments", "origin_url")
    op.drop_column("comments", "origin")
