"""Gaming the score through exemptions, closed years, verifications and
exports (issue 15, parts 4, 6 and 7): one test per attack, on the real
stack, each showing the score or status unchanged by the attack.

FY 2569 runs 1 Oct 2025 - 30 Sep 2026; its evaluation closes 15 days later
(``ckanext.kpigov.evaluation_close``), so from 16 Oct 2026 it is read-only
for publishers.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

import ckan.logic as logic
import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckanext.kpigov.model import (evidence_table, exemption_log_table, exemption_table,
                                  governance_table, record_update)

pytestmark = [pytest.mark.usefixtures("clean_db", "with_plugins"),
              pytest.mark.ckan_config("ckanext.kpigov.evaluators", "evaluator")]

CLOSED = 2569            # Oct 2025 - Sep 2026
AFTER_CLOSE = "2026-12-04"  # FY 2570: FY 2569's evaluation closed on 15 Oct 2026
PEOPLE = [{"role": "owner", "name": "ผู้อำนวยการเขต"}, {"role": "steward", "name": "สมศรี"}]


def call(action, user=None, **kw):
    ctx = {"user": user["name"] if user else "", "ignore_auth": False}
    return helpers.call_action(action, context=ctx, **kw)


def dataset(org, name, created=dt.datetime(2023, 9, 1), target=None):
    extras = {"update_frequency_unit": "เดือน", "update_frequency_interval": "1",
              "kpigov_stakeholders": json.dumps(PEOPLE, ensure_ascii=False)}
    if target:
        extras["kpigov_target_fy"] = str(target)
    ds = factories.Dataset(owner_org=org["id"], name=name, title=name,
                           extras=[{"key": k, "value": v} for k, v in extras.items()],
                           resources=[{"url": "http://example.org/%s.csv" % name,
                                       "format": "CSV"}])
    model.Package.get(ds["id"]).metadata_created = created
    model.Session.execute(sa.text(
        "UPDATE kpigov_cadence_history SET changed = :w WHERE package_id = :p"),
        {"w": created, "p": ds["id"]})
    model.Session.commit()
    return ds


def uploads(ds, months, day=20):
    for year, month in months:
        record_update(ds["id"], "demo", "new_data", source="demo",
                      created=dt.datetime(year, month, day, 3))
    model.Session.commit()


def months_of(fy):
    start = fy - 543 - 1
    return [(start, m) for m in (10, 11, 12)] + [(start + 1, m) for m in range(1, 10)]


@pytest.fixture
def site():
    # tokens for the export pages (they do not work under a frozen clock)
    editor, member = factories.UserWithToken(), factories.UserWithToken()
    outsider = factories.UserWithToken()
    evaluator = factories.UserWithToken(name="evaluator")
    admin = factories.Sysadmin()
    org = factories.Organization(name="pathumwan", users=[
        {"name": editor["name"], "capacity": "editor"},
        {"name": member["name"], "capacity": "member"}])
    target = dataset(org, "elderly", created=dt.datetime(2023, 9, 1), target=CLOSED)
    return dict(org=org, target=target, editor=editor, member=member,
                outsider=outsider, evaluator=evaluator, admin=admin)


def score(user, fy, **kw):
    return call("kpigov_org_score", user, id="pathumwan", fiscal_year=fy, **kw)


def checks_of(result):
    return {c["type"]: c for s in result["steps"] for c in s["checks"]}


def steps_of(result):
    return {s["id"]: s for s in result["steps"]}


def count(table, **where):
    q = sa.select(sa.func.count()).select_from(table)
    for key, value in where.items():
        q = q.where(table.c[key] == value)
    return model.Session.execute(q).scalar()


# ------------------------------------------------------------- exemptions


@freeze_time(AFTER_CLOSE)
def test_exemption_reaching_back_into_a_closed_year_is_refused(site):
    ed, pkg = site["editor"], site["target"]["id"]
    before = call("kpigov_dataset_compliance", ed, id=pkg, fiscal_year=CLOSED)
    assert "exempt" not in {p["status"] for p in before["periods"]}
    bad = [("2025-10-01", "2026-10-01"),   # the attack: all of FY 2569 plus a day
           ("2026-03-01", "2026-03-31"),   # inside the closed year
           ("2026-09-01", "2026-10-31"),   # straddles the closed and the open year
           ("2026-12-01", "2027-10-31"),   # straddles two open years
           ("2027-01-31", "2026-12-01"),   # reversed
           ("2026-13-01", "2027-01-01")]   # not a date
    for start, end in bad:
        with pytest.raises(logic.ValidationError) as err:
            call("kpigov_exemption_create", ed, package_id=pkg, period_start=start,
                 period_end=end, reason="no_new_data")
        assert set(err.value.error_dict) & {"period_start", "period_end"}, (start, end)
    assert count(exemption_table) == 0 and count(exemption_log_table) == 0
    after = call("kpigov_dataset_compliance", ed, id=pkg, fiscal_year=CLOSED)
    assert after["periods"] == before["periods"] and after["rate"] == before["rate"]
    # a range inside the open year is still accepted
    ok = call("kpigov_exemption_create", ed, package_id=pkg, period_start="2026-12-01",
              period_end="2027-01-31", reason="no_new_data")
    assert ok["status"] == "pending"


def test_exemption_decision_refused_once_the_year_is_closed(site):
    ed, ev, pkg = site["editor"], site["evaluator"], site["target"]["id"]
    with freeze_time("2026-09-10"):
        late = call("kpigov_exemption_create", ed, package_id=pkg,
                    period_start="2026-08-01", period_end="2026-09-30", reason="no_new_data")
        on_time = call("kpigov_exemption_create", ed, package_id=pkg,
                       period_start="2026-07-01", period_end="2026-07-31",
                       reason="no_new_data")
    with freeze_time("2026-10-15"):  # the last day of FY 2569's evaluation
        assert call("kpigov_exemption_decide", ev, id=on_time["id"],
                    decision="approve")["status"] == "approved"
    with freeze_time("2026-10-16"):
        before = call("kpigov_dataset_compliance", ed, id=pkg, fiscal_year=CLOSED)
        for decision, comment in (("approve", ""), ("reject", "no")):
            with pytest.raises(logic.ValidationError) as err:
                call("kpigov_exemption_decide", ev, id=late["id"], decision=decision,
                     comment=comment)
            assert "id" in err.value.error_dict
        after = call("kpigov_dataset_compliance", ed, id=pkg, fiscal_year=CLOSED)
    row = model.Session.execute(sa.select(exemption_table).where(
        exemption_table.c.id == late["id"])).first()
    assert row.status == "pending" and row.decided_by is None
    assert count(exemption_log_table, exemption_id=late["id"]) == 1
    assert after["periods"] == before["periods"]
    assert "exempt" not in {p["status"] for p in after["periods"] if p["key"] >= "2026-08"}


# ------------------------------------------------------ closed-year records


@freeze_time(AFTER_CLOSE)
def test_closed_year_governance_is_read_only_for_publishers(site):
    ed = site["editor"]
    before = score(ed, CLOSED)
    assert not checks_of(before)["governance_team"]["met"]
    doc = "http://example.org/order.pdf"
    for action in ("kpigov_governance_create", "kpigov_governance_update"):
        for kind in ("team", "plan"):
            with pytest.raises(logic.ValidationError) as err:
                call(action, ed, owner_org="pathumwan", fiscal_year=CLOSED, kind=kind,
                     document_url=doc)
            assert "fiscal_year" in err.value.error_dict
    assert count(governance_table) == 0
    after = score(ed, CLOSED)
    assert steps_of(after) == steps_of(before)
    assert after["performance"] == before["performance"]
    # sysadmins (and evaluators who may edit the organization) still may; the
    # record keeps who did it
    admin = site["admin"]
    rec = call("kpigov_governance_create", admin, owner_org="pathumwan",
               fiscal_year=CLOSED, kind="team", document_url=doc)
    assert rec["created_by"] == admin["name"]
    with pytest.raises(logic.ValidationError):
        call("kpigov_governance_update", ed, owner_org="pathumwan", fiscal_year=CLOSED,
             kind="team", document_url="http://example.org/other.pdf")
    with pytest.raises(logic.ValidationError):
        call("kpigov_governance_delete", ed, id=rec["id"])
    row = model.Session.execute(sa.select(governance_table)).first()
    assert row.document_url == doc
    # the open year is unaffected
    call("kpigov_governance_create", ed, owner_org="pathumwan", fiscal_year=CLOSED + 1,
         kind="team", document_url=doc)


def test_governance_of_a_year_stays_open_until_its_evaluation_closes(site):
    with freeze_time("2026-10-15"):
        call("kpigov_governance_create", site["editor"], owner_org="pathumwan",
             fiscal_year=CLOSED, kind="plan", document_url="http://example.org/plan.pdf")
    with freeze_time("2026-10-16"):
        with pytest.raises(logic.ValidationError):
            call("kpigov_governance_update", site["editor"], owner_org="pathumwan",
                 fiscal_year=CLOSED, kind="plan", summary="later")


@pytest.mark.ckan_config("ckanext.kpigov.evaluation_close", "60")
def test_evaluation_close_is_configurable(site):
    with freeze_time("2026-11-20"):  # 51 days after 30 September
        call("kpigov_governance_create", site["editor"], owner_org="pathumwan",
             fiscal_year=CLOSED, kind="plan", document_url="http://example.org/plan.pdf")
    with freeze_time("2026-11-30"):
        with pytest.raises(logic.ValidationError):
            call("kpigov_governance_delete", site["editor"],
                 id=model.Session.execute(sa.select(governance_table.c.id)).scalar())


@freeze_time(AFTER_CLOSE)
def test_closed_year_evidence_is_read_only_for_publishers(site):
    ed, ev, pkg = site["editor"], site["evaluator"], site["target"]["id"]
    before = checks_of(score(ed, CLOSED))["usage_evidence"]
    with pytest.raises(logic.ValidationError) as err:
        call("kpigov_evidence_create", ed, package_id=pkg, evidence_type="usage",
             kind="operations", description="ใช้วางแผน", date="2026-09-01")
    assert "date" in err.value.error_dict
    # a date outside the fiscal year the request names
    with pytest.raises(logic.ValidationError) as err:
        call("kpigov_evidence_create", ed, package_id=pkg, evidence_type="usage",
             kind="operations", description="ใช้วางแผน", date="2026-09-01",
             fiscal_year=CLOSED + 1)
    assert "date" in err.value.error_dict
    assert count(evidence_table) == 0
    # an open-year record cannot be moved into the closed year
    ok = call("kpigov_evidence_create", ed, package_id=pkg, evidence_type="usage",
              kind="operations", description="ใช้วางแผน", date="2026-11-01")
    assert ok["fiscal_year"] == CLOSED + 1
    with pytest.raises(logic.ValidationError) as err:
        call("kpigov_evidence_update", ed, id=ok["id"], date="2026-09-01")
    assert "date" in err.value.error_dict
    # a closed-year record (recorded by a sysadmin) cannot be changed or deleted
    old = call("kpigov_evidence_create", site["admin"], package_id=pkg, evidence_type="usage",
               kind="operations", description="ใช้วางแผน", date="2026-09-01")
    call("kpigov_verify", ev, object_type="evidence", id=old["id"], decision="verified")
    for action, extra in (("kpigov_evidence_update", {"description": "แก้"}),
                          ("kpigov_evidence_update", {"date": "2026-11-02"}),
                          ("kpigov_evidence_delete", {})):
        with pytest.raises(logic.ValidationError):
            call(action, ed, id=old["id"], **extra)
    row = model.Session.execute(sa.select(evidence_table).where(
        evidence_table.c.id == old["id"])).first()
    assert row.status == "verified" and row.description == "ใช้วางแผน"
    assert before["met"] is False and count(evidence_table) == 2


# ------------------------------------------------- pending and verification


@freeze_time(AFTER_CLOSE)
def test_pending_governance_record_does_not_meet_a_step_that_needs_verification(site):
    ed, ev, fy = site["editor"], site["evaluator"], CLOSED + 1
    before = score(ed, fy)
    ids = {}
    for kind in ("team", "plan"):
        ids[kind] = call("kpigov_governance_create", ed, owner_org="pathumwan",
                         fiscal_year=fy, kind=kind,
                         document_url="http://example.org/%s.pdf" % kind)["id"]
    after = score(ed, fy)
    for type_ in ("governance_team", "development_plan"):
        assert not checks_of(after)[type_]["met"]
        assert checks_of(after)[type_]["actions"][0]["code"].endswith("_pending")
    assert steps_of(after)["step1"]["met"] == steps_of(before)["step1"]["met"] is False
    assert after["performance"] == before["performance"]
    call("kpigov_verify", ev, object_type="governance", id=ids["team"], decision="verified")
    assert checks_of(score(ed, fy))["governance_team"]["met"]


def test_step_verification_applies_to_its_quarter_only(site):
    ed, ev, target = site["editor"], site["evaluator"], site["target"]
    fy = 2567
    model.Session.execute(sa.text(
        "UPDATE package_extra SET value = '2567' WHERE package_id = :p "
        "AND key = 'kpigov_target_fy'"), {"p": target["id"]})
    model.Session.commit()
    uploads(target, [(2023, 10), (2023, 11)])
    with freeze_time("2024-03-01"):  # Q2: Oct-Jan due, 2 of 4 on time
        assert not steps_of(score(ed, fy))["step3"]["computed_met"]
        call("kpigov_step_verify", ev, id="pathumwan", fiscal_year=fy, step="step3",
             decision="verified", comment="ตรวจแล้ว")
        q2 = steps_of(score(ed, fy))["step3"]
        assert q2["met"] and q2["verification"]["decision"] == "verified"
    with freeze_time("2024-05-20"):  # Q3: 2 of 7 months on time
        now = score(ed, fy)
        step = steps_of(now)["step3"]
        assert step["met"] is False and step["verification"] is None
        assert step["met"] == step["computed_met"]
        # the Q2 score keeps its verification
        assert steps_of(score(ed, fy, quarter=2))["step3"]["met"]
        assert not steps_of(score(ed, fy, quarter=3))["step3"]["met"]
        # and the evaluator may verify Q3 again
        call("kpigov_step_verify", ev, id="pathumwan", fiscal_year=fy, step="step3",
             decision="verified", comment="ตรวจแล้ว")
        assert steps_of(score(ed, fy))["step3"]["met"]
        with pytest.raises(logic.ValidationError) as err:  # Q4 has not started
            call("kpigov_step_verify", ev, id="pathumwan", fiscal_year=fy, step="step3",
                 decision="verified", quarter=4)
        assert "quarter" in err.value.error_dict


# ------------------------------------------------------------------ exports


def auth(user):
    return {"Authorization": user["token"]} if user else {}


def test_official_form_uses_the_years_rubric_for_publishers(app, site, ckan_config,
                                                            monkeypatch):
    # FY 2567 is over: no clock needs freezing; its rubric is bma_kpi52_fy2564
    base = "/organization/pathumwan/kpi.%s?fy=2567"
    official = app.get(base % "csv", headers=auth(site["member"]))
    name = official.headers["Content-Disposition"]
    assert "bma_kpi52_fy2564" in name and "whatif" not in name
    assert "bma_kpi52_fy2564" in official.body
    for who in ("member", "editor"):
        for fmt in ("csv", "json", "xlsx"):
            app.get(base % fmt + "&rubric=bma_eval_form_fy2564",
                    headers=auth(site[who]), status=403)
        # asking for the year's own rubric by name is the official form
        same = app.get(base % "csv" + "&rubric=bma_kpi52_fy2564", headers=auth(site[who]))
        assert same.body == official.body
    with pytest.raises(logic.NotAuthorized):
        score(site["editor"], 2567, rubric="bma_eval_form_fy2564")
    monkeypatch.setitem(ckan_config, "ckanext.kpigov.public_kpi_summary", True)
    app.get(base % "csv" + "&rubric=bma_eval_form_fy2564", status=403)
    app.get(base % "csv" + "&rubric=bma_eval_form_fy2564", headers=auth(site["outsider"]),
            status=403)
    # evaluators get the what-if, named as such in the file name and header
    what_if = app.get(base % "csv" + "&rubric=bma_eval_form_fy2564",
                      headers=auth(site["evaluator"]))
    name = what_if.headers["Content-Disposition"]
    assert "bma_eval_form_fy2564" in name and "whatif" in name and name != \
        official.headers["Content-Disposition"]
    assert "what-if" in what_if.body.splitlines()[1]
    assert "what-if" not in official.body


# ------------------------------------------------------------- MOI edition


@pytest.mark.ckan_config("ckanext.kpigov.rubric_overrides", "2567:moi_levels_fy2555")
def test_trivial_new_datasets_do_not_raise_the_current_data_share(site):
    org, ed = site["org"], site["editor"]
    model.Session.execute(sa.text("DELETE FROM package_extra WHERE key = 'kpigov_target_fy'"))
    model.Session.commit()
    fy_months = months_of(2567)
    uploads(site["target"], fy_months)
    for n in range(2):
        uploads(dataset(org, "current-%d" % n), fy_months)
    for n in range(2):  # behind: nothing since March
        uploads(dataset(org, "behind-%d" % n), fy_months[:6])
    with freeze_time("2024-07-20"):  # Oct-Jun due
        before = score(ed, 2567)
        q3_before = score(ed, 2567, quarter=3)
    share = checks_of(before)["data_currency_share"]
    assert (share["done"], share["total"], share["value"]) == (3, 5, 60.0)
    # the attack: five trivial datasets created in June, one upload each
    for n in range(5):
        ds = dataset(org, "trivial-%d" % n, created=dt.datetime(2024, 6, 1, 2))
        uploads(ds, [(2024, 6)], day=2)
    with freeze_time("2024-07-20"):
        after = score(ed, 2567)
        q3_after = score(ed, 2567, quarter=3)
        trivial = call("kpigov_dataset_compliance", ed, id="trivial-0", fiscal_year=2567)
    # (the attack's premise: the new datasets are current for June)
    assert [p["status"] for p in trivial["periods"] if p["key"].startswith("2024-06")] \
        == ["on_time"]
    for old, new in ((before, after), (q3_before, q3_after)):
        assert checks_of(new)["data_currency_share"]["value"] == \
            checks_of(old)["data_currency_share"]["value"] == 60.0
        assert new["level"] == old["level"]
