"""KPI scoring on the portal: gather facts in bulk, run the checks, score.

The rules are pure (``checks.py``, ``rubric.py``); this module only reads the
portal. Facts for any number of organizations cost a fixed handful of queries
(datasets, extras, tags, resources, ledger, governance, evidence, decisions),
so scoring all 127 agencies is one pass, not 127 × datasets API calls.

Results are raw (everything, private datasets included); :func:`present`
cuts them down to what a viewer may see and adds the translated texts.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

import ckan.model as model
import ckan.plugins.toolkit as tk

from . import checks as checks_mod
from . import compat
from . import completeness, fiscal, life
from . import rubric as rubric_mod
from .logic import data
from .model import (evidence_table, governance_table, snapshot_table,
                    stakeholder_table, verification_table)

__all__ = [
    "ScoreInputError", "rubrics", "rubric_dirs", "overrides", "check_rubrics",
    "startup_check", "resolve_rubric", "window", "gather", "decisions",
    "score_facts", "score_orgs", "present", "snapshot", "snapshots", "trend",
    "agency_kinds", "action_text", "rubric_dict", "current_quarter", "FORM_COMPONENT",
]

log = logging.getLogger(__name__)

# The evaluation form's component for KPI 5.2 (seed 004).
FORM_COMPONENT = "องค์ประกอบที่ 5 ศักยภาพในการดำเนินการของหน่วยงาน (Potential Base)"

_EXTRA_KEYS = ("update_frequency_unit", "update_frequency_interval", "data_category",
               "data_classification", "objective", "data_source", "kpigov_stakeholders",
               "kpigov_target_fy")
_API_FORMATS = {"api", "wms", "wfs", "wmts", "esri rest", "geojson api", "odata",
                "sparql", "json api"}


_RANK = {"missed": 0, "late": 1, "upcoming": 2, "on_time": 3, "exempt": 4,
         "not_required": 5}


class ScoreInputError(ValueError):
    """Bad input a user can hit (unknown rubric, quarter ...): field and message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --------------------------------------------------------------------- rubrics

_cache: dict[str, Any] = {"key": None, "rubrics": None}


def rubric_dirs() -> list[Path]:
    extra = tk.config.get("ckanext.kpigov.rubric_paths") or []
    if isinstance(extra, str):
        extra = extra.split()
    return [rubric_mod.DEFAULT_RUBRICS_DIR, *(Path(p) for p in extra)]


def _mtimes(dirs: Sequence[Path]) -> tuple[Any, ...]:
    stamp: list[Any] = []
    for folder in dirs:
        try:
            stamp.extend((str(p), p.stat().st_mtime_ns)
                         for p in sorted(folder.glob("*.y*ml")))
        except OSError:
            stamp.append((str(folder), None))
    return tuple(stamp)


def rubrics(reload: bool = False) -> dict[str, rubric_mod.Rubric]:
    """All rubrics (shipped and configured dirs), reloaded when a file changes.

    Raises :class:`rubric.RubricError` naming file, key and problem."""
    dirs = rubric_dirs()
    key = (tuple(map(str, dirs)), _mtimes(dirs))
    if reload or _cache["key"] != key:
        _cache["rubrics"] = rubric_mod.load_rubrics(dirs)
        _cache["key"] = key
    return _cache["rubrics"]


def overrides() -> dict[int, str]:
    """``ckanext.kpigov.rubric_overrides`` ("2567:bma_kpi52_fy2564 2568:...")."""
    raw = tk.config.get("ckanext.kpigov.rubric_overrides") or ""
    if isinstance(raw, (list, tuple)):
        raw = " ".join(raw)
    out: dict[int, str] = {}
    for item in str(raw).replace(",", " ").split():
        year, sep, rid = item.partition(":")
        if not sep or not year.strip().isdigit() or not rid.strip():
            raise rubric_mod.RubricError(
                "<config>", "ckanext.kpigov.rubric_overrides",
                f"{item!r} is not FISCAL_YEAR:RUBRIC_ID (e.g. 2567:bma_kpi52_fy2564)")
        out[int(year)] = rid.strip()
    return out


def _default_id() -> str:
    return (tk.config.get("ckanext.kpigov.rubric_default") or "").strip()


def check_rubrics() -> dict[str, rubric_mod.Rubric]:
    """Load every rubric and check the configuration that names them.

    Raises :class:`rubric.RubricError` (path, key, problem) on the first error.
    """
    found = rubrics(reload=True)
    for year, rid in overrides().items():
        if rid not in found:
            raise rubric_mod.RubricError(
                "<config>", f"ckanext.kpigov.rubric_overrides.{year}",
                f"unknown rubric id {rid!r} (known: {', '.join(sorted(found))})")
    default = _default_id()
    if default and default not in found:
        raise rubric_mod.RubricError(
            "<config>", "ckanext.kpigov.rubric_default",
            f"unknown rubric id {default!r} (known: {', '.join(sorted(found))})")
    return found


def startup_check() -> None:
    """For ``IConfigurable.configure``: stop start-up with one clear line
    (file, key, problem), not a traceback, when a rubric or its config is bad."""
    try:
        check_rubrics()
    except rubric_mod.RubricError as err:
        from ckan.exceptions import CkanConfigurationException
        log.critical("kpigov rubric error: %s", err)
        raise CkanConfigurationException(f"kpigov rubric error: {err}") from None


