"""Benchmark kpigov_pgsearch: 10,000 datasets, 127 organizations, Thai and English.

Run:  .venv/bin/python bench/bench_search.py --ckan-ini test.ini
      (options: --datasets N --orgs N --runs N --rebuild-data --db NAME)

Uses its own database (ckan_bench by default, created like dev/lib.sh's
ensure_database does) so it never disturbs the test database. The datasets
are generated deterministically (seeded) and written in bulk through the
model's tables; the search documents are then produced by the real
``PgPackageSearchIndex`` through CKAN's ``search.rebuild()`` (what
``ckan search-index rebuild`` runs), which is timed. Queries go through
``package_search`` as an anonymous user (permission labels applied).

Prints a table and writes bench/out/search.json. Not a test.
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
TARGET_P95_MS = 50.0
TARGET_REINDEX_S = 60.0

# -- deterministic vocabulary ---------------------------------------------------
DISTRICTS = [
    ("พระนคร", "Phra Nakhon"), ("ดุสิต", "Dusit"), ("หนองจอก", "Nong Chok"),
    ("บางรัก", "Bang Rak"), ("บางเขน", "Bang Khen"), ("บางกะปิ", "Bang Kapi"),
    ("ปทุมวัน", "Pathum Wan"), ("ป้อมปราบศัตรูพ่าย", "Pom Prap Sattru Phai"),
    ("พระโขนง", "Phra Khanong"), ("มีนบุรี", "Min Buri"),
    ("ลาดกระบัง", "Lat Krabang"), ("ยานนาวา", "Yan Nawa"),
    ("สัมพันธวงศ์", "Samphanthawong"), ("พญาไท", "Phaya Thai"),
    ("ธนบุรี", "Thon Buri"), ("บางกอกใหญ่", "Bangkok Yai"),
    ("ห้วยขวาง", "Huai Khwang"), ("คลองสาน", "Khlong San"),
    ("ตลิ่งชัน", "Taling Chan"), ("บางกอกน้อย", "Bangkok Noi"),
    ("บางขุนเทียน", "Bang Khun Thian"), ("ภาษีเจริญ", "Phasi Charoen"),
    ("หนองแขม", "Nong Khaem"), ("ราษฎร์บูรณะ", "Rat Burana"),
    ("บางพลัด", "Bang Phlat"), ("ดินแดง", "Din Daeng"), ("บึงกุ่ม", "Bueng Kum"),
    ("สาทร", "Sathon"), ("บางซื่อ", "Bang Sue"), ("จตุจักร", "Chatuchak"),
    ("บางคอแหลม", "Bang Kho Laem"), ("ประเวศ", "Prawet"), ("คลองเตย", "Khlong Toei"),
    ("สวนหลวง", "Suan Luang"), ("จอมทอง", "Chom Thong"), ("ดอนเมือง", "Don Mueang"),
    ("ราชเทวี", "Ratchathewi"), ("ลาดพร้าว", "Lat Phrao"), ("วัฒนา", "Watthana"),
    ("บางแค", "Bang Khae"), ("หลักสี่", "Lak Si"), ("สายไหม", "Sai Mai"),
    ("คันนายาว", "Khan Na Yao"), ("สะพานสูง", "Saphan Sung"),
    ("วังทองหลาง", "Wang Thonglang"), ("คลองสามวา", "Khlong Sam Wa"),
    ("บางนา", "Bang Na"), ("ทวีวัฒนา", "Thawi Watthana"), ("ทุ่งครุ", "Thung Khru"),
    ("บางบอน", "Bang Bon"),
]
# (Thai topic, English topic, Thai tags, English tags)
TOPICS = [
    ("ผู้สูงอายุ", "elderly people", ["ผู้สูงอายุ", "สวัสดิการ"], ["elderly", "welfare"]),
    ("น้ำท่วม", "flooding", ["น้ำท่วม", "ระบายน้ำ"], ["flood", "drainage"]),
    ("ขยะมูลฝอย", "solid waste", ["ขยะ", "สิ่งแวดล้อม"], ["waste", "environment"]),
    ("คุณภาพอากาศ", "air quality", ["ฝุ่น", "PM2.5"], ["air-quality", "pm25"]),
    ("โรงเรียนสังกัดกรุงเทพมหานคร", "BMA schools", ["การศึกษา", "โรงเรียน"], ["education", "school"]),
    ("ศูนย์บริการสาธารณสุข", "public health centres", ["สาธารณสุข", "สุขภาพ"], ["health"]),
    ("การจราจร", "traffic", ["จราจร", "ถนน"], ["traffic", "roads"]),
    ("สวนสาธารณะ", "public parks", ["สวน", "พื้นที่สีเขียว"], ["parks", "green-space"]),
    ("งบประมาณรายจ่าย", "expenditure budget", ["งบประมาณ", "การเงิน"], ["budget", "finance"]),
    ("ประชากร", "population", ["ประชากร", "ทะเบียนราษฎร"], ["population", "census"]),
    ("ผู้พิการ", "people with disabilities", ["ผู้พิการ", "สวัสดิการ"], ["disability", "welfare"]),
    ("กล้องวงจรปิด", "CCTV cameras", ["กล้องวงจรปิด", "ความปลอดภัย"], ["cctv", "safety"]),
    ("ไฟฟ้าส่องสว่าง", "street lighting", ["ไฟฟ้า", "ถนน"], ["lighting", "roads"]),
    ("ตลาด", "markets", ["ตลาด", "เศรษฐกิจ"], ["markets", "economy"]),
    ("คลอง", "canals", ["คลอง", "ระบายน้ำ"], ["canals", "drainage"]),
    ("อัคคีภัย", "fire incidents", ["ดับเพลิง", "ความปลอดภัย"], ["fire", "safety"]),
    ("หาบเร่แผงลอย", "street vendors", ["หาบเร่", "ทางเท้า"], ["vendors", "sidewalks"]),
    ("ผู้ป่วยโรคไข้เลือดออก", "dengue fever cases", ["ไข้เลือดออก", "สาธารณสุข"], ["dengue", "health"]),
]
KINDS = [("ข้อมูล", "Data on"), ("สถิติ", "Statistics of"), ("จำนวน", "Number of"),
         ("ทะเบียน", "Register of"), ("รายงาน", "Report on"), ("แผนที่", "Map of")]
FORMATS = ["CSV", "XLSX", "JSON", "PDF", "SHP", "API", "GeoJSON", "XML"]
LICENSES = ["cc-by", "cc-by-sa", "cc-zero", "odc-by", "odc-odbl", "other-open",
            "notspecified"]
AGENCIES = ["สำนักงานเขต", "สำนัก", "กอง", "ศูนย์"]
AGENCY_EN = ["District Office", "Department", "Division", "Centre"]


def ensure_database(db: str) -> None:
    """Create the database as dev/lib.sh does (role, UTF-8 C collation, pg_trgm)."""
    script = ('source "%s/dev/lib.sh"; start_postgres >/dev/null; '
              'ensure_database "%s"' % (ROOT, db))
    subprocess.run(["bash", "-c", script], check=True)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100.0
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def upgrade(plugin: str, package) -> None:  # type: ignore[no-untyped-def]
    import ckan.model as model
    ini = os.path.join(os.path.dirname(package.__file__), "migration", plugin,
                       "alembic.ini")
    original = model.repo._alembic_ini
    model.repo._alembic_ini = ini
    try:
        model.repo.upgrade_db("head")
    finally:
        model.repo._alembic_ini = original


def migrate() -> None:
    import ckan.model as model
    import ckanext.activity
    import ckanext.kpigov
    # CKAN's alembic env re-binds the model to a NullPool engine of its own
    # (a new connection per session): put the application's engine back.
    engine = model.meta.engine
    model.repo.upgrade_db("head")
    upgrade("activity", ckanext.activity)
    upgrade("kpigov_pgsearch", ckanext.kpigov)
    upgrade("kpigov", ckanext.kpigov)
    model.init_model(engine)


def generate(n_datasets: int, n_orgs: int, seed: int = 20261125) -> dict:
    """Organizations through the action API, datasets in bulk via the tables."""
    import ckan.model as model
    import ckan.plugins.toolkit as tk

    rng = random.Random(seed)
    uid = lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))  # noqa: E731

    admin = model.User.get("bench-admin")
    if admin is None:
        admin = model.User(name="bench-admin", email="bench@example.org",
                           password="bench-password-not-used", sysadmin=True)
        model.Session.add(admin)
        model.Session.commit()
    ctx = {"user": admin.name, "ignore_auth": True}

    t0 = time.perf_counter()
    orgs = []
    for i in range(n_orgs):
        th, en = DISTRICTS[i % len(DISTRICTS)]
        kind = i // len(DISTRICTS)
        org = tk.get_action("organization_create")(dict(ctx), {
            "name": "bench-org-%03d" % i,
            "title": "%s%s" % (AGENCIES[kind % 4], th),
            "description": "%s %s, Bangkok Metropolitan Administration"
                           % (en, AGENCY_EN[kind % 4]),
        })
        orgs.append(org)
    t_orgs = time.perf_counter() - t0

    t0 = time.perf_counter()
    tag_ids: dict[str, str] = {}
    packages, resources, ptags, extras = [], [], [], []
    base = dt.datetime(2023, 1, 1, 8, 0, 0)
    for i in range(n_datasets):
        th_topic, en_topic, th_tags, en_tags = rng.choice(TOPICS)
        th_kind, en_kind = rng.choice(KINDS)
        d_th, d_en = rng.choice(DISTRICTS)
        year = rng.randint(2563, 2568)
        org = orgs[rng.randrange(n_orgs)]
        style = rng.random()
        if style < 0.5:  # Thai only
            title = "%s%s เขต%s ปี %d" % (th_kind, th_topic, d_th, year)
        elif style < 0.8:  # bilingual
            title = "%s%s เขต%s / %s %s in %s" % (
                th_kind, th_topic, d_th, en_kind, en_topic, d_en)
        else:  # English only
            title = "%s %s in %s district, %d" % (en_kind, en_topic, d_en,
                                                  year - 543)
        notes = ("%sของ%s ครอบคลุมพื้นที่เขต%s ปรับปรุงข้อมูลเป็นรายเดือน "
                 "This dataset covers %s in %s district, Bangkok. "
                 "Source: %s." % (th_kind, th_topic, d_th, en_topic, d_en,
                                  org["title"]))
        created = base + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 900))
        modified = created + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 120))
        pid = uid()
        packages.append({
            "id": pid, "name": "bench-ds-%05d" % i, "title": title,
            "notes": notes, "state": "active", "type": "dataset",
            "owner_org": org["id"], "private": rng.random() < 0.08,
            "license_id": rng.choice(LICENSES),
            "author": "ฝ่ายเทคโนโลยีสารสนเทศ", "maintainer": en_topic,
            "metadata_created": created, "metadata_modified": modified,
            "creator_user_id": admin.id, "version": "1.0",
        })
        tags = set(rng.sample(th_tags + en_tags, k=min(3, len(th_tags + en_tags))))
        tags.add("ปี%d" % year)
        if rng.random() < 0.3:
            tags.add("เขต%s" % d_th)
        for tag in sorted(tags):
            if tag not in tag_ids:
                tag_ids[tag] = uid()
            ptags.append({"id": uid(), "package_id": pid, "tag_id": tag_ids[tag],
                          "state": "active"})
        for r in range(rng.randint(1, 4)):
            fmt = rng.choice(FORMATS)
            resources.append({
                "id": uid(), "package_id": pid, "position": r, "state": "active",
                "url": "https://data.bangkok.go.th/files/%s/%d.%s"
                       % (pid, r, fmt.lower()),
                "format": fmt, "url_type": None,
                "name": rng.choice(["ตาราง%s" % th_topic, "%s table" % en_topic,
                                    "แผนที่เขต%s" % d_th, "Data dictionary"]),
                "description": "ไฟล์%s %s" % (fmt, th_topic),
                "created": created, "metadata_modified": modified,
                "extras": json.dumps({}),
            })
        extras.append({"id": uid(), "package_id": pid, "key": "update_frequency",
                       "value": rng.choice(["รายเดือน", "รายไตรมาส", "รายปี"]),
                       "state": "active"})
    model.Session.execute(model.tag_table.insert(), [
        {"id": v, "name": k, "vocabulary_id": None} for k, v in tag_ids.items()])
    for table, rows in ((model.package_table, packages),
                        (model.package_tag_table, ptags),
                        (model.resource_table, resources),
                        (model.package_extra_table, extras)):
        for start in range(0, len(rows), 5000):
            model.Session.execute(table.insert(), rows[start:start + 5000])
    model.Session.commit()
    t_datasets = time.perf_counter() - t0
    return {"orgs_s": round(t_orgs, 2), "datasets_s": round(t_datasets, 2),
            "resources": len(resources), "tags": len(tag_ids),
            "private": sum(p["private"] for p in packages)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ckan-ini", default=os.path.join(ROOT, "test.ini"))
    ap.add_argument("--db", default="ckan_bench")
    ap.add_argument("--datasets", type=int, default=10_000)
    ap.add_argument("--orgs", type=int, default=127)
    ap.add_argument("--runs", type=int, default=40, help="timed runs per query")
    ap.add_argument("--rebuild-data", action="store_true",
                    help="drop and regenerate the data even if present")
    ap.add_argument("--skip-reindex", action="store_true",
                    help="reuse the index of a previous run (no reindex figure)")
    ap.add_argument("--parallel-only", action="store_true",
                    help="time only the parallel reindex (not search.rebuild too)")
    ap.add_argument("--workers", type=int, default=None,
                    help="processes of the parallel reindex (default: CPUs)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "search.json"))
    args = ap.parse_args()

    ensure_database(args.db)
    os.environ["CKAN_SQLALCHEMY_URL"] = (
        "postgresql://ckan_default:pass@127.0.0.1:%s/%s"
        % (os.environ.get("PG_PORT", "5432"), args.db))
    os.environ["CKAN_REDIS_URL"] = "redis://127.0.0.1:%s/4" % os.environ.get(
        "REDIS_PORT", "6379")
    os.environ["CKAN_INI"] = os.path.abspath(args.ckan_ini)

    from ckan.cli import load_config
    from ckan.config.middleware import make_app
    conf = load_config(args.ckan_ini)
    app = make_app(conf)
    flask_app = app.apps["flask_app"]._wsgi_app if hasattr(app, "apps") else app._wsgi_app
    with flask_app.test_request_context():
        run(args)


def run(args: argparse.Namespace) -> None:
    import sqlalchemy as sa

    import ckan.model as model
    import ckan.plugins.toolkit as tk
    from ckan.lib import search

    if args.rebuild_data:
        model.repo.clean_db()
    migrate()
    have = model.Session.execute(sa.text(
        "SELECT count(*) FROM package WHERE name LIKE 'bench-ds-%'")).scalar()
    gen: dict = {"reused": True}
    if have != args.datasets:
        if have:
            model.repo.clean_db()
            migrate()
        print("generating %d datasets over %d organizations ..."
              % (args.datasets, args.orgs), flush=True)
        gen = generate(args.datasets, args.orgs)

    # Fresh bulk-loaded tables have no planner statistics yet (autovacuum
    # gets to them later): without them every package_show of the reindex
    # plans sequential scans. A live portal's tables are analyzed.
    model.Session.commit()
    with model.meta.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE"))

    figures: dict = {"datasets": args.datasets, "organizations": args.orgs,
                     "generation": gen, "queries": {}}
    if not args.skip_reindex and not args.parallel_only:
        search.clear_all()
        print("full reindex (search.rebuild, as `ckan search-index rebuild`) ...", flush=True)
        t0 = time.perf_counter()
        search.rebuild(quiet=True, defer_commit=True)  # as the CLI does
        figures["reindex_s"] = round(time.perf_counter() - t0, 2)
        model.Session.commit()
        with model.meta.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE kpigov_search_doc"))
    if not args.skip_reindex:
        from ckanext.kpigov.search.rebuild import rebuild_parallel
        workers = args.workers or os.cpu_count() or 1
        search.clear_all()
        print("full reindex (ckan kpigov search-rebuild, %d workers) ..." % workers,
              flush=True)
        t0 = time.perf_counter()
        stats = rebuild_parallel(workers)
        figures["reindex_parallel_s"] = round(time.perf_counter() - t0, 2)
        figures["reindex_parallel_workers"] = workers
        assert stats["indexed"] == stats["datasets"] and not stats["failed"]
    indexed = model.Session.execute(sa.text(
        "SELECT count(*) FROM kpigov_search_doc")).scalar()
    figures["indexed"] = indexed

    org_id = model.Session.execute(sa.text(
        "SELECT id FROM \"group\" WHERE name = 'bench-org-007'")).scalar()
    facets = json.dumps(["organization", "tags", "res_format", "license_id"])
    queries = [
        ("thai: ผู้สูงอายุ", {"q": "ผู้สูงอายุ"}),
        ("thai: น้ำท่วม", {"q": "น้ำท่วม"}),
        ("thai: ขยะ + facets", {"q": "ขยะ", "facet.field": facets}),
        ("english: flood", {"q": "flood"}),
        ("english: air quality", {"q": "air quality"}),
        ("*:* + 4 facets", {"q": "*:*", "facet.field": facets}),
        ("fq owner_org + sort", {"fq": "owner_org:%s" % org_id,
                                 "sort": "metadata_modified desc"}),
        ("fq tags + res_format", {"fq": 'tags:"ผู้สูงอายุ" res_format:CSV'}),
    ]
    action = tk.get_action("package_search")

    def timed(params: dict, cache_size: int) -> tuple[list[float], dict]:
        tk.config["ckanext.kpigov.search.cache_size"] = cache_size
        timings = []
        result = None
        for i in range(args.runs + 3):
            context = {"user": "", "ignore_auth": False}
            t0 = time.perf_counter()
            result = action(context, dict(params, rows=20))
            elapsed = (time.perf_counter() - t0) * 1000
            model.Session.remove()
            if i >= 3:  # warm-up runs are not counted
                timings.append(elapsed)
        assert result is not None
        return timings, result

    default_cache = tk.config.get("ckanext.kpigov.search.cache_size")
    for label, params in queries:
        # every query run computed (cache off), then as a portal serves a
        # repeated search (the result cache on, index unchanged)
        cold, result = timed(params, 0)
        warm, warm_result = timed(params, default_cache or 512)
        assert warm_result["count"] == result["count"]
        figures["queries"][label] = {
            "p50_ms": round(statistics.median(cold), 1),
            "p95_ms": round(percentile(cold, 95), 1),
            "cached_p50_ms": round(statistics.median(warm), 1),
            "cached_p95_ms": round(percentile(warm, 95), 1),
            "count": result["count"],
        }
    tk.config["ckanext.kpigov.search.cache_size"] = default_cache

    print()
    print("kpigov_pgsearch: %d datasets, %d organizations, %d indexed"
          % (args.datasets, args.orgs, indexed))
    if "reindex_s" in figures:
        ok = "ok" if figures["reindex_s"] < TARGET_REINDEX_S else "MISSED"
        print("full reindex: %.1f s  (target < %d s: %s)"
              % (figures["reindex_s"], TARGET_REINDEX_S, ok))
    if "reindex_parallel_s" in figures:
        ok = "ok" if figures["reindex_parallel_s"] < TARGET_REINDEX_S else "MISSED"
        print("full reindex, %d workers (ckan kpigov search-rebuild): %.1f s  "
              "(target < %d s: %s)" % (figures["reindex_parallel_workers"],
                                       figures["reindex_parallel_s"],
                                       TARGET_REINDEX_S, ok))
    print("%-26s %8s %8s %7s  %-11s %s" % (
        "query (anonymous)", "p50 ms", "p95 ms", "hits", "p95 < 50 ms",
        "cached p50 / p95 ms"))
    for label, f in figures["queries"].items():
        print("%-26s %8.1f %8.1f %7d  %-11s %.1f / %.1f" % (
            label, f["p50_ms"], f["p95_ms"], f["count"],
            "ok" if f["p95_ms"] < TARGET_P95_MS else "MISSED",
            f["cached_p50_ms"], f["cached_p95_ms"]))
    figures["loadavg_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
    print("machine load average (1/5/15 min): %s, %d CPUs"
          % (figures["loadavg_1_5_15"], os.cpu_count() or 0))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(figures, fh, ensure_ascii=False, indent=2)
    print("\nwritten to %s" % os.path.relpath(args.out, ROOT))


if __name__ == "__main__":
    sys.exit(main())
