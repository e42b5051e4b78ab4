"""The small columns that serve filters and facets: state, capacity, keywords.

``keywords`` must hold every value of each keyword field, so that a clause
or facet read from it answers exactly as one read from ``fields``.
"""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

from ckanext.kpigov.search.compiler import is_keyword


def _search(**kw):
    return helpers.call_action("package_search", **kw)


def _names(result):
    return sorted(d["name"] for d in result["results"])


def _rows():
    return model.Session.execute(sa.text(
        "SELECT name, state, capacity, keywords, fields FROM kpigov_search_doc"
    )).fetchall()


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestKeywordColumns:
    def _fixture(self):
        org = factories.Organization(name="kw-org")
        factories.Dataset(name="kw-pub", owner_org=org["id"], license_id="cc-by",
                          tags=[{"name": "air"}, {"name": "น้ำ"}],
                          notes="long text " * 200,
                          extras=[{"key": "custom", "value": "x" * 300}],
                          resources=[{"url": "http://a/b.csv", "format": "CSV"}])
        factories.Dataset(name="kw-priv", owner_org=org["id"], private=True,
                          tags=[{"name": "air"}])
        factories.Dataset(name="kw-draft", state="draft", tags=[{"name": "air"}])
        return org

    def test_writer_fills_columns_from_fields(self):
        self._fixture()
        rows = {r[0]: r for r in _rows()}
        assert rows["kw-pub"][1:3] == ("active", "public")
        assert rows["kw-priv"][1:3] == ("active", "private")
        assert rows["kw-draft"][1] == "draft"
        for _name, state, capacity, keywords, fields in rows.values():
            assert state == fields["state"][0]
            assert capacity == fields["capacity"][0]
            assert keywords == {k: v for k, v in fields.items() if is_keyword(k)}
            assert "notes" not in keywords and "custom" not in keywords
        assert set(rows["kw-pub"][3]["tags"]) == {"air", "น้ำ"}

    def test_migration_sql_fills_existing_rows_as_the_writer(self):
        """The migration's UPDATE gives the same values as the index writer."""
        import importlib.util
        import os

        import ckanext.kpigov
        path = os.path.join(os.path.dirname(ckanext.kpigov.__file__), "migration",
                            "kpigov_pgsearch", "versions",
                            "b7d4e91c5a20_search_doc_keywords.py")
        spec = importlib.util.spec_from_file_location("_kw_migration", path)
        mig = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mig)
        self._fixture()
        before = {r[0]: r[1:4] for r in _rows()}
        model.Session.execute(sa.text(
            "UPDATE kpigov_search_doc SET state = NULL, capacity = NULL, "
            "keywords = '{}'"))
        executed = []

        class FakeOp:
            def add_column(self, *a, **k):
                pass

            def execute(self, sql):
                executed.append(sql)

        real_op = mig.op
        mig.op = FakeOp()
        try:
            mig.upgrade()
        finally:
            mig.op = real_op
        for sql in executed:
            if sql.startswith("UPDATE"):
                model.Session.execute(sa.text(sql))
        after = {r[0]: r[1:4] for r in _rows()}
        assert after == before

    def test_state_and_capacity_clauses(self):
        self._fixture()
        sysadmin = factories.Sysadmin()
        ctx = {"user": sysadmin["name"], "ignore_auth": False}

        def names(**kw):
            return _names(helpers.call_action(
                "package_search", context=ctx, include_private=True,
                include_drafts=True, **kw))
        assert names(fq="capacity:public") == ["kw-draft", "kw-pub"]
        assert names(fq="capacity:private") == ["kw-priv"]
        assert names(fq="state:(active OR draft)") == [
            "kw-draft", "kw-priv", "kw-pub"]
        assert names(fq="state:draft") == ["kw-draft"]
        assert names(fq="-state:draft") == ["kw-priv", "kw-pub"]
        assert names(fq="state:dr*") == ["kw-draft"]
        assert names(fq="+state:active -capacity:private") == ["kw-pub"]
        ordered = helpers.call_action(
            "package_search", context=ctx, include_private=True,
            fq="state:active", sort="capacity desc")
        assert [d["name"] for d in ordered["results"]] == ["kw-pub", "kw-priv"]

    def test_keyword_and_other_fields_and_mixed_facets(self):
        self._fixture()
        assert _names(_search(fq="tags:น้ำ")) == ["kw-pub"]
        assert _names(_search(fq="tags:ai*")) == ["kw-pub"]
        assert _names(_search(fq="license_id:cc-by")) == ["kw-pub"]
        assert _names(_search(fq="res_format:*")) == ["kw-pub"]
        assert _names(_search(fq="custom:%s" % ("x" * 300))) == ["kw-pub"]
        only_kw = _search(**{"facet.field": json.dumps(["tags", "license_id"])})
        mixed = _search(**{"facet.field": json.dumps(["tags", "license_id",
                                                      "custom"])})
        assert only_kw["facets"]["tags"] == {"air": 1, "น้ำ": 1}
        assert mixed["facets"]["tags"] == only_kw["facets"]["tags"]
        assert mixed["facets"]["license_id"] == only_kw["facets"]["license_id"]
        assert mixed["facets"]["custom"] == {"x" * 300: 1}
