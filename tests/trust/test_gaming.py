"""Gaming the score, tried as an agency that is behind would (issue 15).

Each attack runs on the real stack (actions, listeners, PostgreSQL) at frozen
times around period and year boundaries, and must leave the dataset's
statuses and the organization's score exactly as without it.
"""
from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckanext.kpigov.model import record_update

pytestmark = [pytest.mark.usefixtures("clean_db", "with_plugins"),
              pytest.mark.ckan_config("ckanext.kpigov.evaluators", "evaluator")]

MONTHLY = [{"key": "update_frequency_unit", "value": "เดือน"},
           {"key": "update_frequency_interval", "value": "1"}]


def bkk(*args: int) -> str:
    """A Bangkok wall-clock time as the UTC instant freezegun wants."""
    return (dt.datetime(*args) - dt.timedelta(hours=7)).isoformat()


def call(action, user=None, **kw):
    ctx = {"user": user["name"] if user else "", "ignore_auth": False}
    return helpers.call_action(action, context=ctx, **kw)


def set_cadence(ds, editor, unit, interval="1"):
    call("package_patch", editor, id=ds["id"], extras=[
        {"key": "update_frequency_unit", "value": unit},
        {"key": "update_frequency_interval", "value": interval}])


def made(ds, *when):
    """Set the creation time (CKAN's column default is not frozen by freezegun)."""
    pkg = model.Package.get(ds["id"])
    pkg.metadata_created = dt.datetime(*when) - dt.timedelta(hours=7)
    model.Session.commit()
    return ds


def upload(ds, *when):
    record_update(ds["id"], "upload", "new_data", source="api",
                  created=dt.datetime(*when) - dt.timedelta(hours=7))
    model.Session.commit()


def statuses(ds, user, fy=2569):
    result = call("kpigov_dataset_compliance", user, id=ds["id"], fiscal_year=fy)
    return {p["key"]: p["status"] for p in result["periods"]}


@pytest.fixture
def agency():
    editor = factories.User()
    evaluator = factories.User(name="evaluator")
    org = factories.Organization(users=[{"name": editor["name"], "capacity": "editor"}])
    with freeze_time(bkk(2025, 10, 1, 9)):
        lagging = factories.Dataset(owner_org=org["id"], name="lagging", extras=MONTHLY)
        control = factories.Dataset(owner_org=org["id"], name="control", extras=MONTHLY)
    for ds in (lagging, control):
        made(ds, 2025, 10, 1, 9)
    for ds in (lagging, control):
        upload(ds, 2025, 10, 10, 9)  # October only
    return dict(org=org, editor=editor, evaluator=evaluator, lagging=lagging,
                control=control)


def score(agency):
    """The organization's steps, as figures (not the ids they point at)."""
    result = call("kpigov_org_score", agency["evaluator"], id=agency["org"]["id"],
                  fiscal_year=2569)
    return {"performance": result["performance"], "steps": [
        (st["id"], st["met"], st["progress"],
         [(c["type"], c["met"], c["done"], c["total"], c["value"]) for c in st["checks"]])
        for st in result["steps"]]}


def test_flip_to_yearly_around_a_month_boundary_changes_nothing(agency):
    ds, editor = agency["lagging"], agency["editor"]
    with freeze_time(bkk(2025, 10, 31, 23, 59)):
        set_cadence(ds, editor, "ปี")
    with freeze_time(bkk(2025, 11, 1, 0, 1)):
        set_cadence(ds, editor, "เดือน")
    with freeze_time(bkk(2026, 3, 20, 12)):
        got = statuses(ds, editor)
        assert got == statuses(agency["control"], editor)
        assert [got[k] for k in ("2025-11", "2025-12", "2026-01", "2026-02")] == \
            ["missed"] * 4
        assert "FY2569" not in got


def test_staying_yearly_from_november_still_owes_every_month(agency):
    ds, editor = agency["lagging"], agency["editor"]
    with freeze_time(bkk(2025, 10, 31, 23, 59)):
        set_cadence(ds, editor, "ปี")
    upload(ds, 2026, 1, 5, 9)  # the one yearly update
    with freeze_time(bkk(2026, 3, 20, 12)):
        result = call("kpigov_dataset_compliance", editor, id=ds["id"], fiscal_year=2569)
        assert result["tally"]["missed"] == 3  # Nov, Dec, Feb: still monthly
        assert result["rate"] == pytest.approx(2 / 5)
        # the laxer cadence applies from the next fiscal year
        nxt = call("kpigov_dataset_compliance", editor, id=ds["id"], fiscal_year=2570)
        assert [p["key"] for p in nxt["periods"]] == ["FY2570"]


