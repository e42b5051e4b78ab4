"""Indexes that serve CKAN's default sorts without sorting.

A browse-all search (``*:*``, the home page and /dataset/) is ordered by
``metadata_modified desc`` (``score`` is equal for every row), which the
compiler writes as ``metadata_modified DESC NULLS LAST, id``. The ascending
index of a1f0c3e2b9d1, read backwards, gives NULLS FIRST, so PostgreSQL
sorted every visible row to return 20. These match the ORDER BY exactly,
for the modified and the created date.

Revision ID: d5a1c7e3f9b2
Revises: c2e8f4a6b0d3
Create Date: 2026-11-25
"""
from alembic import op

revision = "d5a1c7e3f9b2"
down_revision = "c2e8f4a6b0d3"
branch_labels = None
depends_on = None


def upgrade():
    for column in ("metadata_modified", "metadata_created"):
        op.execute("CREATE INDEX IF NOT EXISTS kpigov_search_doc_%s_desc_idx "
                   "ON kpigov_search_doc (%s DESC NULLS LAST, id)" % (column, column))


def downgrade():
    for column in ("metadata_modified", "metadata_created"):
        op.execute("DROP INDEX IF EXISTS kpigov_search_doc_%s_desc_idx" % column)
