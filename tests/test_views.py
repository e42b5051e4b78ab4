"""Pages: Compliance tab, exports, badges and the dataset panel."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook

import ckan.model as model
import ckan.tests.factories as factories
from ckanext.kpigov.model import record_update

pytestmark = [pytest.mark.usefixtures("clean_db", "with_plugins"),
              pytest.mark.ckan_config("ckanext.kpigov.evaluators", "evaluator")]


@pytest.fixture
def org_data():
    member = factories.UserWithToken()
    org = factories.Organization(name="pathumwan", title="สำนักงานเขตปทุมวัน", users=[
        {"name": member["name"], "capacity": "member"}])
    extras = [{"key": "update_frequency_unit", "value": "เดือน"}]
    pub = factories.Dataset(name="elderly", title="ข้อมูลผู้สูงอายุ", owner_org=org["id"],
                            extras=extras, resources=[{"url": "http://x/a.csv"}])
    factories.Dataset(name="secret-ds", title="ความลับ", owner_org=org["id"],
                      private=True, extras=extras)
    factories.Dataset(name="evil", title="=HYPERLINK(\"http://evil\")<script>x</script>",
                      owner_org=org["id"], extras=extras)
    record_update(pub["id"], "demo", "new_data", source="demo",
                  created=dt.datetime.utcnow() - dt.timedelta(days=1))
    model.Session.commit()
    return {"org": org, "member": member}


def test_compliance_tab_public_and_member(app, org_data):
    anon = app.get("/organization/pathumwan/compliance")
    assert anon.status_code == 200
    assert "ข้อมูลผู้สูงอายุ" in anon.body
    assert "ความลับ" not in anon.body
    assert "&lt;script&gt;" in anon.body and "<script>x</script>" not in anon.body
    assert 'href="/dataset/elderly"' in anon.body
    # a heat-map cell: colour class, symbol, the status in words and the month
    assert 'kpigov-cell kpigov-on_time" title="' in anon.body
    assert '<span class="visually-hidden">On time</span>' in anon.body
    mine = app.get("/organization/pathumwan/compliance",
                   headers={"Authorization": org_data["member"]["token"]})
    assert "ความลับ" in mine.body


def test_report_tab_styles_are_webassets(app, org_data):
    """The report tabs' CSS comes from assets/webassets.yml, linked in <head>."""
    page = app.get("/organization/pathumwan/compliance")
    head = page.body.split("</head>")[0]
    hrefs = re.findall(r'<link[^>]+href="([^"]+-(?:report|compliance)\.css)"', head)
    assert len(hrefs) == 2, hrefs
    assert "--bs-table-bg" not in page.body  # no inline <style> left
    css = "".join(app.get(href).body for href in hrefs)
    assert ".wrapper.no-nav > .primary" in css
    assert ".kpigov-on_time { --bs-table-bg: #d1e7dd" in css


def test_compliance_tab_thai_dates_and_bad_year(app, org_data):
    page = app.get("/th/organization/pathumwan/compliance?fy=2568")
    assert page.status_code == 200
    assert "ต.ค. 2567" in page.body  # October 2024 in the Buddhist Era
    assert 'href="/th/dataset/elderly"' in page.body
    assert app.get("/organization/pathumwan/compliance?fy=abc").status_code == 400
    assert app.get("/organization/pathumwan/compliance?q=9").status_code == 400
    assert app.get("/organization/nope/compliance").status_code == 404


def test_compliance_exports_are_safe(app, org_data):
    csv_res = app.get("/organization/pathumwan/compliance.csv")
    assert csv_res.status_code == 200
    text = csv_res.body
    assert "ข้อมูลผู้สูงอายุ" in text and "ความลับ" not in text
    assert "'=HYPERLINK" in text
    xlsx = app.get("/organization/pathumwan/compliance.xlsx")
    wb = load_workbook(io.BytesIO(xlsx.data))
    cells = [c.value for row in wb.active.iter_rows() for c in row]
    assert "ข้อมูลผู้สูงอายุ" in cells
    assert not any(isinstance(c, str) and c.startswith("=") for c in cells)


def test_freshness_badge_and_panel(app, org_data):
    search = app.get("/dataset/")
    assert "kpigov-freshness-fresh" in search.body
    page = app.get("/dataset/elderly")
    assert "kpigov-panel" in page.body
