"""The update ledger: every data change, through every API path, once."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

import ckan.model as model
import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckanext.kpigov.model import cadence_history_table, ledger_table

pytestmark = pytest.mark.usefixtures("clean_db", "with_plugins")


def entries(package_id=None):
    # pending changes first, as kpigov's readers do (SQLAlchemy 2, on CKAN
    # 2.12, does not autoflush before a Core select)
    model.Session.flush()
    q = sa.select(ledger_table).order_by(ledger_table.c.created,
                                         ledger_table.c.id)
    if package_id:
        q = q.where(ledger_table.c.package_id == package_id)
    return [dict(r._mapping) for r in model.Session.execute(q)]


def upload(name="data.csv", body=b"a,b\n1,2\n"):
    return FileStorage(stream=io.BytesIO(body), filename=name,
                       content_type="text/csv")


def test_package_create_with_resources_records_each_resource():
    ds = factories.Dataset(resources=[{"url": "http://x/a.csv"},
                                      {"url": "http://x/b.csv"}])
    rows = entries(ds["id"])
    assert [(r["kind"], r["nature"]) for r in rows] == [
        ("resource_create", "new_data"), ("resource_create", "new_data")]
    assert {r["resource_id"] for r in rows} == {r["id"] for r in ds["resources"]}


def test_metadata_only_edits_are_not_updates():
    ds = factories.Dataset(resources=[{"url": "http://x/a.csv"}])
    res = ds["resources"][0]
    helpers.call_action("resource_patch", id=res["id"], description="typo fix")
    helpers.call_action("package_patch", id=ds["id"], title="New title")
    assert len(entries(ds["id"])) == 1


def test_url_change_through_every_path():
    ds = factories.Dataset(resources=[{"url": "http://x/a.csv"}])
    res = ds["resources"][0]
    helpers.call_action("resource_update", id=res["id"], url="http://x/b.csv")
    helpers.call_action("resource_patch", id=res["id"], url="http://x/c.csv")
    pkg = helpers.call_action("package_show", id=ds["id"])
    pkg["resources"][0]["url"] = "http://x/d.csv"
    helpers.call_action("package_update", **pkg)
    helpers.call_action("package_patch", id=ds["id"], resources=[
        dict(pkg["resources"][0], url="http://x/e.csv")])
    kinds = [r["kind"] for r in entries(ds["id"])]
    assert kinds == ["resource_create"] + ["url_change"] * 4


def test_uploads_are_new_data_and_declared_nature_is_kept_per_change():
    user = factories.User()
    org = factories.Organization(user=user)
    ds = factories.Dataset(owner_org=org["id"], user=user)
    ctx = {"user": user["name"]}
    res = helpers.call_action("resource_create", context=ctx,
                              package_id=ds["id"], upload=upload(), url="data.csv")
    helpers.call_action("resource_patch", context=ctx, id=res["id"],
                        upload=upload(body=b"a,b\n3,4\n"), url="data.csv",
                        kpigov_update_nature="correction")
    helpers.call_action("resource_patch", context=ctx, id=res["id"],
                        upload=upload(body=b"a,b\n5,6\n"), url="data.csv")
    rows = entries(ds["id"])
    assert [(r["kind"], r["nature"]) for r in rows] == [
        ("upload", "new_data"), ("upload", "correction"), ("upload", "new_data")]
    # the declaration is not stored on the resource
    shown = helpers.call_action("resource_show", id=res["id"])
    assert "kpigov_update_nature" not in shown


def test_server_time_is_used_not_client_last_modified():
    ds = factories.Dataset(resources=[{"url": "http://x/a.csv"}])
    res = ds["resources"][0]
    helpers.call_action("resource_patch", id=res["id"], url="http://x/b.csv",
                        last_modified="2001-01-01T00:00:00")
    latest = entries(ds["id"])[-1]
    assert latest["created"].year >= 2026


def test_failed_update_leaves_no_ledger_entry():
    ds = factories.Dataset(resources=[{"url": "http://x/a.csv"}])
    res = ds["resources"][0]
    import ckan.logic as logic
    with pytest.raises(logic.ValidationError):
        helpers.call_action("package_patch", id=ds["id"], name="Not A Valid Name!",
                            resources=[dict(res, url="http://x/b.csv")])
    assert len(entries(ds["id"])) == 1
    # the entry shares the change's transaction: roll the change back and
    # the entry is gone with it
    helpers.call_action("resource_patch", context={"defer_commit": True},
                        id=res["id"], url="http://x/c.csv")
    # CKAN 2.12 keeps a deferred package_update in a savepoint it never
    # releases, and the change is not applied at all (also without kpigov):
    # the ledger has an entry exactly when the change is there
    applied = model.Resource.get(res["id"]).url == "http://x/c.csv"
    assert len(entries(ds["id"])) == (2 if applied else 1)
    if tk.check_ckan_version(max_version="2.11.99"):
        assert applied
    model.Session.rollback()
    assert len(entries(ds["id"])) == 1
    assert helpers.call_action("resource_show", id=res["id"])["url"] == "http://x/a.csv"


def test_deleted_resource_records_nothing():
    ds = factories.Dataset(resources=[{"url": "http://x/a.csv"}])
    # made in an earlier period: deleting it changes nothing
    model.Session.execute(ledger_table.update().where(
        ledger_table.c.package_id == ds["id"]).values(created=sa.text(
            "created - interval '100 days'")))
    model.Session.commit()
    helpers.call_action("resource_delete", id=ds["resources"][0]["id"])
    assert len(entries(ds["id"])) == 1


def test_resource_deleted_in_its_period_is_withdrawn():
    # (issue 15) a resource created and deleted in the same period: its
    # entry is kept but withdrawn, with the deletion's own entry
    ds = factories.Dataset(resources=[{"url": "http://x/a.csv"}])
    helpers.call_action("resource_delete", id=ds["resources"][0]["id"])
    rows = entries(ds["id"])
    assert [(r["kind"], r["nature"], r["withdrawn"] is not None) for r in rows] == [
        ("resource_create", "new_data", True), ("resource_delete", "metadata", False)]
    assert rows[1]["detail"]["withdrawn"] == [rows[0]["id"]]


def test_cadence_changes_are_logged():
    ds = factories.Dataset(extras=[{"key": "update_frequency_unit", "value": "เดือน"}])
    helpers.call_action("package_patch", id=ds["id"], title="same cadence")
    helpers.call_action("package_patch", id=ds["id"], extras=[
        {"key": "update_frequency_unit", "value": "ปี"}])
    rows = model.Session.execute(sa.select(cadence_history_table).where(
        cadence_history_table.c.package_id == ds["id"]).order_by(
        cadence_history_table.c.changed)).fetchall()
    assert [(r.unit_from, r.unit_to) for r in rows] == [(None, "เดือน"), ("เดือน", "ปี")]


def test_web_form_upload_is_recorded(app):
    user = factories.UserWithToken()
    org = factories.Organization(users=[{"name": user["name"], "capacity": "editor"}])
    ds = factories.Dataset(owner_org=org["id"])
    headers = {"Authorization": user["token"]}
    form = app.get("/dataset/%s/resource/new" % ds["name"], headers=headers)
    assert form.status_code == 200
    res = app.post("/dataset/%s/resource/new" % ds["name"], headers=headers, data={
        "id": "", "url": "", "name": "monthly", "save": "go-metadata",
        "upload": (io.BytesIO(b"a,b\n1,2\n"), "m.csv"),
    }, follow_redirects=False)
    assert res.status_code in (302, 200), res.body[:500]
    rows = entries(ds["id"])
    assert [(r["kind"], r["source"]) for r in rows] == [("upload", "web")]
    assert rows[0]["user_id"] == user["id"]
