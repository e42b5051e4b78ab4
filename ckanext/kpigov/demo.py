"""Demo portal for `ckan kpigov seed-demo`: Bangkok agencies, datasets, users
and 14+ months of update history in the kpigov ledger.

Everything is generated from ``random.Random`` seeded with the ``seed``
argument (one generator per object, keyed by its name), so the same seed and
the same ``today`` give the same portal. Existing organizations, users,
datasets and ledger history are left alone, so the loader can run again.

All demo accounts share one password, ``DEMO_PASSWORD``: demo use only.
"""
from __future__ import annotations

import csv
import datetime
import io
import logging
import random
import time
from typing import Any

import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from ckan import model
from ckan.lib import search
from werkzeug.datastructures import FileStorage

from .demo_data import names
from .demo_data.agencies import AGENCIES
from .demo_data.datasets import DATA_TYPES, TEMPLATES

__all__ = ["DEMO_PASSWORD", "DEMO_USERS_EXTRA", "load", "plan"]

log = logging.getLogger(__name__)

DEMO_PASSWORD = "Demo-kpigov-2567"
EMAIL_DOMAIN = "bangkok.example"
# Users besides each agency's <prefix>_editor and <prefix>_admin.
DEMO_USERS_EXTRA = ("citizen", "evaluator")
HISTORY_MONTHS = 15          # months before today's month with history
NEVER = "ไม่มีการปรับปรุงหลังจากการจัดเก็บข้อมูล"
BKK = datetime.timezone(datetime.timedelta(hours=7))

# Datasets holding personal data (kpigov_personal_data), by slug prefix.
PERSONAL = ("anamai-communicable-disease-register", "pathumwan-complaints",
            "bangrak-complaints", "chatuchak-tax-arrears")
STEWARD_MISSING = {"diligent": 0.05, "good": 0.15, "mixed": 0.3, "lagging": 0.45}


# ---------------------------------------------------------------- calendar

def _bangkok_today() -> datetime.date:
    return datetime.datetime.now(BKK).date()


