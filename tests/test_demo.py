"""`ckan kpigov seed-demo`: the demo loader (ckanext.kpigov.demo)."""
from __future__ import annotations

import csv
import datetime
import io
import os
import random

import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckan import model
from ckan.lib import uploader

from ckanext.kpigov import demo
from ckanext.kpigov.demo_data.agencies import AGENCIES
from ckanext.kpigov.model import ledger_table

TODAY = datetime.date(2026, 11, 25)
ELDERLY = "ข้อมูลผู้สูงอายุในชุมชนเขตปทุมวัน"


def _months_back(n: int) -> list[tuple[int, int]]:
    """(year, month) of TODAY's month and the n months before it."""
    k = TODAY.year * 12 + TODAY.month - 1
    return [((k - i) // 12, (k - i) % 12 + 1) for i in range(n, -1, -1)]


def _ledger_months(org_name: str) -> set[tuple[int, int]]:
    org = model.Group.get(org_name)
    ids = [p.id for p in model.Session.query(model.Package).filter_by(
        owner_org=org.id)]
    rows = model.Session.execute(sa.select(ledger_table.c.created).where(
        ledger_table.c.package_id.in_(ids),
        ledger_table.c.source == "demo")).fetchall()
    return {(r[0].year, r[0].month) for r in rows}


def _counts() -> dict[str, int]:
    def count(table: str) -> int:
        return model.Session.execute(
            sa.text(f"SELECT count(*) FROM {table}")).scalar()
    return {t: count(t) for t in ("package", "resource", "\"group\"", "member",
                                  "\"user\"", "kpigov_ledger")}


def test_plan_is_stable_and_starts_with_every_agency():
    first = demo.plan(8)
    assert [a["key"] for a, _t, _v in first] == [a["key"] for a in AGENCIES]
    assert first[1][1]["title"] == ELDERLY
    slugs = [demo._slug(t, v) for _a, t, v in demo.plan(200)]
    assert len(set(slugs)) == 200
    assert all(s.isascii() for s in slugs)


def test_rows_and_history_are_deterministic():
    _agency, template, _v = demo.plan(2)[1]
    ctx = {"today": TODAY, "district": "ปทุมวัน", "seed_key": "1:x:0"}
    one = demo.make_rows(template["resources"][0], random.Random(5), dict(ctx))
    two = demo.make_rows(template["resources"][0], random.Random(5), dict(ctx))
    assert one == two
    header, rows = one
    assert header[:2] == ["month", "district"] and "elderly_count" in header
    assert 20 <= len(rows) <= 200
    h1 = demo._history("เดือน", "good", random.Random(9), TODAY)
    assert h1 == demo._history("เดือน", "good", random.Random(9), TODAY)
    assert all(moment.date() < TODAY for moment, _n in h1)
    assert demo._history(demo.NEVER, "diligent", random.Random(1), TODAY) == []


@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_load_creates_a_portal_and_is_idempotent():
    summary = demo.load(seed=1, n_datasets=12, today=TODAY)

    # Agencies: 8 organizations with Thai titles and their kind.
    assert summary["organizations"] == len(AGENCIES) >= 6
    org = tk.get_action("organization_show")(
        {"ignore_auth": True}, {"id": "pathumwan-district", "include_extras": True})
    assert org["title"] == "สำนักงานเขตปทุมวัน"
    extras = {e["key"]: e["value"] for e in org.get("extras", [])}
    assert extras["kpigov_agency_kind"] == "district"

    # Datasets: 12, Thai titles, some private, CSV uploads.
    assert summary["datasets"] == 12
    assert summary["datasets_private"] == 2
    assert 0.1 <= summary["datasets_private"] / summary["datasets"] <= 0.25
    pkg = tk.get_action("package_show")({"ignore_auth": True},
                                        {"id": "pathumwan-elderly-community"})
    assert pkg["title"] == ELDERLY
    assert pkg["license_id"] == "cc-by"
    assert not pkg["private"]
    assert 1 <= len(pkg["resources"]) <= 2
    res = pkg["resources"][0]
    assert res["url_type"] == "upload" and res["format"] == "CSV"
    path = uploader.get_resource_uploader(res).get_path(res["id"])
    assert os.path.exists(path)
    with open(path, encoding="utf-8") as f:
        rows = list(csv.reader(io.StringIO(f.read())))
    assert rows[0][:2] == ["month", "district"]
    assert 20 <= len(rows) - 1 <= 200

    # Users: editor and admin per agency, citizen, evaluator.
    assert summary["users"] == 2 * len(AGENCIES) + 2
    assert summary["demo_password"] == demo.DEMO_PASSWORD
    editor = model.User.get("anamai_editor")
    assert editor.validate_password(demo.DEMO_PASSWORD)
    anamai = model.Group.get("anamai")
    roles = {m.table_id: m.capacity for m in model.Session.query(model.Member)
             .filter_by(group_id=anamai.id, table_name="user", state="active")}
    assert roles[editor.id] == "editor"
    assert roles[model.User.get("anamai_admin").id] == "admin"
    assert model.User.get("citizen") and model.User.get("evaluator")
    assert not model.User.get("citizen").sysadmin

    # History: at least 14 distinct months; diligent every month; lagging gaps.
    rows = model.Session.execute(sa.select(
        ledger_table.c.created, ledger_table.c.kind, ledger_table.c.source,
        ledger_table.c.nature)).fetchall()
    assert summary["ledger_entries"] == len(rows) > 0
    assert {r.kind for r in rows} == {"demo"} and {r.source for r in rows} == {"demo"}
    assert {r.nature for r in rows} <= {"new_data", "correction", "metadata"}
    assert all(r.created.date() < TODAY for r in rows)
    assert len({(r.created.year, r.created.month) for r in rows}) >= 14
    window = _months_back(demo.HISTORY_MONTHS)
    assert set(window) <= _ledger_months("anamai")          # diligent
    lagging = _ledger_months("registration")
    assert lagging and len(lagging & set(window)) < len(window) - 3
    assert not lagging & set(_months_back(2))                # stopped
    # The datasets look older than their history; the loader's own uploads
    # left no ledger rows of their own.
    start = datetime.date(*window[0], 1)
    assert all(p.metadata_created.date() < start
               for p in model.Session.query(model.Package))
    indexed = model.Session.execute(sa.text(
        "SELECT max(metadata_created) FROM kpigov_search_doc")).scalar()
    assert indexed.date() < start

    # Search (kpigov_pgsearch) finds the elderly dataset in Thai.
    found = tk.get_action("package_search")(
        {"ignore_auth": True}, {"q": "ผู้สูงอายุ", "rows": 20})
    assert ELDERLY in [r["title"] for r in found["results"]]

    # A second run adds nothing.
    before = _counts()
    again = demo.load(seed=1, n_datasets=12, today=TODAY)
    assert _counts() == before
    assert all(v == 0 for v in again["created"].values())
    assert {k: again[k] for k in ("datasets", "resources", "ledger_entries")} == \
        {k: summary[k] for k in ("datasets", "resources", "ledger_entries")}


@pytest.mark.ckan_config("ckan.plugins", "kpigov_pgsearch kpigov scheming_datasets")
@pytest.mark.ckan_config("scheming.dataset_schemas",
                         "ckanext.kpigov.schemas:dataset.yaml")
@pytest.mark.ckan_config("scheming.presets", "ckanext.scheming:presets.json "
                         "ckanext.kpigov.schemas:presets.yaml")
@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_load_fills_the_dataset_schema():
    summary = demo.load(seed=1, n_datasets=12, today=TODAY)
    assert summary["datasets"] == 12
    show = tk.get_action("package_show")
    pkg = show({"ignore_auth": True}, {"id": "pathumwan-elderly-community"})
    assert pkg["data_type"] == "ข้อมูลสถิติ"
    assert pkg["update_frequency_unit"] == "เดือน"
    assert pkg["update_frequency_interval"] == "1"
    assert pkg["data_category"] == "ข้อมูลสาธารณะ"
    assert pkg["data_classification"] == "เปิดเผย"
    assert pkg["geo_coverage"] == "เขตปทุมวัน"
    assert pkg["data_format"] == ["CSV"] and pkg["data_language"] == ["ไทย"]
    assert "พันธกิจหน่วยงาน" in pkg["objective"]
    assert pkg["maintainer_email"].endswith("@bangkok.example")
    assert pkg["kpigov_stakeholders"][0]["role"] == "owner"
    assert (pkg["kpigov_target_fy"], pkg["kpigov_target_kind"]) == ("2569", "improved")
    assert {t["name"] for t in pkg["tags"]} >= {"elderly", "community"}

    dictionary = pkg["resources"][0]["kpigov_dictionary"]
    entry = next(e for e in dictionary if e["column"] == "elderly_count")
    assert entry["label_th"] == "จำนวนผู้สูงอายุ" and entry["type"] == "integer"

    packages = [show({"ignore_auth": True}, {"id": p.id})
                for p in model.Session.query(model.Package).filter_by(state="active")]
    targets = [p for p in packages if p.get("kpigov_target_fy")]
    assert len(targets) == len([a for a in AGENCIES if a["target"]]) == 6
    for p in packages:
        assert p["data_category"] == ("ข้อมูลใช้ภายใน" if p["private"]
                                      else "ข้อมูลสาธารณะ")
        assert any(s["role"] == "owner" for s in p["kpigov_stakeholders"])
        assert all(r.get("kpigov_columns") for r in p["resources"])
    # The loader's uploads and the cadence declared at creation are not
    # left with today's date.
    latest = model.Session.execute(sa.text(
        "SELECT max(changed) FROM kpigov_cadence_history")).scalar()
    assert latest is not None and latest.date() < TODAY.replace(year=TODAY.year - 1)


@pytest.mark.skipif(not os.environ.get("KPIGOV_DEMO_FULL"),
                    reason="full-size demo: set KPIGOV_DEMO_FULL=1")
@pytest.mark.ckan_config("ckan.plugins", "kpigov_pgsearch kpigov scheming_datasets")
@pytest.mark.ckan_config("scheming.dataset_schemas",
                         "ckanext.kpigov.schemas:dataset.yaml")
@pytest.mark.ckan_config("scheming.presets", "ckanext.scheming:presets.json "
                         "ckanext.kpigov.schemas:presets.yaml")
@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_full_size_demo_loads_within_a_minute():
    summary = demo.load(seed=2567, n_datasets=60, today=TODAY)
    print(summary)
    assert summary["datasets"] == 60
    assert summary["organizations"] == len(AGENCIES)
    assert 0.1 <= summary["datasets_private"] / 60 <= 0.2
    assert summary["seconds"] < 60
