"""The reindex's bulk package_show (search/bulk.py) returns exactly what
CKAN's package_show returns, for every kind of dataset, and the documents a
rebuild writes with it are those of CKAN's own rebuild."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

import ckan
import ckan.logic as logic
import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckan.cli.cli import ckan as ckan_cli
from ckan.lib import search

from ckanext.kpigov import privacy
from ckanext.kpigov.model import record_update
from ckanext.kpigov.search import bulk, rebuild

SHOW = {"ignore_auth": True, "use_cache": False, "validate": False}
PEOPLE = [{"role": "owner", "name": "ผู้อำนวยการเขต", "email": "owner@bangkok.go.th"}]


def _call(action, **kw):
    return helpers.call_action(action, {"ignore_auth": True, "user": ""}, **kw)


@pytest.fixture
def varied():
    """Datasets with every part package_dictize reads."""
    sysadmin = factories.Sysadmin()
    org, other = factories.Organization(), factories.Organization(title="สำนักอนามัย")
    g1, g2 = factories.Group(title="ข"), factories.Group(title="ก")
    vocab = helpers.call_action("vocabulary_create", {"user": sysadmin["name"]},
                                name="districts", tags=[{"name": "ปทุมวัน"}])
    full = factories.Dataset(
        owner_org=org["id"], title="  ข้อมูลผู้สูงอายุ  ", license_id="cc-by",
        notes="รายละเอียด", url="https://data.bangkok.go.th",
        tags=[{"name": "ผู้สูงอายุ"}, {"name": "welfare"}, {"name": "gone"},
              {"name": "ปทุมวัน", "vocabulary_id": vocab["id"]}],
        extras=[{"key": "update_frequency_unit", "value": "เดือน"},
                {"key": "kpigov_stakeholders", "value": json.dumps(PEOPLE)},
                {"key": "custom", "value": "ค่า"}],
        groups=[{"name": g1["name"]}, {"name": g2["name"]}],
        resources=[{"url": "http://x/a.csv", "format": "CSV", "name": "ก"},
                   {"url": "example.com/b.json", "format": "JSON", "extra_field": "x"},
                   {"url": "http://x/c.csv", "name": "deleted later"}])
    _call("resource_delete", id=full["resources"][2]["id"])
    _call("package_patch", id=full["id"],
          tags=[t for t in _call("package_show", id=full["id"])["tags"]
                if t["name"] != "gone"])
    upload = factories.Dataset(owner_org=other["id"], license_id="not-a-license",
                               private=True)
    _call("resource_create", package_id=upload["id"], url="report.csv",
          url_type="upload", name="อัปโหลด")
    draft = factories.Dataset(owner_org=org["id"], state="draft", license_id="other-open")
    unowned = factories.Dataset(license_id="")
    deleted = factories.Dataset(owner_org=other["id"])
    _call("package_delete", id=deleted["id"])
    _call("package_relationship_create", subject=full["id"], object=upload["id"],
          type="depends_on", comment="ต้องใช้")
    _call("package_relationship_create", subject=draft["id"], object=full["id"],
          type="links_to")
    record_update(full["id"], "upload", "new_data", source="test")
    # as older portals have them: spaces around the title (package_show strips)
    model.Session.execute(sa.text("UPDATE package SET title = '  ' || title || ' ' "
                                  "WHERE id = :id"), {"id": full["id"]})
    model.Session.commit()
    return [full, upload, draft, unowned, deleted]


@pytest.mark.usefixtures("clean_db", "with_plugins")
class TestBulkShow:
    def test_same_dicts_as_package_show(self, varied, monkeypatch):
        # package_show's plugin hooks run too (kpigov's after_dataset_show)
        monkeypatch.setattr(privacy, "strip_contacts",
                            lambda pkg_dict, context: pkg_dict.update(seen="yes"))
        ids = [d["id"] for d in varied] + ["no-such-dataset"]
        expected = {i: helpers.call_action("package_show", dict(SHOW), id=i)
                    for i in ids[:-1]}
        pkgs, shown = bulk.package_show_many(ids)
        assert sorted(p.id for p in pkgs) == sorted(ids[:-1])
        assert set(shown) == set(expected)
        for pid, pkg_dict in expected.items():
            assert shown[pid] == pkg_dict, pkg_dict["name"]
        full = shown[varied[0]["id"]]
        assert full["seen"] == "yes"
        # the parts the fixture set up are really there (not two empty dicts)
        assert full["title"] == "ข้อมูลผู้สูงอายุ"
        assert sorted(t["name"] for t in full["tags"]) == sorted(
            ["ปทุมวัน", "welfare", "ผู้สูงอายุ"])
        assert len(full["resources"]) == 2 and full["resources"][1]["url"] == "http://example.com/b.json"
        assert [g["title"] for g in full["groups"]] == ["ก", "ข"]
        assert full["relationships_as_subject"] and full["relationships_as_object"]
        extras = {e["key"]: e["value"] for e in full["extras"]}
        assert full["license_url"] and "owner@bangkok.go.th" in extras["kpigov_stakeholders"]
        upload = shown[varied[1]["id"]]
        assert upload["resources"][0]["url"].endswith("/download/report.csv")
        assert upload["license_title"] == "not-a-license"
        assert shown[varied[3]["id"]]["organization"] is None
        assert shown[varied[4]["id"]]["state"] == "deleted"

    def test_one_query_per_part_for_a_whole_batch(self, varied):
        ids = [d["id"] for d in varied]
        statements = []

        def seen(conn, cursor, statement, *args):
            statements.append(statement)
        model.Session.commit()
        sa.event.listen(model.meta.engine, "before_cursor_execute", seen)
        try:
            bulk.package_show_many(ids)
        finally:
            sa.event.remove(model.meta.engine, "before_cursor_execute", seen)
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        # package, resources, tags, extras, groups, organizations, relations x2
        # (and whatever the plugins' hooks read), not nine per dataset
        assert len(selects) < 2 * len(ids) + 8, selects

    def test_rebuild_writes_the_documents_of_ckans_rebuild(self, varied, cli):
        search.rebuild(quiet=True)
        expected = _documents()
        assert len(expected) == len(varied) - 1  # not the deleted one
        model.Session.commit()
        with model.meta.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM kpigov_search_doc"))
        out = cli.invoke(ckan_cli, ["kpigov", "search-rebuild", "-w", "1", "--batch", "3"])
        assert out.exit_code == 0, out.output
        assert _documents() == expected

    def test_a_batch_that_fails_is_shown_dataset_by_dataset(self, varied, monkeypatch):
        search.rebuild(quiet=True)
        expected = _documents()

        def broken(ids):
            raise RuntimeError("bulk failed")
        monkeypatch.setattr(bulk, "package_show_many", broken)
        model.Session.commit()
        with model.meta.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM kpigov_search_doc"))
        stats = rebuild.rebuild_parallel(1)
        assert stats["indexed"] == len(varied) - 1 and not stats["failed"]
        assert _documents() == expected

    def test_only_for_the_versions_it_follows(self, monkeypatch):
        assert bulk.supported() is (ckan.__version__[:4] in ("2.10", "2.11"))
        monkeypatch.setattr(ckan, "__version__", "2.12.0")
        assert not bulk.supported()


def _documents():
    model.Session.commit()
    rows = model.Session.execute(sa.text(
        "SELECT id, name, title_string, permission_labels, state, capacity, fields, "
        "keywords, search_text, tsv::text, doc, data_dict, validated_data_dict, "
        "metadata_modified, metadata_created FROM kpigov_search_doc ORDER BY id")).fetchall()
    model.Session.commit()
    return [tuple(r) for r in rows]


@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_other_versions_get_package_show_itself(varied, monkeypatch):
    monkeypatch.setattr(ckan, "__version__", "2.12.0")
    calls = []
    original = logic.get_action("package_show")

    def show(context, data_dict):
        calls.append(data_dict["id"])
        return original(context, data_dict)
    get_action = logic.get_action
    monkeypatch.setattr(logic, "get_action", lambda name: (
        show if name == "package_show" else get_action(name)))
    ids = [d["id"] for d in varied]
    _pkgs, shown = bulk.package_show_many(ids)
    assert sorted(calls) == sorted(ids)
    assert shown[ids[0]] == original(dict(SHOW), {"id": ids[0]})