def _add_months(d: datetime.date, n: int) -> datetime.date:
    """First day of the month ``n`` months after ``d``'s month."""
    k = d.year * 12 + d.month - 1 + n
    return datetime.date(k // 12, k % 12 + 1, 1)


def _fiscal_year(d: datetime.date) -> int:
    """Thai fiscal year (B.E.) of a date: October starts the next year."""
    return d.year + 543 + (1 if d.month >= 10 else 0)


def default_target_fy(today: datetime.date) -> int:
    """The fiscal year whose target databases the demo names.

    In the first quarter (Oct-Dec) agencies are evaluated on the year just
    ended, so that year is used; otherwise the running fiscal year.
    """
    fy = _fiscal_year(today)
    return fy - 1 if today.month >= 10 else fy


def _utc(day: datetime.date, rng: random.Random) -> datetime.datetime:
    """A naive UTC moment during Bangkok office hours (08:30-16:30)."""
    minutes = rng.randint(90, 570)            # 01:30-09:30 UTC
    return datetime.datetime(day.year, day.month, day.day) + \
        datetime.timedelta(minutes=minutes)


# ---------------------------------------------------------------- plan

def plan(n_datasets: int) -> list[tuple[dict[str, Any], dict[str, Any], int]]:
    """The datasets to create, in order: (agency, template, variant).

    Agencies take turns, so every agency's first (monthly) dataset comes
    first and "ข้อมูลผู้สูงอายุในชุมชนเขตปทุมวัน" is the second dataset.
    Past the 64 templates, variants (series 2, 3, ...) are added.
    """
    out: list[tuple[dict[str, Any], dict[str, Any], int]] = []
    i = 0
    while len(out) < n_datasets:
        agency = AGENCIES[i % len(AGENCIES)]
        templates = TEMPLATES[agency["key"]]
        k = i // len(AGENCIES)
        out.append((agency, templates[k % len(templates)], k // len(templates)))
        i += 1
    return out


def _slug(template: dict[str, Any], variant: int) -> str:
    return template["slug"] + (f"-{variant + 1}" if variant else "")


def _title(template: dict[str, Any], variant: int) -> str:
    return template["title"] + (f" ชุดที่ {variant + 1}" if variant else "")


# ---------------------------------------------------------------- people

def _phone(rng: random.Random) -> str:
    return f"02 {rng.randint(200, 999):03d} {rng.randint(0, 9999):04d}"


class _People:
    """Deterministic made-up staff: one head and a few stewards per agency."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._used: set[str] = set()
        self._cache: dict[tuple[str, str, int], dict[str, str]] = {}

    def person(self, agency: dict[str, Any], role: str, k: int = 0) -> dict[str, str]:
        key = (agency["key"], role, k)
        if key in self._cache:
            return self._cache[key]
        rng = random.Random(f"{self.seed}:person:{key[0]}:{key[1]}:{key[2]}")
        while True:
            first, first_en, title = rng.choice(names.FIRST_NAMES)
            last, last_en = rng.choice(names.LAST_NAMES)
            email = f"{first_en}.{last_en[:2]}@{EMAIL_DOMAIN}"
            if email not in self._used:
                break
        self._used.add(email)
        p = {"name": f"{title}{first} {last}", "email": email,
             "phone": _phone(rng)}
        self._cache[key] = p
        return p


def _stakeholders(agency: dict[str, Any], people: _People,
                  rng: random.Random) -> list[dict[str, str]]:
    def entry(role: str, k: int = 0, org: str | None = None) -> dict[str, str]:
        p = people.person(agency, role, k)
        return {"role": role, "name": p["name"], "agency": org or agency["title"],
                "email": p["email"], "phone": p["phone"]}

    out = [entry("owner")]
    if rng.random() >= STEWARD_MISSING[agency["profile"]]:
        out.append(entry("steward", rng.randint(0, 2)))
    if rng.random() < 0.5:
        out.append(entry("custodian"))
    if rng.random() < 0.4:
        out.append(entry("producer", rng.randint(0, 3)))
    if rng.random() < 0.25:
        out.append(entry("user", rng.randint(0, 1),
                         org="สำนักยุทธศาสตร์และประเมินผล"))
    return out


# ---------------------------------------------------------------- CSV rows

_SERIES = ("month", "week", "day", "year_be")
_GROUPS = ("district", "subdistrict", "choice", "numbered")
_STABLE = ("district", "subdistrict", "lat", "lon", "phone")


def _group_values(kind: str, args: tuple[Any, ...], ctx: dict[str, Any]) -> list[str]:
    if kind == "district":
        return [ctx["district"]] if ctx["district"] else list(names.DISTRICTS)
    if kind == "subdistrict":
        return list(names.SUBDISTRICTS[ctx["district"] or "ปทุมวัน"])
    if kind == "choice":
        return list(dict.fromkeys(args[0]))
    if kind == "numbered":
        prefix, lo, hi = args
        return [f"{prefix}{k}" for k in range(lo, hi + 1)]
    raise ValueError(kind)


def _periods(kind: str, count: int, today: datetime.date) -> list[str]:
    """The ``count`` most recent complete periods before ``today``."""
    if kind == "month":
        first = _add_months(today, -count)
        return [f"{d.year:04d}-{d.month:02d}"
                for d in (_add_months(first, k) for k in range(count))]
    if kind == "week":
        monday = today - datetime.timedelta(days=today.weekday() + 7 * count)
        return [(monday + datetime.timedelta(weeks=k)).isoformat()
                for k in range(count)]
    if kind == "day":
        return [(today - datetime.timedelta(days=count - k)).isoformat()
                for k in range(count)]
    if kind == "year_be":
        last = today.year + 543 - (1 if today.month < 6 else 0)
        return [str(y) for y in range(last - count + 1, last + 1)]
    raise ValueError(kind)


def _value(kind: str, args: tuple[Any, ...], rng: random.Random, row: dict[str, Any],
           ctx: dict[str, Any]) -> Any:
    if kind in ("district", "subdistrict", "choice", "numbered"):
        return rng.choice(_group_values(kind, args, ctx))
    if kind == "const":
        return args[0]
    if kind == "int":
        return rng.randint(args[0], args[1])
    if kind == "float":
        return round(rng.uniform(args[0], args[1]), args[2])
    if kind == "date":
        return (ctx["today"] - datetime.timedelta(days=rng.randint(1, 365))).isoformat()
    if kind in ("lat", "lon"):
        centre = names.DISTRICT_CENTRE.get(ctx["district"] or "")
        if centre:
            base = centre[0 if kind == "lat" else 1]
            return round(base + rng.uniform(-0.012, 0.012), 6)
        lat0, lat1, lon0, lon1 = names.BANGKOK_BOX
        return round(rng.uniform(lat0, lat1) if kind == "lat"
                     else rng.uniform(lon0, lon1), 6)
    if kind == "phone":
        return _phone(rng)
    if kind == "part":
        col, lo, hi = args
        value = row[col] * rng.uniform(lo, hi)
        return round(value, 2) if isinstance(row[col], float) else int(value)
    if kind == "rest":
        value = row[args[0]] - sum(row[c] for c in args[1:])
        return round(value, 2) if isinstance(value, float) else value
    if kind == "sum":
        value = sum(row[c] for c in args)
        return round(value, 2) if isinstance(value, float) else value
    if kind == "pct":
        num, den = row[args[0]], row[args[1]]
        return round(100.0 * num / den, 2) if den else 0
    raise ValueError(f"unknown column kind {kind!r}")


def _scale(kind: str, args: tuple[Any, ...], base: Any, rng: random.Random) -> Any:
    """A period's value near the group's usual level (±15 %)."""
    if kind == "int":
        return max(args[0], min(args[1], round(base * rng.uniform(0.85, 1.15))))
    return max(args[0], min(args[1], round(base * rng.uniform(0.85, 1.15), args[2])))


def make_rows(resource: dict[str, Any], rng: random.Random,
              ctx: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Header (ASCII snake_case names) and 20-200 rows for a resource."""
    cols = [(c[0], c[1], c[2], tuple(c[3:])) for c in resource["columns"]]
    header = [c[0] for c in cols]
    lo, hi = resource["rows"]
    target = rng.randint(max(20, lo), min(200, max(20, hi)))
    series = next((i for i, c in enumerate(cols) if c[2] in _SERIES), None)
    rows: list[dict[str, Any]] = []

    if series is None:
        for _ in range(target):
            row: dict[str, Any] = {}
            for name, _label, kind, args in cols:
                row[name] = None if kind == "id" else _value(kind, args, rng, row, ctx)
            rows.append(row)
        date_col = next((c[0] for c in cols if c[2] == "date"), None)
        if date_col:
            rows.sort(key=lambda r: r[date_col])
    else:
        kind = cols[series][2]
        group = next((c for c in cols[series + 1:] if c[2] in _GROUPS
                      and len(_group_values(c[2], c[3], ctx)) > 1), None)
        groups: list[Any] = [None]
        if group is not None:
            values = _group_values(group[2], group[3], ctx)
            per_period = {"month": 12, "week": 26, "day": 60, "year_be": 5}[kind]
            n_groups = max(1, min(len(values), round(target / per_period)))
            groups = sorted(rng.sample(values, n_groups), key=values.index)
        n_periods = max(-(-20 // len(groups)), min(target // len(groups), 400))
        if kind == "year_be":
            n_periods = min(n_periods, 8)
        if kind == "month":
            n_periods = min(n_periods, 36)
        periods = _periods(kind, n_periods, ctx["today"])
        # Attributes of a group (its sub-district, coordinates...) and its
        # usual level stay the same from one period to the next.
        level: dict[Any, dict[str, Any]] = {}
        for g in groups:
            grng = random.Random("{}:{}".format(ctx["seed_key"], g))
            base: dict[str, Any] = {}
            for name, _label, k, args in cols:
                if k in _STABLE or k in ("int", "float"):
                    base[name] = _value(k, args, grng, base, ctx)
            level[g] = base
        for period in periods:
            for g in groups:
                row = {}
                for name, _label, k, args in cols:
                    if name == cols[series][0]:
                        row[name] = period
                    elif group is not None and name == group[0]:
                        row[name] = g
                    elif k in _STABLE:
                        row[name] = level[g][name]
                    elif k in ("int", "float") and level[g].get(name):
                        row[name] = _scale(k, args, level[g][name], rng)
                    elif k == "id":
                        row[name] = None
                    else:
                        row[name] = _value(k, args, rng, row, ctx)
                rows.append(row)
        rows = rows[-200:]

    for i, row in enumerate(rows):
        for name, _label, kind, args in cols:
            if kind == "id":
                row[name] = f"{args[0]}{i + 1:05d}"
    return header, [[row[h] for h in header] for row in rows]


_DICT_TYPES = {"month": "date", "week": "date", "day": "date", "date": "date",
               "year_be": "integer", "id": "code", "district": "code",
               "subdistrict": "code", "choice": "code", "numbered": "code",
               "const": "text", "int": "integer", "float": "number",
               "lat": "number", "lon": "number", "phone": "text",
               "pct": "number"}
_DICT_NOTES = {
    "month": "เดือนของข้อมูล รูปแบบ YYYY-MM (ค.ศ.)",
    "week": "วันจันทร์ที่เริ่มต้นสัปดาห์ รูปแบบ YYYY-MM-DD (ค.ศ.)",
    "day": "วันที่ของข้อมูล รูปแบบ YYYY-MM-DD (ค.ศ.)",
    "date": "วันที่ของรายการ รูปแบบ YYYY-MM-DD (ค.ศ.)",
    "year_be": "ปีพุทธศักราช",
    "id": "รหัสอ้างอิงของรายการ ไม่ซ้ำกัน",
    "district": "ชื่อเขตของกรุงเทพมหานคร",
    "subdistrict": "ชื่อแขวง",
    "lat": "ละติจูด WGS84 (EPSG:4326)",
    "lon": "ลองจิจูด WGS84 (EPSG:4326)",
}
# Share of resources without a data dictionary, by agency profile.
DICTIONARY_MISSING = {"diligent": 0.0, "good": 0.1, "mixed": 0.35, "lagging": 0.6}


def _dictionary(spec: dict[str, Any], rows: list[list[Any]], profile: str,
                rng: random.Random) -> list[dict[str, str]]:
    """The resource's data dictionary (kpigov_dictionary), or none (a gap).

    Some dictionaries describe only the first columns, so coverage varies.
    """
    if rng.random() < DICTIONARY_MISSING[profile]:
        return []
    cols = spec["columns"]
    described = len(cols)
    if profile != "diligent" and rng.random() < 0.2:
        described = max(1, len(cols) // 2)
    out = []
    for i, col in enumerate(cols):
        name, label, kind = col[0], col[1], col[2]
        if i >= described:
            out.append({"column": name})
            continue
        ctype = _DICT_TYPES.get(kind)
        if ctype is None:      # part, rest, sum: as the column they derive from
            ctype = "number" if rows and isinstance(rows[0][i], float) else "integer"
        entry = {"column": name, "label_th": label, "type": ctype,
                 "nullable": "false", "personal_data": "false"}
        if "(" in label and label.endswith(")"):
            entry["unit"] = label[label.rindex("(") + 1:-1]
        elif kind == "pct":
            entry["unit"] = "ร้อยละ"
        if kind in _DICT_NOTES:
            entry["description"] = _DICT_NOTES[kind]
        elif kind in ("part", "rest", "sum", "pct"):
            entry["description"] = "คำนวณจากคอลัมน์ " + ", ".join(
                str(a) for a in col[3:] if isinstance(a, str))
        if rows:
            entry["example"] = str(rows[0][i])[:300]
        out.append(entry)
    return out


def _resource_specs(template: dict[str, Any], seed: int, slug: str,
                    today: datetime.date) -> list[tuple[dict[str, Any], datetime.date]]:
    """The resources to upload and the day their data runs up to.

    About half of the monthly series with a single file also get last
    year's file, as agencies publish one CSV per year.
    """
    specs = [(spec, today) for spec in template["resources"]]
    first = template["resources"][0]
    if len(specs) == 1 and first["columns"][0][2] == "month" and \
            random.Random(f"{seed}:archive:{slug}").random() < 0.5:
        archive = dict(first, name=first["name"] + " (ปีก่อนหน้า)",
                       description=first["description"] + " ย้อนหลัง 12-24 เดือน",
                       file=first["file"].replace(".csv", "-previous-year.csv"))
        specs.append((archive, _add_months(today, -12)))
    return specs


def _csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _columns_note(resource: dict[str, Any]) -> str:
    return "คอลัมน์: " + ", ".join(f"{c[0]} ({c[1]})"
                                   for c in resource["columns"])


# ---------------------------------------------------------------- history

def _history(unit: str, profile: str, rng: random.Random,
             today: datetime.date) -> list[tuple[datetime.datetime, str]]:
    """Ledger moments (naive UTC) and natures for one dataset."""
    if unit == NEVER:
        return []
    start = _add_months(today, -HISTORY_MONTHS)
    # Lagging agencies stopped updating about four months ago.
    stop = _add_months(today, -3) if profile == "lagging" else today
    out: list[tuple[datetime.date, str]] = []

    def take(p_skip: dict[str, float]) -> bool:
        return rng.random() >= p_skip[profile]

    if unit in ("เดือน", "ไตรมาส", "ปี"):
        months = [_add_months(start, k) for k in range(HISTORY_MONTHS + 1)]
        if unit == "ไตรมาส":
            months = [m for m in months if m.month in (1, 4, 7, 10)]
        elif unit == "ปี":
            months = [m for m in months if m.month == 10]
        missed: set[datetime.date] = set()
        if profile == "good" and unit == "เดือน":
            missed = set(rng.sample(months[:-1], rng.randint(1, 3)))
        for m in months:
            if m in missed:
                continue
            if profile == "diligent":
                dom = rng.randint(1, 14)
            elif profile == "good":
                if unit != "เดือน" and rng.random() < 0.1:
                    continue
                dom = rng.randint(16, 24) if rng.random() < 0.25 else rng.randint(1, 14)
            elif profile == "mixed":
                if rng.random() < 0.25:
                    continue
                dom = rng.randint(1, 26)
            else:  # lagging
                if rng.random() < 0.5:
                    continue
                dom = rng.randint(5, 28)
            out.append((m.replace(day=dom), "new_data"))
    elif unit == "สัปดาห์":
        monday = start - datetime.timedelta(days=start.weekday())
        skip = {"diligent": 0.0, "good": 0.08, "mixed": 0.3, "lagging": 0.5}
        late = {"diligent": 1, "good": 3, "mixed": 4, "lagging": 5}
        while monday < today:
            if monday >= start and take(skip):
                out.append((monday + datetime.timedelta(
                    days=rng.randint(0, late[profile])), "new_data"))
            monday += datetime.timedelta(weeks=1)
    elif unit == "วัน":
        skip = {"diligent": 0.01, "good": 0.05, "mixed": 0.25, "lagging": 0.5}
        current = start
        while current < today:
            if take(skip):
                out.append((current, "new_data"))
            current += datetime.timedelta(days=1)
    else:
        # Other cadences: monthly-ish, as the generic case.
        return _history("เดือน", profile, rng, today)

    # Occasional corrections and metadata-only edits after an update.
    extra = []
    if unit not in ("วัน",):
        for day, _nature in out:
            if rng.random() < 0.06:
                extra.append((day + datetime.timedelta(days=rng.randint(1, 6)),
                              "correction"))
            if rng.random() < 0.05:
                extra.append((day + datetime.timedelta(days=rng.randint(0, 9)),
                              "metadata"))
    moments = []
    for day, nature in sorted(out + extra):
        if day >= today or day >= stop:
            continue
        moments.append((_utc(day, rng), nature))
    return moments


# ---------------------------------------------------------------- loader

class _Loader:
    def __init__(self, seed: int, today: datetime.date,
                 target_fy: int | None) -> None:
        self.seed = seed
        self.today = today
        self.target_fy = target_fy or default_target_fy(today)
        self.people = _People(seed)
        self.site_user = tk.get_action("get_site_user")(
            {"ignore_auth": True}, {})["name"]
        self.created: dict[str, int] = {
            "organizations": 0, "datasets": 0, "resources": 0, "users": 0,
            "memberships": 0, "ledger_entries": 0}
        # Fields the active dataset schema rejects (core CKAN rejects Thai
        # tags and nested lists such as kpigov_stakeholders).
        self.drop_nested = False
        self.ascii_tags_only = False

    def context(self) -> dict[str, Any]:
        return {"user": self.site_user, "ignore_auth": True}

    def action(self, name: str, data: dict[str, Any]) -> Any:
        return tk.get_action(name)(self.context(), data)

    # -- users -------------------------------------------------------------

    def ensure_user(self, name: str, fullname: str, email: str) -> str:
        user = model.User.get(name)
        if user is not None:
            return user.id
        result = self.action("user_create", {
            "name": name, "fullname": fullname, "email": email,
            "password": DEMO_PASSWORD})
        self.created["users"] += 1
        return result["id"]

    def ensure_member(self, org_id: str, user_id: str, user_name: str,
                      role: str) -> None:
        exists = model.Session.query(model.Member).filter(
            model.Member.group_id == org_id,
            model.Member.table_name == "user",
            model.Member.table_id == user_id,
            model.Member.state == "active").first()
        if exists is None:
            self.action("organization_member_create",
                        {"id": org_id, "username": user_name, "role": role})
            self.created["memberships"] += 1

    # -- organizations -----------------------------------------------------

    def ensure_org(self, agency: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.action("organization_show", {
                "id": agency["name"], "include_datasets": False,
                "include_users": False, "include_extras": True})
        except tk.ObjectNotFound:
            pass
        org = self.action("organization_create", {
            "name": agency["name"], "title": agency["title"],
            "description": agency["description"],
            "extras": [{"key": "kpigov_agency_kind", "value": agency["kind"]}],
        })
        self.created["organizations"] += 1
        return org

    def ensure_agency(self, agency: dict[str, Any]) -> dict[str, Any]:
        org = self.ensure_org(agency)
        prefix = agency["key"]
        users = {}
        for role, suffix, label in (("editor", "editor", "เจ้าหน้าที่ข้อมูล"),
                                    ("admin", "admin", "ผู้ดูแลข้อมูล")):
            person = self.people.person(agency, "account_" + role)
            name = f"{prefix}_{suffix}"
            user_id = self.ensure_user(
                name, "{} ({} {})".format(person["name"], label, agency["short"]),
                "{}@{}".format(name.replace("_", "."), EMAIL_DOMAIN))
            self.ensure_member(org["id"], user_id, name, role)
            users[role] = user_id
        return {"org": org, "users": users}

    # -- datasets ----------------------------------------------------------

    def package_dict(self, agency: dict[str, Any], org_id: str,
                     template: dict[str, Any], variant: int,
                     is_target: bool) -> dict[str, Any]:
        slug = _slug(template, variant)
        rng = random.Random(f"{self.seed}:dataset:{slug}")
        private = bool(template["private"])
        district = agency["district"]
        first_year = rng.choice([2555, 2557, 2558, 2560, 2560, 2562, 2563])
        if template["type"] == "geo" or template["unit"] == NEVER:
            first_year = rng.choice([2563, 2564, 2565])
        last_year = self.today.year + 543
        if template["unit"] == NEVER:
            last_year = first_year
        data_format = ["CSV"]
        if template["type"] == "geo" and rng.random() < 0.4:
            data_format = ["CSV", "Shapefile"]
        elif template["type"] == "record" and rng.random() < 0.5:
            data_format = ["Database", "CSV"]
        objective = ["พันธกิจหน่วยงาน"]
        if not private:
            objective.append("เพื่อการให้บริการประชาชน")
        if agency["key"] == "strategy":
            objective.insert(0, "นโยบายรัฐบาล/ข้อสั่งการนายกรัฐมนตรี")
        maint = self.people.person(agency, "maintainer", rng.randint(0, 1))
        data: dict[str, Any] = {
            "name": slug,
            "title": _title(template, variant),
            "notes": "{}\n\nวัตถุประสงค์: {}".format(template["notes"],
                                                    template["objective"]),
            "owner_org": org_id,
            "private": private,
            "license_id": "cc-by",
            "tag_string": ",".join(template["tags"]),
            "maintainer": maint["name"],
            "maintainer_email": maint["email"],
            "author": agency["title"],
            # thai_gdc fields, top level (declared by the scheming schema)
            "data_type": DATA_TYPES[template["type"]],
            "update_frequency_unit": template["unit"],
            "update_frequency_interval": "1",
            "data_category": "ข้อมูลใช้ภายใน" if private else "ข้อมูลสาธารณะ",
            "data_classification": "ใช้ภายใน" if private else "เปิดเผย",
            "objective": objective,
            "geo_coverage": ("เขต" + district) if district else "กรุงเทพมหานคร",
            "data_source": template["source"],
            "data_format": data_format,
            "data_language": ["ไทย"],
            "kpigov_personal_data": "true" if slug.startswith(PERSONAL) else "false",
            "first_year_of_data": str(first_year),
            "last_year_of_data": str(last_year),
            "kpigov_stakeholders": _stakeholders(agency, self.people, rng),
        }
        if is_target and agency.get("target"):
            kind, rationale = agency["target"]
            data.update({"kpigov_target_fy": str(self.target_fy),
                         "kpigov_target_kind": kind,
                         "kpigov_target_rationale": rationale})
        return data

    def create_package(self, data: dict[str, Any]) -> dict[str, Any]:
        for _attempt in range(3):
            attempt = dict(data)
            if self.drop_nested:
                attempt = {k: v for k, v in attempt.items()
                           if not (isinstance(v, list) and v
                                   and isinstance(v[0], dict))}
            if self.ascii_tags_only:
                attempt["tag_string"] = ",".join(
                    t for t in attempt["tag_string"].split(",") if _core_tag_ok(t))
            try:
                return self.action("package_create", attempt)
            except tk.ValidationError as e:
                errors = e.error_dict
                model.Session.rollback()
                retry = False
                if "__junk" in errors and not self.drop_nested:
                    log.info("seed-demo: dataset schema has no nested fields; "
                             "kpigov_stakeholders left out")
                    self.drop_nested = retry = True
                if ({"tags", "tag_string"} & set(errors)
                        and not self.ascii_tags_only):
                    log.info("seed-demo: dataset schema rejects Thai tags; "
                             "keeping the English ones")
                    self.ascii_tags_only = retry = True
                if not retry:
                    raise
        raise RuntimeError("package_create kept failing for {}".format(data["name"]))

    def ensure_dataset(self, agency: dict[str, Any], org_id: str,
                       template: dict[str, Any], variant: int,
                       is_target: bool) -> tuple[dict[str, Any], bool]:
        """The dataset (created with its CSV files if missing), and whether
        this run created it."""
        slug = _slug(template, variant)
        try:
            return self.action("package_show", {"id": slug}), False
        except tk.ObjectNotFound:
            pass
        pkg = self.create_package(self.package_dict(
            agency, org_id, template, variant, is_target))
        self.created["datasets"] += 1
        for i, (spec, until) in enumerate(
                _resource_specs(template, self.seed, slug, self.today)):
            rng = random.Random(f"{self.seed}:resource:{slug}:{i}")
            ctx = {"today": until, "district": agency["district"],
                   "seed_key": f"{self.seed}:{slug}:{i}"}
            header, rows = make_rows(spec, rng, ctx)
            body = _csv_bytes(header, rows)
            data = {
                "package_id": pkg["id"],
                "name": spec["name"],
                "description": "{} ({} แถว) {}".format(
                    spec["description"], len(rows), _columns_note(spec)),
                "format": "CSV",
                "mimetype": "text/csv",
                "url": spec["file"],
                "url_type": "upload",
                "kpigov_columns": ",".join(header),
            }
            dictionary = _dictionary(spec, rows, agency["profile"], rng)
            if dictionary:
                data["kpigov_dictionary"] = dictionary
            self.create_resource(data, body, spec["file"])
            self.created["resources"] += 1
        return self.action("package_show", {"id": pkg["id"]}), True

    def create_resource(self, data: dict[str, Any], body: bytes,
                        filename: str) -> None:
        for _attempt in range(2):
            attempt = dict(data, upload=FileStorage(
                stream=io.BytesIO(body), filename=filename,
                content_type="text/csv"))
            if self.drop_nested:
                attempt.pop("kpigov_dictionary", None)
            try:
                self.action("resource_create", attempt)
                return
            except tk.ValidationError:
                model.Session.rollback()
                if self.drop_nested or "kpigov_dictionary" not in data:
                    raise
                log.info("seed-demo: dataset schema has no nested fields; "
                         "kpigov_dictionary left out")
                self.drop_nested = True

    def backdate(self, pkg: dict[str, Any]) -> None:
        """Make a dataset created by this run look as old as its history.

        The uploads above were captured by the ledger (and the cadence
        declared on creation by the cadence history) with today's time;
        the demo history stands for them, so those rows are removed or moved
        to the dataset's made-up creation day, before the history starts.
        """
        from .model import cadence_history_table as ct
        from .model import ledger_table as lt
        rng = random.Random(f"{self.seed}:created:{pkg['name']}")
        start = _add_months(self.today, -HISTORY_MONTHS)
        born = datetime.datetime.combine(
            start - datetime.timedelta(days=rng.randint(10, 120)),
            datetime.time(3, rng.randint(0, 59)))
        model.Session.execute(lt.delete().where(
            lt.c.package_id == pkg["id"], lt.c.source != "demo"))
        model.Session.execute(ct.update().where(
            ct.c.package_id == pkg["id"]).values(changed=born))
        model.Session.execute(model.package_table.update().where(
            model.package_table.c.id == pkg["id"]).values(
                metadata_created=born))

    def has_history(self, package_id: str) -> bool:
        from .model import ledger_table as t
        return model.Session.execute(
            sa.select(t.c.id).where(t.c.package_id == package_id,
                                    t.c.source == "demo").limit(1)
        ).first() is not None

    def record_history(self, pkg: dict[str, Any], agency: dict[str, Any],
                       unit: str, editor_id: str) -> None:
        """Past updates following the cadence and the agency's profile."""
        from .model import record_update
        if self.has_history(pkg["id"]):
            return
        rng = random.Random("{}:history:{}".format(self.seed, pkg["name"]))
        resources = [r["id"] for r in pkg.get("resources", [])]
        for created, nature in _history(unit, agency["profile"], rng, self.today):
            record_update(
                pkg["id"], "demo", nature,
                resource_id=rng.choice(resources) if resources else None,
                user_id=editor_id, source="demo", created=created,
                detail={"seed": self.seed, "profile": agency["profile"]})
            self.created["ledger_entries"] += 1


def _core_tag_ok(tag: str) -> bool:
    try:
        tk.get_validator("tag_name_validator")(tag, {})
        return True
    except tk.Invalid:
        return False


def _summary(loader: _Loader, slugs: list[str], started: float) -> dict[str, Any]:
    from .model import ledger_table as t
    pkgs = model.Session.query(model.Package).filter(
        model.Package.name.in_(slugs), model.Package.state == "active").all()
    ids = [p.id for p in pkgs]
    private = sum(1 for p in pkgs if p.private)
    resources = model.Session.query(sa.func.count(model.Resource.id)).filter(
        model.Resource.package_id.in_(ids),
        model.Resource.state == "active").scalar() if ids else 0
    ledger = model.Session.execute(
        sa.select(sa.func.count()).select_from(t).where(
            t.c.package_id.in_(ids), t.c.source == "demo")).scalar() if ids else 0
    user_names = [a["key"] + s for a in AGENCIES for s in ("_editor", "_admin")]
    user_names += list(DEMO_USERS_EXTRA)
    users = model.Session.query(model.User).filter(
        model.User.name.in_(user_names)).count()
    orgs = model.Session.query(model.Group).filter(
        model.Group.name.in_([a["name"] for a in AGENCIES]),
        model.Group.is_organization.is_(True),
        model.Group.state == "active").count()
    return {
        "organizations": orgs,
        "datasets": len(pkgs),
        "datasets_public": len(pkgs) - private,
        "datasets_private": private,
        "resources": int(resources or 0),
        "ledger_entries": int(ledger or 0),
        "users": users,
        "created": dict(loader.created),
        "target_fiscal_year": loader.target_fy,
        # What the active dataset schema would not take (nothing when the
        # kpigov scheming schema is enabled and accepts Thai tags).
        "left_out": [label for flag, label in (
            (loader.drop_nested, "kpigov_stakeholders/kpigov_dictionary"),
            (loader.ascii_tags_only, "Thai tags")) if flag],
        "history": f"{_add_months(loader.today, -HISTORY_MONTHS)} .. {loader.today}",
        "demo_password": DEMO_PASSWORD,
        "seconds": round(time.monotonic() - started, 1),
    }


def load(seed: int = 2567, n_datasets: int = 60,
         today: datetime.date | None = None,
         target_fy: int | None = None) -> dict[str, Any]:
    """Create the demo portal (what exists already is left alone).

    :param seed: random seed; the same seed and ``today`` give the same data.
    :param n_datasets: datasets to create, spread over the eight agencies.
    :param today: the last day of history (default: today in Bangkok).
    :param target_fy: fiscal year (B.E.) of the target databases (default:
        ``default_target_fy(today)``).
    :returns: a summary: totals of the demo objects, what this run created,
        the demo password and the elapsed seconds.
    """
    started = time.monotonic()
    today = today or _bangkok_today()
    loader = _Loader(seed, today, target_fy)

    agencies = {}
    for agency in AGENCIES:
        agencies[agency["key"]] = loader.ensure_agency(agency)
    people = loader.people
    citizen = people.person(AGENCIES[1], "citizen")
    loader.ensure_user("citizen", citizen["name"], "citizen@" + EMAIL_DOMAIN)
    evaluator = people.person(AGENCIES[5], "evaluator")
    loader.ensure_user("evaluator", "{} (ผู้ประเมิน สยป.)".format(evaluator["name"]),
                       "evaluator@" + EMAIL_DOMAIN)
    model.Session.commit()

    slugs = []
    seen: set[str] = set()
    for agency, template, variant in plan(n_datasets):
        info = agencies[agency["key"]]
        is_target = agency["key"] not in seen and variant == 0
        seen.add(agency["key"])
        pkg, created = loader.ensure_dataset(agency, info["org"]["id"],
                                             template, variant, is_target)
        slugs.append(pkg["name"])
        if created:
            loader.backdate(pkg)
        loader.record_history(pkg, agency, template["unit"],
                              info["users"]["editor"])
        model.Session.commit()
        if created:
            # Index the backdated creation (the session keeps loaded
            # objects after a commit: reload them first).
            model.Session.expire_all()
            search.rebuild(pkg["id"])
            model.Session.commit()

    # governance records, evidence (with gaps for some agencies)
    from .governance_demo import seed_governance
    governance = seed_governance([info["org"]["id"] for info in agencies.values()],
                                 seed, fiscal_year=loader.target_fy)
    model.Session.commit()

    summary = _summary(loader, slugs, started)
    summary["governance"] = governance
    log.info("seed-demo: %s", summary)
    return summary
