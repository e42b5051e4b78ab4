"""kpigov_pgsearch against the real PostgreSQL, through CKAN's actions."""
from __future__ import annotations

import pytest

import ckan.logic as logic
import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckan.lib import search

THAI_TITLE = "ข้อมูลผู้สูงอายุในชุมชนเขตปทุมวัน"


def _search(**kw):
    return helpers.call_action("package_search", **kw)


def _names(result):
    return [d["name"] for d in result["results"]]


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestIndexing:
    def test_create_update_delete_are_indexed(self):
        ds = factories.Dataset(name="flood-points", title="Flood points")
        assert _names(_search(q="flood")) == ["flood-points"]
        helpers.call_action("package_patch", id=ds["id"], title="Canal levels")
        assert _search(q="title:flood")["count"] == 0
        assert _names(_search(q="canal")) == ["flood-points"]
        helpers.call_action("package_delete", id=ds["id"])
        assert _search(q="canal")["count"] == 0
        # ckan.search.remove_deleted_packages (default) drops them from the index
        assert _search(q="canal", include_deleted=True)["count"] == 0

    def test_rebuild_and_clear(self):
        factories.Dataset(name="a-one")
        factories.Dataset(name="a-two")
        search.clear_all()
        assert _search()["count"] == 0
        search.rebuild()
        assert _search()["count"] == 2
        search.clear("a-one")
        assert _names(_search()) == ["a-two"]
        search.rebuild("a-one")
        assert _search()["count"] == 2

    def test_index_show_returns_document(self):
        ds = factories.Dataset(name="shown", tags=[{"name": "water"}])
        doc = search.show("shown")
        assert doc["id"] == ds["id"]
        assert doc["tags"] == ["water"]
        with pytest.raises(search.SearchError):
            search.show("missing-dataset")


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestFreeText:
    def test_thai_substring_finds_unsegmented_title(self):
        factories.Dataset(name="elderly", title=THAI_TITLE)
        factories.Dataset(name="other", title="ข้อมูลปริมาณขยะมูลฝอย")
        assert _names(_search(q="ผู้สูงอายุ")) == ["elderly"]
        assert _names(_search(q="ปทุมวัน")) == ["elderly"]
        assert _search(q="ข้อมูล")["count"] == 2

    def test_thai_title_match_ranks_above_description_match(self):
        factories.Dataset(name="in-notes", title="รายงานประจำปี",
                          notes="มีข้อมูลผู้สูงอายุบางส่วน")
        factories.Dataset(name="in-title", title="ทะเบียนผู้สูงอายุ")
        assert _names(_search(q="ผู้สูงอายุ")) == ["in-title", "in-notes"]

    def test_english_stemming_and_ranking(self):
        factories.Dataset(name="notes-only", title="Annual report",
                          notes="Includes flooding statistics")
        factories.Dataset(name="title-hit", title="Flood levels in canals")
        assert _names(_search(q="flooded")) == ["title-hit", "notes-only"]

    def test_searches_tags_org_resources_and_custom_fields(self):
        org = factories.Organization(name="drainage", title="สำนักการระบายน้ำ")
        factories.Dataset(name="ds-tag", tags=[{"name": "rainfall"}])
        factories.Dataset(name="ds-org", owner_org=org["id"])
        factories.Dataset(name="ds-res", resources=[
            {"url": "http://x/y.csv", "name": "pumping station log",
             "description": "สถานีสูบน้ำ"}])
        factories.Dataset(name="ds-extra", extras=[
            {"key": "data_source", "value": "sensor network"}])
        assert _names(_search(q="rainfall")) == ["ds-tag"]
        assert _names(_search(q="ระบายน้ำ")) == ["ds-org"]
        assert _names(_search(q="pumping")) == ["ds-res"]
        assert _names(_search(q="สถานีสูบน้ำ")) == ["ds-res"]
        assert _names(_search(q="sensor")) == ["ds-extra"]

    def test_fielded_and_boolean_queries(self):
        factories.Dataset(name="alpha", title="Air quality", tags=[{"name": "pm25"}])
        factories.Dataset(name="beta", title="Water quality")
        assert _names(_search(q="name:alpha")) == ["alpha"]
        assert _names(_search(q="tags:pm25")) == ["alpha"]
        assert sorted(_names(_search(q="air OR water"))) == ["alpha", "beta"]
        assert _names(_search(q="quality -air")) == ["beta"]
        assert _names(_search(q='title:"water quality"')) == ["beta"]
        assert _search(q="name:alp*")["count"] == 1


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestFilters:
    def _fixture(self):
        org1 = factories.Organization(name="org-one")
        org2 = factories.Organization(name="org-two")
        grp = factories.Group(name="health")
        factories.Dataset(name="d1", owner_org=org1["id"], license_id="cc-by",
                          tags=[{"name": "air"}], groups=[{"name": "health"}],
                          resources=[{"url": "http://a/b.csv", "format": "CSV"}])
        factories.Dataset(name="d2", owner_org=org1["id"], license_id="odc-by",
                          tags=[{"name": "air"}, {"name": "water"}],
                          resources=[{"url": "http://a/b.json", "format": "JSON"}])
        factories.Dataset(name="d3", owner_org=org2["id"], license_id="cc-by",
                          tags=[{"name": "water"}])
        return org1, org2, grp

    def test_fq_clauses(self):
        org1, org2, _ = self._fixture()
        cases = {
            "owner_org:%s" % org1["id"]: ["d1", "d2"],
            "organization:org-two": ["d3"],
            "groups:health": ["d1"],
            "tags:air": ["d1", "d2"],
            'tags:"water"': ["d2", "d3"],
            "res_format:CSV": ["d1"],
            "license_id:cc-by": ["d1", "d3"],
            "dataset_type:dataset": ["d1", "d2", "d3"],
            "type:dataset": ["d1", "d2", "d3"],
            "capacity:public": ["d1", "d2", "d3"],
            "name:d2": ["d2"],
            "+tags:air -tags:water": ["d1"],
            "tags:(air OR water) +organization:org-one": ["d1", "d2"],
            "organization:(org-one OR org-two) -license_id:cc-by": ["d2"],
            "-organization:org-one": ["d3"],
        }
        for fq, expected in cases.items():
            assert sorted(_names(_search(fq=fq))) == expected, fq

    def test_facets_counts_limit_mincount(self):
        self._fixture()
        result = _search(**{"facet.field": '["tags", "organization", "res_format"]'})
        assert result["facets"]["tags"] == {"air": 2, "water": 2}
        assert result["facets"]["organization"] == {"org-one": 2, "org-two": 1}
        assert result["search_facets"]["res_format"]["items"]
        limited = _search(**{"facet.field": '["organization"]', "facet.limit": 1})
        assert limited["facets"]["organization"] == {"org-one": 2}
        mincount = _search(**{"facet.field": '["organization"]', "facet.mincount": 2})
        assert mincount["facets"]["organization"] == {"org-one": 2}
        filtered = _search(fq="tags:water", **{"facet.field": '["organization"]'})
        assert filtered["facets"]["organization"] == {"org-one": 1, "org-two": 1}

    def test_sort_and_paging(self):
        for i, title in enumerate(["Charlie", "alpha", "Bravo", "delta", "Echo"]):
            factories.Dataset(name="s%d" % i, title=title)
        by_name = _names(_search(sort="name asc", rows=2, start=1))
        assert by_name == ["s1", "s2"]
        result = _search(sort="title_string asc")
        assert [d["title"] for d in result["results"]] == [
            "Bravo", "Charlie", "Echo", "alpha", "delta"]
        newest = _search(sort="metadata_modified desc", rows=1)
        assert newest["count"] == 5 and _names(newest) == ["s4"]
        assert _names(_search(sort="metadata_created asc", rows=1)) == ["s0"]
        assert len(_search(rows=2, start=4)["results"]) == 1

    def test_drafts_only_with_include_drafts(self):
        user = factories.User()
        factories.Dataset(name="draft-one", state="draft", user=user)
        assert _search()["count"] == 0
        ctx = {"user": user["name"], "ignore_auth": False}
        found = helpers.call_action("package_search", context=ctx,
                                    include_drafts=True)
        assert _names(found) == ["draft-one"]
        other = factories.User()
        assert helpers.call_action(
            "package_search", context={"user": other["name"],
                                       "ignore_auth": False},
            include_drafts=True)["count"] == 0


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestPermissions:
    def test_private_visible_to_members_and_sysadmins_only(self):
        member, outsider = factories.User(), factories.User()
        sysadmin = factories.Sysadmin()
        org = factories.Organization(users=[{"name": member["name"],
                                             "capacity": "member"}])
        factories.Dataset(name="secret", owner_org=org["id"], private=True,
                          tags=[{"name": "hidden"}])
        factories.Dataset(name="open", owner_org=org["id"])

        def run(user, **kw):
            ctx = {"user": user["name"] if user else "", "ignore_auth": False}
            return helpers.call_action("package_search", context=ctx,
                                       include_private=True,
                                       **{"facet.field": '["tags"]'}, **kw)

        assert sorted(_names(run(member))) == ["open", "secret"]
        assert sorted(_names(run(sysadmin))) == ["open", "secret"]
        for user in (outsider, None):
            result = run(user)
            assert _names(result) == ["open"]
            assert result["count"] == 1
            assert "hidden" not in result["facets"]["tags"]
        # without include_private even members only get public datasets
        plain = helpers.call_action("package_search", context={
            "user": member["name"], "ignore_auth": False})
        assert _names(plain) == ["open"]

    def test_organization_counts_hide_private(self):
        member = factories.User()
        org = factories.Organization(users=[{"name": member["name"],
                                             "capacity": "member"}])
        factories.Dataset(owner_org=org["id"], private=True)
        factories.Dataset(owner_org=org["id"])
        anon = helpers.call_action("organization_show",
                                   context={"user": "", "ignore_auth": False},
                                   id=org["id"], include_datasets=True)
        assert anon["package_count"] == 1
        mine = helpers.call_action("organization_show",
                                   context={"user": member["name"],
                                            "ignore_auth": False},
                                   id=org["id"], include_datasets=True)
        assert mine["package_count"] == 2
        listed = helpers.call_action("organization_list",
                                     context={"user": "", "ignore_auth": False},
                                     all_fields=True)
        assert listed[0]["package_count"] == 1


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestBadInput:
    @pytest.mark.parametrize("fq", [
        "tags:(air", 'title:"unclosed', "{!lucene}name:x", "_val_:1",
        "name:fuzzy~2", "title:/regex/", "metadata_modified:[2020 TO",
        "metadata_modified:[notadate TO *]", "tags:a*b*",
    ])
    def test_malformed_fq_is_a_search_query_error(self, fq):
        with pytest.raises((search.SearchQueryError, search.SearchError)):
            _search(fq=fq)

    def test_bad_sort(self):
        with pytest.raises(search.SearchQueryError):
            _search(sort="title_string sideways")
        with pytest.raises(search.SearchQueryError):
            _search(sort="name; DROP TABLE package")

    def test_negative_start_and_rows_are_validation_errors(self):
        with pytest.raises(logic.ValidationError):
            _search(start=-1)
        with pytest.raises(logic.ValidationError):
            _search(rows=-5)

    def test_api_returns_clean_errors(self, app):
        res = app.get("/api/3/action/package_search",
                      query_string={"fq": "tags:(air"}, status=400)
        assert res.json["success"] is False
        assert res.json["error"]["__type"] == "Search Query Error"
        res = app.get("/api/3/action/package_search",
                      query_string={"start": "-3"}, status=409)
        assert res.json["error"]["__type"] == "Validation Error"

    def test_injection_in_values_is_inert(self):
        factories.Dataset(name="safe")
        for q in ["'; DROP TABLE package; --", "name:\"x' OR '1'='1\"",
                  "%", "_", "\\", "ผู้\u200bสูง", "\u202eevil"]:
            _search(q=q)  # free text never fails, as with Solr's dismax
            try:
                _search(fq="tags:%s" % q)
            except search.SearchQueryError:
                pass  # a clean 400, never a 500
        assert model.Session.query(model.Package).count() == 1


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestPages:
    def test_pages_render(self, app):
        org = factories.Organization(name="bangkok-health")
        factories.Group(name="grp")
        factories.Dataset(name="page-ds", title=THAI_TITLE, owner_org=org["id"],
                          tags=[{"name": "elderly"}])
        for url in ["/", "/dataset/", "/dataset/?q=ผู้สูงอายุ", "/dataset/page-ds",
                    "/organization/", "/organization/bangkok-health",
                    "/group/", "/dataset/?tags=elderly&sort=title_string+asc"]:
            res = app.get(url)
            assert res.status_code == 200, url
        page = app.get("/dataset/?q=ผู้สูงอายุ").body
        assert THAI_TITLE in page
        org_page = app.get("/organization/bangkok-health").body
        assert "elderly" in org_page  # facet sidebar
        # CKAN answers an unparsable query with a 400 page, not a 500
        bad = app.get("/dataset/?q=tags:(broken")
        assert bad.status_code == 400
        assert "Invalid search query" in bad.body
