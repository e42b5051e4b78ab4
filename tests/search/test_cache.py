"""kpigov_pgsearch's result cache (as Solr's caches): reused while the index
is unchanged, never stale after any write, whoever makes it."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

from ckanext.kpigov.search import backend

FACETS = '["organization", "tags", "res_format", "license_id"]'


def _search(user=None, **kw):
    ctx = {"user": user["name"] if user else "", "ignore_auth": False}
    return helpers.call_action("package_search", context=ctx, **kw)


class _Statements:
    """The SQL statements PostgreSQL is sent while the block runs."""

    def __enter__(self):
        self.sql: list[str] = []
        sa.event.listen(model.meta.engine, "before_cursor_execute", self._seen)
        return self

    def _seen(self, conn, cursor, statement, *args):
        self.sql.append(statement)

    def __exit__(self, *exc):
        sa.event.remove(model.meta.engine, "before_cursor_execute", self._seen)

    def counts(self):
        """Statements that count datasets: over the documents, or from the
        browse-all counts of kpigov_search_facet."""
        return [s for s in self.sql if ("count(*)" in s and "kpigov_search_doc" in s)
                or "FROM kpigov_search_facet " in s]


@pytest.fixture
def portal():
    backend._CACHE.clear()
    owner = factories.User()
    org = factories.Organization(name="cache-org", users=[
        {"name": owner["name"], "capacity": "admin"}])
    for i in range(3):
        factories.Dataset(name="cache-ds-%d" % i, title="ข้อมูลผู้สูงอายุ %d" % i,
                          owner_org=org["id"], tags=[{"name": "elderly"}],
                          resources=[{"url": "http://x/%d.csv" % i, "format": "CSV"}])
    return {"org": org, "owner": owner}


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestSearchCache:
    def test_a_repeated_search_is_served_from_the_cache(self, portal):
        first = _search(q="*:*", **{"facet.field": FACETS})
        with _Statements() as seen:
            again = _search(q="*:*", **{"facet.field": FACETS})
        assert again["count"] == first["count"] == 3
        assert again["search_facets"] == first["search_facets"]
        assert [d["name"] for d in again["results"]] == [d["name"] for d in first["results"]]
        assert seen.counts() == []  # no count, no facet aggregate
        assert any("pg_sequence_last_value" in s for s in seen.sql)

    @pytest.mark.ckan_config("ckanext.kpigov.search.cache_size", "0")
    def test_size_zero_turns_it_off(self, portal):
        _search(q="*:*")
        with _Statements() as seen:
            assert _search(q="*:*")["count"] == 3
        assert len(seen.counts()) == 1

    def test_create_update_delete_and_privacy_show_at_once(self, portal):
        def thai():
            return _search(q="ผู้สูงอายุ", **{"facet.field": FACETS})
        assert thai()["count"] == 3
        factories.Dataset(name="cache-new", title="ผู้สูงอายุ เขตใหม่",
                          owner_org=portal["org"]["id"], tags=[{"name": "elderly"}])
        result = thai()
        assert result["count"] == 4
        assert result["facets"]["tags"]["elderly"] == 4
        helpers.call_action("package_patch", id="cache-ds-0", title="ข้อมูลเด็ก")
        result = thai()
        assert result["count"] == 3
        assert "cache-ds-0" not in [d["name"] for d in result["results"]]
        helpers.call_action("package_patch", id="cache-ds-1", private=True)
        assert thai()["count"] == 2  # anonymous: the private one is gone
        assert _search(portal["owner"], q="ผู้สูงอายุ", include_private=True)["count"] == 3
        helpers.call_action("package_delete", id="cache-ds-2")
        assert thai()["count"] == 1

    def test_writes_from_outside_ckan_are_seen(self, portal):
        """Another process (or psql) changing the index moves the generation
        through the trigger, committed in its own transaction."""
        assert _search(q="*:*")["count"] == 3
        with model.meta.engine.begin() as conn:
            conn.execute(sa.text(
                "UPDATE kpigov_search_doc SET state = 'deleted' WHERE name = 'cache-ds-0'"))
        assert _search(q="*:*")["count"] == 2
        with model.meta.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM kpigov_search_doc"))
        assert _search(q="*:*")["count"] == 0

    def test_a_rolled_back_write_leaves_the_answers_right(self, portal):
        assert _search(q="*:*")["count"] == 3
        model.Session.execute(sa.text(
            "UPDATE kpigov_search_doc SET state = 'deleted' WHERE name = 'cache-ds-0'"))
        model.Session.rollback()
        assert _search(q="*:*")["count"] == 3

    def test_the_cache_is_bounded(self, portal, monkeypatch):
        monkeypatch.setitem(__import__("ckan.common").common.config,
                            "ckanext.kpigov.search.cache_size", 2)
        backend._CACHE.clear()
        for word in ("a", "b", "c", "d"):
            _search(q=word)
        assert len(backend._CACHE) == 2


@pytest.mark.usefixtures("clean_db", "with_plugins")
@pytest.mark.ckan_config("ckanext.kpigov.search.cache_size", "0")
@pytest.mark.parametrize("q", ["ผู้สูงอายุ", "*:*"])
def test_exact_total_on_every_page(portal, q):
    """Free-text totals come with the page (a window count); a page past
    the end still reports the exact total."""
    names = []
    for start in (0, 1, 2):
        result = _search(q=q, rows=1, start=start)
        assert result["count"] == 3
        names += [d["name"] for d in result["results"]]
    assert sorted(names) == ["cache-ds-0", "cache-ds-1", "cache-ds-2"]
    past = _search(q=q, rows=5, start=10)
    assert past["count"] == 3 and past["results"] == []
    assert _search(q=q, rows=0)["count"] == 3
