"""Ledger entries carry the content they recorded: sha256 and size of the
uploaded file or DataStore records, and when an entry was withdrawn (its
resource deleted within the same period).

Existing portals: the latest upload entry of each resource gets the hash of
the file found in ``ckan.storage_path`` (files elsewhere, e.g. cloud storage,
are left unhashed: the next upload of such a resource counts as new data).

Revision ID: f6b0d2e4a8c5
Revises: f6b0d2e4a8c1
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "f6b0d2e4a8c5"
down_revision = "f6b0d2e4a8c1"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("kpigov_ledger", sa.Column("sha256", sa.UnicodeText))
    op.add_column("kpigov_ledger", sa.Column("size", sa.BigInteger))
    op.add_column("kpigov_ledger", sa.Column("withdrawn", sa.DateTime))
    op.create_index("kpigov_ledger_resource_idx", "kpigov_ledger", ["resource_id"])
    try:
        import ckan.plugins.toolkit as tk
        storage_path = tk.config.get("ckan.storage_path")
    except Exception:  # pragma: no cover - run outside CKAN
        storage_path = None
    from ckanext.kpigov.ledger import hash_stored_uploads
    hash_stored_uploads(op.get_bind(), storage_path)


def downgrade():
    op.drop_index("kpigov_ledger_resource_idx", table_name="kpigov_ledger")
    op.drop_column("kpigov_ledger", "withdrawn")
    op.drop_column("kpigov_ledger", "size")
    op.drop_column("kpigov_ledger", "sha256")
