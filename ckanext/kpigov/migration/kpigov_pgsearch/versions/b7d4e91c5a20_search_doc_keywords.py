"""Small filter/facet columns on kpigov_search_doc: state, capacity, keywords.

``fields`` holds every indexed field, large text included, so it is usually
TOAST-compressed: reading it for the ``+capacity:public +state:(active)``
filters CKAN adds to every search, and for facet counts, meant decompressing
every matching row. ``state`` and ``capacity`` become plain columns and the
short keyword fields (see ``ckanext.kpigov.search.compiler.KEYWORD_FIELDS``)
a small ``keywords`` JSONB copy kept inline in the row.

Existing rows are filled from ``fields`` here, so no reindex is needed.

Revision ID: b7d4e91c5a20
Revises: a1f0c3e2b9d1
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "b7d4e91c5a20"
down_revision = "a1f0c3e2b9d1"
branch_labels = None
depends_on = None

# Frozen copy of compiler.KEYWORD_FIELDS / KEYWORD_PREFIXES at this revision
# (a migration must not change meaning when the code later does).
KEYWORD_FIELDS = (
    "state", "capacity", "organization", "owner_org", "groups", "tags",
    "res_format", "license_id", "dataset_type", "type", "name",
    "kpigov_freshness", "kpigov_cadence", "entity_type", "site_id",
    "private", "isopen", "num_resources", "num_tags", "res_type",
)
KEYWORD_PREFIXES = ("vocab_",)


def upgrade():
    op.add_column("kpigov_search_doc", sa.Column("state", sa.UnicodeText))
    op.add_column("kpigov_search_doc", sa.Column("capacity", sa.UnicodeText))
    op.add_column("kpigov_search_doc", sa.Column(
        "keywords", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")))
    # Keep keywords in the heap tuple (compressed inline if need be), never
    # moved out to the TOAST table.
    op.execute("ALTER TABLE kpigov_search_doc ALTER COLUMN keywords "
               "SET STORAGE MAIN")
    keys = ", ".join("'%s'" % k for k in KEYWORD_FIELDS)
    prefixes = " OR ".join("e.key LIKE '%s%%'" % p.replace("_", "\\_")
                           for p in KEYWORD_PREFIXES)
    op.execute(
        "UPDATE kpigov_search_doc SET "
        "state = fields -> 'state' ->> 0, "
        "capacity = fields -> 'capacity' ->> 0, "
        "keywords = COALESCE((SELECT jsonb_object_agg(e.key, e.value) "
        "FROM jsonb_each(fields) e WHERE e.key IN (%s) OR %s), '{}'::jsonb)"
        % (keys, prefixes))
    # permission_labels INCLUDEd: the exact total of a browse-all search
    # (site, state, capacity and labels only) is then an index-only scan.
    op.execute("CREATE INDEX kpigov_search_doc_state_idx ON kpigov_search_doc "
               "(site_id, state, capacity) INCLUDE (permission_labels)")
    op.execute("CREATE INDEX kpigov_search_doc_keywords_idx ON kpigov_search_doc "
               "USING gin (keywords jsonb_path_ops)")


def downgrade():
    op.drop_index("kpigov_search_doc_keywords_idx", "kpigov_search_doc")
    op.drop_index("kpigov_search_doc_state_idx", "kpigov_search_doc")
    op.drop_column("kpigov_search_doc", "keywords")
    op.drop_column("kpigov_search_doc", "capacity")
    op.drop_column("kpigov_search_doc", "state")
