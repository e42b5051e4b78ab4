"""`ckan kpigov privacy-scrub` as an operator runs it (test.ini's plugins)."""
import json

import pytest
import sqlalchemy as sa

import ckan.model as model
import ckan.tests.factories as factories
from ckan.cli.cli import ckan as ckan_cli

EMAIL = "leakmark-cli-4r5t@bma.example"


@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_privacy_scrub_command_cleans_the_index_and_is_idempotent(cli):
    people = json.dumps([{"role": "steward", "name": "ผู้ดูแล", "email": EMAIL}])
    ds = factories.Dataset(extras=[{"key": "kpigov_stakeholders", "value": people}])
    # a document as the old code wrote it: the contact in the stored dicts
    # and the free text
    model.Session.execute(sa.text(
        "UPDATE kpigov_search_doc SET data_dict = :d, search_text = search_text || :e "
        "WHERE id = :id"), {"d": json.dumps({"id": ds["id"], "extras": [
            {"key": "kpigov_stakeholders", "value": people}]}), "e": " " + EMAIL,
                           "id": ds["id"]})
    model.Session.commit()
    for _ in range(2):
        out = cli.invoke(ckan_cli, ["kpigov", "privacy-scrub"])
        assert out.exit_code == 0, out.output
        assert "datasets reindexed: 1" in out.output
        row = model.Session.execute(sa.text(
            "SELECT data_dict || validated_data_dict || search_text || fields::text "
            "FROM kpigov_search_doc WHERE id = :id"), {"id": ds["id"]}).scalar()
        assert EMAIL not in row
        model.Session.remove()


@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_edits_through_core_actions_keep_the_contacts():
    """package_show may answer from the (contact-free) index; every core
    action that re-saves the dataset from it (resource_create/delete,
    package_patch) must still keep the contacts stored."""
    import ckan.tests.helpers as helpers
    editor = factories.User()
    org = factories.Organization(users=[{"name": editor["name"], "capacity": "editor"}])
    people = json.dumps([{"role": "steward", "name": "ผู้ดูแล", "email": EMAIL,
                          "phone": "0811111111"}])
    ds = factories.Dataset(owner_org=org["id"],
                           extras=[{"key": "kpigov_stakeholders", "value": people}],
                           resources=[{"url": "http://x/a.csv"}])
    ctx = {"user": editor["name"]}
    res = helpers.call_action("resource_create", context=dict(ctx), package_id=ds["id"],
                              url="http://x/b.csv")
    helpers.call_action("resource_delete", context=dict(ctx), id=res["id"])
    helpers.call_action("package_patch", context=dict(ctx), id=ds["id"], title="ใหม่")
    helpers.call_action("resource_patch", context=dict(ctx), id=ds["resources"][0]["id"],
                        name="แก้ชื่อ")
    stored = model.Session.execute(sa.text(
        "SELECT value FROM package_extra WHERE package_id = :p AND key = "
        "'kpigov_stakeholders' AND state = 'active'"), {"p": ds["id"]}).scalar()
    assert json.loads(stored) == json.loads(people)


@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_unowned_dataset_is_shown_to_logged_in_users_and_its_editor_keeps_contacts(app):
    people = json.dumps([{"role": "steward", "name": "ผู้ดูแล", "email": EMAIL}])
    owner = factories.UserWithToken()
    other = factories.UserWithToken()
    res = app.post("/api/3/action/package_create", headers={"Authorization": owner["token"]},
                   json={"name": "unowned-ds", "extras": [
                       {"key": "kpigov_stakeholders", "value": people}]})
    assert res.status_code == 200, res.body
    shown = app.post("/api/3/action/package_show", json={"id": "unowned-ds"},
                     headers={"Authorization": other["token"]})
    # (no 500; whoever CKAN lets edit an unowned dataset sees what it saves)
    assert shown.status_code == 200
    mine = app.post("/api/3/action/package_show", json={"id": "unowned-ds"},
                    headers={"Authorization": owner["token"]})
    assert mine.status_code == 200 and EMAIL in mine.body
    assert app.get("/dataset/unowned-ds", headers={"Authorization": other["token"]}
                   ).status_code == 200
