"""Governance tab, its forms, documents, verification and the catalog export."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

pytestmark = [pytest.mark.usefixtures("clean_db", "with_plugins"),
              pytest.mark.ckan_config("ckanext.kpigov.evaluators", "evaluator"),
              # FY 2567 is long closed, and API tokens need the real clock: keep
              # it open here (closed years: tests/trust/test_gaming_closed_year.py)
              pytest.mark.ckan_config("ckanext.kpigov.evaluation_close", "100000")]

FY = 2567
XSS = "<script>alert(1)</script>"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def auth(user):
    return {"Authorization": user["token"]}


@pytest.fixture
def portal():
    users = {name: factories.UserWithToken() for name in
             ("member", "editor", "admin", "other_admin")}
    users["evaluator"] = factories.UserWithToken(name="evaluator")
    org = factories.Organization(name="pathumwan", title="สำนักงานเขตปทุมวัน", users=[
        {"name": users["member"]["name"], "capacity": "member"},
        {"name": users["editor"]["name"], "capacity": "editor"},
        {"name": users["admin"]["name"], "capacity": "admin"}])
    other = factories.Organization(name="bangrak", users=[
        {"name": users["other_admin"]["name"], "capacity": "admin"}])
    public = factories.Dataset(name="elderly", title="ข้อมูลผู้สูงอายุ", owner_org=org["id"])
    private = factories.Dataset(name="secret-ds", title="ข้อมูลลับ", owner_org=org["id"],
                                private=True)
    foreign = factories.Dataset(name="foreign", owner_org=other["id"])
    return dict(org=org, other=other, public=public, private=private, foreign=foreign,
                **users)


def act(action, user, **kw):
    return helpers.call_action(action, context={"user": user["name"]}, **kw)


def seed(portal):
    """A governance record with script in every text field."""
    editor = portal["editor"]
    team = act("kpigov_governance_update", editor, owner_org="pathumwan",
               fiscal_year=FY, kind="team", order_number="12/2567" + XSS,
               order_date="2567-01-15", document_name="คำสั่ง" + XSS,
               document_url="https://bma.example/order.pdf",
               members=[{"name": "นายสมชาย" + XSS, "position": "ผอ." + XSS,
                         "role": "chair", "email": "somchai@bma.example",
                         "phone": "02 214 1234"}])
    plan = act("kpigov_governance_update", editor, owner_org="pathumwan",
               fiscal_year=FY, kind="plan", summary="แผน" + XSS,
               target_datasets=["elderly", "secret-ds"])
    act("kpigov_stakeholder_create", editor, owner_org="pathumwan", role="steward",
        name="นางสาวสมศรี" + XSS, position="นักวิชาการ" + XSS, agency="ฝ่าย" + XSS,
        email="somsri@bma.example", phone="02 555 0000")
    usage = act("kpigov_evidence_create", editor, package_id="elderly",
                evidence_type="usage", kind="planning", description="ใช้วางแผน" + XSS,
                date="2567-01-20", url="https://bma.example/r.pdf")
    act("kpigov_evidence_create", editor, package_id="secret-ds",
        evidence_type="sharing", kind="exchange_external", partner="กรมการปกครอง" + XSS,
        description="แลกเปลี่ยนข้อมูลลับ", date="2567-01-21")
    return team, plan, usage


def test_public_summary_is_escaped_and_has_no_contacts(app, portal):
    seed(portal)
    page = app.get("/organization/pathumwan/governance?fy=%d" % FY)
    assert page.status_code == 200
    body = page.body
    assert "นายสมชาย" in body and "นางสาวสมศรี" in body
    assert "somchai@bma.example" not in body and "02 214 1234" not in body
    assert "somsri@bma.example" not in body and "02 555 0000" not in body
    assert "แลกเปลี่ยนข้อมูลลับ" not in body  # evidence on a private dataset
    assert "ข้อมูลลับ" not in body  # nor the private dataset as plan target
    assert XSS not in body
    for escaped in ("นายสมชาย&lt;script&gt;", "ผอ.&lt;script&gt;", "แผน&lt;script&gt;",
                    "12/2567&lt;script&gt;", "คำสั่ง&lt;script&gt;",
                    "นักวิชาการ&lt;script&gt;", "ฝ่าย&lt;script&gt;",
                    "ใช้วางแผน&lt;script&gt;"):
        assert escaped in body, escaped
    assert "kpigov-verify" not in body
    assert "/governance/team" not in body  # no edit links for the public


def test_members_see_contacts_evaluators_verify(app, portal):
    seed(portal)
    page = app.get("/organization/pathumwan/governance?fy=%d" % FY,
                   headers=auth(portal["member"])).body
    assert "somchai@bma.example" in page and "somsri@bma.example" in page
    assert "แลกเปลี่ยนข้อมูลลับ" in page and "กรมการปกครอง&lt;script&gt;" in page
    assert "kpigov-verify" not in page and "/governance/team" not in page
    evaluator = app.get("/organization/pathumwan/governance?fy=%d" % FY,
                        headers=auth(portal["evaluator"])).body
    assert evaluator.count('class="kpigov-verify') == 4
    assert 'name="_csrf_token"' in evaluator
    editor = app.get("/organization/pathumwan/governance?fy=%d" % FY,
                     headers=auth(portal["editor"])).body
    assert "/organization/pathumwan/governance/team" in editor
    assert "kpigov-verify" not in editor


def test_tab_dates_in_buddhist_era_and_gaps(app, portal):
    seed(portal)
    page = app.get("/th/organization/pathumwan/governance?fy=%d" % FY)
    assert "15 ม.ค. 2567" in page.body
    assert "คณะทำงานธรรมาภิบาลข้อมูล" in page.body  # compiled Thai catalog
    empty = app.get("/organization/pathumwan/governance?fy=2566")
    assert empty.body.count("kpigov-gap") >= 3
    assert app.get("/organization/pathumwan/governance?fy=abc").status_code == 400
    assert app.get("/organization/nope/governance").status_code == 404
    nav = app.get("/organization/pathumwan")
    assert "/organization/pathumwan/governance" in nav.body


@pytest.mark.parametrize("path", ["team", "plan", "stakeholders", "evidence"])
def test_forms_carry_csrf_and_need_an_editor(app, portal, path):
    url = "/organization/pathumwan/governance/%s?fy=%d" % (path, FY)
    for who in ("editor", "admin"):
        page = app.get(url, headers=auth(portal[who]))
        assert page.status_code == 200
        assert 'name="_csrf_token"' in page.body
    for who in ("member", "other_admin", "evaluator"):
        assert app.get(url, headers=auth(portal[who])).status_code == 403
        assert app.post(url, headers=auth(portal[who]),
                        data={"fiscal_year": FY}).status_code == 403
    assert app.get(url).status_code == 403


def test_team_form_saves_and_rerenders_errors(app, portal):
    url = "/organization/pathumwan/governance/team"
    form = {"fiscal_year": FY, "order_number": "7/2567", "order_date": "2024-01-15",
            "members-0-name": "นายสมชาย", "members-0-position": "ผอ.",
            "members-0-role": "chair", "members-0-email": "s@bma.example",
            "members-1-name": "", "members-1-role": "member",
            "document_upload": (io.BytesIO(PDF), "order.pdf")}
    res = app.post(url, data=form, headers=auth(portal["editor"]), follow_redirects=False)
    assert res.status_code == 302
    stored = act("kpigov_governance_show", portal["member"], owner_org="pathumwan",
                 fiscal_year=FY, kind="team")
    assert [m["name"] for m in stored["data"]["members"]] == ["นายสมชาย"]
    assert stored["document_name"] == "order.pdf"
    doc = app.get(stored["document_url"].replace("http://test.ckan.net", ""))
    assert doc.status_code == 200 and doc.data == PDF
    # errors come back on the form; nothing stored changes
    bad = dict(form, **{"members-0-email": "not-an-email", "order_date": "2567-02-30",
                        "order_number": "8/2567"})
    bad["document_upload"] = (io.BytesIO(b"MZ..."), "x.exe")
    res = app.post(url, data=bad, headers=auth(portal["editor"]))
    assert res.status_code == 200
    assert "is-invalid" in res.body and "kpigov-form-errors" in res.body
    assert 'value="8/2567"' in res.body  # the user's input is kept
    again = act("kpigov_governance_show", portal["member"], id=stored["id"])
    assert again["data"] == stored["data"] and again["document_name"] == "order.pdf"
    # saving without a new document keeps the stored one
    res = app.post(url, data={"fiscal_year": FY, "order_number": "9/2567",
                              "document_url": "", "members-0-name": "นายสมชาย",
                              "members-0-role": "chair"},
                   headers=auth(portal["editor"]), follow_redirects=False)
    assert res.status_code == 302
    kept = act("kpigov_governance_show", portal["member"], id=stored["id"])
    assert kept["document_name"] == "order.pdf" and kept["data"]["order_number"] == "9/2567"


def test_plan_form_target_must_be_own_dataset(app, portal):
    url = "/organization/pathumwan/governance/plan"
    res = app.post(url, data={"fiscal_year": FY, "summary": "แผน",
                              "target_datasets": [portal["public"]["id"],
                                                  portal["foreign"]["id"]]},
                   headers=auth(portal["admin"]))
    # the form says which entry is wrong by what was sent, never by a stored name
    assert res.status_code == 200 and portal["foreign"]["id"] in res.body
    res = app.post(url, data={"fiscal_year": FY, "summary": "แผน",
                              "target_datasets": [portal["public"]["id"]]},
                   headers=auth(portal["admin"]), follow_redirects=False)
    assert res.status_code == 302
    plan = act("kpigov_governance_show", portal["member"], owner_org="pathumwan",
               fiscal_year=FY, kind="plan")
    assert [t["name"] for t in plan["data"]["target_datasets"]] == ["elderly"]


def test_stakeholder_form_add_error_and_delete(app, portal):
    url = "/organization/pathumwan/governance/stakeholders"
    res = app.post(url, data={"role": "owner", "name": "ผู้อำนวยการ",
                              "email": "bad@"}, headers=auth(portal["editor"]))
    assert res.status_code == 200 and "kpigov-form-errors" in res.body
    assert act("kpigov_stakeholder_list", portal["member"], owner_org="pathumwan") == []
    res = app.post(url, data={"role": "owner", "name": "ผู้อำนวยการ",
                              "email": "dir@bma.example"},
                   headers=auth(portal["editor"]), follow_redirects=False)
    assert res.status_code == 302
    [s] = act("kpigov_stakeholder_list", portal["member"], owner_org="pathumwan")
    res = app.post(url, data={"id": s["id"], "delete": "1"},
                   headers=auth(portal["editor"]), follow_redirects=False)
    assert res.status_code == 302
    assert act("kpigov_stakeholder_list", portal["member"], owner_org="pathumwan") == []


def test_evidence_form_and_delete(app, portal):
    url = "/organization/pathumwan/governance/evidence"
    base = {"package_id": portal["public"]["id"], "evidence_type": "sharing",
            "kind_usage": "report", "kind_sharing": "exchange_bma",
            "description": "ส่งข้อมูล", "date": "2567-01-05", "url": ""}
    res = app.post(url, data=base, headers=auth(portal["editor"]))
    assert res.status_code == 200 and "kpigov-form-errors" in res.body
    assert act("kpigov_evidence_list", portal["member"], owner_org="pathumwan") == []
    res = app.post(url, data=dict(base, partner="สำนักอนามัย"),
                   headers=auth(portal["editor"]), follow_redirects=False)
    assert res.status_code == 302
    [e] = act("kpigov_evidence_list", portal["member"], owner_org="pathumwan")
    assert e["kind"] == "exchange_bma" and e["recorded_by"] == portal["editor"]["name"]
    delete = "/organization/pathumwan/governance/evidence/%s/delete" % e["id"]
    assert app.post(delete, headers=auth(portal["member"])).status_code == 403
    assert app.post("/organization/bangrak/governance/evidence/%s/delete" % e["id"],
                    headers=auth(portal["other_admin"])).status_code == 403
    assert app.post(delete, headers=auth(portal["editor"]),
                    follow_redirects=False).status_code == 302
    assert act("kpigov_evidence_list", portal["member"], owner_org="pathumwan") == []


def test_verify_post(app, portal):
    team, _plan, usage = seed(portal)
    url = "/organization/pathumwan/governance/verify"
    form = {"object_type": "evidence", "id": usage["id"], "decision": "verified",
            "fy": FY, "comment": "ครบถ้วน"}
    assert app.post(url, data=form, headers=auth(portal["admin"])).status_code == 403
    assert app.post("/organization/bangrak/governance/verify", data=form,
                    headers=auth(portal["evaluator"])).status_code == 404
    res = app.post(url, data=form, headers=auth(portal["evaluator"]),
                   follow_redirects=False)
    assert res.status_code == 302
    # rejecting without a comment is refused with a message, not a 500
    res = app.post(url, data=dict(form, object_type="governance", id=team["id"],
                                  decision="rejected", comment=""),
                   headers=auth(portal["evaluator"]))
    assert res.status_code == 200
    history = act("kpigov_verification_list", portal["evaluator"], owner_org="pathumwan")
    assert [h["decision"] for h in history] == ["verified"]
    page = app.get("/organization/pathumwan/governance?fy=%d" % FY,
                   headers=auth(portal["member"])).body
    assert "kpigov-history" in page and "ครบถ้วน" in page
    assert "kpigov-history" not in app.get(
        "/organization/pathumwan/governance?fy=%d" % FY).body


def test_documents_of_private_evidence_are_not_public(app, portal):
    e = act("kpigov_evidence_create", portal["editor"], package_id="secret-ds",
            evidence_type="usage", kind="report", description="รายงาน",
            date="2567-01-05", document_upload=__import__(
                "werkzeug.datastructures", fromlist=["FileStorage"]).FileStorage(
                io.BytesIO(PDF), filename="report.pdf"))
    url = "/organization/pathumwan/governance/document/evidence/%s" % e["id"]
    assert app.get(url).status_code == 404
    assert app.get(url, headers=auth(portal["other_admin"])).status_code == 404
    assert app.get(url, headers=auth(portal["member"])).data == PDF
    assert app.get("/organization/bangrak/governance/document/evidence/%s" % e["id"],
                   headers=auth(portal["evaluator"])).status_code == 404


# --- data catalog export (needs the scheming schema for stakeholders) ----

SCHEMING = [
    pytest.mark.ckan_config("ckan.plugins", "kpigov_pgsearch kpigov scheming_datasets"),
    pytest.mark.ckan_config("scheming.dataset_schemas",
                            "ckanext.kpigov.schemas:dataset.yaml"),
    pytest.mark.ckan_config("scheming.presets",
                            "ckanext.scheming:presets.json "
                            "ckanext.kpigov.schemas:presets.yaml"),
]


@pytest.fixture
def catalog_portal():
    member = factories.UserWithToken()
    evaluator = factories.UserWithToken(name="evaluator")
    org = factories.Organization(name="pathumwan", users=[
        {"name": member["name"], "capacity": "member"}])
    base = dict(owner_org=org["id"], maintainer="ฝ่ายพัฒนาชุมชน",
                maintainer_email="c@bma.example", update_frequency_unit="เดือน",
                update_frequency_interval="1", data_category="ข้อมูลสาธารณะ",
                data_classification="เปิดเผย")
    helpers.call_action("package_create", name="elderly", title="ข้อมูลผู้สูงอายุ",
                        notes="=HYPERLINK(\"http://evil\")", **base,
                        kpigov_stakeholders=[
                            {"role": "owner", "name": "ผู้อำนวยการเขต",
                             "agency": "สำนักงานเขตปทุมวัน", "email": "d@bma.example"},
                            {"role": "steward", "name": "นางสาวสมศรี"}],
                        resources=[{"url": "http://x/a.csv", "format": "CSV"},
                                   {"url": "http://x/a.xlsx", "format": "XLSX"}])
    helpers.call_action("package_create", name="secret-ds", title="ข้อมูลลับ",
                        notes="ลับ", private=True, **base)
    return dict(org=org, member=member, evaluator=evaluator)


def _with_scheming(fn):
    for mark in SCHEMING:
        fn = mark(fn)
    return fn


@_with_scheming
def test_catalog_csv_columns_and_privacy(app, catalog_portal):
    res = app.get("/organization/pathumwan/catalog.csv")
    assert res.status_code == 200
    assert res.headers["Content-Disposition"].endswith('.csv"')
    text = res.body.lstrip("\ufeff")
    lines = text.splitlines()
    assert lines[0].split(",")[:4] == ["ชื่อชุดข้อมูล (dataset)", "คำอธิบาย (description)",
                                       "เจ้าของข้อมูล (owner)", "ผู้ดูแลข้อมูล (steward)"]
    assert "URL (URL)" in lines[0] and "การเผยแพร่ (public/private)" in lines[0]
    assert "ข้อมูลผู้สูงอายุ" in text and "ข้อมูลลับ" not in text
    assert "ผู้อำนวยการเขต (สำนักงานเขตปทุมวัน)" in text and "นางสาวสมศรี" in text
    assert "CSV, XLSX" in text and "ข้อมูลสาธารณะ" in text and "เปิดเผย" in text
    assert "http://test.ckan.net/dataset/elderly" in text
    assert "d@bma.example" not in text  # the catalog names people, no contacts
    assert "'=HYPERLINK" in text
    member = app.get("/organization/pathumwan/catalog.csv",
                     headers=auth(catalog_portal["member"])).body
    assert "ข้อมูลลับ" in member and "ส่วนตัว (private)" in member
    assert "ข้อมูลลับ" in app.get("/organization/pathumwan/catalog.csv",
                                  headers=auth(catalog_portal["evaluator"])).body


@_with_scheming
def test_catalog_xlsx(app, catalog_portal):
    res = app.get("/organization/pathumwan/catalog.xlsx",
                  headers=auth(catalog_portal["member"]))
    wb = load_workbook(io.BytesIO(res.data))
    rows = [[c.value for c in row] for row in wb.active.iter_rows()]
    header = next(r for r in rows if r[0] == "ชื่อชุดข้อมูล (dataset)")
    assert len(header) == 10
    titles = [r[0] for r in rows]
    assert "ข้อมูลผู้สูงอายุ" in titles and "ข้อมูลลับ" in titles
    cells = [c for r in rows for c in r]
    assert not any(isinstance(c, str) and c.startswith("=") for c in cells)
    elderly = next(r for r in rows if r[0] == "ข้อมูลผู้สูงอายุ")
    assert elderly[4]  # the cadence in words
    assert app.get("/organization/nope/catalog.xlsx").status_code == 404