def test_no_updates_after_collection_for_february_is_no_self_exemption(agency):
    ds, editor = agency["lagging"], agency["editor"]
    with freeze_time(bkk(2026, 1, 31, 23, 59)):
        set_cadence(ds, editor, "ไม่มีการปรับปรุงหลังจากการจัดเก็บข้อมูล")
    with freeze_time(bkk(2026, 2, 10, 9)):
        set_cadence(ds, editor, "เดือน")
    with freeze_time(bkk(2026, 3, 20, 12)):
        got = statuses(ds, editor)
        assert got["2026-02"] == "missed"
        assert got == statuses(agency["control"], editor)


def test_a_stricter_cadence_takes_effect_at_once(agency):
    # the principle is one-way: what is owed may rise mid-year
    ds, editor = agency["lagging"], agency["editor"]
    with freeze_time(bkk(2026, 2, 28, 23, 59)):
        set_cadence(ds, editor, "สัปดาห์")
    with freeze_time(bkk(2026, 3, 20, 12)):
        got = statuses(ds, editor)
        assert got["2026-02"] == "missed"
        assert "2026-03" not in got and any(k.startswith("2026-W") for k in got)


def test_draft_hides_nothing(agency):
    editor = agency["editor"]
    with freeze_time(bkk(2026, 3, 20, 12)):
        before = score(agency)
        before_compliance = call("kpigov_org_compliance", editor, id=agency["org"]["id"],
                                 fiscal_year=2569)
        call("package_patch", editor, id="lagging", state="draft")
        during = score(agency)
        compliance = call("kpigov_org_compliance", editor, id=agency["org"]["id"],
                          fiscal_year=2569)
        row = next(r for r in compliance["datasets"] if r["name"] == "lagging")
        assert row["state"] == "draft"
        assert row["months"]["2025-11"] == "missed"
        assert compliance["rate"] == before_compliance["rate"]
        assert during["steps"] == before["steps"]
        call("package_patch", editor, id="lagging", state="active")
        assert score(agency)["steps"] == before["steps"]


def test_deleting_and_recreating_under_the_same_name_keeps_the_misses(agency):
    editor, org = agency["editor"], agency["org"]
    with freeze_time(bkk(2026, 3, 20, 12)):
        before = call("kpigov_org_compliance", editor, id=org["id"], fiscal_year=2569)
        before_score = score(agency)
    with freeze_time(bkk(2026, 3, 1, 9)):
        call("package_delete", editor, id="lagging")
        fresh = call("package_create", editor, name="lagging", owner_org=org["id"],
                     extras=MONTHLY)
    made(fresh, 2026, 3, 1, 9)
    assert fresh["id"] != agency["lagging"]["id"]  # CKAN made a new dataset
    with freeze_time(bkk(2026, 3, 20, 12)):
        got = statuses(fresh, editor)
        assert got["2025-10"] == "on_time"  # the deleted dataset's upload
        assert got["2025-11"] == got["2026-01"] == "missed"
        after = call("kpigov_org_compliance", editor, id=org["id"], fiscal_year=2569)
        names = [r["name"] for r in after["datasets"]]
        assert names.count("lagging") == 1  # continued, not counted twice
        row = next(r for r in after["datasets"] if r["name"] == "lagging")
        assert row["continues"] == [agency["lagging"]["id"]]
        assert after["rate"] == before["rate"]
        assert score(agency)["steps"] == before_score["steps"]


def test_recreating_with_the_same_link_resource_keeps_the_misses(agency):
    editor, org = agency["editor"], agency["org"]
    url = "https://data.example.go.th/files/register.csv"
    with freeze_time(bkk(2025, 10, 1, 10)):
        linked = call("package_create", editor, name="register", owner_org=org["id"],
                      extras=MONTHLY, resources=[{"url": url, "format": "CSV"}])
    made(linked, 2025, 10, 1, 10)
    with freeze_time(bkk(2026, 3, 1, 9)):
        call("package_delete", editor, id=linked["id"])
        again = call("package_create", editor, name="register-2569", owner_org=org["id"],
                     extras=MONTHLY, resources=[{"url": url, "format": "CSV"}])
    made(again, 2026, 3, 1, 9)
    with freeze_time(bkk(2026, 3, 20, 12)):
        got = statuses(again, editor)
        # created in October with its resource: October on time, then misses
        assert got["2025-10"] == "on_time"
        assert got["2025-12"] == "missed"


