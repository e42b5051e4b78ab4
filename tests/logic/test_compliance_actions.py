"""Compliance, ledger and exemption actions on real portal data."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

import ckan.logic as logic
import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckanext.kpigov.model import record_update

pytestmark = [pytest.mark.usefixtures("clean_db", "with_plugins"),
              pytest.mark.ckan_config("ckanext.kpigov.evaluators", "evaluator")]


def call(action, user=None, **kw):
    ctx = {"user": user["name"] if user else "", "ignore_auth": False}
    return helpers.call_action(action, context=ctx, **kw)


def monthly_dataset(org, **kw):
    return factories.Dataset(owner_org=org["id"], extras=[
        {"key": "update_frequency_unit", "value": "เดือน"},
        {"key": "update_frequency_interval", "value": "1"}], **kw)


def backdate_created(ds, when):
    pkg = model.Package.get(ds["id"])
    pkg.metadata_created = when
    model.Session.execute(sa.text(
        "UPDATE kpigov_cadence_history SET changed = :w WHERE package_id = :p"),
        {"w": when, "p": ds["id"]})
    model.Session.commit()


@pytest.fixture
def portal():
    editor, member, outsider = factories.User(), factories.User(), factories.User()
    evaluator = factories.User(name="evaluator")
    org = factories.Organization(users=[
        {"name": editor["name"], "capacity": "editor"},
        {"name": member["name"], "capacity": "member"}])
    public = monthly_dataset(org, name="public-ds")
    private = monthly_dataset(org, name="private-ds", private=True)
    for ds in (public, private):
        backdate_created(ds, dt.datetime(2023, 9, 30, 17))  # 1 Oct in Bangkok
    # Oct on time; nothing for Nov and Dec by their deadlines (15th of the
    # next month); two uploads in late January: one is January's, the
    # other fills November late; a metadata edit never counts.
    for ds in (public, private):
        for when, nature in [((2023, 10, 10), "new_data"), ((2024, 1, 5), "metadata"),
                             ((2024, 1, 20), "new_data"), ((2024, 1, 25), "new_data")]:
            record_update(ds["id"], "demo", nature, source="demo",
                          created=dt.datetime(*when, 3))
    model.Session.commit()
    return dict(org=org, public=public, private=private, editor=editor,
                member=member, outsider=outsider, evaluator=evaluator)


@freeze_time("2024-02-20")
def test_dataset_compliance_statuses(portal):
    result = call("kpigov_dataset_compliance", portal["editor"],
                  id="public-ds", fiscal_year=2567)
    statuses = [p["status"] for p in result["periods"]]
    assert statuses[:5] == ["on_time", "late", "missed", "on_time", "upcoming"]
    assert result["tally"]["on_time"] == 2 and result["tally"]["missed"] == 1
    assert result["periods"][0]["ledger_entries"]
    assert result["rate"] == pytest.approx(2 / 4)


def test_private_dataset_compliance_needs_membership(portal):
    # another agency's private dataset is "not found", as an unknown one
    with pytest.raises(logic.NotFound):
        call("kpigov_dataset_compliance", portal["outsider"], id="private-ds")
    with pytest.raises(logic.NotFound):
        call("kpigov_dataset_compliance", None, id="private-ds")
    assert call("kpigov_dataset_compliance", portal["member"], id="private-ds")
    assert call("kpigov_dataset_compliance", portal["evaluator"], id="private-ds")


@freeze_time("2024-02-20")
def test_org_compliance_hides_private_from_outsiders(portal):
    anon = call("kpigov_org_compliance", None, id=portal["org"]["name"],
                fiscal_year=2567)
    assert [d["name"] for d in anon["datasets"]] == ["public-ds"]
    mine = call("kpigov_org_compliance", portal["member"], id=portal["org"]["id"],
                fiscal_year=2567)
    assert sorted(d["name"] for d in mine["datasets"]) == ["private-ds", "public-ds"]
    row = anon["datasets"][0]
    assert row["months"]["2023-10"] == "on_time"
    assert row["months"]["2023-11"] == "late"
    assert row["months"]["2023-12"] == "missed"
    assert anon["month_rates"]["2023-10"] == 1.0
    assert anon["datasets"][0]["months"]["2024-01"] == "on_time"
    assert [o["period"] for o in anon["overdue"]] == ["2023-12"]
    q1 = call("kpigov_org_compliance", None, id=portal["org"]["id"],
              fiscal_year=2567, quarter=1)
    assert q1["months"] == ["2023-10", "2023-11", "2023-12"]


@freeze_time("2024-02-20")
def test_org_compliance_follows_every_change(portal):
    """The tab's per-process memo never serves a stale answer: a new ledger
    entry, a renamed dataset and a dataset made private all show at once."""
    def public_view():
        return call("kpigov_org_compliance", None, id=portal["org"]["id"], fiscal_year=2567)
    first = public_view()
    assert first["datasets"][0]["months"]["2024-02"] == "upcoming"
    assert public_view() == first  # served again, unchanged
    record_update(portal["public"]["id"], "demo", "new_data", source="demo",
                  created=dt.datetime(2024, 2, 19, 3))
    model.Session.commit()
    second = public_view()
    assert second["datasets"][0]["months"]["2024-02"] == "on_time"
    assert second["datasets"][0]["last_update"].startswith("2024-02-19")
    helpers.call_action("package_patch", id="public-ds", title="ชื่อใหม่")
    assert public_view()["datasets"][0]["title"] == "ชื่อใหม่"
    helpers.call_action("package_patch", id="public-ds", private=True)
    assert public_view()["datasets"] == []


@pytest.mark.parametrize("bad", [{"fiscal_year": "abc"}, {"fiscal_year": 1999},
                                 {"fiscal_year": 2999}, {"quarter": 5}])
def test_bad_parameters(portal, bad):
    with pytest.raises(logic.ValidationError):
        call("kpigov_org_compliance", None, id=portal["org"]["id"], **bad)


def test_ledger_list_hides_users_from_public(portal):
    ds = factories.Dataset(owner_org=portal["org"]["id"],
                           resources=[{"url": "http://x/a.csv"}])
    public = call("kpigov_ledger_list", None, id=ds["id"])
    assert public["count"] == 1 and "user" not in public["results"][0]
    member = call("kpigov_ledger_list", portal["member"], id=ds["id"])
    assert "user" in member["results"][0]
    with pytest.raises(logic.NotFound):
        call("kpigov_ledger_list", portal["outsider"], id="private-ds")


@freeze_time("2024-02-20")
def test_exemption_workflow(portal):
    with pytest.raises(logic.NotAuthorized):
        call("kpigov_exemption_create", portal["member"], package_id="public-ds",
             period_start="2023-12-01", period_end="2023-12-31", reason="embargo")
    req = call("kpigov_exemption_create", portal["editor"], package_id="public-ds",
               period_start="2023-12-01", period_end="2024-01-31",
               reason="no_new_data", note="ไม่มีการผลิตข้อมูลใหม่")
    assert req["status"] == "pending"
    with pytest.raises(logic.NotAuthorized):
        call("kpigov_exemption_decide", portal["editor"], id=req["id"],
             decision="approve")
    decided = call("kpigov_exemption_decide", portal["evaluator"], id=req["id"],
                   decision="approve", comment="ok")
    assert decided["status"] == "approved"
    result = call("kpigov_dataset_compliance", portal["editor"], id="public-ds",
                  fiscal_year=2567)
    assert [p["status"] for p in result["periods"]][1:4] == [
        "late", "exempt", "exempt"]
    listed = call("kpigov_exemption_list", portal["member"],
                  owner_org=portal["org"]["name"])
    assert [e["log"][-1]["status_after"] for e in listed] == ["approved"]
    assert [x["action"] for x in listed[0]["log"]] == ["request", "approve"]
    with pytest.raises(logic.NotAuthorized):
        call("kpigov_exemption_list", portal["outsider"], package_id="public-ds")


@freeze_time("2024-02-20")
@pytest.mark.parametrize("bad, field", [
    ({"period_start": "2023-02-30"}, "period_start"),
    ({"period_end": "2023-11-01"}, "period_end"),
    ({"reason": "because"}, "reason"),
    ({"reason": "other"}, "note"),
    ({"period_start": "2021-01-01", "period_end": "2021-01-31"}, "period_start"),
    ({"note": "x" * 3000}, "note"),
])
def test_bad_exemption_requests_store_nothing(portal, bad, field):
    data = dict(package_id="public-ds", period_start="2023-12-01",
                period_end="2023-12-31", reason="embargo")
    data.update(bad)
    with pytest.raises(logic.ValidationError) as err:
        call("kpigov_exemption_create", portal["editor"], **data)
    assert field in err.value.error_dict
    assert call("kpigov_exemption_list", portal["editor"], package_id="public-ds") == []


def test_freshness_is_indexed_and_filterable(portal):
    fresh = monthly_dataset(portal["org"], name="fresh-ds",
                            resources=[{"url": "http://x/new.csv"}])
    result = helpers.call_action("package_search", fq="kpigov_freshness:fresh",
                                 **{"facet.field": '["kpigov_freshness"]'})
    assert [d["name"] for d in result["results"]] == [fresh["name"]]
    assert result["search_facets"]["kpigov_freshness"]["items"][0]["display_name"]
    delinquent = helpers.call_action("package_search",
                                     fq="kpigov_freshness:delinquent")
    assert "public-ds" in [d["name"] for d in delinquent["results"]]
