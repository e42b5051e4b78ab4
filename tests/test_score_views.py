"""KPI pages: the organization tab, verification, the overview, the exports,
and who may open each."""
from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

import ckan.model as model
import ckan.tests.factories as factories
from ckanext.kpigov.model import (evidence_table, governance_table, record_update,
                                  verification_table)

pytestmark = [pytest.mark.usefixtures("clean_db", "with_plugins"),
              pytest.mark.ckan_config("ckanext.kpigov.evaluators", "evaluator")]

FY = 2567
PEOPLE = [{"role": "owner", "name": "ผู้อำนวยการเขต"}, {"role": "steward", "name": "สมศรี"}]


def _dataset(org, name, title, private=False, people=PEOPLE, target=False):
    extras = [{"key": "update_frequency_unit", "value": "เดือน"},
              {"key": "kpigov_stakeholders", "value": json.dumps(people)}]
    if target:
        extras.append({"key": "kpigov_target_fy", "value": str(FY)})
    ds = factories.Dataset(owner_org=org["id"], name=name, title=title, private=private,
                           extras=extras, resources=[{"url": "http://x/%s.csv" % name}])
    model.Package.get(ds["id"]).metadata_created = dt.datetime(2023, 9, 1)
    model.Session.execute(sa.text(
        "UPDATE kpigov_cadence_history SET changed = :w WHERE package_id = :p"),
        {"w": dt.datetime(2023, 9, 1), "p": ds["id"]})
    return ds


@pytest.fixture
def site():
    # FY 2567 is over: every month is due, no clock needs freezing (API
    # tokens do not work under a frozen clock)
    if True:
        editor, member = factories.UserWithToken(), factories.UserWithToken()
        outsider = factories.UserWithToken()
        evaluator = factories.UserWithToken(name="evaluator")
        org = factories.Organization(name="pathumwan", title="สำนักงานเขตปทุมวัน", users=[
            {"name": editor["name"], "capacity": "editor"},
            {"name": member["name"], "capacity": "member"}],
            extras=[{"key": "kpigov_agency_kind", "value": "district"}])
        factories.Organization(name="anamai", title="สำนักอนามัย",
                               extras=[{"key": "kpigov_agency_kind", "value": "department"}])
        target = _dataset(org, "elderly", "ข้อมูลผู้สูงอายุ", target=True)
        _dataset(org, "secret-ds", "ข้อมูลลับ", private=True, people=PEOPLE[:1])
        for month in [(2023, 10), (2023, 11), (2023, 12), (2024, 1), (2024, 3),
                      (2024, 4), (2024, 6), (2024, 7), (2024, 8), (2024, 9)]:
            record_update(target["id"], "demo", "new_data", created=dt.datetime(*month, 20))
        now = dt.datetime(2023, 11, 1)
        for kind in ("team", "plan"):
            model.Session.execute(governance_table.insert().values(
                owner_org=org["id"], fiscal_year=FY, kind=kind, data={},
                document_url="http://x/%s.pdf" % kind, document_name=kind + ".pdf",
                created=now, modified=now))
        model.Session.execute(evidence_table.insert().values(
            owner_org=org["id"], package_id=target["id"], evidence_type="usage",
            kind="operations", description="ใช้วางแผน", date=dt.date(2024, 3, 1),
            fiscal_year=FY, status="verified", created=now))
        model.Session.commit()
    return dict(org=org, editor=editor, member=member, outsider=outsider,
                evaluator=evaluator)


def auth(user):
    return {"Authorization": user["token"]} if user else {}


def test_kpi_tab_permission_matrix(app, site):
    url = "/organization/pathumwan/kpi?fy=%d" % FY
    assert app.get(url, status=403)
    assert app.get(url, headers=auth(site["outsider"]), status=403)
    for who in ("editor", "member"):
        page = app.get(url, headers=auth(site[who]))
        assert "ข้อมูลลับ" in page.body  # members see their private datasets
        assert "1 dataset lacks a steward" in page.body
        assert "No data for Feb 2024, May 2024" in page.body
        assert "kpigov-verify" not in page.body  # no verify form for publishers
        assert 'id="kpigov-performance">40.000%' in page.body
    page = app.get(url, headers=auth(site["evaluator"]))
    assert "kpigov-verify" in page.body and "ข้อมูลลับ" in page.body
    # the tab link is shown to those who may open it
    assert "/organization/pathumwan/kpi" in app.get(
        "/organization/pathumwan", headers=auth(site["member"])).body
    assert "/organization/pathumwan/kpi" not in app.get("/organization/pathumwan").body


@pytest.mark.ckan_config("ckanext.kpigov.public_kpi_summary", "true")
def test_public_summary_hides_private_details(app, site):
    page = app.get("/organization/pathumwan/kpi?fy=%d" % FY)
    assert page.status_code == 200
    assert "ข้อมูลลับ" not in page.body and "secret-ds" not in page.body
    assert "lacks a steward" not in page.body  # no next actions
    assert "team.pdf" not in page.body
    assert "ข้อมูลผู้สูงอายุ" in page.body  # the public target is fine
    # the export carries the same summary
    data = json.loads(app.get("/organization/pathumwan/kpi.json?fy=%d" % FY).body)
    assert "secret-ds" not in json.dumps(data) and data["visibility"] == "summary"
    # the overview stays with evaluators
    assert app.get("/kpigov/overview", status=403)


def test_thai_tab(app, site):
    page = app.get("/th/organization/pathumwan/kpi?fy=%d" % FY, headers=auth(site["member"]))
    assert "ไม่มีข้อมูลของเดือน ก.พ. 2567, พ.ค. 2567" in page.body
    assert "ชุดข้อมูล 1 ชุดยังไม่ระบุผู้ดูแลข้อมูล" in page.body
    assert "30 ก.ย. 2567" in page.body  # as of the end of the year, B.E.


