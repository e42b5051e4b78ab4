"""Create kpigov_search_doc, the PostgreSQL search index.

Revision ID: a1f0c3e2b9d1
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR

revision = "a1f0c3e2b9d1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    # pg_trgm finds Thai words inside unsegmented text (no spaces between
    # words); it is a trusted extension, so the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "kpigov_search_doc",
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
    )
    op.execute("CREATE INDEX kpigov_search_doc_fields_idx ON kpigov_search_doc "
               "USING gin (fields jsonb_path_ops)")
    op.execute("CREATE INDEX kpigov_search_doc_tsv_idx ON kpigov_search_doc "
               "USING gin (tsv)")
    op.execute("CREATE INDEX kpigov_search_doc_trgm_idx ON kpigov_search_doc "
               "USING gin (search_text gin_trgm_ops)")
    op.execute("CREATE INDEX kpigov_search_doc_labels_idx ON kpigov_search_doc "
               "USING gin (permission_labels)")
    op.create_index("kpigov_search_doc_modified_idx", "kpigov_search_doc",
                    ["metadata_modified"])
    op.create_index("kpigov_search_doc_title_idx", "kpigov_search_doc",
                    ["title_string"])


def downgrade():
    op.drop_table("kpigov_search_doc")
