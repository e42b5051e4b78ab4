"""A publisher and an evaluator use the KPI tab in headless Chromium; the
evaluator verifies a step and downloads the evaluation form."""
from __future__ import annotations

import datetime as dt
import json
import os

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

import ckan.model as model
import ckan.tests.factories as factories
from ckanext.kpigov.model import (evidence_table, governance_table, record_update,
                                  verification_table)

pytestmark = [pytest.mark.usefixtures("clean_db", "with_plugins"),
              pytest.mark.ckan_config("ckanext.kpigov.evaluators", "somsak_eval")]

FY = 2567
PEOPLE = [{"role": "owner", "name": "ผู้อำนวยการเขตปทุมวัน"},
          {"role": "steward", "name": "นางสาวสมศรี ใจดี"}]


def _dataset(org, name, title, months, private=False, people=PEOPLE, target=False):
    extras = [{"key": "update_frequency_unit", "value": "เดือน"},
              {"key": "update_frequency_interval", "value": "1"},
              {"key": "data_category", "value": "ข้อมูลสาธารณะ"},
              {"key": "kpigov_stakeholders", "value": json.dumps(people)}]
    if target:
        extras.append({"key": "kpigov_target_fy", "value": str(FY)})
    ds = factories.Dataset(owner_org=org["id"], name=name, title=title, private=private,
                           notes="ข้อมูลของสำนักงานเขต", extras=extras,
                           resources=[{"url": "http://example.org/%s.csv" % name,
                                       "format": "CSV"}])
    model.Package.get(ds["id"]).metadata_created = dt.datetime(2023, 9, 1)
    model.Session.execute(sa.text(
        "UPDATE kpigov_cadence_history SET changed = :w WHERE package_id = :p"),
        {"w": dt.datetime(2023, 9, 1), "p": ds["id"]})
    for ym in months:
        record_update(ds["id"], "demo", "new_data", created=dt.datetime(*ym, 20))
    return ds


ALL_MONTHS = [(2023, 10), (2023, 11), (2023, 12)] + [(2024, m) for m in range(1, 10)]


@pytest.fixture
def portal():
    publisher = factories.UserWithToken(name="somsri_pub", fullname="สมศรี ใจดี")
    evaluator = factories.UserWithToken(name="somsak_eval", fullname="สมศักดิ์ (สยป.)")
    org = factories.Organization(name="pathumwan-district", title="สำนักงานเขตปทุมวัน",
                                 users=[{"name": publisher["name"], "capacity": "editor"}],
                                 extras=[{"key": "kpigov_agency_kind", "value": "district"}])
    other = factories.Organization(name="anamai", title="สำนักอนามัย",
                                   extras=[{"key": "kpigov_agency_kind",
                                            "value": "department"}])
    target = _dataset(org, "elderly-pathumwan", "ข้อมูลผู้สูงอายุในชุมชนเขตปทุมวัน",
                      [m for m in ALL_MONTHS if m != (2024, 5)], target=True)
    _dataset(org, "community-list", "รายชื่อชุมชน", ALL_MONTHS)
    _dataset(org, "complaints-internal", "เรื่องร้องเรียน (ภายใน)", ALL_MONTHS[:6],
             private=True, people=PEOPLE[:1])
    _dataset(other, "clinics", "คลินิกสาธารณสุข", ALL_MONTHS, target=True)
    now = dt.datetime(2023, 11, 1)
    for kind in ("team", "plan"):
        model.Session.execute(governance_table.insert().values(
            owner_org=org["id"], fiscal_year=FY, kind=kind, data={},
            document_url="http://example.org/%s.pdf" % kind,
            document_name="คำสั่งแต่งตั้ง.pdf" if kind == "team" else "แผนพัฒนาฐานข้อมูล.pdf",
            created=now, modified=now))
    model.Session.execute(evidence_table.insert().values(
        owner_org=org["id"], package_id=target["id"], evidence_type="usage",
        kind="planning", description="ใช้วางแผนเยี่ยมบ้านผู้สูงอายุ",
        date=dt.date(2024, 3, 1), fiscal_year=FY, status="verified", created=now))
    model.Session.commit()
    return dict(org=org, publisher=publisher, evaluator=evaluator)


def _page(browser, user, base):
    context = browser.new_context(base_url=base, accept_downloads=True,
                                  viewport={"width": 1200, "height": 900},
                                  extra_http_headers={"Authorization": user["token"]})
    return context, context.new_page()


