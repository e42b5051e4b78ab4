"""Create the update ledger and the cadence history.

Revision ID: b7d2e4f6a8c0
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "b7d2e4f6a8c0"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "kpigov_ledger",
        sa.Column("id", sa.UnicodeText, primary_key=True),
        sa.Column("package_id", sa.UnicodeText, nullable=False),
        sa.Column("resource_id", sa.UnicodeText),
        sa.Column("user_id", sa.UnicodeText),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("kind", sa.UnicodeText, nullable=False),
        sa.Column("nature", sa.UnicodeText, nullable=False),
        sa.Column("source", sa.UnicodeText, nullable=False, server_default="api"),
        sa.Column("detail", JSONB, nullable=False, server_default="{}"),
    )
    op.create_index("kpigov_ledger_package_created_idx", "kpigov_ledger",
                    ["package_id", "created"])
    op.create_table(
        "kpigov_cadence_history",
        sa.Column("id", sa.UnicodeText, primary_key=True),
        sa.Column("package_id", sa.UnicodeText, nullable=False),
        sa.Column("user_id", sa.UnicodeText),
        sa.Column("changed", sa.DateTime, nullable=False),
        sa.Column("unit_from", sa.UnicodeText),
        sa.Column("interval_from", sa.Integer),
        sa.Column("unit_to", sa.UnicodeText),
        sa.Column("interval_to", sa.Integer),
    )
    op.create_index("kpigov_cadence_history_package_idx",
                    "kpigov_cadence_history", ["package_id", "changed"])


def downgrade():
    op.drop_table("kpigov_cadence_history")
    op.drop_table("kpigov_ledger")
