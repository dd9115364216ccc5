"""A plan serves any number of strategies: only a strategy names its companion (its
plan), so pairing a strategy never unpairs another plan's. The two-way pairs kept so
far become one way: each strategy keeps (or takes, from the plan that named it) its
plan, and plans and other posts name none. No schema change.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A strategy that names no plan (or names something else) takes the plan that
    # named it, if any; the lowest id when, against the old rule, several did.
    op.execute(
        sa.text(
            "UPDATE posts SET companion_id = ("
            " SELECT min(plans.id) FROM posts AS plans"
            " WHERE plans.kind = 'plan' AND plans.companion_id = posts.id)"
            " WHERE kind = 'strategy' AND (companion_id IS NULL OR companion_id NOT IN"
            " (SELECT named.id FROM posts AS named WHERE named.kind = 'plan'))"
        )
    )
    op.execute(
        sa.text(
            "UPDATE posts SET companion_id = NULL"
            " WHERE kind <> 'strategy' AND companion_id IS NOT NULL"
        )
    )


def downgrade() -> None:
    # Two-way again: each plan names one of its strategies (the first); a plan's
    # other strategies keep naming it, as the old code would have left them.
    op.execute(
        sa.text(
            "UPDATE posts SET companion_id = ("
            " SELECT min(strategies.id) FROM posts AS strategies"
            " WHERE strategies.kind = 'strategy' AND strategies.companion_id = posts.id)"
            " WHERE kind = 'plan'"
        )
    )