def test_publisher_and_evaluator_use_the_kpi_tab(portal, live_server, browser,
                                                 screenshot_dir, tmp_path):
    url = "/organization/pathumwan-district/kpi?fy=%d" % FY
    # the publisher sees the checklist, its private dataset and what to do next
    ctx, page = _page(browser, portal["publisher"], live_server)
    page.goto(url)
    assert page.locator("#kpigov-steps > li").count() == 5
    assert page.locator("#kpigov-step-step3").get_attribute("data-met") == "false"
    assert "No data for May 2024" in page.locator("#kpigov-step-step3").inner_text()
    assert "เรื่องร้องเรียน (ภายใน)" in page.content()
    assert page.locator("form.kpigov-verify").count() == 0
    performance = page.locator("#kpigov-performance").inner_text()
    if screenshot_dir:
        page.screenshot(path=os.path.join(screenshot_dir, "kpi_tab.png"))
    page.goto("/th" + url)
    assert "ไม่มีข้อมูลของเดือน พ.ค. 2567" in page.content()
    if screenshot_dir:
        page.screenshot(path=os.path.join(screenshot_dir, "kpi_tab_th.png"))
    # the Compliance tab: the heat map spans the page (no sidebar)
    page.goto("/th/organization/pathumwan-district/compliance?fy=%d" % FY)
    heatmap = page.locator("table.kpigov-heatmap")
    assert heatmap.locator("tbody tr").count() >= 1
    assert heatmap.locator("thead th").count() == 14  # dataset, 12 months, rate
    assert page.locator("aside.secondary").count() == 0
    assert heatmap.bounding_box()["width"] > 1000
    # each status has its colour (not painted over by the table's own)
    colours = {c.evaluate("e => getComputedStyle(e).backgroundColor")
               for c in heatmap.locator("td.kpigov-on_time, td.kpigov-missed").all()}
    assert "rgb(209, 231, 221)" in colours and "rgb(248, 215, 218)" in colours
    assert "สำนักงานเขตปทุมวัน" in page.locator("h1").inner_text()
    # overdue months in the Buddhist Era on Thai pages, not as keys
    overdue = page.locator("ul", has=page.locator("a")).last.inner_text()
    assert "พ.ค. 2567" in page.content() and "— 2024-05" not in page.content(), overdue
    if screenshot_dir:
        page.screenshot(path=os.path.join(screenshot_dir, "compliance_tab_th.png"),
                        full_page=True)
    ctx.close()

    # the evaluator rejects step 2 with a comment, then downloads the form
    ctx, page = _page(browser, portal["evaluator"], live_server)
    response = page.goto(url)
    assert response.status == 200, page.content()[:3000]
    step = page.locator("#kpigov-step-step5")
    assert step.get_attribute("data-met") == "true"
    step.locator("select[name=decision]").select_option("rejected")
    step.locator("input[name=comment]").fill("ลิงก์บริการออนไลน์ใช้งานไม่ได้")
    with page.expect_navigation():
        step.locator("button[type=submit]").click()
    step = page.locator("#kpigov-step-step5")
    assert step.get_attribute("data-met") == "false"
    assert "Rejected" in step.locator(".kpigov-verification").inner_text()
    assert page.locator("#kpigov-performance").inner_text() != performance
    rows = model.Session.execute(sa.select(verification_table)).fetchall()
    assert [(r.object_type, r.decision) for r in rows] == [("step", "rejected")]
    with page.expect_download() as info:
        page.locator("#kpigov-export-xlsx").click()
    target = tmp_path / "form.xlsx"
    info.value.save_as(target)
    wb = load_workbook(target)
    form = [[c.value for c in r] for r in wb["แบบประเมิน"].iter_rows()]
    assert ["หน่วยงาน (organization)", "สำนักงานเขตปทุมวัน"] in [r[:2] for r in form]
    assert "bma_kpi52_fy2564" in [r[1] for r in form if r[0] == "เกณฑ์ (rubric)"]
    header = next(r for r in form if r[0] == "องค์ประกอบ (component)")
    row = form[form.index(header) + 1]
    assert header[9] == "ผลการดำเนินการตามตัวชี้วัด (performance)"
    assert row[9] == float(page.locator("#kpigov-performance").inner_text().rstrip("%"))
    steps = [[c.value for c in r] for r in wb["ขั้นตอน"].iter_rows()]
    step5 = next(r for r in steps if r[0] == "step5")
    assert step5[4] == "ไม่รับรอง (rejected)" and step5[5] == "ไม่ผ่าน (not met)"
    # the overview, for evaluators only
    page.goto("/kpigov/overview?fy=%d" % FY)
    assert page.locator("#kpigov-overview-table tbody tr").count() == 2
    assert page.locator("#kpigov-distribution svg rect").count() == 6
    if screenshot_dir:
        page.screenshot(path=os.path.join(screenshot_dir, "kpi_overview.png"))
    ctx.close()
    ctx, page = _page(browser, portal["publisher"], live_server)
    response = page.goto("/kpigov/overview")
    assert response.status == 403
    ctx.close()
