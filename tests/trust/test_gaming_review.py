"""Attacks found by reviewing the content-hash ledger and the dataset life
(issue 15): each test is the attack, and asserts the score does not move.

- a round trip (A -> B -> A) leaves nothing new in the end: no new data;
- a re-created dataset (same name, or other name with the same link
  normalised or the same file) continues the deleted one, and the same
  file uploaded again is not new data;
- a deletion in the period only spares entries whose content lives on in
  *this* period's writes;
- a closed year's KPI target list cannot be changed by a publisher;
- an interval PostgreSQL cannot hold is kept as written, never a 500.
"""
from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

import ckan.logic as logic
import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckanext.kpigov import scoring
from ckanext.kpigov.life import dataset_life_table
from ckanext.kpigov.model import ledger_table

pytestmark = [pytest.mark.usefixtures("clean_db", "with_plugins"),
              pytest.mark.ckan_config("ckanext.kpigov.evaluators", "evaluator")]

MONTHLY = [{"key": "update_frequency_unit", "value": "เดือน"}]
BODY = b"district,n\nPathum Wan,1\n"


def _file(body=BODY, name="data.csv"):
    return FileStorage(stream=io.BytesIO(body), filename=name, content_type="text/csv")


def counting(pid):
    return [r.kind for r in model.Session.execute(sa.select(ledger_table).where(
        ledger_table.c.package_id == pid, ledger_table.c.nature == "new_data",
        ledger_table.c.withdrawn.is_(None)))]


def age(pid, days=100):
    """Move the dataset and its entries to an earlier period."""
    then = dt.datetime.utcnow() - dt.timedelta(days=days)
    model.Session.execute(ledger_table.update().where(
        ledger_table.c.package_id == pid).values(created=then))
    model.Session.execute(model.package_table.update().where(
        model.package_table.c.id == pid).values(metadata_created=then))
    model.Session.commit()


def predecessor(pid):
    return model.Session.execute(sa.select(dataset_life_table.c.predecessor_id).where(
        dataset_life_table.c.package_id == pid)).scalar()


@pytest.fixture
def publisher():
    user = factories.User()
    org = factories.Organization(users=[{"name": user["name"], "capacity": "editor"}])
    return user, org


def ctx(user):
    return {"user": user["name"], "ignore_auth": False}


def test_link_round_trip_is_not_new_data(publisher):
    user, org = publisher
    a = "https://data.example.go.th/files/register.csv"
    ds = factories.Dataset(owner_org=org["id"], extras=MONTHLY,
                           resources=[{"url": a, "format": "CSV"}])
    res = ds["resources"][0]
    age(ds["id"])
    before = counting(ds["id"])
    helpers.call_action("resource_patch", context=ctx(user), id=res["id"], url=a + "?v=2")
    assert len(counting(ds["id"])) == len(before) + 1  # a real change counts
    helpers.call_action("resource_patch", context=ctx(user), id=res["id"], url=a)
    assert counting(ds["id"]) == before  # back where it started: nothing new


def test_upload_round_trip_is_not_new_data(publisher):
    user, org = publisher
    ds = factories.Dataset(owner_org=org["id"], extras=MONTHLY)
    res = helpers.call_action("resource_create", context=ctx(user), package_id=ds["id"],
                              upload=_file(), url="data.csv")
    age(ds["id"])
    n = len(counting(ds["id"]))
    helpers.call_action("resource_update", context=ctx(user), id=res["id"],
                        upload=_file(b"junk\n"), url="data.csv")
    assert len(counting(ds["id"])) == n + 1
    helpers.call_action("resource_update", context=ctx(user), id=res["id"],
                        upload=_file(), url="data.csv")  # the original bytes back
    assert len(counting(ds["id"])) == n


def test_recreated_dataset_same_file_is_not_new_data(publisher):
    user, org = publisher
    ds = helpers.call_action("package_create", context=ctx(user), name="register",
                             owner_org=org["id"], extras=MONTHLY)
    helpers.call_action("resource_create", context=ctx(user), package_id=ds["id"],
                        upload=_file(), url="data.csv")
    age(ds["id"])
    helpers.call_action("package_delete", context=ctx(user), id=ds["id"])
    again = helpers.call_action("package_create", context=ctx(user), name="register",
                                owner_org=org["id"], extras=MONTHLY)
    assert predecessor(again["id"]) == ds["id"]
    helpers.call_action("resource_create", context=ctx(user), package_id=again["id"],
                        upload=_file(), url="data.csv")  # the very same bytes
    assert counting(again["id"]) == []
    helpers.call_action("resource_create", context=ctx(user), package_id=again["id"],
                        upload=_file(b"district,n\nBang Rak,2\n"), url="data.csv")
    assert counting(again["id"]) == ["upload"]  # new bytes are new data


def test_recreated_under_another_name_with_a_cosmetic_url_variant_is_linked(publisher):
    user, org = publisher
    url = "https://data.example.go.th/files/register.csv"
    ds = helpers.call_action("package_create", context=ctx(user), name="register",
                             owner_org=org["id"], extras=MONTHLY,
                             resources=[{"url": url, "format": "CSV"}])
    age(ds["id"])
    helpers.call_action("package_delete", context=ctx(user), id=ds["id"])
    again = helpers.call_action(
        "package_create", context=ctx(user), name="register-new", owner_org=org["id"],
        extras=[{"key": "update_frequency_unit", "value": "ปี"}],
        resources=[{"url": "https://DATA.example.go.th:443/files/register.csv#x",
                    "format": "CSV"}])
    assert predecessor(again["id"]) == ds["id"]  # the history continues
    assert counting(again["id"]) == []  # and the same file is not new data