def resolve_rubric(fiscal_year: int, rubric_id: Optional[str] = None) -> rubric_mod.Rubric:
    """The rubric to score ``fiscal_year`` with: the one asked for, else the
    configured override, else the newest default rubric covering the year,
    else ``ckanext.kpigov.rubric_default``."""
    found = rubrics()
    if rubric_id:
        if rubric_id not in found:
            raise ScoreInputError("rubric", tk._("Unknown rubric {id} (known: {known})").format(
                id=rubric_id, known=", ".join(sorted(found))))
        return found[rubric_id]
    try:
        chosen = rubric_mod.rubric_for_year(found, fiscal_year, overrides())
    except rubric_mod.RubricError as err:
        raise ScoreInputError("fiscal_year", str(err)) from None
    if chosen is None:
        default = _default_id()
        if default in found:
            return found[default]
        raise ScoreInputError("fiscal_year", tk._(
            "No rubric applies to fiscal year {fy}").format(fy=fiscal_year))
    return chosen


def rubric_dict(r: rubric_mod.Rubric, lang: str = "en") -> dict[str, Any]:
    return {
        "id": r.id, "version": r.version, "title": r.title(lang),
        "title_th": r.title_th, "title_en": r.title_en,
        "fiscal_years": list(r.fiscal_years), "fiscal_year_from": r.fiscal_year_from,
        "weight": r.weight, "mode": r.mode, "mapping": r.mapping,
        "weighted_by": r.weighted_by, "rounding": r.rounding, "default": r.default,
        "criteria": None if r.criteria is None else {
            "thresholds": list(r.criteria.thresholds), "points": list(r.criteria.points),
            "direction": r.criteria.direction},
        "parts": [{"id": p.id, "title": p.title_th if lang.startswith("th") else p.title_en,
                   "weight": p.weight} for p in r.parts],
        "steps": [{"id": s.id, "title": s.title(lang), "share": s.share, "part": s.part,
                   "requires_verification": s.requires_verification,
                   "checks": [{"type": c.type, "params": dict(c.params)} for c in s.checks]}
                  for s in r.steps],
    }


# ------------------------------------------------------------------ the window


def window(fiscal_year: int, quarter: Optional[int] = None,
           today: Optional[dt.date] = None) -> dict[str, Any]:
    """What a score looks at: the months (up to the quarter's end), the date
    evidence must predate (``as_of``) and the day compliance is judged on.

    For a quarter, compliance is judged as on its last deadline (quarter end
    plus the grace days), so a quarter snapshot taken late sees the same
    months as one taken on time."""
    today = today or fiscal.bangkok_today()
    start, end = fiscal.fiscal_year_bounds(fiscal_year)
    if quarter:
        q_start, end = fiscal.quarter_bounds(fiscal_year, quarter)
    grace = int(tk.config.get("ckanext.kpigov.grace_days") or 0)
    as_of = min(today, end)
    judged = min(today, end + dt.timedelta(days=grace + 1))
    # elapsed months only: a month counts once it has ended
    months = ["%04d-%02d" % ym for ym in fiscal.fiscal_months(fiscal_year)
              if fiscal.month_bounds(*ym)[1] <= end and fiscal.month_bounds(*ym)[1] < today]
    return {"fiscal_year": fiscal_year, "quarter": quarter, "start": start, "end": end,
            "as_of": as_of, "judged": judged, "months": months}


# ---------------------------------------------------------------- gathering


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _int_or_none(value: Any) -> Optional[int]:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _packages(ids: Sequence[str]) -> list[Any]:
    p = model.package_table
    return model.Session.execute(
        sa.select(p.c.id, p.c.name, p.c.title, p.c.private, p.c.owner_org, p.c.notes,
                  p.c.license_id, p.c.maintainer, p.c.maintainer_email,
                  p.c.metadata_created, p.c.state)
        .where(p.c.id.in_(list(ids)))).fetchall()


