"""KPI scoring on real portal data: every check, the actions, verification,
snapshots, and who sees what."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

import ckan.logic as logic
import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckanext.kpigov import scoring
from ckanext.kpigov.model import (evidence_table, governance_table, record_update,
                                  snapshot_table, stakeholder_table, verification_table)

pytestmark = [pytest.mark.usefixtures("clean_db", "with_plugins"),
              pytest.mark.ckan_config("ckanext.kpigov.evaluators", "evaluator")]

FY = 2567
TODAY = "2024-07-20"  # Oct 2023 - Jun 2024 are due (June's deadline was 15 Jul)


def call(action, user=None, **kw):
    ctx = {"user": user["name"] if user else "", "ignore_auth": False}
    return helpers.call_action(action, context=ctx, **kw)


PEOPLE = [{"role": "owner", "name": "ผู้อำนวยการเขต"}, {"role": "steward", "name": "สมศรี"}]


def dataset(org, name, people=PEOPLE, target=None, private=False, resources=None,
            **kw):
    extras = {"update_frequency_unit": "เดือน", "update_frequency_interval": "1",
              "data_category": "ข้อมูลสาธารณะ", "data_classification": "เปิดเผย",
              "objective": json.dumps(["พันธกิจหน่วยงาน"]), "data_source": "เขต",
              "kpigov_stakeholders": json.dumps(people, ensure_ascii=False)}
    if target:
        extras["kpigov_target_fy"] = str(target)
    ds = factories.Dataset(
        owner_org=org["id"], name=name, title=kw.pop("title", name), private=private,
        notes="รายละเอียดชุดข้อมูล", license_id="cc-by", maintainer="ฝ่ายข้อมูล",
        maintainer_email="data@example.org", tags=[{"name": "elderly"}],
        extras=[{"key": k, "value": v} for k, v in extras.items()],
        resources=resources if resources is not None else [{
            "url": "http://example.org/%s.csv" % name, "format": "CSV"}],
        **kw)
    pkg = model.Package.get(ds["id"])
    for res in pkg.resources:
        # as ckanext-scheming stores the dictionary (a list in resource extras)
        res.extras = dict(res.extras or {}, kpigov_columns=["community", "count"],
                          kpigov_dictionary=[{"column": "community", "label_th": "ชุมชน"},
                                             {"column": "count", "label_th": "จำนวน"}])
    pkg.metadata_created = dt.datetime(2023, 9, 1)
    model.Session.execute(sa.text(
        "UPDATE kpigov_cadence_history SET changed = :w WHERE package_id = :p"),
        {"w": dt.datetime(2023, 9, 1), "p": ds["id"]})
    model.Session.commit()
    return ds


def monthly(ds, months):
    for year, month in months:
        record_update(ds["id"], "demo", "new_data", source="demo",
                      created=dt.datetime(year, month, 20, 3))
    model.Session.commit()


DUE = [(2023, 10), (2023, 11), (2023, 12), (2024, 1), (2024, 2), (2024, 3),
       (2024, 4), (2024, 5), (2024, 6)]


def governance(org, kind, document_url="http://example.org/order.pdf", status="pending",
               fy=FY, data=None):
    now = dt.datetime(2023, 11, 1)
    model.Session.execute(governance_table.insert().values(
        owner_org=org["id"], fiscal_year=fy, kind=kind, data=data or {},
        document_url=document_url, document_name="%s.pdf" % kind, status=status,
        created=now, modified=now))
    model.Session.commit()


def evidence(org, ds, type_, status="verified", day=dt.date(2024, 3, 1), **kw):
    model.Session.execute(evidence_table.insert().values(
        owner_org=org["id"], package_id=ds["id"], evidence_type=type_,
        kind=kw.pop("kind", "operations" if type_ == "usage" else "api"),
        description=kw.pop("description", "ใช้วางแผน"), date=day,
        fiscal_year=kw.pop("fiscal_year", FY), status=status,
        created=dt.datetime(2024, 3, 1), **kw))
    model.Session.commit()


@pytest.fixture
def portal():
    with freeze_time(TODAY):
        editor, member, outsider = factories.User(), factories.User(), factories.User()
        evaluator = factories.User(name="evaluator")
        org = factories.Organization(name="pathumwan", title="สำนักงานเขตปทุมวัน", users=[
            {"name": editor["name"], "capacity": "editor"},
            {"name": member["name"], "capacity": "member"}])
        target = dataset(org, "elderly", target=FY, title="ข้อมูลผู้สูงอายุ")
        secret = dataset(org, "secret-ds", people=PEOPLE[:1], private=True,
                         title="ข้อมูลลับ")
        # the target misses February and May: 7 of 9 months
        monthly(target, [m for m in DUE if m not in ((2024, 2), (2024, 5))])
        monthly(secret, DUE)
        governance(org, "team")
        governance(org, "plan")
        model.Session.execute(stakeholder_table.insert().values(
            owner_org=org["id"], role="steward", name="สมศรี", created=dt.datetime(2023, 10, 2)))
        evidence(org, target, "usage")
        model.Session.commit()
    return dict(org=org, target=target, secret=secret, editor=editor, member=member,
                outsider=outsider, evaluator=evaluator)


def verify_records(org):
    model.Session.execute(governance_table.update().where(
        governance_table.c.owner_org == org["id"]).values(status="verified"))
    model.Session.commit()


def steps_of(result):
    return {s["id"]: s for s in result["steps"]}


def checks_of(result):
    return {c["type"]: c for s in result["steps"] for c in s["checks"]}


@freeze_time(TODAY)
def test_org_score_every_check(portal):
    result = call("kpigov_org_score", portal["editor"], id="pathumwan", fiscal_year=FY)
    assert result["rubric"]["id"] == "bma_kpi52_fy2564"
    assert len(result["rubric"]["version"]) == 12
    c = checks_of(result)
    # step 1 (needs verification): pending records do not meet it
    assert not c["governance_team"]["met"] and not c["development_plan"]["met"]
    assert [a["code"] for a in c["governance_team"]["actions"]] == ["team_pending"]
    assert c["governance_team"]["evidence"][0]["url"] == "http://example.org/order.pdf"
    assert not c["data_catalog"]["met"]
    assert (c["data_catalog"]["done"], c["data_catalog"]["total"]) == (1, 2)
    texts = [a["text"] for a in c["data_catalog"]["actions"]]
    assert "1 dataset lacks a steward" in texts
    assert c["data_catalog"]["actions"][0]["items"][0]["name"] == "secret-ds"
    assert c["stakeholders_named"]["met"]
    assert c["target_database"]["met"]
    assert c["target_database"]["evidence"][0]["name"] == "elderly"
    # step 2
    assert c["metadata_completeness"]["met"], c["metadata_completeness"]
    assert c["dictionary_coverage"]["met"]
    assert (c["dictionary_coverage"]["done"], c["dictionary_coverage"]["total"]) == (2, 2)
    # step 3: 7 of 9 months, February and May missing
    m = c["monthly_compliance"]
    assert not m["met"] and (m["done"], m["total"]) == (7, 9)
    assert "No data for Feb 2024, May 2024" in [a["text"] for a in m["actions"]]
    assert any(e["kind"] == "ledger" for e in m["evidence"])
    # step 4 and 5
    assert c["usage_evidence"]["met"]
    assert c["published_online"]["met"]
    steps = steps_of(result)
    assert [steps[s]["met"] for s in ("step1", "step2", "step3", "step4", "step5")] == \
        [False, True, False, True, True]
    assert result["performance"] == 60.0 and result["weighted_score"] == 6.0
    assert result["provisional"]  # steps 1 and 4 need an evaluator


@freeze_time(TODAY)
def test_all_steps_met_gives_seed_score(portal):
    # give the private dataset its steward and the target its missing months
    pkg = model.Package.get(portal["secret"]["id"])
    pkg.extras["kpigov_stakeholders"] = json.dumps(PEOPLE)
    model.Session.commit()
    record_update(portal["target"]["id"], "demo", "new_data", created=dt.datetime(2024, 2, 10))
    record_update(portal["target"]["id"], "demo", "new_data", created=dt.datetime(2024, 5, 10))
    model.Session.commit()
    verify_records(portal["org"])
    result = call("kpigov_org_score", portal["evaluator"], id="pathumwan", fiscal_year=FY)
    assert all(s["met"] for s in result["steps"])
    assert result["performance"] == 100.0 and result["weighted_score"] == 10.0


@freeze_time(TODAY)
def test_unmet_checks_on_an_empty_organization():
    org = factories.Organization()
    result = call("kpigov_org_score", factories.Sysadmin(), id=org["id"], fiscal_year=FY)
    c = checks_of(result)
    assert not any(ch["met"] for ch in c.values())
    codes = {a["code"] for ch in c.values() for a in ch["actions"]}
    assert {"team_missing", "plan_missing", "catalog_empty", "stakeholders_missing",
            "target_missing"} <= codes
    assert result["performance"] == 0.0


@freeze_time(TODAY)
def test_checks_react_to_portal_data(portal):
    org, target = portal["org"], portal["target"]
    # unverified usage does not count; a pending record is named
    model.Session.execute(evidence_table.update().values(status="pending"))
    model.Session.commit()
    ev = checks_of(call("kpigov_org_score", portal["editor"], id="pathumwan",
                        fiscal_year=FY))["usage_evidence"]
    assert not ev["met"] and ev["actions"][0]["code"] == "usage_pending"
    # evidence from another fiscal year does not count either
    evidence(org, target, "usage", fiscal_year=FY - 1, day=dt.date(2023, 3, 1))
    assert not checks_of(call("kpigov_org_score", portal["editor"], id="pathumwan",
                              fiscal_year=FY))["usage_evidence"]["met"]
    # a private target with no sharing record is not served online...
    model.Package.get(target["id"]).private = True
    model.Session.commit()
    c = checks_of(call("kpigov_org_score", portal["editor"], id="pathumwan", fiscal_year=FY))
    assert not c["published_online"]["met"]
    assert c["published_online"]["actions"][0]["code"] == "target_private"
    # ...until a verified sharing record exists
    evidence(org, target, "sharing")
    c = checks_of(call("kpigov_org_score", portal["editor"], id="pathumwan", fiscal_year=FY))
    assert c["published_online"]["met"]
    # the order document is missing: the working group does not count
    model.Session.execute(governance_table.update().where(
        governance_table.c.kind == "team").values(document_url=None))
    model.Session.commit()
    c = checks_of(call("kpigov_org_score", portal["editor"], id="pathumwan", fiscal_year=FY))
    assert not c["governance_team"]["met"]
    assert c["governance_team"]["actions"][0]["code"] == "team_no_document"
    # an undescribed column lowers dictionary coverage
    res = model.Session.query(model.Resource).filter_by(package_id=target["id"]).one()
    res.extras = dict(res.extras, kpigov_columns=["community", "count", "age"])
    model.Session.commit()
    c = checks_of(call("kpigov_org_score", portal["editor"], id="pathumwan", fiscal_year=FY))
    assert (c["dictionary_coverage"]["done"], c["dictionary_coverage"]["total"]) == (2, 3)
    assert c["dictionary_coverage"]["actions"][0]["text"] == \
        "Describe 1 more column in the data dictionary"


@freeze_time(TODAY)
def test_quarter_window(portal):
    q2 = call("kpigov_org_score", portal["editor"], id="pathumwan", fiscal_year=FY,
              quarter=2)
    m = checks_of(q2)["monthly_compliance"]
    # Oct-Mar: February is the only gap
    assert (m["done"], m["total"]) == (5, 6)
    assert q2["as_of"] == "2024-03-31"


@freeze_time(TODAY)
def test_target_from_the_development_plan(portal):
    other = dataset(portal["org"], "plan-target")
    model.Session.execute(governance_table.update().where(
        governance_table.c.kind == "plan").values(data={"target_datasets": [other["id"]]}))
    model.Session.commit()
    result = call("kpigov_org_score", portal["editor"], id="pathumwan", fiscal_year=FY)
    assert set(result["targets"]) == {portal["target"]["id"], other["id"]}


# ------------------------------------------------------------------ visibility


@freeze_time(TODAY)
def test_visibility_matrix(portal, ckan_config, monkeypatch):
    for who in ("editor", "member", "evaluator"):
        assert call("kpigov_org_score", portal[who], id="pathumwan", fiscal_year=FY)
    for who in (None, portal["outsider"]):
        with pytest.raises(logic.NotAuthorized):
            call("kpigov_org_score", who, id="pathumwan", fiscal_year=FY)
    monkeypatch.setitem(ckan_config, "ckanext.kpigov.public_kpi_summary", True)
    summary = call("kpigov_org_score", None, id="pathumwan", fiscal_year=FY)
    assert summary["visibility"] == "summary"
    text = json.dumps(summary, ensure_ascii=False)
    assert "secret-ds" not in text and "ข้อมูลลับ" not in text
    assert "order.pdf" not in text and "สมศรี" not in text
    assert all(not c["actions"] for s in summary["steps"] for c in s["checks"])
    # private datasets still score (the catalog stays incomplete) but are
    # counted in no figure the public reads
    catalog = checks_of(summary)["data_catalog"]
    assert catalog["met"] is False and catalog["total"] is None and catalog["done"] is None
    assert summary["datasets"] == 1
    assert summary["performance"] == 60.0
    full = call("kpigov_org_score", portal["member"], id="pathumwan", fiscal_year=FY)
    assert "secret-ds" in json.dumps(full)


@freeze_time(TODAY)
def test_score_list_visibility(portal, ckan_config, monkeypatch):
    factories.Organization(name="other-org")
    all_rows = call("kpigov_score_list", portal["evaluator"], fiscal_year=FY)
    assert {r["organization"]["name"] for r in all_rows["organizations"]} == \
        {"pathumwan", "other-org"}
    row = next(r for r in all_rows["organizations"] if r["organization"]["name"] == "pathumwan")
    assert row["steps"]["step2"] is True and row["performance"] == 60.0
    assert row["compliance_rate"] == pytest.approx(16 / 18, abs=1e-4)
    assert sum(b["count"] for b in all_rows["distribution"]) == 2
    mine = call("kpigov_score_list", portal["member"], fiscal_year=FY)
    assert [r["organization"]["name"] for r in mine["organizations"]] == ["pathumwan"]
    assert call("kpigov_score_list", portal["outsider"], fiscal_year=FY)["organizations"] == []
    with pytest.raises(logic.NotAuthorized):
        call("kpigov_score_list", None, fiscal_year=FY)
    monkeypatch.setitem(ckan_config, "ckanext.kpigov.public_kpi_summary", True)
    assert len(call("kpigov_score_list", None, fiscal_year=FY)["organizations"]) == 2


@freeze_time(TODAY)
def test_agency_kind_filter(portal):
    org = model.Group.get(portal["org"]["id"])
    org.extras = {"kpigov_agency_kind": "district"}
    model.Session.commit()
    factories.Organization(name="dept", extras=[{"key": "kpigov_agency_kind",
                                                 "value": "department"}])
    rows = call("kpigov_score_list", portal["evaluator"], fiscal_year=FY, kind="district")
    assert [r["organization"]["name"] for r in rows["organizations"]] == ["pathumwan"]
    assert rows["kinds"] == ["department", "district"]


# ------------------------------------------------------------------ bad input


@freeze_time(TODAY)
def test_bad_input(portal):
    ev = portal["evaluator"]
    with pytest.raises(logic.ValidationError) as err:
        call("kpigov_org_score", ev, id="pathumwan", fiscal_year=FY, rubric="nope")
    assert "rubric" in err.value.error_dict
    for fy in (1999, 2500, 2600, "abc"):
        with pytest.raises(logic.ValidationError):
            call("kpigov_org_score", ev, id="pathumwan", fiscal_year=fy)
    with pytest.raises(logic.ValidationError):
        call("kpigov_org_score", ev, id="pathumwan", fiscal_year=FY, quarter=5)
    with pytest.raises(logic.NotFound):
        call("kpigov_org_score", ev, id="nowhere", fiscal_year=FY)


def test_rubric_list_and_calculator():
    listed = call("kpigov_rubric_list")
    ids = {r["id"] for r in listed["rubrics"]}
    assert {"bma_kpi52_fy2564", "moi_levels_fy2555", "bma_eval_form_fy2564"} <= ids
    assert all(len(r["version"]) == 12 for r in listed["rubrics"])
    out = call("kpigov_rubric_evaluate", rubric="bma_kpi52_fy2564",
               steps=["step1", "step2", "step3", "step4", "step5"])
    assert out["performance"] == 100.0 and out["weighted_score"] == 10.0
    assert out["rubric"]["id"] == "bma_kpi52_fy2564"
    assert call("kpigov_rubric_evaluate", rubric="moi_levels_fy2555",
                steps={"realtime_link": True, "current_80": True, "current_90": True,
                       "current_100": True, "eis_gis": True})["weighted_score"] == 0.35
    form = call("kpigov_rubric_evaluate", rubric="bma_eval_form_fy2564", performance=95)
    assert (form["points"], form["weighted_score"]) == (90.0, 9.0)
    assert call("kpigov_rubric_evaluate", rubric="bma_eval_form_fy2564",
                performance=40)["points"] == 60.0
    assert call("kpigov_rubric_evaluate", rubric="bma_kpi52_fy2564", performance=50,
                weight=7)["weighted_score"] == 3.5
    for bad in ({"performance": 101}, {"performance": -1}, {"performance": "x"},
                {"steps": ["step9"]}, {}, {"performance": 50, "steps": ["step1"]},
                {"performance": 50, "weight": 1000}):
        with pytest.raises(logic.ValidationError):
            call("kpigov_rubric_evaluate", rubric="bma_kpi52_fy2564", **bad)
    with pytest.raises(logic.ValidationError):
        call("kpigov_rubric_evaluate", rubric="nope", performance=50)


@pytest.mark.ckan_config("ckanext.kpigov.rubric_overrides", "2567:bma_eval_form_fy2564")
@freeze_time(TODAY)
def test_rubric_override_for_a_year(portal):
    result = call("kpigov_org_score", portal["editor"], id="pathumwan", fiscal_year=FY)
    assert result["rubric"]["id"] == "bma_eval_form_fy2564"
    assert result["points"] == 60.0  # 60 % performance → level 1 → 60 points
    assert result["weighted_score"] == 6.0


def test_broken_rubric_config_is_one_clear_line(tmp_path, ckan_config, monkeypatch):
    (tmp_path / "bad.yaml").write_text("id: bad\ntitle: {th: x, en: y}\n"
                                       "fiscal_years: [2567]\nweight: 10\nmode: sideways\n"
                                       "steps: []\n")
    monkeypatch.setitem(ckan_config, "ckanext.kpigov.rubric_paths", [str(tmp_path)])
    from ckan.exceptions import CkanConfigurationException
    with pytest.raises(CkanConfigurationException) as err:
        scoring.startup_check()
    message = str(err.value)
    assert "bad.yaml" in message and "mode" in message and "\n" not in message
    monkeypatch.setitem(ckan_config, "ckanext.kpigov.rubric_paths", [])
    monkeypatch.setitem(ckan_config, "ckanext.kpigov.rubric_overrides", "2567:nope")
    with pytest.raises(CkanConfigurationException) as err:
        scoring.startup_check()
    assert "rubric_overrides.2567" in str(err.value) and "nope" in str(err.value)
    monkeypatch.setitem(ckan_config, "ckanext.kpigov.rubric_overrides", "garbage")
    with pytest.raises(CkanConfigurationException):
        scoring.startup_check()


# ------------------------------------------------------------------ verification


@freeze_time(TODAY)
def test_step_verification_and_audit(portal):
    ev, ed = portal["evaluator"], portal["editor"]
    with pytest.raises(logic.NotAuthorized):
        call("kpigov_step_verify", ed, id="pathumwan", fiscal_year=FY, step="step1",
             decision="verified")
    with pytest.raises(logic.ValidationError):
        call("kpigov_step_verify", ev, id="pathumwan", fiscal_year=FY, step="step9",
             decision="verified")
    with pytest.raises(logic.ValidationError):  # rejecting needs a comment
        call("kpigov_step_verify", ev, id="pathumwan", fiscal_year=FY, step="step4",
             decision="rejected")
    with pytest.raises(logic.ValidationError):
        call("kpigov_step_verify", ev, id="pathumwan", fiscal_year=FY, step="step4",
             decision="maybe")
    out = call("kpigov_step_verify", ev, id="pathumwan", fiscal_year=FY, step="step4",
               decision="rejected", comment="หลักฐานไม่ชัดเจน")
    assert out["before"]["met"] is True and out["after"]["met"] is False
    result = call("kpigov_org_score", ed, id="pathumwan", fiscal_year=FY)
    step4 = steps_of(result)["step4"]
    assert step4["computed_met"] is True and step4["met"] is False
    assert step4["verification"]["decision"] == "rejected"
    assert result["performance"] == 40.0
    # the evaluator accepts step 1 on paper evidence despite the computed gap
    call("kpigov_step_verify", ev, id="pathumwan", fiscal_year=FY, step="step1",
         decision="verified", comment="ตรวจเอกสารแล้ว")
    call("kpigov_step_verify", ev, id="pathumwan", fiscal_year=FY, step="step4",
         decision="verified")
    result = call("kpigov_org_score", ed, id="pathumwan", fiscal_year=FY)
    assert steps_of(result)["step1"]["met"] and not steps_of(result)["step1"]["computed_met"]
    assert result["performance"] == 80.0 and not result["provisional"]
    rows = model.Session.execute(sa.select(verification_table).where(
        verification_table.c.object_type == "step").order_by(verification_table.c.at)).fetchall()
    assert [r.decision for r in rows] == ["rejected", "verified", "verified"]
    assert rows[0].object_id == "%s:%s:step4" % (portal["org"]["id"], FY)
    assert rows[0].before["met"] is True and rows[0].after["met"] is False


def test_concurrent_decisions_are_both_kept(portal, app):
    """Two evaluators decide on the same step at the same time: two rows."""
    ev2 = factories.Sysadmin()
    errors = []

    def decide(user, decision):
        try:
            with app.flask_app.test_request_context():
                call("kpigov_step_verify", user, id="pathumwan", fiscal_year=FY,
                     step="step2", decision=decision, comment="c")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            model.Session.remove()

    with freeze_time(TODAY):
        threads = [threading.Thread(target=decide, args=(portal["evaluator"], "verified")),
                   threading.Thread(target=decide, args=(ev2, "rejected"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    rows = model.Session.execute(sa.select(verification_table.c.decision).where(
        verification_table.c.object_type == "step")).fetchall()
    assert sorted(r.decision for r in rows) == ["rejected", "verified"]


# ------------------------------------------------------------------ snapshots


@freeze_time(TODAY)
def test_snapshot_idempotent_and_history(portal):
    org = model.Group.get(portal["org"]["id"])
    scoring.snapshot([org], FY, 2)
    scoring.snapshot([org], FY, 2)
    scoring.snapshot([org], FY, 3)
    rows = model.Session.execute(sa.select(snapshot_table)).fetchall()
    assert sorted((r.fiscal_year, r.quarter) for r in rows) == [(FY, 2), (FY, 3)]
    q3 = next(r for r in rows if r.quarter == 3)
    assert q3.rubric_id == "bma_kpi52_fy2564" and len(q3.rubric_version) == 12
    assert q3.result["performance"] == 60.0
    # the trend reads the stored previous quarter
    result = call("kpigov_org_score", portal["editor"], id="pathumwan", fiscal_year=FY,
                  quarter=3, trend=True)
    assert result["trend"]["previous_quarter"]["source"] == "snapshot"
    assert result["trend"]["previous_quarter"]["quarter"] == 2
    assert result["trend"]["previous_year"]["fiscal_year"] == FY - 1


@freeze_time(TODAY)
def test_failed_snapshot_keeps_the_previous_one(portal, monkeypatch):
    org = model.Group.get(portal["org"]["id"])
    other = model.Group.get(factories.Organization()["id"])
    scoring.snapshot([org, other], FY, 3)
    before = {r.owner_org: r.computed_at for r in model.Session.execute(
        sa.select(snapshot_table)).fetchall()}
    real = model.Session.execute
    calls = {"n": 0}

    def flaky(stmt, *a, **kw):
        if getattr(stmt, "table", None) is snapshot_table:
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("killed")
        return real(stmt, *a, **kw)

    monkeypatch.setattr(model.Session, "execute", flaky)
    with freeze_time("2024-07-21"), pytest.raises(RuntimeError):
        scoring.snapshot([org, other], FY, 3)
    monkeypatch.undo()
    after = {r.owner_org: r.computed_at for r in model.Session.execute(
        sa.select(snapshot_table)).fetchall()}
    assert after == before


# ------------------------------------------------------------------ CLI


def test_cli_rubric_check(cli, tmp_path):
    from ckan.cli.cli import ckan
    good = cli.invoke(ckan, ["kpigov", "rubric", "check"])
    assert good.exit_code == 0 and "bma_kpi52_fy2564" in good.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\ntitle: {th: x, en: y}\nfiscal_years: [2567]\nweight: 10\n"
                   "mode: additive\nsteps:\n  - id: s1\n    title: {th: a, en: b}\n"
                   "    share: 100\n    checks: [{type: governance_teem}]\n")
    out = cli.invoke(ckan, ["kpigov", "rubric", "check", str(bad)])
    assert out.exit_code == 1
    assert "bad.yaml: steps[0].checks[0].type: unknown check type 'governance_teem'" in \
        out.output
    assert "Traceback" not in out.output


def test_cli_score_snapshot_export(cli, portal, tmp_path):
    from ckan.cli.cli import ckan
    out = cli.invoke(ckan, ["kpigov", "score", "--fy", str(FY)])
    assert out.exit_code == 0, out.output
    assert "pathumwan" in out.output and "bma_kpi52_fy2564" in out.output
    for _ in range(2):
        out = cli.invoke(ckan, ["kpigov", "snapshot", "--fy", str(FY), "--quarter", "4"])
        assert out.exit_code == 0, out.output
    assert model.Session.execute(sa.select(sa.func.count()).select_from(
        snapshot_table)).scalar() == 1
    target = tmp_path / "all.xlsx"
    out = cli.invoke(ckan, ["kpigov", "export", "--fy", str(FY), "-o", str(target)])
    assert out.exit_code == 0, out.output
    from openpyxl import load_workbook
    sheet = load_workbook(target)["แบบประเมิน"]
    assert any(row[0].value == "สำนักงานเขตปทุมวัน" for row in sheet.iter_rows())
    one = tmp_path / "one.json"
    out = cli.invoke(ckan, ["kpigov", "export", "--org", "pathumwan", "--format", "json",
                            "--fy", str(FY), "-o", str(one)])
    assert out.exit_code == 0 and json.loads(one.read_text())["organization"]["name"] == \
        "pathumwan"
    out = cli.invoke(ckan, ["kpigov", "score", "--fy", str(FY), "--rubric", "nope"])
    assert out.exit_code != 0 and "Unknown rubric" in out.output
    out = cli.invoke(ckan, ["kpigov", "score", "--org", "nowhere"])
    assert out.exit_code != 0 and "organization not found" in out.output


@freeze_time(TODAY)
def test_bulk_memos_follow_changes(portal):
    """Many organizations take the bulk path (memos keyed on row versions):
    a change to a dataset, the ledger or a decision shows on the next call."""
    orgs = [model.Group.get(portal["org"]["id"])] + [
        model.Group.get(factories.Organization()["id"]) for _ in range(21)]
    first = scoring.score_orgs(orgs, FY)[portal["org"]["id"]]
    catalog = checks_of(first)["data_catalog"]
    assert (catalog["done"], catalog["total"]) == (1, 2)
    assert scoring.score_orgs(orgs, FY)[portal["org"]["id"]]["performance"] == 60.0
    pkg = model.Package.get(portal["secret"]["id"])
    pkg.extras["kpigov_stakeholders"] = json.dumps(PEOPLE)
    model.Session.commit()
    second = scoring.score_orgs(orgs, FY)[portal["org"]["id"]]
    assert checks_of(second)["data_catalog"]["met"]
    for month in ((2024, 2), (2024, 5)):
        record_update(portal["target"]["id"], "demo", "new_data",
                      created=dt.datetime(*month, 20))
    model.Session.commit()
    verify_records(portal["org"])
    third = scoring.score_orgs(orgs, FY)[portal["org"]["id"]]
    assert third["performance"] == 100.0
    model.Session.execute(verification_table.insert().values(
        object_type="step", object_id="%s:%s:step5" % (portal["org"]["id"], FY),
        owner_org=portal["org"]["id"], fiscal_year=FY, decision="rejected",
        at=dt.datetime(2024, 7, 20)))
    model.Session.commit()
    assert scoring.score_orgs(orgs, FY)[portal["org"]["id"]]["performance"] == 80.0
