"""Benchmark KPI scoring on a BMA-sized portal. Not a test.

127 organizations, 10,000 datasets, ~200,000 ledger entries, built by bulk SQL
in its own database (default ckan_bench_score; built once, reused). Prints:

1. recomputing every organization's score (scoring.score_orgs, one bulk pass),
   and freezing a quarter snapshot for all;
2. the KPI tab's server time (Flask test client, no network), p50/p95;
3. the evaluator overview's server time;
4. the same scores the way an evaluator's script would get them today through
   the action API (package_show, the ledger list and, where the activity plugin
   is on, the activity list per dataset; in-process calls, so no HTTP cost is
   counted), timed on a sample and extrapolated to the portal; the ratio.

Run:  .venv/bin/python bench/bench_scoring.py [--rebuild] [--sample 200]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DB = os.environ.get("BENCH_DB", "ckan_bench_score")
ORGS, DATASETS, ENTRIES = 127, 10_000, 200_000
FY = 2569  # Oct 2025 - Sep 2026: a full year of due months on any later date


def _prepare_database(rebuild: bool) -> None:
    """Create the database and run every migration (dev/lib.sh helpers)."""
    script = 'source dev/lib.sh; ensure_stack >/dev/null; %s ensure_database "%s"' % (
        'psql_admin -c "DROP DATABASE IF EXISTS %s" >/dev/null;' % DB if rebuild else "", DB)
    subprocess.run(["bash", "-c", script], cwd=ROOT, check=True)
    env = dict(os.environ, CKAN_SQLALCHEMY_URL=_url(), CKAN_INI=os.path.join(ROOT, "test.ini"))
    subprocess.run([os.path.join(ROOT, ".venv/bin/ckan"), "-c", "test.ini", "db", "upgrade"],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def _url() -> str:
    return "postgresql://ckan_default:pass@127.0.0.1/%s" % DB


def _load_app():
    os.environ["CKAN_SQLALCHEMY_URL"] = _url()
    os.environ["CKAN_INI"] = os.path.join(ROOT, "test.ini")
    from ckan.cli import load_config
    from ckan.config.middleware import make_app
    config = load_config(os.path.join(ROOT, "test.ini"))
    config["ckan.site_url"] = "http://localhost"
    return make_app(config)


def _chunks(rows, size=5000):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def _build() -> None:
    """Bulk-insert the portal (skipped when it is already there)."""
    import sqlalchemy as sa
    import ckan.model as model
    from ckanext.kpigov.model import (evidence_table, governance_table, ledger_table,
                                      stakeholder_table)
    s = model.Session
    have = s.execute(sa.text("SELECT count(*) FROM \"group\" WHERE name LIKE 'bench-org-%'")
                     ).scalar()
    if have == ORGS:
        print("portal already built in %s" % DB)
        return
    rng = random.Random(52)
    t0 = time.perf_counter()
    now = dt.datetime(2025, 1, 1)
    orgs = []
    for i in range(ORGS):
        kind = "district" if i < 50 else "department"
        orgs.append({"id": str(uuid.uuid4()), "name": "bench-org-%03d" % i,
                     "title": ("สำนักงานเขตที่ %d" % i) if kind == "district" else
                     ("สำนักที่ %d" % i), "kind": kind})
    s.execute(model.group_table.insert(), [
        {"id": o["id"], "name": o["name"], "title": o["title"], "description": "",
         "created": now, "state": "active", "type": "organization",
         "approval_status": "approved", "image_url": "", "is_organization": True}
        for o in orgs])
    s.execute(model.group_extra_table.insert(), [
        {"id": str(uuid.uuid4()), "group_id": o["id"], "key": "kpigov_agency_kind",
         "value": o["kind"], "state": "active"} for o in orgs])
    tag_id = str(uuid.uuid4())
    s.execute(model.tag_table.insert().values(id=tag_id, name="bench"))
    people = json.dumps([{"role": "owner", "name": "ผู้อำนวยการ"},
                         {"role": "steward", "name": "เจ้าหน้าที่ข้อมูล"}])
    pkgs, extras, res, tags, ledger = [], [], [], [], []
    created = dt.datetime(2024, 6, 1)
    entries_per_ds = ENTRIES // DATASETS  # 20: Feb 2025 .. Sep 2026
    for n in range(DATASETS):
        org = orgs[n % ORGS]
        pid = str(uuid.uuid4())
        target = n < ORGS  # one target database per organization
        pkgs.append({"id": pid, "name": "bench-ds-%05d" % n, "title": "ชุดข้อมูล %d" % n,
                     "notes": "คำอธิบาย", "license_id": "cc-by", "maintainer": "ฝ่ายข้อมูล",
                     "maintainer_email": "data@example.org", "state": "active",
                     "type": "dataset", "owner_org": org["id"],
                     "private": rng.random() < 0.1, "metadata_created": created,
                     "metadata_modified": created})
        values = {"update_frequency_unit": "เดือน", "update_frequency_interval": "1",
                  "data_category": "ข้อมูลสาธารณะ", "data_classification": "เปิดเผย",
                  "objective": '["พันธกิจหน่วยงาน"]', "data_source": "หน่วยงาน",
                  "kpigov_stakeholders": people if rng.random() < 0.9 else "[]"}
        if target:
            values["kpigov_target_fy"] = str(FY)
        extras += [{"id": str(uuid.uuid4()), "package_id": pid, "key": k, "value": v,
                    "state": "active"} for k, v in values.items()]
        res.append({"id": str(uuid.uuid4()), "package_id": pid, "state": "active",
                    "url": "http://example.org/%d.csv" % n, "format": "CSV", "position": 0,
                    "created": created, "extras": json.dumps({
                        "kpigov_columns": ["a", "b", "c"],
                        "kpigov_dictionary": [{"column": c, "label_th": c} for c in "abc"]})})
        tags.append({"id": str(uuid.uuid4()), "package_id": pid, "tag_id": tag_id,
                     "state": "active"})
        for m in range(entries_per_ds):
            year, month = 2025 + (1 + m) // 12, (1 + m) % 12 + 1
            if rng.random() < 0.08:
                continue  # a missed month now and then
            ledger.append({"id": str(uuid.uuid4()), "package_id": pid, "kind": "upload",
                           "nature": "new_data", "source": "bench", "detail": {},
                           "created": dt.datetime(year, month, rng.randint(1, 27), 3)})
    for table, rows in ((model.package_table, pkgs), (model.package_extra_table, extras),
                        (model.resource_table, res), (model.package_tag_table, tags),
                        (ledger_table, ledger)):
        for chunk in _chunks(rows):
            s.execute(table.insert(), chunk)
    day = dt.datetime(2025, 11, 1)
    for o in orgs:
        for kind in ("team", "plan"):
            s.execute(governance_table.insert().values(
                owner_org=o["id"], fiscal_year=FY, kind=kind, data={},
                document_url="http://example.org/%s.pdf" % kind, document_name=kind,
                status="verified", created=day, modified=day))
        s.execute(stakeholder_table.insert().values(owner_org=o["id"], role="steward",
                                                    name="เจ้าหน้าที่", created=day))
    targets = [p for p in pkgs[:ORGS]]
    for p in targets:
        s.execute(evidence_table.insert().values(
            owner_org=p["owner_org"], package_id=p["id"], evidence_type="usage",
            kind="operations", description="ใช้งาน", date=dt.date(2026, 3, 1),
            fiscal_year=FY, status="verified", created=day))
    s.commit()
    print("built %d organizations, %d datasets, %d ledger entries in %.1f s" % (
        len(orgs), len(pkgs), len(ledger), time.perf_counter() - t0))


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--sample", type=int, default=200,
                        help="datasets the API-script baseline is timed on")
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    _prepare_database(args.rebuild)
    app = _load_app()
    flask_app = app._wsgi_app
    import sqlalchemy as sa
    import ckan.model as model
    import ckan.plugins.toolkit as tk
    from ckanext.kpigov import scoring
    with flask_app.test_request_context():
        _build()
        orgs = model.Session.query(model.Group).filter(
            model.Group.name.like("bench-org-%")).order_by(model.Group.name).all()
        n_ledger = model.Session.execute(sa.text("SELECT count(*) FROM kpigov_ledger")).scalar()
        print("portal: %d organizations, %d datasets, %d ledger entries; FY %d" % (
            len(orgs), model.Session.execute(sa.text(
                "SELECT count(*) FROM package WHERE name LIKE 'bench-ds-%'")).scalar(),
            n_ledger, FY))

        # 1. recompute every organization's score
        t0 = time.perf_counter()
        results = scoring.score_orgs(orgs, FY)
        cold = time.perf_counter() - t0
        times, cached = [], []
        for _ in range(5):
            model.Session.expire_all()
            scoring._score_memo.clear()  # re-run every check and every score
            t0 = time.perf_counter()
            results = scoring.score_orgs(orgs, FY)
            times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            scoring.score_orgs(orgs, FY)
            cached.append(time.perf_counter() - t0)
        recompute = statistics.median(times)
        perf = [r["performance"] for r in results.values()]
        print("\n1. recompute all %d scores (all checks and scores re-run; per-dataset "
              "facts and compliance from the memo): %.3f s median, %.3f s best "
              "(target < 2 s); mean performance %.1f %%" % (
                  len(orgs), recompute, min(times), statistics.mean(perf)))
        print("   nothing changed since the last call: %.3f s median"
              % statistics.median(cached))
        print("   first computation in a fresh process (every dataset's compliance "
              "evaluated, memos empty): %.3f s" % cold)
        t0 = time.perf_counter()
        scoring.snapshot(orgs, FY, 3)
        scoring.snapshot(orgs, FY - 1, 4)
        print("   two quarter snapshots for all organizations: %.3f s"
              % (time.perf_counter() - t0))

        sysadmin = model.User.get("bench-admin")
        if sysadmin is None:
            sysadmin = model.User(name="bench-admin", email="b@example.org", password="x" * 12,
                                  sysadmin=True)
            model.Session.add(sysadmin)
            model.Session.commit()
        token = tk.get_action("api_token_create")(
            {"user": "bench-admin", "ignore_auth": True},
            {"user": "bench-admin", "name": "bench"})["token"]
    from werkzeug.test import Client
    client = Client(app)  # the whole middleware stack, as a server runs it
    headers = {"Authorization": token}
    rng = random.Random(1)

    # 2. the KPI tab
    client.get("/organization/%s/kpi?fy=%d" % (orgs[0].name, FY), headers=headers)
    tab = []
    for _ in range(args.requests):
        org = rng.choice(orgs)
        t0 = time.perf_counter()
        resp = client.get("/organization/%s/kpi?fy=%d" % (org.name, FY), headers=headers)
        tab.append(time.perf_counter() - t0)
        assert resp.status_code == 200, resp.status_code
        resp.close()
    base = []
    for _ in range(args.requests):
        org = rng.choice(orgs)
        t0 = time.perf_counter()
        resp = client.get("/organization/about/%s" % org.name, headers=headers)
        base.append(time.perf_counter() - t0)
        resp.close()
    print("\n2. KPI tab (%d requests, ~%d datasets per organization): p50 %.0f ms, "
          "p95 %.0f ms (target < 150 ms)" % (len(tab), DATASETS // ORGS,
                                             _pct(tab, 50) * 1000, _pct(tab, 95) * 1000))
    print("   for scale, CKAN's own organization About page on this machine: p50 %.0f ms, "
          "p95 %.0f ms" % (_pct(base, 50) * 1000, _pct(base, 95) * 1000))

    # 2b. the Compliance tab (heat map of every dataset x month): first
    # visits (nothing memoized for the organization in this process), then
    # visits again with the ledger unchanged
    def compliance_tab(org_names):
        out = []
        for name in org_names:
            t0 = time.perf_counter()
            resp = client.get("/organization/%s/compliance?fy=%d" % (name, FY),
                              headers=headers)
            out.append(time.perf_counter() - t0)
            assert resp.status_code == 200, resp.status_code
            resp.close()
        return out
    visited = [o.name for o in rng.sample(orgs, min(args.requests, len(orgs)))]
    first = compliance_tab(visited)
    again = compliance_tab([rng.choice(visited) for _ in range(args.requests)])
    print("\n2b. Compliance tab (target p95 < 150 ms): first visit p50 %.0f ms, p95 %.0f ms "
          "(%d organizations); again p50 %.0f ms, p95 %.0f ms (%d requests)"
          % (_pct(first, 50) * 1000, _pct(first, 95) * 1000, len(first),
             _pct(again, 50) * 1000, _pct(again, 95) * 1000, len(again)))

    # 3. the overview
    over = []
    for _ in range(7):
        t0 = time.perf_counter()
        resp = client.get("/kpigov/overview?fy=%d" % FY, headers=headers)
        over.append(time.perf_counter() - t0)
        assert resp.status_code == 200
        resp.close()
    print("\n3. overview of %d organizations: median %.0f ms, best %.0f ms (target < 500 ms)"
          % (len(orgs), statistics.median(over) * 1000, min(over) * 1000))

    # 4. the evaluator's script today: per-dataset API calls
    with flask_app.test_request_context():
        ctx = {"user": "bench-admin"}
        actions = tk.get_action
        names = [r[0] for r in model.Session.execute(sa.text(
            "SELECT name FROM package WHERE name LIKE 'bench-ds-%' ORDER BY random() LIMIT :n"),
            {"n": args.sample})]
        try:
            activity = actions("package_activity_list")
        except KeyError:
            activity = None
        t0 = time.perf_counter()
        for org in orgs[:5]:
            actions("organization_show")(dict(ctx), {"id": org.name, "include_datasets": False})
        per_org = (time.perf_counter() - t0) / 5
        t0 = time.perf_counter()
        for name in names:
            pkg = actions("package_show")(dict(ctx), {"id": name})
            actions("kpigov_ledger_list")(dict(ctx), {"id": pkg["id"], "limit": 1000})
            if activity is not None:
                activity(dict(ctx), {"id": pkg["id"], "limit": 100})
        per_ds = (time.perf_counter() - t0) / len(names)
    script = per_org * len(orgs) + per_ds * DATASETS
    print("\n4. the same via the action API: %.1f ms per dataset (package_show + ledger "
          "list%s), %.1f ms per organization" % (
              per_ds * 1000, " + activity list" if activity else "; activity plugin off",
              per_org * 1000))
    print("   extrapolated to %d datasets and %d organizations: %.1f s" % (
        DATASETS, len(orgs), script))
    print("   ratio: %.0fx faster in bulk (target >= 50x); %.0fx against the first "
          "computation in a fresh process" % (script / recompute, script / cold))


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    main()
