"""Regressions found by dev/peer-check (CKAN's own search tests on pgsearch).

Each test pins a behaviour CKAN has with Solr that kpigov_pgsearch first
lacked; the CKAN test that found it is named in the docstring.
"""
from __future__ import annotations

import json

import pytest

import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckan.lib import search
from ckan.lib.search import index as search_index
from ckan.lib.search import query as search_query

from ckanext.kpigov.search import lucene
from ckanext.kpigov.search.backend import PgPackageSearchIndex, PgPackageSearchQuery


def _search(**kw):
    return helpers.call_action("package_search", **kw)


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestAutocompleteNgrams:
    """test_get.py::TestPackageAutocomplete: name_ngram / title_ngram."""

    def test_middle_of_title_and_name(self):
        factories.Dataset(name="river-levels", title="Some public stuff")
        factories.Dataset(name="canal-levels", title="Some random stuff")
        found = helpers.call_action("package_autocomplete", q="bli")
        assert [d["name"] for d in found] == ["river-levels"]
        assert len(helpers.call_action("package_autocomplete", q="tuf")) == 2
        found = helpers.call_action("package_autocomplete", q="iver")
        assert found[0]["match_field"] == "name"

    def test_thai_title_part(self):
        factories.Dataset(name="elderly", title="ข้อมูลผู้สูงอายุ")
        found = helpers.call_action("package_autocomplete", q="สูงอายุ")
        assert [d["name"] for d in found] == ["elderly"]

    def test_gram_sizes_as_solr(self):
        factories.Dataset(name="abcdefghijklmnop", title="x")
        # Solr indexes grams of 2..10 characters: longer or shorter words
        # do not match the n-gram fields (name: still matches exactly).
        assert _search(q="name_ngram:bcdefghijk")["count"] == 1
        assert _search(q="name_ngram:bcdefghijkl")["count"] == 0
        assert _search(q="name_ngram:b")["count"] == 0


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestSolrBehaviour:
    def test_sort_without_direction_is_an_error(self):
        """test_get.py::TestPackageSearch::test_bad_solr_parameter."""
        with pytest.raises(search.SearchError):
            _search(sort="metadata_modified")
        with pytest.raises(search.SearchError):
            _search(sort="name asc, title_string")

    @pytest.mark.parametrize("params,message", [
        ({"q": "{!bool must=test}"},
         "Local parameters are not supported in param 'q'."),
        ({"q": " {!bool must=test}"},
         "Local parameters are not supported in param 'q'."),
        ({"fq": "{!bool must=test} +site_id:test.ckan.net"},
         "Local parameters are not supported in param 'fq'."),
        ({"fq_list": ["+site_id:default", "{!bool must=test}"]},
         "Local parameters are not supported in param 'fq_list'."),
        ({"q": "name:test OR _query_:{!bool must=test}"},
         "Magic fields are not supported in param 'q'."),
        ({"q": r"\_v\a\l\_ : sum(a,b)"},
         "Magic fields are not supported in param 'q'."),
        ({"q": "{!bool must=test} {!bool must=test}"},
         "Query parsers are not supported in param 'q'."),
        ({"q": "xx{!bool must=test}"},
         "Local parameters must be defined at the beginning of param 'q'."),
    ])
    def test_local_params_and_magic_fields_messages(self, params, message):
        """lib/search/test_search.py: the checks CKAN runs before Solr."""
        with pytest.raises(search.SearchError) as e:
            search.query_for(model.Package).run(dict(params))
        assert str(e.value) == message

    @pytest.mark.parametrize("q", ["_query_store : true", "_query_store: true",
                                   "dataset_query_:test", "+new_val_inc name:test"])
    def test_lookalike_fields_are_not_magic(self, q):
        """lib/search/test_search.py::test_magic_fields_dont_interfere."""
        assert search.query_for(model.Package).run({"q": q}) is not None

    def test_whitespace_before_the_colon(self):
        factories.Dataset(name="spaced", title="Spaced out")
        assert lucene.parse("name : spaced") == lucene.Term("name", "spaced")
        assert [d["name"] for d in _search(q="name : spaced")["results"]] == [
            "spaced"]


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestIndexDocument:
    def test_dates_stored_like_solr(self):
        """lib/search/test_index.py::test_index_package_stores_basic_solr_fields."""
        index = search_index.PackageSearchIndex()
        index.index_package({
            "name": "river-quality", "id": "d9567b82-d3f0-4c17-b222-d9a7499f7940",
            "state": "active", "private": "", "type": "dataset",
            "metadata_created": "2014-06-10T08:24:12.782257",
            "metadata_modified": "2014-06-10T08:24:12",
            "extras": [{"key": "harvest_date", "value": "2020-01-02T03:04:05.5+07:00"}],
        })
        doc = search.show("river-quality")
        assert doc["metadata_created"] == "2014-06-10T08:24:12.782Z"
        assert doc["metadata_modified"] == "2014-06-10T08:24:12Z"
        assert doc["harvest_date"] == "2020-01-01T20:04:05.500Z"
        assert doc["entity_type"] == "package"
        assert "title" not in json.loads(doc["data_dict"])
        assert "title" in json.loads(doc["validated_data_dict"])

    def test_module_level_classes_are_the_postgres_ones(self):
        """lib/search/test_index.py::TestPackageSearchIndex, test_index_only_called_once:
        code that instantiates ckan.lib.search.index.PackageSearchIndex (or
        query.PackageSearchQuery) directly must not reach for Solr."""
        assert search_index.PackageSearchIndex is PgPackageSearchIndex
        assert search_query.PackageSearchQuery is PgPackageSearchQuery
        ds = factories.Dataset(name="direct")
        search_index.PackageSearchIndex().index_package(
            helpers.call_action("package_show", id=ds["id"]))
        assert search_query.PackageSearchQuery().run(
            {"q": "name:direct"})["count"] == 1
