"""`ckan kpigov search-rebuild`: the index rebuilt by several processes is
the index CKAN's one-process rebuild makes, facet counts included."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckan.cli.cli import ckan
from ckan.lib import search

from ckanext.kpigov.search import backend

COLUMNS = ("id, name, title_string, permission_labels, state, capacity, keywords, "
           "search_text, tsv::text, metadata_modified")


def _documents():
    model.Session.commit()
    rows = model.Session.execute(sa.text(
        "SELECT %s FROM kpigov_search_doc ORDER BY id" % COLUMNS)).fetchall()
    facets = model.Session.execute(sa.text(
        "SELECT site_id, state, capacity, dataset_type, labels, field, value, sum(n) "
        "FROM (SELECT * FROM kpigov_search_facet UNION ALL "
        "SELECT * FROM kpigov_search_facet_delta) f "
        "GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7"
    )).fetchall()
    model.Session.commit()
    return [tuple(r) for r in rows], [tuple(r) for r in facets]


def _empty_index():
    model.Session.commit()
    with model.meta.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM kpigov_search_doc"))


@pytest.fixture
def site():
    org = factories.Organization()
    for i in range(7):
        factories.Dataset(owner_org=org["id"], title="ข้อมูลน้ำท่วม %d" % i,
                          private=(i == 3), tags=[{"name": "t%d" % (i % 3)}],
                          resources=[{"url": "http://x/%d.csv" % i, "format": "CSV"}])
    return org


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestParallelRebuild:
    def test_two_workers_rebuild_the_same_index(self, site, cli):
        search.rebuild(quiet=True)
        expected = _documents()
        assert len(expected[0]) == 7
        _empty_index()
        assert _documents()[0] == []
        out = cli.invoke(ckan, ["kpigov", "search-rebuild", "--workers", "2",
                                "--batch", "2"])
        assert out.exit_code == 0, out.output
        assert "datasets: 7, indexed: 7, failed: 0, documents: 7, 2 workers" in out.output
        assert _documents() == expected
        backend._CACHE.clear()
        result = helpers.call_action("package_search", q="น้ำท่วม",
                                     context={"user": "", "ignore_auth": False})
        assert result["count"] == 6  # the private one stays hidden

    def test_clear_drops_documents_of_datasets_that_are_gone(self, site, cli):
        with model.meta.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO kpigov_search_doc (id, site_id, fields, doc, keywords, state) "
                "VALUES ('ghost', :site, '{}', '{}', '{}', 'active')"),
                {"site": backend._site_id()})
        out = cli.invoke(ckan, ["kpigov", "search-rebuild", "-w", "2", "--clear"])
        assert out.exit_code == 0, out.output
        ids = [r[0] for r in _documents()[0]]
        assert "ghost" not in ids and len(ids) == 7

    def test_a_failing_dataset_stops_or_is_listed_with_force(self, site, cli, monkeypatch):
        bad = model.Session.query(model.Package).filter_by(title="ข้อมูลน้ำท่วม 5").one().id
        original = backend.PgPackageSearchIndex._build_doc

        def broken(self, pkg_dict):
            if pkg_dict and pkg_dict["id"] == bad:
                raise ValueError("broken dataset")
            return original(self, pkg_dict)
        monkeypatch.setattr(backend.PgPackageSearchIndex, "_build_doc", broken)
        _empty_index()
        out = cli.invoke(ckan, ["kpigov", "search-rebuild", "-w", "1"])
        assert out.exit_code != 0
        assert "broken dataset" in out.output and "--force" in out.output
        assert "Traceback" not in out.output
        out = cli.invoke(ckan, ["kpigov", "search-rebuild", "-w", "2", "--batch", "3",
                                "--force"])
        assert out.exit_code == 0, out.output
        assert "failed: %s" % bad in out.output
        assert "indexed: 6, failed: 1, documents: 6" in out.output


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestDeferredWrites:
    """CKAN's `search-index rebuild` indexes with defer_commit: documents
    are written several per statement, before the commit and before any
    search, and forgotten on rollback."""

    def test_a_deferred_reindex_writes_in_batches(self, site, monkeypatch):
        search.rebuild(quiet=True)
        expected = _documents()
        _empty_index()
        monkeypatch.setattr(backend, "_BATCH", 3)
        inserts = []

        def seen(conn, cursor, statement, *args):
            if statement.startswith("INSERT INTO kpigov_search_doc"):
                inserts.append(statement)
        sa.event.listen(model.meta.engine, "before_cursor_execute", seen)
        try:
            search.rebuild(quiet=True, defer_commit=True)
        finally:
            sa.event.remove(model.meta.engine, "before_cursor_execute", seen)
        assert len(inserts) == 3  # 7 documents, 3 per statement
        assert _documents() == expected

    def test_kept_documents_are_searched_and_dropped_on_rollback(self, site):
        _empty_index()
        index = search.index_for(model.Package)
        first, second = model.Session.query(model.Package).order_by(
            model.Package.title).limit(2).all()
        show = {"ignore_auth": True, "use_cache": False, "validate": False}
        index.update_dict(helpers.call_action("package_show", show, id=first.id), True)
        backend._CACHE.clear()
        found = helpers.call_action("package_search", fq="name:%s" % first.name,
                                    context={"user": "", "ignore_auth": True})
        assert found["count"] == 1  # written before the search ran
        model.Session.commit()
        index.update_dict(helpers.call_action("package_show", show, id=second.id), True)
        model.Session.rollback()
        model.Session.commit()
        ids = [r[0] for r in _documents()[0]]
        assert ids == [first.id]
