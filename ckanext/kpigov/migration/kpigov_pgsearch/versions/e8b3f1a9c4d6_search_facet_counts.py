"""Facet counts kept up to date by the database (as Solr's field cache).

A browse-all search (``*:*``: /dataset/, the home page, the API without
``q``) asks for facet counts over every visible dataset. Aggregating the
keyword values of ~9,000 rows costs 100-150 ms however it is written. The
counts are therefore kept per *group* of datasets that such a search can
select: (site, state, capacity, dataset type, permission labels) x (field,
value) -> number of datasets. A browse-all search sums the groups it may see
(a few thousand small rows) instead of reading every dataset.

Writers never update a shared counter (that would serialise and could
deadlock concurrent dataset edits): statement-level triggers with
transition tables append the *change* of each statement to
``kpigov_search_facet_delta`` (insert only). kpigov_pgsearch folds the
deltas into ``kpigov_search_facet`` after commits, on its own connection,
one folder at a time (an advisory lock); readers sum both tables in one
statement, so they are right whether or not the fold has run. Field ''
(value '') counts the datasets themselves: the exact total.

Keyword values are also made distinct per dataset (a dataset with two CSV
resources counts once under CSV, as in Solr).

Revision ID: e8b3f1a9c4d6
Revises: d5a1c7e3f9b2
Create Date: 2026-11-25
"""
from alembic import op

revision = "e8b3f1a9c4d6"
down_revision = "d5a1c7e3f9b2"
branch_labels = None
depends_on = None

_DIMS = """site_id text NOT NULL, state text NOT NULL,
    capacity text NOT NULL, dataset_type text NOT NULL,
    labels text[] NOT NULL, field text NOT NULL, value text NOT NULL,
    n bigint NOT NULL"""


def _terms(rows: str, sign: int) -> str:
    """The (group, field, value, sign) terms of the documents in ``rows``."""
    return """
        SELECT r.site_id, COALESCE(r.state, '') AS state,
               COALESCE(r.capacity, '') AS capacity,
               COALESCE(r.keywords -> 'dataset_type' ->> 0, '') AS dataset_type,
               ARRAY(SELECT DISTINCT l FROM unnest(COALESCE(
                   r.permission_labels, '{}'::text[])) l ORDER BY l) AS labels,
               t.field, t.value, %d AS n
        FROM %s r CROSS JOIN LATERAL (
            SELECT '' AS field, '' AS value
            UNION
            SELECT k.key, v FROM jsonb_each(r.keywords) k,
                jsonb_array_elements_text(CASE WHEN jsonb_typeof(k.value)
                    = 'array' THEN k.value ELSE '[]'::jsonb END) v
            WHERE k.key <> 'name') t""" % (sign, rows)


_GROUP = "site_id, state, capacity, dataset_type, labels, field, value"


def upgrade():
    # distinct keyword values per dataset
    op.execute("""
        UPDATE kpigov_search_doc d SET keywords = x.kw FROM (
            SELECT d2.id, jsonb_object_agg(k.key, CASE
                WHEN jsonb_typeof(k.value) = 'array' THEN (
                    SELECT COALESCE(jsonb_agg(v ORDER BY o), '[]'::jsonb) FROM (
                        SELECT v, min(o) AS o FROM jsonb_array_elements_text(k.value)
                        WITH ORDINALITY e(v, o) GROUP BY v) u)
                ELSE k.value END) AS kw
            FROM kpigov_search_doc d2, jsonb_each(d2.keywords) k
            GROUP BY d2.id) x
        WHERE d.id = x.id AND d.keywords IS DISTINCT FROM x.kw""")
    op.execute("CREATE TABLE kpigov_search_facet (%s, PRIMARY KEY (%s))"
               % (_DIMS, _GROUP))
    op.execute("CREATE TABLE kpigov_search_facet_delta (%s)" % _DIMS)
    op.execute("""
        INSERT INTO kpigov_search_facet
        SELECT %s, sum(n) FROM (%s) t GROUP BY %s"""
               % (_GROUP, _terms("kpigov_search_doc", 1), _GROUP))
    op.execute("""
        CREATE OR REPLACE FUNCTION kpigov_search_facet_track() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO kpigov_search_facet_delta
                SELECT %(group)s, sum(n) FROM (%(new)s) t
                GROUP BY %(group)s;
            ELSIF TG_OP = 'DELETE' THEN
                INSERT INTO kpigov_search_facet_delta
                SELECT %(group)s, sum(n) FROM (%(old)s) t
                GROUP BY %(group)s;
            ELSIF TG_OP = 'UPDATE' THEN
                INSERT INTO kpigov_search_facet_delta
                SELECT %(group)s, sum(n) FROM (%(new)s UNION ALL %(old)s) t
                GROUP BY %(group)s HAVING sum(n) <> 0;
            ELSE
                DELETE FROM kpigov_search_facet;
                DELETE FROM kpigov_search_facet_delta;
            END IF;
            RETURN NULL;
        END $$""" % {"group": _GROUP, "new": _terms("new_docs", 1),
                     "old": _terms("old_docs", -1)})
    op.execute("""CREATE TRIGGER kpigov_search_facet_ins AFTER INSERT
        ON kpigov_search_doc REFERENCING NEW TABLE AS new_docs
        FOR EACH STATEMENT EXECUTE FUNCTION kpigov_search_facet_track()""")
    op.execute("""CREATE TRIGGER kpigov_search_facet_upd AFTER UPDATE
        ON kpigov_search_doc REFERENCING OLD TABLE AS old_docs
        NEW TABLE AS new_docs
        FOR EACH STATEMENT EXECUTE FUNCTION kpigov_search_facet_track()""")
    op.execute("""CREATE TRIGGER kpigov_search_facet_del AFTER DELETE
        ON kpigov_search_doc REFERENCING OLD TABLE AS old_docs
        FOR EACH STATEMENT EXECUTE FUNCTION kpigov_search_facet_track()""")
    op.execute("""CREATE TRIGGER kpigov_search_facet_trunc AFTER TRUNCATE
        ON kpigov_search_doc
        FOR EACH STATEMENT EXECUTE FUNCTION kpigov_search_facet_track()""")


def downgrade():
    for name in ("ins", "upd", "del", "trunc"):
        op.execute("DROP TRIGGER IF EXISTS kpigov_search_facet_%s "
                   "ON kpigov_search_doc" % name)
    op.execute("DROP FUNCTION IF EXISTS kpigov_search_facet_track()")
    op.execute("DROP TABLE IF EXISTS kpigov_search_facet_delta")
    op.execute("DROP TABLE IF EXISTS kpigov_search_facet")