def test_a_deleted_dataset_owes_until_its_deletion(agency):
    editor, org = agency["editor"], agency["org"]
    with freeze_time(bkk(2026, 1, 20, 9)):
        call("package_delete", editor, id="lagging")
    with freeze_time(bkk(2026, 3, 20, 12)):
        compliance = call("kpigov_org_compliance", editor, id=org["id"], fiscal_year=2569)
        row = next(r for r in compliance["datasets"] if r["name"] == "lagging")
        assert row["state"] == "deleted"
        assert row["months"]["2025-12"] == "missed"
        assert row["months"]["2026-01"] == "missed"  # deleted during January
        assert row["months"]["2026-02"] == "not_required"
        # the public sees active datasets only
        public = call("kpigov_org_compliance", None, id=org["id"], fiscal_year=2569)
        assert "lagging" not in [r["name"] for r in public["datasets"]]
        # and the year after, it is gone
        nxt = call("kpigov_org_compliance", editor, id=org["id"], fiscal_year=2570)
        assert "lagging" not in [r["name"] for r in nxt["datasets"]]


def test_one_upload_in_the_grace_days_counts_once(agency):
    editor, org = agency["editor"], agency["org"]
    with freeze_time(bkk(2025, 9, 1, 9)):
        ds = factories.Dataset(owner_org=org["id"], name="early", extras=MONTHLY)
    made(ds, 2025, 9, 1, 9)
    upload(ds, 2025, 9, 5, 9)   # September's
    upload(ds, 2025, 10, 10, 9)  # inside September's grace days and October
    with freeze_time(bkk(2025, 12, 1, 12)):
        assert statuses(ds, editor, 2568)["2025-09"] == "on_time"
        assert statuses(ds, editor, 2569)["2025-10"] == "on_time"
    with freeze_time(bkk(2025, 9, 1, 9)):
        other = made(factories.Dataset(owner_org=org["id"], name="late-sept",
                                       extras=MONTHLY), 2025, 9, 1, 9)
    upload(other, 2025, 10, 10, 9)  # September had nothing: it is September's
    with freeze_time(bkk(2025, 12, 1, 12)):
        fy68 = call("kpigov_dataset_compliance", editor, id=other["id"], fiscal_year=2568)
        fy69 = call("kpigov_dataset_compliance", editor, id=other["id"], fiscal_year=2569)
        sept = next(p for p in fy68["periods"] if p["key"] == "2025-09")
        octo = next(p for p in fy69["periods"] if p["key"] == "2025-10")
        assert sept["status"] == "on_time"
        assert octo["status"] == "missed"
        assert len(sept["ledger_entries"] + octo["ledger_entries"]) == 1


def test_the_compliance_tab_marks_draft_and_deleted_datasets(agency, app):
    editor, org = agency["editor"], agency["org"]
    with freeze_time(bkk(2026, 3, 20, 12)):
        call("package_patch", editor, id="lagging", state="draft")
        call("package_delete", editor, id="control")
    token = factories.APIToken(user=editor["name"])["token"]
    page = app.get(f"/en/organization/{org['name']}/compliance?fy=2569",
                   headers={"Authorization": token})
    assert page.status_code == 200
    assert ">Draft<" in page.body and ">Deleted<" in page.body
    public = app.get(f"/en/organization/{org['name']}/compliance?fy=2569")
    assert "/dataset/lagging" not in public.body and "/dataset/control" not in public.body


@pytest.mark.ckan_config("ckanext.kpigov.public_kpi_summary", True)
def test_the_public_summary_never_names_draft_or_deleted_datasets(agency):
    editor, org = agency["editor"], agency["org"]
    call("package_patch", editor, id="lagging", state="draft")
    call("package_delete", editor, id="control")
    import json
    summary = json.dumps(call("kpigov_org_score", None, id=org["id"], fiscal_year=2569))
    assert "lagging" not in summary and "control" not in summary
    assert agency["lagging"]["id"] not in summary and agency["control"]["id"] not in summary