def test_bad_arguments(app, site):
    h = auth(site["evaluator"])
    assert app.get("/organization/pathumwan/kpi?fy=1999", headers=h, status=400)
    assert app.get("/organization/pathumwan/kpi?q=7", headers=h, status=400)
    assert app.get("/organization/pathumwan/kpi?rubric=nope", headers=h, status=400)
    assert app.get("/organization/nowhere/kpi", headers=h, status=404)
    assert app.get("/kpigov/overview?fy=abc", headers=h, status=400)


def test_verify_step_from_the_tab(app, site):
    form = {"fy": FY, "step": "step4", "decision": "rejected", "comment": "ไม่ชัดเจน"}
    app.post("/organization/pathumwan/kpi/verify", data=form,
             headers=auth(site["editor"]), status=403)
    app.post("/organization/pathumwan/kpi/verify", data=form, status=403)
    res = app.post("/organization/pathumwan/kpi/verify", data=form,
                   headers=auth(site["evaluator"]), follow_redirects=False)
    assert res.status_code == 302 and "/organization/pathumwan/kpi" in res.location
    rows = model.Session.execute(sa.select(verification_table)).fetchall()
    assert [(r.decision, r.comment) for r in rows] == [("rejected", "ไม่ชัดเจน")]
    page = app.get("/organization/pathumwan/kpi?fy=%d" % FY, headers=auth(site["member"]))
    assert "Rejected" in page.body and 'id="kpigov-performance">20.000%' in page.body
    # a bad decision is reported, not a 500
    res = app.post("/organization/pathumwan/kpi/verify",
                   data=dict(form, step="step9"), headers=auth(site["evaluator"]))
    assert res.status_code == 200


def test_org_exports(app, site):
    base = "/organization/pathumwan/kpi.%s?fy=" + str(FY)
    for fmt in ("csv", "json", "xlsx"):
        app.get(base % fmt, status=403)
        app.get(base % fmt, headers=auth(site["outsider"]), status=403)
    body = app.get(base % "xlsx", headers=auth(site["member"])).data
    wb = load_workbook(io.BytesIO(body))
    form = wb["แบบประเมิน"]
    cells = [[c.value for c in row] for row in form.iter_rows()]
    assert ["เกณฑ์ (rubric)", "bma_kpi52_fy2564"] in [r[:2] for r in cells]
    version = next(r[1] for r in cells if r[0] == "รุ่นเกณฑ์ (rubric version)")
    assert len(version) == 12
    header = next(r for r in cells if r[0] == "องค์ประกอบ (component)")
    assert header[10] == "ค่าคะแนนที่ได้ (points earned)"
    row = cells[cells.index(header) + 1]
    assert row[1].startswith("5.2 ความสำเร็จ") and row[2] == "ร้อยละ"
    assert row[3:9] == [10, 20, 40, 60, 80, 100]
    assert row[9:12] == [40, 40, 4]
    steps = [[c.value for c in r] for r in wb["ขั้นตอน"].iter_rows()]
    assert any(r[0] == "step3" and "No data for" in (r[8] or "") for r in steps)
    csv = app.get(base % "csv", headers=auth(site["evaluator"])).body
    assert "ค่าคะแนนที่ได้" in csv and "bma_kpi52_fy2564" in csv
    data = json.loads(app.get(base % "json", headers=auth(site["evaluator"])).body)
    assert data["rubric"]["id"] == "bma_kpi52_fy2564" and data["weighted_score"] == 4.0


def test_overview_permissions_filters_and_exports(app, site):
    for who in (None, site["member"], site["editor"], site["outsider"]):
        app.get("/kpigov/overview", headers=auth(who), status=403)
        app.get("/kpigov/overview.xlsx", headers=auth(who), status=403)
    h = auth(site["evaluator"])
    page = app.get("/kpigov/overview?fy=%d" % FY, headers=h).body
    assert "สำนักงานเขตปทุมวัน" in page and "สำนักอนามัย" in page
    assert "<svg" in page and "kpigov-distribution" in page
    assert page.index("สำนักงานเขตปทุมวัน") < page.index("สำนักอนามัย")  # by score
    page = app.get("/kpigov/overview?fy=%d&sort=performance&dir=asc" % FY, headers=h).body
    assert page.index("สำนักอนามัย") < page.index("สำนักงานเขตปทุมวัน")
    page = app.get("/kpigov/overview?fy=%d&kind=department" % FY, headers=h).body
    assert "สำนักงานเขตปทุมวัน</a>" not in page and "สำนักอนามัย</a>" in page
    wb = load_workbook(io.BytesIO(app.get("/kpigov/overview.xlsx?fy=%d" % FY, headers=h).data))
    rows = [[c.value for c in r] for r in wb["แบบประเมิน"].iter_rows()]
    header = next(r for r in rows if r[0] == "หน่วยงาน (organization)")
    data = rows[rows.index(header) + 1:]
    assert {r[0] for r in data} == {"สำนักงานเขตปทุมวัน", "สำนักอนามัย"}
    assert ["รุ่นเกณฑ์ (rubric version)"] == [r[0] for r in rows if r[0] == "รุ่นเกณฑ์ (rubric version)"]
    csv = app.get("/kpigov/overview.csv?fy=%d" % FY, headers=h).body
    assert "bma_kpi52_fy2564" in csv.splitlines()[1]
    assert "ข้อมูลลับ" not in csv
    data = json.loads(app.get("/kpigov/overview.json?fy=%d" % FY, headers=h).body)
    assert len(data["organizations"]) == 2 and "raw" not in data
