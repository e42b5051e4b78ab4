"""The agency's governance record, evidence, verifications and KPI snapshots.

Revision ID: d4f6b8c0e2a3
Revises: c3e5a7b9d1f2
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "d4f6b8c0e2a3"
down_revision = "c3e5a7b9d1f2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "kpigov_governance",
        sa.Column("id", sa.UnicodeText, primary_key=True),
        sa.Column("owner_org", sa.UnicodeText, nullable=False, index=True),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.Column("kind", sa.UnicodeText, nullable=False),
        sa.Column("data", JSONB, nullable=False, server_default="{}"),
        sa.Column("document_url", sa.UnicodeText),
        sa.Column("document_name", sa.UnicodeText),
        sa.Column("status", sa.UnicodeText, nullable=False, server_default="pending"),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.UnicodeText),
        sa.Column("modified", sa.DateTime, nullable=False),
        sa.Column("modified_by", sa.UnicodeText),
        sa.UniqueConstraint("owner_org", "fiscal_year", "kind",
                            name="kpigov_governance_org_fy_kind_key"),
    )
    op.create_table(
        "kpigov_stakeholder",
        sa.Column("id", sa.UnicodeText, primary_key=True),
        sa.Column("owner_org", sa.UnicodeText, nullable=False, index=True),
        sa.Column("role", sa.UnicodeText, nullable=False),
        sa.Column("name", sa.UnicodeText, nullable=False),
        sa.Column("position", sa.UnicodeText),
        sa.Column("agency", sa.UnicodeText),
        sa.Column("email", sa.UnicodeText),
        sa.Column("phone", sa.UnicodeText),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.UnicodeText),
    )
    op.create_table(
        "kpigov_evidence",
        sa.Column("id", sa.UnicodeText, primary_key=True),
        sa.Column("owner_org", sa.UnicodeText, nullable=False, index=True),
        sa.Column("package_id", sa.UnicodeText, nullable=False, index=True),
        sa.Column("evidence_type", sa.UnicodeText, nullable=False),
        sa.Column("kind", sa.UnicodeText, nullable=False),
        sa.Column("description", sa.UnicodeText, nullable=False),
        sa.Column("partner", sa.UnicodeText),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.Column("url", sa.UnicodeText),
        sa.Column("document_name", sa.UnicodeText),
        sa.Column("status", sa.UnicodeText, nullable=False, server_default="pending"),
        sa.Column("recorded_by", sa.UnicodeText),
        sa.Column("created", sa.DateTime, nullable=False),
    )
    op.create_table(
        "kpigov_verification",
        sa.Column("id", sa.UnicodeText, primary_key=True),
        sa.Column("object_type", sa.UnicodeText, nullable=False),
        sa.Column("object_id", sa.UnicodeText, nullable=False),
        sa.Column("owner_org", sa.UnicodeText, nullable=False),
        sa.Column("fiscal_year", sa.Integer),
        sa.Column("decision", sa.UnicodeText, nullable=False),
        sa.Column("comment", sa.UnicodeText),
        sa.Column("before", JSONB),
        sa.Column("after", JSONB),
        sa.Column("user_id", sa.UnicodeText),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("kpigov_verification_object_idx", "kpigov_verification",
                    ["object_type", "object_id", "at"])
    op.create_index("kpigov_verification_org_idx", "kpigov_verification",
                    ["owner_org", "fiscal_year"])
    op.create_table(
        "kpigov_snapshot",
        sa.Column("id", sa.UnicodeText, primary_key=True),
        sa.Column("owner_org", sa.UnicodeText, nullable=False),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.Column("quarter", sa.Integer, nullable=False),
        sa.Column("rubric_id", sa.UnicodeText, nullable=False),
        sa.Column("rubric_version", sa.UnicodeText, nullable=False),
        sa.Column("computed_at", sa.DateTime, nullable=False),
        sa.Column("result", JSONB, nullable=False),
        sa.UniqueConstraint("owner_org", "fiscal_year", "quarter",
                            name="kpigov_snapshot_org_fy_q_key"),
    )


def downgrade():
    for table in ("kpigov_snapshot", "kpigov_verification", "kpigov_evidence",
                  "kpigov_stakeholder", "kpigov_governance"):
        op.drop_table(table)
