"""A generation number for the search index: the result cache's key.

``kpigov_search_generation`` (a sequence: no row lock, so concurrent
writers never wait on each other) moves on after every statement that
changes ``kpigov_search_doc``, by a statement-level trigger (INSERT, UPDATE,
DELETE and TRUNCATE, whoever runs them). kpigov_pgsearch also moves it after
each commit that wrote documents, so that no answer computed while a write
was not yet visible is reused.

Revision ID: c2e8f4a6b0d3
Revises: b7d4e91c5a20
Create Date: 2026-11-25
"""
from alembic import op

revision = "c2e8f4a6b0d3"
down_revision = "b7d4e91c5a20"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE SEQUENCE IF NOT EXISTS kpigov_search_generation")
    op.execute("""
        CREATE OR REPLACE FUNCTION kpigov_search_bump() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM nextval('kpigov_search_generation');
            RETURN NULL;
        END $$""")
    op.execute("DROP TRIGGER IF EXISTS kpigov_search_doc_bump ON kpigov_search_doc")
    op.execute("""
        CREATE TRIGGER kpigov_search_doc_bump
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON kpigov_search_doc
        FOR EACH STATEMENT EXECUTE FUNCTION kpigov_search_bump()""")


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS kpigov_search_doc_bump ON kpigov_search_doc")
    op.execute("DROP FUNCTION IF EXISTS kpigov_search_bump()")
    op.execute("DROP SEQUENCE IF EXISTS kpigov_search_generation")
