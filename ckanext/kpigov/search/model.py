"""The table that holds one search document per dataset (kpigov_pgsearch)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR

from ckan.model.meta import metadata

__all__ = ["search_doc_table"]

# Registered on CKAN's metadata so that CKAN's test helpers empty it along
# with the core tables; it is created only by the kpigov_pgsearch migration.
search_doc_table = sa.Table(
    "kpigov_search_doc",
    metadata,
    sa.Column("id", sa.UnicodeText, primary_key=True),
    sa.Column("site_id", sa.UnicodeText, nullable=False),
    sa.Column("name", sa.UnicodeText),
    sa.Column("title_string", sa.UnicodeText),
    sa.Column("title_text", sa.UnicodeText),
    sa.Column("metadata_created", sa.DateTime),
    sa.Column("metadata_modified", sa.DateTime),
    sa.Column("permission_labels", ARRAY(sa.UnicodeText)),
    sa.Column("fields", JSONB, nullable=False),
    sa.Column("search_text", sa.UnicodeText),
    sa.Column("tsv", TSVECTOR),
    sa.Column("doc", JSONB, nullable=False),
    sa.Column("data_dict", sa.UnicodeText),
    sa.Column("validated_data_dict", sa.UnicodeText),
    sa.Column("indexed_at", sa.DateTime, server_default=sa.func.now()),
    # Added by b7d4e91c5a20: small copies of fields used by every search.
    sa.Column("state", sa.UnicodeText),
    sa.Column("capacity", sa.UnicodeText),
    sa.Column("keywords", JSONB, nullable=False,
              server_default=sa.text("'{}'::jsonb")),
    extend_existing=True,
)
