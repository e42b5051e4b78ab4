"""Demo governance records: working groups, plans, registers and evidence.

``seed_governance(org_ids, seed)`` is called by the demo loader after the
agencies and their datasets exist. It goes through the actions (as the site
user), so the demo data passes the same validation as real input. Most
agencies get a complete record for the current fiscal year; a few keep
gaps (no plan, no evidence, nothing at all) so the KPI pages have something
to flag. Idempotent: records are upserted, and the register and evidence
are only added where the agency has none yet.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Any, Iterable

import ckan.model as model
import ckan.plugins.toolkit as tk

from . import fiscal
from .demo_data.names import FIRST_NAMES, LAST_NAMES

__all__ = ["seed_governance"]

POSITIONS = [
    ("ผู้อำนวยการ", "chair"), ("รองผู้อำนวยการ", "vice_chair"),
    ("หัวหน้าฝ่ายบริหารงานทั่วไป", "member"), ("นักวิชาการคอมพิวเตอร์ชำนาญการ", "member"),
    ("นักวิเคราะห์นโยบายและแผนชำนาญการ", "member"), ("นักจัดการงานทั่วไปปฏิบัติการ", "member"),
    ("นักวิชาการสถิติปฏิบัติการ", "secretary"), ("เจ้าพนักงานธุรการ", "assistant_secretary"),
]
USAGE = [
    ("planning", "ใช้ประกอบการจัดทำแผนปฏิบัติราชการประจำปี"),
    ("operations", "ใช้วางแผนการลงพื้นที่ของเจ้าหน้าที่รายสัปดาห์"),
    ("decision", "นำเสนอผู้บริหารเพื่อพิจารณาจัดสรรงบประมาณ"),
    ("report", "ใช้จัดทำรายงานผลการดำเนินงานรายไตรมาส"),
    ("public_service", "ใช้ตอบคำถามประชาชนผ่านสายด่วน 1555"),
]
SHARING = [
    ("exchange_bma", "ส่งข้อมูลรายเดือนให้หน่วยงานใน กทม.", "สำนักยุทธศาสตร์และประเมินผล"),
    ("exchange_external", "แลกเปลี่ยนข้อมูลตามบันทึกข้อตกลง", "สำนักงานสถิติแห่งชาติ"),
    ("publication", "เผยแพร่บนเว็บไซต์เปิดเผยข้อมูลกรุงเทพมหานคร", None),
    ("api", "ให้บริการข้อมูลผ่าน API ของพอร์ทัล", None),
]
STAKEHOLDER_ROLES = ["owner", "steward", "custodian", "producer"]


def _person(rng: random.Random) -> tuple[str, str]:
    first, roman, title = rng.choice(FIRST_NAMES)
    last, roman_last = rng.choice(LAST_NAMES)
    return "%s%s %s" % (title, first, last), "%s.%s" % (roman, roman_last[:2])


def _day_in(fy: int, rng: random.Random, first_month: int = 0, last_month: int = 11) -> dt.date:
    """A day in the fiscal year's months [first_month, last_month], not future."""
    start, _end = fiscal.fiscal_year_bounds(fy)
    today = fiscal.bangkok_today()
    y, m = fiscal.fiscal_months(fy)[rng.randint(first_month, last_month)]
    day = dt.date(y, m, rng.randint(1, 28))
    return min(day, today) if day >= start else start


def _gap(org_name: str, seed: int) -> str:
    """What the agency lacks: '' (nothing), 'plan', 'evidence' or 'all'."""
    r = random.Random("%s:gov-gap:%s" % (seed, org_name)).random()
    if r < 0.08:
        return "all"
    if r < 0.15:
        return "plan"
    if r < 0.25:
        return "evidence"
    return ""


