"""Public revision history (issue 18): every published change to a post is kept in
post_revisions, and posts.revised_at dates the post's "Updated" line.

Every post published before this migration gets its current text as revision 1 here,
dated when it was last changed, with its change note: the history readers see starts
from what they can read today. (Posts published later by the Blogger importer, which
writes rows directly, get theirs when first edited: kmblog/manage/services.py.)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from kmblog.models import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not batch_alter_table: rebuilding posts on SQLite would drop its search triggers
    # (0005); SQLite adds and drops a plain column in place.
    op.add_column("posts", sa.Column("revised_at", UTCDateTime(), nullable=True))
    op.create_table(
        "post_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body_source", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("typo", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_post_revisions_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_post_revisions_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_revisions")),
        sa.UniqueConstraint("post_id", "number", name="uq_post_revisions_post_id_number"),
    )
    op.create_index(op.f("ix_post_revisions_author_id"), "post_revisions", ["author_id"])
    # The unique (post_id, number) index serves a post's history; no other on post_id.

    # Revision 1 for every published post, in one statement on both databases.
    posts = sa.table(
        "posts",
        sa.column("id", sa.Integer()),
        sa.column("title", sa.String()),
        sa.column("body_source", sa.Text()),
        sa.column("body_html", sa.Text()),
        sa.column("summary", sa.Text()),
        sa.column("change_note", sa.Text()),
        sa.column("author_id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("published_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    revisions = sa.table(
        "post_revisions",
        *(
            sa.column(name)
            for name in (
                "post_id",
                "number",
                "title",
                "body_source",
                "body_html",
                "summary",
                "note",
                "typo",
                "author_id",
                "created_at",
            )
        ),
    )
    # Seen from the later of its publication and its last change (a scheduled post:
    # from its publish time). Both stored as UTC, so they compare on both databases.
    seen_from = sa.case(
        (posts.c.updated_at > posts.c.published_at, posts.c.updated_at),
        else_=posts.c.published_at,
    )
    op.execute(
        revisions.insert().from_select(
            [c.name for c in revisions.c],
            sa.select(
                posts.c.id,
                sa.literal(1),
                posts.c.title,
                posts.c.body_source,
                posts.c.body_html,
                posts.c.summary,
                posts.c.change_note,
                sa.false(),
                posts.c.author_id,
                seen_from,
            ).where(posts.c.status == "published", posts.c.published_at.is_not(None)),
        )
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_post_revisions_author_id"), table_name="post_revisions")
    op.drop_table("post_revisions")
    op.drop_column("posts", "revised_at")
