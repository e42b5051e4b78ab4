"""An index on package (owner_org, state).

CKAN's package table has no index on owner_org (CKAN finds an
organization's datasets through the search index). kpigov reads an
organization's datasets from the database on every Compliance, Governance
and KPI page and for each organization's score: the ledger stamps, cadence
history, exemptions and the dataset list each joined ``package`` by
``owner_org`` with a sequential scan (≈ 5 ms each at 10,000 datasets).
Only an index is added; CKAN's tables are otherwise untouched.

Revision ID: e5a9c1d3f7b4
Revises: d4f6b8c0e2a3
Create Date: 2026-11-26
"""
from alembic import op

revision = "e5a9c1d3f7b4"
down_revision = "d4f6b8c0e2a3"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE INDEX IF NOT EXISTS kpigov_package_owner_org_idx "
               "ON package (owner_org, state)")


def downgrade():
    op.execute("DROP INDEX IF EXISTS kpigov_package_owner_org_idx")
