"""Browse-all totals and facet counts served from kpigov_search_facet
(migration e8b3f1a9c4d6) must equal the counts aggregated from the
documents, for every user, after every kind of write, whoever makes it."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckan.common import config

from ckanext.kpigov.search import backend

FACETS = ('["organization", "groups", "tags", "res_format", "license_id", '
          '"kpigov_freshness", "capacity"]')


def _search(user=None, **kw):
    ctx = {"user": user["name"] if user else "", "ignore_auth": False}
    kw.setdefault("facet.field", FACETS)
    kw.setdefault("facet.limit", -1)
    return helpers.call_action("package_search", context=ctx, **kw)


def _statements(fn):
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        seen.append(statement)
    sa.event.listen(model.meta.engine, "before_cursor_execute", listen)
    try:
        result = fn()
    finally:
        sa.event.remove(model.meta.engine, "before_cursor_execute", listen)
    return result, seen


def _both(monkeypatch, user=None, **kw):
    """(from the kept counts, aggregated from the documents), each checked
    to have taken its path."""
    backend._CACHE.clear()
    monkeypatch.setitem(config, "ckanext.kpigov.search.facet_counts", True)
    fast, sql = _statements(lambda: _search(user, **kw))
    assert any("FROM kpigov_search_facet " in s for s in sql)
    assert not any("count(*)" in s and "kpigov_search_doc" in s for s in sql)
    monkeypatch.setitem(config, "ckanext.kpigov.search.facet_counts", False)
    slow, sql = _statements(lambda: _search(user, **kw))
    assert not any("kpigov_search_facet" in s for s in sql)
    return fast, slow


def _same(monkeypatch, user=None, **kw):
    fast, slow = _both(monkeypatch, user, **kw)
    assert fast["count"] == slow["count"]
    assert fast["facets"] == slow["facets"]
    assert [d["name"] for d in fast["results"]] == [d["name"] for d in slow["results"]]
    return fast


@pytest.fixture
def site():
    backend._CACHE.clear()
    owner = factories.User()
    other = factories.User()
    org = factories.Organization(name="fc-org", title="สำนักอนามัย", users=[
        {"name": owner["name"], "capacity": "editor"}])
    org2 = factories.Organization(name="fc-org2", users=[
        {"name": other["name"], "capacity": "admin"}])
    group = factories.Group(name="fc-group")
    for i in range(4):
        factories.Dataset(
            name="fc-%d" % i, title="ข้อมูล %d" % i, owner_org=org["id"],
            groups=[{"name": group["name"]}] if i % 2 else [],
            tags=[{"name": "elderly"}, {"name": "t%d" % (i % 2)}],
            license_id="cc-by",
            # two CSV resources: the dataset counts once under CSV
            resources=[{"url": "http://x/%d.csv" % i, "format": "CSV"},
                       {"url": "http://x/%d-b.csv" % i, "format": "CSV"}])
    factories.Dataset(name="fc-private", owner_org=org["id"], private=True,
                      tags=[{"name": "secret-tag"}],
                      resources=[{"url": "http://x/p.pdf", "format": "PDF"}])
    factories.Dataset(name="fc-other", owner_org=org2["id"], private=True,
                      tags=[{"name": "other-secret"}])
    return {"owner": owner, "other": other, "org": org, "org2": org2}


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestFacetCounts:
    def test_every_user_gets_the_counts_of_what_they_may_see(self, site, monkeypatch):
        anon = _same(monkeypatch)
        assert anon["count"] == 4
        assert anon["facets"]["res_format"] == {"CSV": 4}
        assert anon["facets"]["tags"] == {"elderly": 4, "t0": 2, "t1": 2}
        assert anon["facets"]["groups"] == {"fc-group": 2}
        member = _same(monkeypatch, site["owner"], include_private=True)
        assert member["count"] == 5
        assert member["facets"]["tags"]["secret-tag"] == 1
        assert "other-secret" not in member["facets"]["tags"]
        admin = factories.Sysadmin()
        everything = _same(monkeypatch, admin, include_private=True)
        assert everything["count"] == 6
        assert everything["facets"]["tags"]["other-secret"] == 1
        # the API's default (include_private false) and drafts
        _same(monkeypatch, site["other"])
        _same(monkeypatch, site["other"], include_private=True, include_drafts=True)
        _same(monkeypatch, admin, fq="+dataset_type:dataset", rows=2)
        _same(monkeypatch, admin, include_private=True, fq="capacity:private")

    def test_counts_follow_every_kind_of_write(self, site, monkeypatch):
        helpers.call_action("package_patch", id="fc-0", tags=[{"name": "renamed"}])
        helpers.call_action("resource_create", package_id="fc-1",
                            url="http://x/new.json", format="JSON")
        helpers.call_action("package_patch", id="fc-2", private=True)
        helpers.call_action("package_delete", id="fc-3")
        result = _same(monkeypatch)
        assert result["count"] == 2
        assert result["facets"]["tags"] == {"elderly": 1, "renamed": 1, "t1": 1}
        assert result["facets"]["res_format"] == {"CSV": 2, "JSON": 1}
        assert result["facets"]["organization"] == {"fc-org": 2}
        _same(monkeypatch, site["owner"], include_private=True)
        _same(monkeypatch, factories.Sysadmin(), include_private=True,
              include_drafts=True)

    def test_writes_from_outside_ckan_and_rollbacks(self, site, monkeypatch):
        with model.meta.engine.begin() as conn:
            conn.execute(sa.text("UPDATE kpigov_search_doc SET state = 'deleted' "
                                 "WHERE name = 'fc-0'"))
        assert _same(monkeypatch)["count"] == 3
        model.Session.execute(sa.text("DELETE FROM kpigov_search_doc WHERE name = 'fc-1'"))
        model.Session.rollback()
        assert _same(monkeypatch)["count"] == 3
        model.Session.commit()  # TRUNCATE waits for readers of the table
        with model.meta.engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE kpigov_search_doc"))
        assert _same(monkeypatch)["count"] == 0
        from ckan.lib.search import rebuild
        rebuild()
        result = _same(monkeypatch)
        assert result["count"] == 4 and result["facets"]["res_format"] == {"CSV": 4}

    def test_folding_keeps_open_transactions_changes(self, site, monkeypatch):
        """A fold moves only committed changes; a write still open when it
        runs is counted once it commits, never twice and never lost."""
        conn = model.meta.engine.connect()
        tx = conn.begin()
        conn.execute(sa.text("UPDATE kpigov_search_doc SET keywords = jsonb_set("
                             "keywords, '{tags}', '[\"late\"]') WHERE name = 'fc-0'"))
        with model.meta.engine.begin() as folder:
            assert backend.fold_facet_deltas(folder)
        with model.meta.engine.begin() as other:
            # a second folder waits for nobody: it skips while one folds
            other.execute(sa.text("SELECT pg_advisory_xact_lock("
                                  "hashtext('kpigov_search_facet'))"))
            with model.meta.engine.begin() as folder:
                assert not backend.fold_facet_deltas(folder)
        assert "late" not in _same(monkeypatch)["facets"]["tags"]
        tx.commit()
        conn.close()
        result = _same(monkeypatch)
        assert result["facets"]["tags"]["late"] == 1
        with model.meta.engine.begin() as folder:
            backend.fold_facet_deltas(folder)
        pending = model.Session.execute(sa.text(
            "SELECT count(*) FROM kpigov_search_facet_delta")).scalar()
        assert pending == 0
        assert _same(monkeypatch)["facets"] == result["facets"]
        zero = model.Session.execute(sa.text(
            "SELECT count(*) FROM kpigov_search_facet WHERE n <= 0")).scalar()
        assert zero == 0

    def test_other_searches_aggregate_the_documents(self, site):
        backend._CACHE.clear()
        for kw in ({"q": "ข้อมูล"}, {"fq": "tags:elderly"}, {"fq": "-capacity:private"},
                   {"q": "*:*", "facet.field": '["notes"]'}):
            _result, sql = _statements(lambda: _search(**kw))
            assert not any("FROM kpigov_search_facet " in s for s in sql), kw

    def test_counting_never_waits_for_jit_compilation(self, site):
        """The planner cannot size a trigger's transition table and put the
        count aggregate above jit_above_cost: JIT compiled for ~0.5 s on
        every write (migration f1c4d7a2b8e5). Trigger and fold run without."""
        config = model.Session.execute(sa.text(
            "SELECT proconfig FROM pg_proc WHERE proname = 'kpigov_search_facet_track'")).scalar()
        assert config == ["jit=off"]
        with model.meta.engine.begin() as folder:
            folder.execute(sa.text("SET LOCAL jit = on"))
            assert backend.fold_facet_deltas(folder)
            assert folder.execute(sa.text("SHOW jit")).scalar() == "off"
