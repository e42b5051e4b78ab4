"""Exemptions (with their log) and sent reminders.

Revision ID: c3e5a7b9d1f2
Revises: b7d2e4f6a8c0
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "c3e5a7b9d1f2"
down_revision = "b7d2e4f6a8c0"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "kpigov_exemption",
        sa.Column("id", sa.UnicodeText, primary_key=True),
        sa.Column("package_id", sa.UnicodeText, nullable=False, index=True),
        sa.Column("owner_org", sa.UnicodeText, index=True),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("reason", sa.UnicodeText, nullable=False),
        sa.Column("note", sa.UnicodeText),
        sa.Column("status", sa.UnicodeText, nullable=False, server_default="pending"),
        sa.Column("requested_by", sa.UnicodeText),
        sa.Column("requested_at", sa.DateTime, nullable=False),
        sa.Column("decided_by", sa.UnicodeText),
        sa.Column("decided_at", sa.DateTime),
        sa.Column("comment", sa.UnicodeText),
        sa.Column("expires_at", sa.DateTime),
    )
    op.create_table(
        "kpigov_exemption_log",
        sa.Column("id", sa.UnicodeText, primary_key=True),
        sa.Column("exemption_id", sa.UnicodeText, nullable=False, index=True),
        sa.Column("user_id", sa.UnicodeText),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("action", sa.UnicodeText, nullable=False),
        sa.Column("status_before", sa.UnicodeText),
        sa.Column("status_after", sa.UnicodeText),
        sa.Column("comment", sa.UnicodeText),
    )
    op.create_table(
        "kpigov_reminder",
        sa.Column("package_id", sa.UnicodeText, primary_key=True),
        sa.Column("period_key", sa.UnicodeText, primary_key=True),
        sa.Column("kind", sa.UnicodeText, primary_key=True),
        sa.Column("sent_at", sa.DateTime, nullable=False),
        sa.Column("recipients", sa.UnicodeText),
    )


def downgrade():
    op.drop_table("kpigov_reminder")
    op.drop_table("kpigov_exemption_log")
    op.drop_table("kpigov_exemption")
