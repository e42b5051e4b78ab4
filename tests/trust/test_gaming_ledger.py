"""Gaming the ledger (issue 15, part 1): edits that change no data are no
new data. Each attack runs on the real stack (CKAN actions and test app,
real uploads, the real DataStore) and leaves the ledger's counting entries
and the dataset's compliance exactly as they were; the positive tests show
that real new content still makes exactly one new-data entry."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

import ckan.model as model
import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckanext.kpigov import ledger
from ckanext.kpigov.model import ledger_table

pytestmark = pytest.mark.usefixtures("clean_db", "with_plugins")

MONTHLY = [{"key": "update_frequency_unit", "value": "เดือน"}]
BODY = b"district,n\nPathum Wan,1\n"


def _file(body=BODY, name="data.csv"):
    return FileStorage(stream=io.BytesIO(body), filename=name, content_type="text/csv")


def rows(package_id):
    return [dict(r._mapping) for r in model.Session.execute(
        sa.select(ledger_table).where(ledger_table.c.package_id == package_id)
        .order_by(ledger_table.c.created, ledger_table.c.id))]


def counting(package_id):
    """The entries compliance counts: new data, not withdrawn."""
    return [(r["id"], r["kind"]) for r in rows(package_id)
            if r["nature"] == "new_data" and r["withdrawn"] is None]


def compliance(package_id):
    out = helpers.call_action("kpigov_dataset_compliance", id=package_id)
    return [(p["key"], p["status"], tuple(p["ledger_entries"])) for p in out["periods"]]


def state(package_id):
    return counting(package_id), compliance(package_id)


def age(package_id, days=100):
    """The dataset and its entries are ``days`` old: the current period (and
    the last one, still in its grace days) then has no new data."""
    then = dt.datetime.utcnow() - dt.timedelta(days=days)
    model.Session.execute(ledger_table.update().where(
        ledger_table.c.package_id == package_id).values(created=then))
    model.Session.execute(model.package_table.update().where(
        model.package_table.c.id == package_id).values(metadata_created=then))
    model.Session.commit()


@pytest.fixture
def publisher():
    user = factories.UserWithToken()
    org = factories.Organization(users=[{"name": user["name"], "capacity": "editor"}])
    return user, org


def _dataset(publisher, **kwargs):
    user, org = publisher
    return factories.Dataset(owner_org=org["id"], extras=MONTHLY, **kwargs)


def _uploaded(publisher, body=BODY):
    user, _org = publisher
    ds = _dataset(publisher)
    res = helpers.call_action("resource_create", context={"user": user["name"]},
                              package_id=ds["id"], upload=_file(body), url="data.csv")
    age(ds["id"])
    return ds, res


def _api(app, user, action, data):
    return app.post("/api/action/%s" % action, data=data,
                    headers={"Authorization": user["token"]})


# --- the attacks ---------------------------------------------------------

def test_patching_last_modified_of_an_upload_is_not_new_data(publisher):
    user, _org = publisher
    ds, res = _uploaded(publisher)
    before = state(ds["id"])
    for when in ("2020-01-01T00:00:00", dt.datetime.utcnow().isoformat()):
        helpers.call_action("resource_patch", context={"user": user["name"]},
                            id=res["id"], last_modified=when)
    helpers.call_action("resource_patch", context={"user": user["name"]},
                        id=res["id"], description="new words", name="renamed")
    assert state(ds["id"]) == before
    assert len(rows(ds["id"])) == 1  # nothing recorded at all


def test_re_uploading_the_identical_file_is_not_new_data(app, publisher):
    user, _org = publisher
    ds, res = _uploaded(publisher)
    before = state(ds["id"])
    # through the API with a real multipart file, under another name too
    for name in ("data.csv", "data-december.csv"):
        reply = _api(app, user, "resource_patch", {
            "id": res["id"], "upload": (io.BytesIO(BODY), name)})
        assert reply.status_code == 200, reply.body[:300]
    # and through the action with upload=
    helpers.call_action("resource_update", context={"user": user["name"]},
                        id=res["id"], upload=_file(), url="data.csv")
    assert state(ds["id"]) == before


def test_the_same_file_in_a_new_resource_is_not_new_data(app, publisher):
    user, _org = publisher
    ds, _res = _uploaded(publisher)
    before = state(ds["id"])
    reply = _api(app, user, "resource_create", {
        "package_id": ds["id"], "name": "copy", "upload": (io.BytesIO(BODY), "copy.csv")})
    assert reply.status_code == 200, reply.body[:300]
    assert state(ds["id"]) == before


@pytest.mark.parametrize("cosmetic", [
    "https://example.com/x.csv?", "https://example.com/x.csv#latest",
    "HTTPS://EXAMPLE.COM/x.csv", "https://example.com:443/x.csv",
    "  https://example.com/x.csv ",
])
def test_a_cosmetic_url_change_is_not_new_data(publisher, cosmetic):
    user, _org = publisher
    ds = _dataset(publisher, resources=[{"url": "https://example.com/x.csv"}])
    age(ds["id"])
    before = state(ds["id"])
    helpers.call_action("resource_patch", context={"user": user["name"]},
                        id=ds["resources"][0]["id"], url=cosmetic)
    assert state(ds["id"]) == before


def test_default_http_port_is_not_new_data(publisher):
    user, _org = publisher
    ds = _dataset(publisher, resources=[{"url": "http://example.com/x.csv"}])
    age(ds["id"])
    before = state(ds["id"])
    helpers.call_action("resource_patch", context={"user": user["name"]},
                        id=ds["resources"][0]["id"], url="http://Example.com:80/x.csv?#")
    assert state(ds["id"]) == before


def test_package_update_re_sending_resources_without_ids_is_not_new_data(publisher):
    user, _org = publisher
    ds = _dataset(publisher, resources=[{"url": "http://example.com/a.csv"},
                                        {"url": "http://example.com/b.csv"}])
    helpers.call_action("resource_create", context={"user": user["name"]},
                        package_id=ds["id"], upload=_file(), url="data.csv")
    age(ds["id"])
    before = state(ds["id"])
    pkg = helpers.call_action("package_show", id=ds["id"])
    resent = [{k: v for k, v in r.items() if k not in ("id", "package_id")}
              for r in pkg["resources"]]
    pkg["resources"] = resent
    helpers.call_action("package_update", context={"user": user["name"]}, **pkg)
    after = helpers.call_action("package_show", id=ds["id"])
    assert {r["id"] for r in after["resources"]}.isdisjoint(
        {r["id"] for r in ds["resources"]})  # CKAN did re-create them
    assert state(ds["id"]) == before


def test_package_update_re_sending_fresh_resources_keeps_their_entries(publisher):
    """Re-created resources in the same period: their entries stay counted
    (the content lives on), and nothing new is added."""
    user, _org = publisher
    ds = _dataset(publisher, resources=[{"url": "http://example.com/a.csv"}])
    before = state(ds["id"])
    pkg = helpers.call_action("package_show", id=ds["id"])
    pkg["resources"] = [{"url": "http://example.com/a.csv"}]
    helpers.call_action("package_update", context={"user": user["name"]}, **pkg)
    assert state(ds["id"]) == before


def test_a_dummy_resource_created_and_deleted_does_not_count(app, publisher):
    user, _org = publisher
    ds, _res = _uploaded(publisher)
    before = state(ds["id"])
    dummy = helpers.call_action("resource_create", context={"user": user["name"]},
                                package_id=ds["id"], url="http://example.com/dummy.csv")
    assert len(counting(ds["id"])) == 2  # it did count while it existed
    helpers.call_action("resource_delete", context={"user": user["name"]}, id=dummy["id"])
    assert state(ds["id"]) == before
    # the row is kept for audit, marked, with the deletion's own entry
    kept = [r for r in rows(ds["id"]) if r["resource_id"] == dummy["id"]]
    assert [(r["kind"], r["nature"], r["withdrawn"] is not None) for r in kept] == [
        ("resource_create", "new_data", True), ("resource_delete", "metadata", False)]
    listed = helpers.call_action("kpigov_ledger_list", id=ds["id"])["results"]
    shown = {r["id"]: r for r in listed}[kept[0]["id"]]
    assert shown["withdrawn"] and shown["counts"] is False
    # an uploaded dummy file through the API, deleted the same way
    reply = _api(app, user, "resource_create", {
        "package_id": ds["id"], "upload": (io.BytesIO(b"x\n1\n"), "dummy.csv")})
    assert reply.status_code == 200
    _api(app, user, "resource_delete", {"id": reply.json["result"]["id"]})
    assert state(ds["id"]) == before
    # creating it again later is the same content: still nothing
    helpers.call_action("resource_create", context={"user": user["name"]},
                        package_id=ds["id"], url="http://example.com/dummy.csv")
    assert state(ds["id"]) == before


def test_deleting_an_old_resource_withdraws_nothing(publisher):
    user, _org = publisher
    ds, res = _uploaded(publisher)
    before = counting(ds["id"])
    helpers.call_action("resource_delete", context={"user": user["name"]}, id=res["id"])
    assert counting(ds["id"]) == before
    assert len(rows(ds["id"])) == 1


def test_a_forged_upload_token_is_worthless(publisher):
    user, _org = publisher
    ds, res = _uploaded(publisher)
    before = state(ds["id"])
    helpers.call_action("resource_patch", context={"user": user["name"]},
                        id=res["id"], kpigov_upload_token="0" * 32,
                        last_modified=dt.datetime.utcnow().isoformat())
    assert state(ds["id"]) == before
    assert ledger.TOKEN_FIELD not in helpers.call_action("resource_show", id=res["id"])


# --- real new content still counts, exactly once -------------------------

def test_a_new_file_is_one_new_data_entry_with_its_hash(app, publisher):
    user, _org = publisher
    ds, res = _uploaded(publisher)
    first = rows(ds["id"])[0]
    assert first["sha256"] == hashlib.sha256(BODY).hexdigest()
    assert first["size"] == len(BODY)
    new = b"district,n\nPathum Wan,2\nBang Rak,3\n"
    reply = _api(app, user, "resource_patch", {
        "id": res["id"], "upload": (io.BytesIO(new), "data.csv")})
    assert reply.status_code == 200, reply.body[:300]
    added = rows(ds["id"])[1:]
    assert [(r["kind"], r["nature"], r["sha256"], r["size"]) for r in added] == [
        ("upload", "new_data", hashlib.sha256(new).hexdigest(), len(new))]
    # CKAN still got the whole file: the hash did not consume the stream
    path = os.path.join(tk.config["ckan.storage_path"], "resources",
                        res["id"][:3], res["id"][3:6], res["id"][6:])
    with open(path, "rb") as f:
        assert f.read() == new
    listed = helpers.call_action("kpigov_ledger_list", id=ds["id"])["results"][0]
    assert (listed["sha256"], listed["size"], listed["counts"]) == (
        hashlib.sha256(new).hexdigest(), len(new), True)
    # and the compliance moved: the current month has an entry now
    assert any(added[0]["id"] in entries for _k, _s, entries in compliance(ds["id"]))


def test_a_real_url_change_is_one_new_data_entry(publisher):
    user, _org = publisher
    ds = _dataset(publisher, resources=[{"url": "https://example.com/2026-10.csv"}])
    age(ds["id"])
    helpers.call_action("resource_patch", context={"user": user["name"]},
                        id=ds["resources"][0]["id"], url="https://example.com/2026-11.csv")
    added = rows(ds["id"])[1:]
    assert [(r["kind"], r["nature"]) for r in added] == [("url_change", "new_data")]
    assert added[0]["detail"]["url_key"] == "https://example.com/2026-11.csv"


def test_a_file_uploaded_in_package_update_is_hashed(publisher):
    """package_update with a file in a resource: no IResourceController hook
    runs there, the IUploader look-ahead hashes it."""
    user, _org = publisher
    ds, res = _uploaded(publisher)
    pkg = helpers.call_action("package_show", id=ds["id"])
    new = b"district,n\nDusit,9\n"
    pkg["resources"][0]["upload"] = _file(new)
    helpers.call_action("package_update", context={"user": user["name"]}, **pkg)
    added = rows(ds["id"])[1:]
    assert [(r["kind"], r["sha256"]) for r in added] == [
        ("upload", hashlib.sha256(new).hexdigest())]
    # the same file again through the same path: nothing
    pkg = helpers.call_action("package_show", id=ds["id"])
    pkg["resources"][0]["upload"] = _file(new)
    helpers.call_action("package_update", context={"user": user["name"]}, **pkg)
    assert len(rows(ds["id"])) == 2


def test_stored_uploads_are_hashed_for_entries_made_before_hashes(publisher):
    ds, res = _uploaded(publisher)
    model.Session.execute(ledger_table.update().where(
        ledger_table.c.package_id == ds["id"]).values(sha256=None, size=None))
    model.Session.commit()
    done = ledger.hash_stored_uploads(model.Session.connection(),
                                      tk.config["ckan.storage_path"])
    model.Session.commit()
    assert done >= 1
    assert (rows(ds["id"])[0]["sha256"], rows(ds["id"])[0]["size"]) == (
        hashlib.sha256(BODY).hexdigest(), len(BODY))
    # ... so re-uploading that file is recognised as the same content
    helpers.call_action("resource_patch", id=res["id"], upload=_file(), url="data.csv")
    assert len(rows(ds["id"])) == 1


def test_url_normalisation():
    n = ledger.normalize_url
    assert n("HTTPS://Example.COM:443/a/B.csv?#x") == "https://example.com/a/B.csv"
    assert n("http://example.com:8080/a?q=1#f") == "http://example.com:8080/a?q=1"
    assert n("http://example.com") == n("http://example.com/")
    assert n("https://example.com/a?q=1") != n("https://example.com/a?q=2")
    assert n("not a url") == "not a url"


# --- DataStore -----------------------------------------------------------

DS_PLUGINS = "kpigov_pgsearch datastore kpigov"


def _table(publisher):
    sysadmin = factories.Sysadmin()
    ds = _dataset(publisher, resources=[{"url": "http://example.com/api"}])
    res = ds["resources"][0]
    ctx = {"user": sysadmin["name"]}
    records = [{"district": "ปทุมวัน", "n": 1}, {"district": "บางรัก", "n": 2}]
    helpers.call_action("datastore_create", context=dict(ctx), resource_id=res["id"],
                        force=True, fields=[{"id": "district"}, {"id": "n", "type": "int"}],
                        records=records, primary_key="district")
    age(ds["id"])
    return ds, res, ctx, records


@pytest.mark.ckan_config("ckan.plugins", DS_PLUGINS)
def test_datastore_upsert_of_the_same_records_is_not_new_data(publisher):
    ds, res, ctx, records = _table(publisher)
    assert [r["sha256"] for r in rows(ds["id"]) if r["kind"] == "datastore_upsert"][0]
    before = state(ds["id"])
    helpers.call_action("datastore_upsert", context=dict(ctx), resource_id=res["id"],
                        force=True, method="upsert", records=records)
    # the whole load again (the loader drops the table and loads it anew)
    helpers.call_action("datastore_delete", context=dict(ctx), resource_id=res["id"],
                        force=True)
    helpers.call_action("datastore_create", context=dict(ctx), resource_id=res["id"],
                        force=True, fields=[{"id": "district"}, {"id": "n", "type": "int"}],
                        records=records, primary_key="district")
    assert state(ds["id"]) == before


@pytest.mark.ckan_config("ckan.plugins", DS_PLUGINS)
def test_datastore_new_records_are_one_new_data_entry(publisher):
    ds, res, ctx, _records = _table(publisher)
    new = [{"district": "ปทุมวัน", "n": 5}]
    helpers.call_action("datastore_upsert", context=dict(ctx), resource_id=res["id"],
                        force=True, method="upsert", records=new)
    added = [r for r in rows(ds["id"]) if r["kind"] == "datastore_upsert"][1:]
    import json
    body = json.dumps(new, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode()
    assert [(r["nature"], r["sha256"], r["size"]) for r in added] == [
        ("new_data", hashlib.sha256(body).hexdigest(), len(body))]
    # deleting rows is not new data
    helpers.call_action("datastore_delete", context=dict(ctx), resource_id=res["id"],
                        force=True, filters={"district": "บางรัก"})
    assert len(rows(ds["id"])) == 3