def _extras(ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    return compat.extras_for(ids, _EXTRA_KEYS)


def _tag_counts(ids: Sequence[str]) -> dict[str, int]:
    pt = model.package_tag_table
    rows = model.Session.execute(
        sa.select(pt.c.package_id, sa.func.count())
        .where(pt.c.package_id.in_(list(ids)), pt.c.state == "active")
        .group_by(pt.c.package_id))
    return dict(rows.fetchall())


def _resources(ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    r = model.resource_table
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows = model.Session.execute(
        sa.select(r.c.package_id, r.c.id, r.c.name, r.c.url, r.c.url_type, r.c.format,
                  r.c.extras)
        .where(r.c.package_id.in_(list(ids)), r.c.state == "active")
        .order_by(r.c.package_id, r.c.position))
    for pid, rid, name, url, url_type, fmt, extras in rows:
        extras = _json(extras) or {}
        if not isinstance(extras, dict):
            extras = {}
        res = {"id": rid, "name": name, "url": url, "url_type": url_type,
               "format": fmt or ""}
        for key in ("kpigov_dictionary", "kpigov_columns", "datastore_active"):
            if key in extras:
                res[key] = _json(extras[key]) if key != "datastore_active" else extras[key]
        out[pid].append(res)
    return out


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")


def _dataset_facts(row: Any, extras: Mapping[str, Any], tags: int,
                   resources: list[dict[str, Any]]) -> dict[str, Any]:
    stakeholders = _json(extras.get("kpigov_stakeholders")) or []
    if not isinstance(stakeholders, list):
        stakeholders = []
    pkg = {"title": row.title, "notes": row.notes, "tags": [1] * tags,
           "license_id": row.license_id, "maintainer": row.maintainer,
           "maintainer_email": row.maintainer_email,
           "kpigov_stakeholders": stakeholders, "resources": resources}
    for key in ("update_frequency_unit", "data_category", "data_classification",
                "objective", "data_source"):
        pkg[key] = _json(extras.get(key)) if key == "objective" else extras.get(key)
    meta = completeness.metadata_completeness(pkg)
    columns = described = 0
    for res in resources:
        cov = completeness.dictionary_coverage(res)
        columns += cov["columns"]
        described += cov["described"]
    online = any(str(r.get("url") or "").strip() or _truthy(r.get("datastore_active"))
                 for r in resources)
    api = any(_truthy(r.get("datastore_active")) or r.get("url_type") == "datastore"
              or str(r.get("format") or "").strip().lower() in _API_FORMATS
              for r in resources)
    return {
        "id": row.id, "name": row.name, "title": row.title or row.name,
        # a draft or deleted dataset is not public: summaries never show it
        "private": bool(row.private) or row.state != "active",
        "owner_org": row.owner_org,
        "has_owner": bool(completeness.stakeholder(pkg, "owner")),
        "has_steward": bool(completeness.stakeholder(pkg, "steward")),
        "completeness": meta["share"], "missing": meta["missing"],
        "dict_columns": columns, "dict_described": described,
        "online": online, "api": api,
        "has_cadence": bool(data.cadence_or_none(extras.get("update_frequency_unit"),
                                                 extras.get("update_frequency_interval"))),
        "target_fy": _int_or_none(extras.get("kpigov_target_fy")),
        "months": {}, "entries": {},
    }


# Per-process memos: a dataset's facts and its compliance verdicts are
# recomputed only when a cheap fingerprint (computed by PostgreSQL) changes,
# so the tab and the overview pay for what changed, not for the portal.
_MEMO_LIMIT = 200_000
# memo entries carry a version number: an organization whose datasets kept
# theirs (and whose own records are unchanged) keeps its computed score
_versions = itertools.count(1)
_score_memo: dict[tuple[Any, ...], tuple[Any, dict[str, Any]]] = {}
_facts_memo: dict[str, tuple[str, dict[str, Any]]] = {}
_periods_memo: dict[tuple[str, int, dt.date], tuple[Any, "_Periods"]] = {}

# The datasets an organization's score counts: active ones, drafts that were
# once active and deleted ones that were active (per year: see gather), never
# one that a re-created dataset continues (kpigov.life).
_COUNTED = (
    "(p.state = 'active' OR (p.state IN ('draft', 'deleted') AND EXISTS ("
    "SELECT 1 FROM kpigov_dataset_life lf WHERE lf.package_id = p.id "
    "AND lf.first_active IS NOT NULL)))")
_COUNTED_OWN = _COUNTED + (" AND NOT EXISTS (SELECT 1 FROM kpigov_dataset_life sx "
                           "WHERE sx.predecessor_id = p.id)")

# A dataset's fingerprint: the row versions (PostgreSQL xmin, new on every
# update) and counts of the package and its extras, resources and tags.
_FP_SELECT = """
SELECT p.id, p.owner_org, concat_ws(':', p.xmin::text, %s) AS fp
FROM package p %s
WHERE """ + _COUNTED_OWN + """ AND p.type = 'dataset' AND p.owner_org = ANY(:orgs)
ORDER BY p.title, p.name
"""
# few organizations: per-package index lookups
_FINGERPRINTS_FEW = sa.text(_FP_SELECT % (", ".join(
    "(SELECT count(*) || '.' || max(x.xmin::text::bigint) FROM %s x "
    "WHERE x.package_id = p.id)" % t for t in compat.FINGERPRINT_TABLES),
    ""))
# many: one hash aggregate per table
_FP_ALIASES = ["t%d" % i for i in range(len(compat.FINGERPRINT_TABLES))]
_FINGERPRINTS_MANY = sa.text(_FP_SELECT % (
    ", ".join("%s.v" % a for a in _FP_ALIASES), " ".join(
        "LEFT JOIN (SELECT package_id, count(*) || '.' || max(xmin::text::bigint) AS v "
        "FROM %s GROUP BY package_id) %s ON %s.package_id = p.id" % (t, a, a)
        for t, a in zip(compat.FINGERPRINT_TABLES, _FP_ALIASES))))
_LEDGER_VERSION = sa.text("SELECT count(*), max(xmin::text::bigint) FROM kpigov_ledger")
# all dataset tables at once: while unchanged, the fingerprints are too
_PORTAL_VERSION = sa.text("SELECT " + ", ".join(
    "(SELECT count(*) || '.' || max(xmin::text::bigint) FROM %s)" % t
    for t in ("package",) + compat.FINGERPRINT_TABLES))
_fp_memo: dict[str, Any] = {"version": None, "orgs": None, "rows": None}

_LEDGER_STAMPS = sa.text("""
SELECT l.package_id, count(*), max(l.created),
       max(l.created) FILTER (WHERE l.nature = 'new_data')
FROM kpigov_ledger l JOIN package p ON p.id = l.package_id
WHERE """ + _COUNTED + """ AND p.owner_org = ANY(:orgs)
GROUP BY l.package_id
""")

_OTHER_STAMPS = sa.text("""
SELECT h.package_id, 'c', count(*)::text, max(h.changed)::text
FROM kpigov_cadence_history h JOIN package p ON p.id = h.package_id
WHERE """ + _COUNTED + """ AND p.owner_org = ANY(:orgs) GROUP BY h.package_id
UNION ALL
SELECT x.package_id, 'e', count(*)::text || string_agg(x.status, ''),
       concat_ws('|', max(x.decided_at)::text, max(x.expires_at)::text,
                 max(x.requested_at)::text)
FROM kpigov_exemption x JOIN package p ON p.id = x.package_id
WHERE """ + _COUNTED + """ AND p.owner_org = ANY(:orgs) GROUP BY x.package_id
""")


def _trim(memo: dict[Any, Any]) -> None:
    if len(memo) > _MEMO_LIMIT:
        memo.clear()


def _datasets_memo(org_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Dataset facts (a fresh dict per call) in title order, from the memo
    where the fingerprint is unchanged."""
    if len(org_ids) > 20:
        version = tuple(model.Session.execute(_PORTAL_VERSION).one())
        key = tuple(sorted(org_ids))
        if _fp_memo["version"] != version or _fp_memo["orgs"] != key:
            _fp_memo.update(version=version, orgs=key, rows=model.Session.execute(
                _FINGERPRINTS_MANY, {"orgs": list(org_ids)}).fetchall())
        rows = _fp_memo["rows"]
    else:
        rows = model.Session.execute(_FINGERPRINTS_FEW, {"orgs": list(org_ids)}).fetchall()
    stale = [r.id for r in rows if _facts_memo.get(r.id, ("",))[0] != r.fp]
    if stale:
        _trim(_facts_memo)
        fps = {r.id: r.fp for r in rows}
        for chunk in range(0, len(stale), 2000):
            ids = stale[chunk:chunk + 2000]
            extras = _extras(ids=ids)
            tags = _tag_counts(ids=ids)
            resources = _resources(ids=ids)
            lives = life.lives(ids)
            for row in _packages(ids=ids):
                base = _dataset_facts(row, extras.get(row.id, {}), tags.get(row.id, 0),
                                      resources.get(row.id, []))
                base["_version"] = next(_versions)
                base["_created"] = row.metadata_created
                lrow = lives.get(row.id)
                base["state"] = row.state
                base["_retired"] = lrow.retired_at if lrow is not None and \
                    row.state == "deleted" else None
                base["_predecessors"] = tuple(life.chain(row.id, lives)) \
                    if lrow is not None and lrow.predecessor_id else ()
                base["created"] = fiscal.local_date(row.metadata_created).isoformat() \
                    if row.metadata_created else None
                base["_cadence"] = (extras.get(row.id, {}).get("update_frequency_unit"),
                                    extras.get(row.id, {}).get("update_frequency_interval"))
                _facts_memo[row.id] = (fps[row.id], base)
    out = {}
    for r in rows:
        memo = _facts_memo.get(r.id)
        if memo is not None:
            out[r.id] = dict(memo[1])
    return out


_stamps_memo: dict[str, Any] = {"version": None, "orgs": None, "stamps": {}}


def _ledger_stamps(org_ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """Per dataset: entry count, latest entry, latest new data. For many
    organizations the last answer is reused while the ledger is unchanged."""
    if len(org_ids) <= 20:
        return {r[0]: tuple(r[1:]) for r in model.Session.execute(
            _LEDGER_STAMPS, {"orgs": list(org_ids)})}
    version = tuple(model.Session.execute(_LEDGER_VERSION).one())
    key = tuple(sorted(org_ids))
    if _stamps_memo["version"] != version or _stamps_memo["orgs"] != key:
        _stamps_memo.update(version=version, orgs=key, stamps={
            r[0]: tuple(r[1:]) for r in model.Session.execute(
                _LEDGER_STAMPS, {"orgs": list(org_ids)})})
    return _stamps_memo["stamps"]


def _compliance_memo(by_id: Mapping[str, dict[str, Any]],
                     stamps: Mapping[str, tuple[Any, ...]], fiscal_year: int,
                     judged: dt.date) -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
    """Per dataset: (month key, status, ledger entry ids) of each period of
    the year, judged on ``judged``; recomputed (with logic.data, in bulk)
    only for datasets whose ledger, cadence, exemptions or settings changed."""
    org_ids = sorted({d["owner_org"] for d in by_id.values()})
    other: dict[str, list[Any]] = defaultdict(list)
    for pid, kind, a, b in model.Session.execute(_OTHER_STAMPS, {"orgs": org_ids}):
        other[pid].append((kind, a, b))
    settings = repr(sorted(data.settings().items()))
    keys, stale = {}, []
    for pid, ds in by_id.items():
        stamp = (stamps.get(pid), tuple(sorted(other.get(pid, []))), ds["_created"],
                 ds["_cadence"], settings, ds["state"], ds["_retired"],
                 ds["_predecessors"],
                 tuple(stamps.get(o) for o in ds["_predecessors"]))
        keys[pid] = stamp
        memo = _periods_memo.get((pid, fiscal_year, judged))
        if memo is None or memo[0] != stamp:
            stale.append(pid)
    if stale:
        _trim(_periods_memo)
        for chunk in range(0, len(stale), 2000):
            ids = stale[chunk:chunk + 2000]
            infos = [data.DatasetInfo(pid, by_id[pid]["name"], by_id[pid]["title"],
                                      by_id[pid]["owner_org"], by_id[pid]["private"],
                                      by_id[pid]["_created"], *by_id[pid]["_cadence"],
                                      by_id[pid]["state"], by_id[pid]["_retired"],
                                      by_id[pid]["_predecessors"])
                     for pid in ids]
            month_key: dict[dt.date, str] = {}
            for pid, res in data.compliance_for(infos, fiscal_year, judged).items():
                items = []
                for p in res.periods:
                    end = p.end
                    key = month_key.get(end)
                    if key is None:
                        key = month_key[end] = "%04d-%02d" % (end.year, end.month)
                    items.append((key, p.status, tuple(p.entry_ids)))
                _periods_memo[(pid, fiscal_year, judged)] = (keys[pid], _Periods(items))
    return {pid: _periods_memo[(pid, fiscal_year, judged)][1] for pid in by_id}


def _compose(periods: Any, wanted: frozenset[str], late_ok: bool
             ) -> tuple[dict[str, str], dict[str, list[str]], int, int, dict[bool, Any]]:
    """Month cells (the worst verdict of the periods ending in each wanted
    month), their ledger entries and the on-time/due period counts; kept on
    the (shared, never mutated) periods list."""
    cache = periods.composed if hasattr(periods, "composed") else None
    if cache is not None and (wanted, late_ok) in cache:
        return cache[(wanted, late_ok)]
    months: dict[str, str] = {}
    entries: dict[str, list[str]] = {}
    ok = due = 0
    for key, status, entry_ids in periods:
        if key not in wanted:
            continue
        if key not in months or _RANK.get(status, 9) < _RANK.get(months[key], 9):
            months[key] = status
        if entry_ids:
            entries.setdefault(key, []).extend(entry_ids)
        if status in ("on_time", "late", "missed"):
            due += 1
            if status == "on_time" or (late_ok and status == "late"):
                ok += 1
    tally = {}
    for flag in (False, True):
        m_ok = 0
        missed, late = [], []
        for key in sorted(months):
            status = months[key]
            if status == "on_time" or (flag and status == "late"):
                m_ok += 1
            if status == "missed":
                missed.append(key)
            elif status == "late":
                late.append(key)
        m_due = sum(1 for st in months.values() if st in ("on_time", "late", "missed"))
        tally[flag] = (m_ok, m_due, missed, late)
    out = (months, entries, ok, due, tally)
    if cache is not None:
        cache[(wanted, late_ok)] = out
    return out


class _Periods(list):  # type: ignore[type-arg]
    """A dataset's period verdicts, with its composed month views."""

    def __init__(self, items: Iterable[Any]) -> None:
        super().__init__(items)
        self.composed: dict[Any, Any] = {}
        self.version = next(_versions)


def gather(org_ids: Sequence[str], fiscal_year: int, quarter: Optional[int] = None,
           today: Optional[dt.date] = None) -> dict[str, dict[str, Any]]:
    """Plain facts (``checks.FACTS_DOC``) for each organization, in bulk."""
    org_ids = list(org_ids)
    win = window(fiscal_year, quarter, today)
    facts: dict[str, dict[str, Any]] = {
        oid: {"fiscal_year": fiscal_year, "quarter": quarter, "months": win["months"],
              "judged_quarter": quarter or current_quarter(fiscal_year, today),
              "as_of": win["as_of"].isoformat(),
              "count_late_as_on_time": bool(tk.config.get(
                  "ckanext.kpigov.count_late_as_on_time")),
              "governance": {"team": None, "plan": None}, "stakeholders": [],
              "datasets": [], "targets": [], "previous_targets": [], "evidence": [],
              "compliance_rate": None, "last_update": None}
        for oid in org_ids}
    if not org_ids:
        return facts
    by_id = _datasets_memo(org_ids)
    # a deleted dataset counts in the years it was active in
    fy_start = dt.datetime.combine(fiscal.fiscal_year_bounds(fiscal_year)[0],
                                   dt.time()) - dt.timedelta(hours=7)
    by_id = {pid: ds for pid, ds in by_id.items()
             if ds["_retired"] is None or ds["_retired"] >= fy_start}
    for ds in by_id.values():
        facts[ds["owner_org"]]["datasets"].append(ds)
    stamps = _ledger_stamps(org_ids)
    periods = _compliance_memo(by_id, stamps, fiscal_year, win["judged"])
    wanted = frozenset(win["months"])
    tallies: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    late_ok = facts[org_ids[0]]["count_late_as_on_time"]
    for pid, ds in by_id.items():
        months, entries, ok, due, month_tally = _compose(periods[pid], wanted, late_ok)
        t = tallies[ds["owner_org"]]
        t[0] += ok
        t[1] += due
        ds["months"], ds["entries"] = months, entries
        ds["month_tally"], ds["tally_months"] = month_tally, win["months"]
    for oid, (ok, due) in tallies.items():
        facts[oid]["compliance_rate"] = round(ok / due, 4) if due else None
    for pid, stamp in stamps.items():
        when = stamp[2]
        owner = by_id[pid]["owner_org"] if pid in by_id else None
        if when is None or owner is None:
            continue
        f = facts[owner]
        if f["last_update"] is None or when.isoformat() > f["last_update"]:
            f["last_update"] = when.isoformat()
        if not by_id[pid].get("private") and (
                f.get("public_last_update") is None
                or when.isoformat() > f["public_last_update"]):
            f["public_last_update"] = when.isoformat()
    g = governance_table
    for r in model.Session.execute(sa.select(g).where(
            g.c.owner_org.in_(org_ids), g.c.fiscal_year == fiscal_year)):
        if r.kind in ("team", "plan"):
            facts[r.owner_org]["governance"][r.kind] = {
                "id": r.id, "status": r.status, "document_url": r.document_url,
                "document_name": r.document_name, "data": r.data or {}}
    s = stakeholder_table
    for r in model.Session.execute(sa.select(s.c.owner_org, s.c.role, s.c.name).where(
            s.c.owner_org.in_(org_ids))):
        facts[r.owner_org]["stakeholders"].append({"role": r.role, "name": r.name})
    e = evidence_table
    for r in model.Session.execute(sa.select(e).where(
            e.c.owner_org.in_(org_ids), e.c.fiscal_year == fiscal_year,
            e.c.date <= win["as_of"]).order_by(e.c.date)):
        facts[r.owner_org]["evidence"].append({
            "id": r.id, "package_id": r.package_id, "evidence_type": r.evidence_type,
            "kind": r.kind, "status": r.status, "date": r.date.isoformat(),
            "description": r.description, "url": r.url, "partner": r.partner})
    for oid, f in facts.items():
        plan = f["governance"]["plan"] or {}
        planned = plan.get("data", {}).get("target_datasets") or []
        ids = {d["id"] for d in f["datasets"]}
        f["targets"] = [d["id"] for d in f["datasets"] if d["target_fy"] == fiscal_year]
        f["targets"] += [i for i in planned if i in ids and i not in f["targets"]]
        f["previous_targets"] = [d["id"] for d in f["datasets"]
                                 if d["target_fy"] == fiscal_year - 1]
        f["_signature"] = (
            tuple((d["id"], d["_version"], periods[d["id"]].version) for d in f["datasets"]),
            tuple(win["months"]), win["judged"], f["as_of"], f["count_late_as_on_time"],
            repr(f["governance"]), repr(f["stakeholders"]), repr(f["evidence"]),
            f["last_update"])
    return facts


def decision_quarter(after: Any, at: dt.datetime, fiscal_year: int) -> int:
    """The quarter a step decision applies to: the one it names, else the
    quarter it was made in (Bangkok time; before the year: Q1, after: Q4)."""
    quarter = (after or {}).get("quarter") if isinstance(after, dict) else None
    if quarter in (1, 2, 3, 4):
        return int(quarter)
    return current_quarter(fiscal_year, fiscal.local_date(at))


def decisions(org_ids: Sequence[str], fiscal_year: int) -> dict[str, dict[str, Any]]:
    """Evaluators' step decisions per organization and step, oldest first,
    each with the quarter it applies to: ``{org id: {step id: [{...}]}}``
    (``checks.step_decision`` picks the one that applies)."""
    v = verification_table
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    if not org_ids:
        return out
    rows = model.Session.execute(sa.select(v).where(
        v.c.object_type == "step", v.c.owner_org.in_(list(org_ids)),
        v.c.fiscal_year == fiscal_year).order_by(v.c.at, v.c.id))
    users = {}
    for r in rows:
        step = r.object_id.rsplit(":", 1)[-1]
        if r.user_id and r.user_id not in users:
            u = model.User.get(r.user_id)
            users[r.user_id] = (u.fullname or u.name) if u else r.user_id
        out[r.owner_org].setdefault(step, []).append({
            "decision": r.decision, "comment": r.comment, "user": users.get(r.user_id),
            "at": r.at.isoformat(), "id": r.id,
            "quarter": decision_quarter(r.after, r.at, fiscal_year)})
    return out


# ------------------------------------------------------------------ scoring


def score_facts(r: rubric_mod.Rubric, facts: Mapping[str, Any],
                decided: Optional[Mapping[str, Any]] = None,
                weight: Optional[float] = None) -> dict[str, Any]:
    """Run the rubric's checks on one organization's facts and score it.

    A step's status is the evaluator's latest decision for the quarter
    scored (``decided``: step id → decisions oldest first, see
    :func:`decisions`) where there is one, else the computed status; a step
    that needs verification and has no decision for the quarter makes the
    score provisional."""
    decided = decided or {}
    quarter = facts.get("quarter") or facts.get("judged_quarter")
    runs = checks_mod.run_rubric(r, facts)
    results: dict[str, bool] = {}
    steps = []
    provisional = False
    for step in r.steps:
        run = runs[step.id]
        met, dec = checks_mod.step_status(run, decided.get(step.id) or [], quarter)
        if step.requires_verification and dec is None:
            provisional = True
        results[step.id] = met
        steps.append({"id": step.id, "title_th": step.title_th, "title_en": step.title_en,
                      "share": step.share, "part": step.part,
                      "requires_verification": step.requires_verification,
                      "computed_met": run["met"], "progress": run["progress"],
                      "verification": dict(dec) if dec else None, "met": met,
                      "checks": run["checks"]})
    score = rubric_mod.evaluate(r, results, weight)
    index = {d["id"]: d for d in facts.get("datasets") or []}
    refs = {}
    for run in runs.values():
        for c in run["checks"]:
            for a in c["actions"]:
                for pid in a.get("datasets", []):
                    d = index.get(pid)
                    if d is not None:
                        refs[pid] = {"id": pid, "name": d["name"], "title": d["title"],
                                     "private": d["private"]}
    earned = {s.id: s.earned for s in score.steps}
    for s in steps:
        s["earned"] = rubric_mod._round(earned.get(s["id"], 0.0), r.rounding)
    return {
        "fiscal_year": facts["fiscal_year"], "quarter": facts.get("quarter"),
        "as_of": facts.get("as_of"),
        "rubric": {"id": r.id, "version": r.version, "title_th": r.title_th,
                   "title_en": r.title_en},
        "performance": score.performance, "level": score.level, "points": score.points,
        "weight": score.weight, "weighted_score": score.weighted_score,
        "basis": score.basis, "provisional": provisional,
        "parts": [p.__dict__.copy() for p in score.parts],
        "steps": steps, "targets": list(facts.get("targets") or []),
        "datasets": len(facts.get("datasets") or []),
        "public_datasets": sum(1 for d in facts.get("datasets") or []
                               if not d.get("private")),
        "compliance_rate": facts.get("compliance_rate"),
        "last_update": facts.get("last_update"),
        "public_last_update": facts.get("public_last_update"),
        "dataset_refs": refs,
        "target_refs": [{"id": i, "name": index[i]["name"], "title": index[i]["title"],
                         "private": index[i]["private"]}
                        for i in facts.get("targets") or [] if i in index],
    }


def _weight() -> Optional[float]:
    raw = tk.config.get("ckanext.kpigov.kpi_weight")
    if raw in (None, ""):
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def score_orgs(orgs: Sequence[model.Group], fiscal_year: int,
               quarter: Optional[int] = None, rubric_id: Optional[str] = None,
               today: Optional[dt.date] = None,
               weight: Optional[float] = None) -> dict[str, dict[str, Any]]:
    """Raw score of each organization (org id → result), in one bulk pass."""
    r = resolve_rubric(fiscal_year, rubric_id)
    ids = [o.id for o in orgs]
    facts = gather(ids, fiscal_year, quarter, today)
    decided = decisions(ids, fiscal_year)
    w = weight if weight is not None else _weight()
    out = {}
    _trim(_score_memo)
    for org in orgs:
        key = (org.id, fiscal_year, quarter, r.id, r.version, w)
        signature = (facts[org.id]["_signature"], repr(decided.get(org.id)),
                     org.name, org.title)
        memo = _score_memo.get(key)
        if memo is not None and memo[0] == signature:
            res = dict(memo[1])  # results are never changed in place
        else:
            res = score_facts(r, facts[org.id], decided.get(org.id), w)
            res["organization"] = {"id": org.id, "name": org.name, "title": org.title}
            _score_memo[key] = (signature, res)
            res = dict(res)
        out[org.id] = res
    return out


# -------------------------------------------------------------- presenting


def action_text(action: Mapping[str, Any], lang: str) -> str:
    singular, plural = checks_mod.MESSAGES[action["code"]]
    n = int(action.get("n") or 1)
    # two plain messages, not a plural entry: Thai has one form, English two
    text = tk._(singular if n == 1 else plural)
    fields: dict[str, Any] = {"n": n}
    if "months" in action:
        fields["months"] = ", ".join(
            fiscal.format_month(int(m[:4]), int(m[5:7]), lang) for m in action["months"])
    if "fields" in action:
        labels = {name: (th if lang.startswith("th") else en)
                  for name, th, en in completeness.CATALOG_FIELDS}
        fields["fields"] = ", ".join(labels.get(f, f) for f in action["fields"])
    try:
        return text.format(**fields)
    except (KeyError, IndexError, ValueError):
        return text


# check units whose done/total count datasets (or their columns, records,
# months), private ones included: the public summary shows met and progress
_PRIVATE_COUNT_UNITS = ("datasets", "columns", "records", "months")


def present(result: Mapping[str, Any], level: str, lang: str = "en") -> dict[str, Any]:
    """What a viewer sees of a raw result.

    ``level`` "full" (members of the organization and evaluators: everything,
    private datasets included) or "summary" (the public, when
    ``ckanext.kpigov.public_kpi_summary`` is on: statuses, progress counts
    and scores; evidence only on public datasets; no next actions, documents
    or people)."""
    full = level == "full"
    out = {k: v for k, v in result.items()
           if k not in ("steps", "dataset_refs", "public_datasets", "public_last_update")}
    if not full:
        # counts and dates that include private datasets stay with the members
        out["datasets"] = result.get("public_datasets", 0)
        out["last_update"] = result.get("public_last_update")
    out["visibility"] = level
    th = lang.startswith("th")
    out["rubric"] = dict(result["rubric"], title=result["rubric"]["title_th" if th
                                                                else "title_en"])
    names = result.get("dataset_refs") or {}
    org_name = (result.get("organization") or {}).get("name", "")
    steps = []
    for s in result["steps"]:
        step = {k: v for k, v in s.items() if k != "checks"}
        step["title"] = s["title_th"] if th else s["title_en"]
        if not full and step.get("verification"):
            step["verification"] = {"decision": s["verification"]["decision"],
                                    "at": s["verification"]["at"]}
        cks = []
        for c in s["checks"]:
            item = {k: v for k, v in c.items() if k not in ("evidence", "actions")}
            if not full and c.get("unit") in _PRIVATE_COUNT_UNITS:
                item.update(done=None, total=None)
            if full:
                item["evidence"] = [_linked(e, org_name) for e in c["evidence"]]
                acts = []
                for a in c["actions"]:
                    act = dict(a, text=action_text(a, lang))
                    act["items"] = [names[i] for i in a.get("datasets", []) if i in names]
                    acts.append(act)
                item["actions"] = acts
            else:
                item["evidence"] = [e for e in c["evidence"]
                                    if e.get("kind") in ("dataset", "ledger", "evidence")
                                    and not e.get("private")
                                    and e.get("kind") != "evidence"]
                item["actions"] = []
            cks.append(item)
        step["checks"] = cks
        steps.append(step)
    out["steps"] = steps
    if not full:
        out["target_refs"] = [t for t in result.get("target_refs") or []
                              if not t.get("private")]
        out["targets"] = [t["id"] for t in out["target_refs"]]
    return out


def _linked(item: Mapping[str, Any], org_name: str) -> dict[str, Any]:
    """Documents stored by the governance pages are served from there."""
    out = dict(item)
    url = out.get("url")
    if url and not str(url).startswith(("http://", "https://", "/")) and \
            out.get("kind") in ("governance", "evidence"):
        out["url"] = "/organization/%s/governance/document/%s/%s" % (
            org_name, out["kind"], out["id"])
    return out


# -------------------------------------------------------------- snapshots


def snapshot(orgs: Sequence[model.Group], fiscal_year: int, quarter: int,
             rubric_id: Optional[str] = None, today: Optional[dt.date] = None
             ) -> dict[str, dict[str, Any]]:
    """Freeze the quarter's score of each organization.

    One transaction for all: an upsert per organization on (org, year,
    quarter), so recomputing is idempotent and a job killed half-way leaves
    the previous snapshots as they were. Older quarters and years are kept:
    they are the history trends read."""
    if quarter not in (1, 2, 3, 4):
        raise ScoreInputError("quarter", tk._("Quarter must be 1, 2, 3 or 4"))
    results = score_orgs(orgs, fiscal_year, quarter, rubric_id, today)
    now = dt.datetime.utcnow()
    try:
        for oid, res in results.items():
            stmt = pg_insert(snapshot_table).values(
                id=_uuid(), owner_org=oid,
                fiscal_year=fiscal_year, quarter=quarter,
                rubric_id=res["rubric"]["id"], rubric_version=res["rubric"]["version"],
                computed_at=now, result=json.loads(json.dumps(res, default=str)))
            stmt = stmt.on_conflict_do_update(
                constraint="kpigov_snapshot_org_fy_q_key",
                set_={"rubric_id": stmt.excluded.rubric_id,
                      "rubric_version": stmt.excluded.rubric_version,
                      "computed_at": stmt.excluded.computed_at,
                      "result": stmt.excluded.result})
            model.Session.execute(stmt)
        model.Session.commit()
    except Exception:
        model.Session.rollback()
        raise
    return results


def _uuid() -> str:
    import uuid
    return str(uuid.uuid4())


def snapshots(org_ids: Iterable[str], keys: Iterable[tuple[int, int]]
              ) -> dict[tuple[str, int, int], dict[str, Any]]:
    """Stored snapshots: (org id, fiscal year, quarter) → summary."""
    org_ids, keys = list(org_ids), list(keys)
    if not org_ids or not keys:
        return {}
    t = snapshot_table
    cond = sa.or_(*[sa.and_(t.c.fiscal_year == fy, t.c.quarter == q) for fy, q in keys])
    rows = model.Session.execute(sa.select(
        t.c.owner_org, t.c.fiscal_year, t.c.quarter, t.c.rubric_id, t.c.rubric_version,
        t.c.computed_at,
        t.c.result["performance"].label("performance"),
        t.c.result["weighted_score"].label("weighted_score"),
        t.c.result["points"].label("points"),
        t.c.result["level"].label("level"))
        .where(t.c.owner_org.in_(org_ids), cond))
    return {(r.owner_org, r.fiscal_year, r.quarter): {
        "fiscal_year": r.fiscal_year, "quarter": r.quarter, "rubric_id": r.rubric_id,
        "rubric_version": r.rubric_version, "computed_at": r.computed_at.isoformat(),
        "performance": r.performance, "weighted_score": r.weighted_score,
        "points": r.points, "level": r.level, "source": "snapshot"} for r in rows}


def _previous_keys(fiscal_year: int, quarter: int) -> tuple[tuple[int, int], tuple[int, int]]:
    prev_q = (fiscal_year, quarter - 1) if quarter > 1 else (fiscal_year - 1, 4)
    return prev_q, (fiscal_year - 1, quarter)


def current_quarter(fiscal_year: int, today: Optional[dt.date] = None) -> int:
    today = today or fiscal.bangkok_today()
    start, end = fiscal.fiscal_year_bounds(fiscal_year)
    if today > end:
        return 4
    if today < start:
        return 1
    return fiscal.quarter_of(today)


def trend(org: model.Group, result: Mapping[str, Any], today: Optional[dt.date] = None,
          live: bool = True) -> dict[str, Any]:
    """The score against the previous quarter and the same quarter last year:
    from snapshots, else (``live``) recomputed for this organization."""
    fy = result["fiscal_year"]
    quarter = result.get("quarter") or current_quarter(fy, today)
    prev_q, prev_y = _previous_keys(fy, quarter)
    stored = snapshots([org.id], [prev_q, prev_y])
    out: dict[str, Any] = {"quarter": quarter}
    for name, (y, q) in (("previous_quarter", prev_q), ("previous_year", prev_y)):
        snap = stored.get((org.id, y, q))
        if snap is None and live and y >= fiscal.MIN_FISCAL_YEAR:
            try:
                res = score_orgs([org], y, q, None, today)[org.id]
                snap = {"fiscal_year": y, "quarter": q, "performance": res["performance"],
                        "weighted_score": res["weighted_score"], "points": res["points"],
                        "level": res["level"], "rubric_id": res["rubric"]["id"],
                        "source": "live"}
            except (ScoreInputError, ValueError):
                snap = None
        if snap is not None:
            snap = dict(snap, delta=None if snap.get("performance") is None else
                        round(float(result["performance"]) - float(snap["performance"]), 3))
        out[name] = snap
    return out


# --------------------------------------------------------------- agencies


def agency_kinds(org_ids: Sequence[str]) -> dict[str, Optional[str]]:
    """Department vs district office: the organization field named by
    ``ckanext.kpigov.agency_kind_field``, else its ckanext-hierarchy parent's
    name (a "parent" group membership), else None."""
    field = tk.config.get("ckanext.kpigov.agency_kind_field") or "kpigov_agency_kind"
    out: dict[str, Optional[str]] = {i: None for i in org_ids}
    if not org_ids:
        return out
    for gid, value in compat.group_extra_values(org_ids, field).items():
        out[gid] = value or None
    missing = [i for i, v in out.items() if v is None]
    if missing:
        m, g = model.member_table, model.group_table
        rows = model.Session.execute(
            sa.select(m.c.table_id, g.c.name)
            .join(g, g.c.id == m.c.group_id)
            .where(m.c.table_name == "group", m.c.capacity == "parent",
                   m.c.state == "active", m.c.table_id.in_(missing)))
        for child, parent in rows:
            out[child] = parent
    return out