def seed_governance(org_ids: Iterable[str], seed: int = 0,
                    fiscal_year: int | None = None) -> dict[str, int]:
    """Create demo governance data for the given organizations.

    Returns counts of what was written (records, stakeholders, evidence).
    """
    fy = fiscal_year or fiscal.current_fiscal_year()
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]

    def call(action: str, **data: Any) -> Any:
        return tk.get_action(action)({"user": site_user, "ignore_auth": True}, data)

    counts = {"records": 0, "stakeholders": 0, "evidence": 0}
    for org_id in org_ids:
        org = model.Group.get(org_id)
        if org is None:
            continue
        rng = random.Random("%s:gov:%s" % (seed, org.name))
        gap = _gap(org.name, seed)
        if gap == "all":
            continue
        pkgs = [p for p in model.Session.query(model.Package).filter(
            model.Package.owner_org == org.id, model.Package.state == "active",
            model.Package.type == "dataset").order_by(model.Package.name)]
        # the working group, appointed in the first quarter
        order_day = _day_in(fy, rng, 0, 2)
        members = []
        for position, role in POSITIONS[:rng.randint(5, len(POSITIONS))]:
            name, login = _person(rng)
            members.append({"name": name, "position": "%s %s" % (position, org.title or ""),
                            "role": role, "email": "%s@bangkok.example" % login,
                            "phone": "02 %03d %04d" % (rng.randint(200, 999),
                                                       rng.randint(0, 9999))})
        call("kpigov_governance_update", owner_org=org.id, fiscal_year=fy, kind="team",
             members=members, order_number="%d/%d" % (rng.randint(10, 450), fy),
             order_date="%d-%02d-%02d" % (  # entered in B.E., as agencies do
                 fiscal.to_be(order_day.year), order_day.month, order_day.day),
             document_url="https://demo.bangkok.example/orders/%s-%d.pdf" % (org.name, fy),
             document_name="คำสั่งแต่งตั้งคณะทำงานธรรมาภิบาลข้อมูล")
        counts["records"] += 1
        if gap != "plan":
            targets = [p.name for p in pkgs[:rng.randint(1, 2)]] if pkgs else []
            call("kpigov_governance_update", owner_org=org.id, fiscal_year=fy,
                 kind="plan", target_datasets=targets,
                 summary=("แผนพัฒนาฐานข้อมูลของ%s ปีงบประมาณ พ.ศ. %d: ปรับปรุงข้อมูลให้"
                          "เป็นปัจจุบันอย่างน้อยเดือนละครั้ง จัดทำพจนานุกรมข้อมูลให้ครบทุก"
                          "ชุดข้อมูล และเชื่อมโยงข้อมูลกับหน่วยงานที่เกี่ยวข้อง")
                 % (org.title or org.name, fy),
                 approval_date=_day_in(fy, rng, 0, 2).isoformat(),
                 document_url="https://demo.bangkok.example/plans/%s-%d.pdf" % (org.name, fy),
                 document_name="แผนพัฒนาฐานข้อมูล")
            counts["records"] += 1
        if not call("kpigov_stakeholder_list", owner_org=org.id):
            for role in STAKEHOLDER_ROLES:
                name, login = _person(rng)
                call("kpigov_stakeholder_create", owner_org=org.id, role=role, name=name,
                     position=rng.choice(POSITIONS)[0], agency=org.title or org.name,
                     email="%s@bangkok.example" % login,
                     phone="02 %03d %04d" % (rng.randint(200, 999), rng.randint(0, 9999)))
                counts["stakeholders"] += 1
        if gap == "evidence" or not pkgs:
            continue
        if call("kpigov_evidence_list", owner_org=org.id, fiscal_year=fy):
            continue
        elapsed = max(0, fiscal.elapsed_months(fy) - 1)
        for pkg in pkgs[:3]:
            kind, text = rng.choice(USAGE)
            call("kpigov_evidence_create", package_id=pkg.id, evidence_type="usage",
                 kind=kind, description=text, date=_day_in(fy, rng, 0, elapsed).isoformat(),
                 url="https://demo.bangkok.example/evidence/%s-%s.pdf" % (pkg.name, kind))
            counts["evidence"] += 1
            if rng.random() < 0.6:
                kind, text, partner = rng.choice(SHARING)
                call("kpigov_evidence_create", package_id=pkg.id, evidence_type="sharing",
                     kind=kind, description=text, partner=partner,
                     date=_day_in(fy, rng, 0, elapsed).isoformat(),
                     url="https://data.bangkok.example/dataset/%s" % pkg.name)
                counts["evidence"] += 1
    return counts
