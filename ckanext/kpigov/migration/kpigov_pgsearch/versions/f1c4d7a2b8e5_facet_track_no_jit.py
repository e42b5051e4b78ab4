"""The facet-count trigger runs without PostgreSQL's JIT compiler.

The planner cannot know how many rows a transition table holds and
estimates the trigger's aggregate far above ``jit_above_cost``; JIT then
spent ~0.5 s compiling for every statement that wrote documents (a one
dataset edit as much as a 100-document batch), where the aggregate itself
takes a few milliseconds.

Revision ID: f1c4d7a2b8e5
Revises: e8b3f1a9c4d6
Create Date: 2026-11-26
"""
from alembic import op

revision = "f1c4d7a2b8e5"
down_revision = "e8b3f1a9c4d6"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER FUNCTION kpigov_search_facet_track() SET jit = off")


def downgrade():
    op.execute("ALTER FUNCTION kpigov_search_facet_track() RESET jit")
