"""kpigov_dataset_life: when each dataset was active, and which deleted
dataset a re-created one continues.

Existing datasets: active ones are taken as active since their creation;
deleted ones as active from creation until their last modification; drafts
as never active, unless they already have ledger entries or a cadence
history (then since creation, as active ones).

Revision ID: f6b0d2e4a8c1
Revises: e5a9c1d3f7b4
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "f6b0d2e4a8c1"
down_revision = "e5a9c1d3f7b4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "kpigov_dataset_life",
        sa.Column("package_id", sa.UnicodeText, primary_key=True),
        sa.Column("name", sa.UnicodeText),
        sa.Column("owner_org", sa.UnicodeText),
        sa.Column("first_active", sa.DateTime),
        sa.Column("retired_at", sa.DateTime),
        sa.Column("predecessor_id", sa.UnicodeText),
        sa.Column("linked_by", sa.UnicodeText),
    )
    op.create_index("kpigov_dataset_life_org_idx", "kpigov_dataset_life",
                    ["owner_org", "name"])
    op.execute("""
        INSERT INTO kpigov_dataset_life (package_id, name, owner_org, first_active,
                                         retired_at)
        SELECT p.id, p.name, p.owner_org,
               CASE WHEN p.state IN ('active', 'deleted')
                      OR EXISTS (SELECT 1 FROM kpigov_ledger l WHERE l.package_id = p.id)
                      OR EXISTS (SELECT 1 FROM kpigov_cadence_history h
                                 WHERE h.package_id = p.id)
                    THEN p.metadata_created END,
               CASE WHEN p.state = 'deleted' THEN p.metadata_modified END
        FROM package p WHERE p.type = 'dataset'
        ON CONFLICT DO NOTHING""")


def downgrade():
    op.drop_table("kpigov_dataset_life")