def test_recreated_under_another_name_with_the_same_upload_is_linked(publisher):
    user, org = publisher
    ds = helpers.call_action("package_create", context=ctx(user), name="register",
                             owner_org=org["id"], extras=MONTHLY)
    helpers.call_action("resource_create", context=ctx(user), package_id=ds["id"],
                        upload=_file(), url="data.csv")
    age(ds["id"])
    helpers.call_action("package_delete", context=ctx(user), id=ds["id"])
    again = helpers.call_action("package_create", context=ctx(user), name="fresh-start",
                                owner_org=org["id"], extras=MONTHLY)
    assert predecessor(again["id"]) is None  # nothing in common yet
    helpers.call_action("resource_create", context=ctx(user), package_id=again["id"],
                        upload=_file(), url="renamed.csv")
    assert predecessor(again["id"]) == ds["id"]
    assert counting(again["id"]) == []


def test_unrelated_dataset_is_not_linked(publisher):
    user, org = publisher
    ds = helpers.call_action("package_create", context=ctx(user), name="old",
                             owner_org=org["id"], extras=MONTHLY,
                             resources=[{"url": "http://example.org/old.csv"}])
    helpers.call_action("package_delete", context=ctx(user), id=ds["id"])
    other = helpers.call_action("package_create", context=ctx(user), name="other",
                                owner_org=org["id"], extras=MONTHLY,
                                resources=[{"url": "http://example.org/other.csv"}])
    assert predecessor(other["id"]) is None
    assert counting(other["id"]) == ["resource_create"]


def test_deletion_spares_only_content_rewritten_in_this_period(publisher):
    """Junk X this period, then the dataset re-sent without R1 and with R2
    holding R1's content of an earlier period: X is withdrawn."""
    user, org = publisher
    old = "http://example.org/y.csv"
    ds = factories.Dataset(owner_org=org["id"], extras=MONTHLY,
                           resources=[{"url": old}])
    age(ds["id"])
    r1 = ds["resources"][0]["id"]
    helpers.call_action("resource_patch", context=ctx(user), id=r1,
                        url="http://example.org/x-junk.csv")
    assert len(counting(ds["id"])) == 2
    helpers.call_action("package_patch", context=ctx(user), id=ds["id"],
                        resources=[{"url": old}])
    assert len(counting(ds["id"])) == 1  # only the earlier period's entry


@pytest.mark.ckan_config("ckan.plugins", "activity kpigov_pgsearch kpigov scheming_datasets")
@pytest.mark.ckan_config("scheming.dataset_schemas", "ckanext.kpigov.schemas:dataset.yaml")
@pytest.mark.ckan_config("scheming.presets", "ckanext.scheming:presets.json "
                         "ckanext.kpigov.schemas:presets.yaml")
def test_closed_year_target_list_is_read_only_for_publishers(publisher):
    user, org = publisher
    factories.User(name="evaluator")
    ds = helpers.call_action("package_create", context=ctx(user), name="target",
                             owner_org=org["id"], update_frequency_unit="เดือน",
                             data_category="ข้อมูลสาธารณะ", notes="ทะเบียน",
                             maintainer="ฝ่ายข้อมูล", maintainer_email="data@bma.example")
    before = scoring.gather([org["id"]], 2569)[org["id"]]["targets"]
    with pytest.raises(logic.ValidationError) as err:
        helpers.call_action("package_patch", context=ctx(user), id=ds["id"],
                            kpigov_target_fy="2569")
    assert "2569" in str(err.value.error_dict["kpigov_target_fy"])
    # the open year is the publisher's to set, and an edit keeps it
    helpers.call_action("package_patch", context=ctx(user), id=ds["id"],
                        kpigov_target_fy="2570")
    helpers.call_action("package_patch", context=ctx(user), id=ds["id"], title="x")
    # an evaluator may (logged), and a publisher then cannot move it out
    helpers.call_action("package_patch", context={"user": "evaluator"}, id=ds["id"],
                        kpigov_target_fy="2569")
    with pytest.raises(logic.ValidationError):
        helpers.call_action("package_patch", context=ctx(user), id=ds["id"],
                            kpigov_target_fy="2570")
    helpers.call_action("package_patch", context=ctx(user), id=ds["id"], title="y")
    assert helpers.call_action("package_show", id=ds["id"])["kpigov_target_fy"] == "2569"
    assert before == []


def test_huge_interval_is_kept_not_a_500(publisher):
    user, org = publisher
    ds = helpers.call_action("package_create", context=ctx(user), name="huge",
                             owner_org=org["id"], extras=[
                                 {"key": "update_frequency_unit", "value": "เดือน"},
                                 {"key": "update_frequency_interval",
                                  "value": "99999999999"}])
    shown = helpers.call_action("package_show", id=ds["id"])
    assert {e["key"]: e["value"] for e in shown["extras"]}[
        "update_frequency_interval"] == "99999999999"
