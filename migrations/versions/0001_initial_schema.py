"""Initial schema: authors, posts, labels, comments and the one settings row.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("name", name=op.f("uq_labels_name")),
        sa.UniqueConstraint("slug", name=op.f("uq_labels_slug")),
    )
    op.create_table(
        "settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("about", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("posts_per_page", sa.Integer(), nullable=False),
        sa.Column("items_per_feed", sa.Integer(), nullable=False),
        sa.Column(
            "comment_policy",
            sa.Enum(
                "open",
                "moderated",
                "closed",
                name="comment_policy",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("atom_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column(
            "role",
            sa.Enum(
                "admin", "author", name="role", native_enum=False, create_constraint=True, length=16
            ),
            nullable=False,
        ),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("month", sa.Integer(), nullable=True),
        sa.Column("body_source", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                name="post_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "article",
                "plan",
                "strategy",
                name="post_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comments_open", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("companion_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_posts_author_id_users")),
        sa.ForeignKeyConstraint(
            ["companion_id"],
            ["posts.id"],
            name=op.f("fk_posts_companion_id_posts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("year", "month", "slug", name="uq_posts_year_month_slug"),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_posts_author_id"), ["author_id"], unique=False)
        batch_op.create_index(
            "ix_posts_status_published_at_id", ["status", "published_at", "id"], unique=False
        )
        batch_op.create_index("ix_posts_year_month", ["year", "month"], unique=False)

    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("author_url", sa.String(length=2000), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("body_source", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "published",
                "pending",
                "spam",
                "deleted",
                name="comment_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_comments_post_id_posts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_comments_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_comments_post_id_status_created_at",
            ["post_id", "status", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_comments_status_created_at", ["status", "created_at"], unique=False
        )

    op.create_table(
        "post_labels",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["label_id"],
            ["labels.id"],
            name=op.f("fk_post_labels_label_id_labels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_post_labels_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("post_id", "label_id", name=op.f("pk_post_labels")),
    )
    with op.batch_alter_table("post_labels", schema=None) as batch_op:
        batch_op.create_index(
            "ix_post_labels_label_id_post_id", ["label_id", "post_id"], unique=False
        )

    # The blog has exactly one settings row; its Atom id is made once, here, and never
    # changes, so that feed readers keep recognising the blog's entries.
    settings = sa.table(
        "settings",
        sa.column("id", sa.Integer),
        sa.column("title", sa.String),
        sa.column("description", sa.String),
        sa.column("about", sa.Text),
        sa.column("timezone", sa.String),
        sa.column("posts_per_page", sa.Integer),
        sa.column("items_per_feed", sa.Integer),
        sa.column("comment_policy", sa.String),
        sa.column("atom_id", sa.String),
    )
    op.bulk_insert(
        settings,
        [
            {
                "id": 1,
                "title": "A Knowledge Management Blog",
                "description": "Notes on planning and running knowledge management.",
                "about": "",
                "timezone": "UTC",
                "posts_per_page": 5,
                "items_per_feed": 25,
                "comment_policy": "open",
                "atom_id": f"tag:kmblog,{datetime.now(UTC).year}:blog-{secrets.randbelow(10**18)}",
            }
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("post_labels", schema=None) as batch_op:
        batch_op.drop_index("ix_post_labels_label_id_post_id")

    op.drop_table("post_labels")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_status_created_at")
        batch_op.drop_index("ix_comments_post_id_status_created_at")

    op.drop_table("comments")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_year_month")
        batch_op.drop_index("ix_posts_status_published_at_id")
        batch_op.drop_index(batch_op.f("ix_posts_author_id"))

    op.drop_table("posts")
    op.drop_table("users")
    op.drop_table("settings")
    op.drop_table("labels")
