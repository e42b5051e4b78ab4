"""Load engine inputs from the portal in bulk and run the pure engines.

Thin glue between CKAN's tables and the pure modules (cadence, compliance,
fiscal). Queries are per organization, not per dataset, so a Compliance tab
or a score for 127 organizations costs a handful of queries.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Optional

import sqlalchemy as sa

import ckan.model as model
import ckan.plugins.toolkit as tk

from .. import cadence as cadence_mod
from .. import compat
from .. import compliance as engine
from .. import fiscal
from .. import life
from ..life import dataset_life_table
from ..model import cadence_history_table, exemption_table, ledger_table

__all__ = ["DatasetInfo", "org_datasets", "compliance_for", "settings",
           "freshness_of", "last_updates", "cadence_or_none"]


@dataclass
class DatasetInfo:
    id: str
    name: str
    title: str
    owner_org: Optional[str]
    private: bool
    created: dt.datetime
    unit: Optional[str]
    interval: Optional[str]
    state: str = "active"
    retired: Optional[dt.datetime] = None  # when it was deleted
    predecessors: tuple[str, ...] = ()  # deleted datasets it continues


def settings() -> dict[str, Any]:
    overrides = tk.config.get("ckanext.kpigov.freshness_thresholds") or ""
    thresholds = None
    if overrides:
        try:
            thresholds = {k: tuple(v) for k, v in json.loads(overrides).items()}
        except (ValueError, TypeError, AttributeError):
            thresholds = None
    return {
        "grace_days": tk.config.get("ckanext.kpigov.grace_days"),
        "count_late_as_on_time": tk.config.get("ckanext.kpigov.count_late_as_on_time"),
        "count_corrections": tk.config.get("ckanext.kpigov.count_corrections"),
        "thresholds": thresholds,
    }


_CADENCE_KEYS = ("update_frequency_unit", "update_frequency_interval")


def counted_condition(p: Any, fiscal_year: Optional[int] = None) -> Any:
    """SQL: the dataset counts for the organization (in ``fiscal_year``).

    Active datasets; drafts that were once active (hiding erases nothing);
    deleted ones that were active in the year (all years without one); never
    a deleted dataset that a re-created one continues."""
    lf = dataset_life_table
    was_active = sa.exists().where(lf.c.package_id == p.c.id,
                                   lf.c.first_active.isnot(None))
    deleted = p.c.state == "deleted"
    if fiscal_year is not None:
        start = dt.datetime.combine(fiscal.fiscal_year_bounds(fiscal_year)[0],
                                    dt.time()) - dt.timedelta(hours=7)
        was_active = sa.exists().where(
            lf.c.package_id == p.c.id, lf.c.first_active.isnot(None),
            sa.or_(~deleted, lf.c.retired_at.is_(None), lf.c.retired_at >= start))
    continued = sa.exists().where(lf.c.predecessor_id == p.c.id)
    return sa.and_(p.c.type == "dataset", ~continued, sa.or_(
        p.c.state == "active", sa.and_(p.c.state.in_(["draft", "deleted"]), was_active)))


def org_datasets(org_id: Optional[str] = None, include_private: bool = True,
                 ids: Optional[Iterable[str]] = None,
                 fiscal_year: Optional[int] = None) -> list[DatasetInfo]:
    """Active datasets of one organization (or the given ids), with cadence,
    in title order: one query (the cadence extras are joined, not loaded
    per dataset).

    With ``fiscal_year`` (compliance of that year), also the datasets that owe
    periods in it though they are now draft or deleted (see :mod:`..life`) —
    for those who may see private data; the public sees active datasets."""
    p = model.package_table
    if fiscal_year is not None and include_private:
        conds = [counted_condition(p, fiscal_year)]
    else:
        conds = [p.c.state == "active", p.c.type == "dataset"]
    if org_id is not None:
        conds.append(p.c.owner_org == org_id)
    if ids is not None:
        conds.append(p.c.id.in_(list(ids)))
    if not include_private:
        conds.append(p.c.private == sa.false())
    q = (sa.select(p.c.id, p.c.name, p.c.title, p.c.owner_org, p.c.private,
                   p.c.metadata_created, *(compat.extra_column(k) for k in _CADENCE_KEYS),
                   p.c.state)
         .where(*conds).order_by(p.c.title, p.c.name))
    out = [DatasetInfo(r[0], r[1], r[2] or r[1], r[3], bool(r[4]), r[5],
                       r[6] or None, r[7] or None, r[8])
           for r in model.Session.execute(q)]
    return with_life(out)


def with_life(datasets: list[DatasetInfo]) -> list[DatasetInfo]:
    """Fill in when each dataset was deleted and which deleted ones it continues."""
    rows = life.lives([d.id for d in datasets])
    for d in datasets:
        row = rows.get(d.id)
        if row is None:
            continue
        if d.state == "deleted":
            d.retired = row.retired_at
        if row.predecessor_id:
            d.predecessors = tuple(life.chain(d.id, rows))
    return datasets


def cadence_or_none(unit: Optional[str], interval: Any) -> Optional[cadence_mod.Cadence]:
    if not unit:
        return None
    try:
        return cadence_mod.parse_cadence(unit, interval)
    except ValueError:
        return None


def _histories(datasets: list[DatasetInfo]) -> dict[str, list[tuple[dt.datetime, Any]]]:
    ids = [d.id for d in datasets]
    rows = model.Session.execute(
        sa.select(cadence_history_table.c.package_id, cadence_history_table.c.changed,
                  cadence_history_table.c.unit_to, cadence_history_table.c.interval_to)
        .where(cadence_history_table.c.package_id.in_(ids))
        .order_by(cadence_history_table.c.changed)).fetchall() if ids else []
    hist: dict[str, list[tuple[dt.datetime, Any]]] = defaultdict(list)
    for pid, changed, unit, interval in rows:
        hist[pid].append((changed, cadence_or_none(unit, interval)))
    for d in datasets:
        if not hist.get(d.id):
            # Installed on existing data: the current cadence, since creation.
            hist[d.id] = [(d.created, cadence_or_none(d.unit, d.interval))]
        elif hist[d.id][0][0] > d.created:
            # the first logged value was in force since creation
            hist[d.id][0] = (d.created, hist[d.id][0][1])
    return hist


def _flush_pending() -> None:
    """Write pending changes (and so their ledger entries, made at flush)
    before reading the ledger: SQLAlchemy 2 (CKAN 2.12) does not autoflush
    before a Core select, so a change made with ``defer_commit`` in the same
    transaction would not be seen yet."""
    if model.Session.new or model.Session.dirty or model.Session.deleted:
        model.Session.flush()


def _entries(ids: list[str], since: Optional[dt.datetime] = None
             ) -> dict[str, list[engine.LedgerEntry]]:
    if not ids:
        return {}
    _flush_pending()
    q = sa.select(ledger_table.c.package_id, ledger_table.c.id,
                  ledger_table.c.created, ledger_table.c.nature).where(
        ledger_table.c.package_id.in_(ids),
        # an entry of a resource deleted within its period never counts
        ledger_table.c.withdrawn.is_(None))
    if since is not None:
        q = q.where(ledger_table.c.created >= since)
    out: dict[str, list[engine.LedgerEntry]] = defaultdict(list)
    for pid, eid, created, nature in model.Session.execute(q):
        out[pid].append(engine.LedgerEntry(eid, created, nature))
    return out


def _exemptions(ids: list[str]) -> dict[str, list[engine.Exemption]]:
    if not ids:
        return {}
    rows = model.Session.execute(sa.select(exemption_table).where(
        exemption_table.c.package_id.in_(ids),
        exemption_table.c.status == "approved")).fetchall()
    out: dict[str, list[engine.Exemption]] = defaultdict(list)
    for r in rows:
        out[r.package_id].append(engine.Exemption(
            r.period_start, r.period_end, r.expires_at, r.id))
    return out


def compliance_for(datasets: list[DatasetInfo], fiscal_year: int,
                   today: Optional[dt.date] = None) -> dict[str, engine.ComplianceResult]:
    """Compliance of each dataset over one fiscal year."""
    today = today or fiscal.bangkok_today()
    cfg = settings()
    # the previous year is judged too (an entry in September's grace days
    # counts once): load its entries
    previous, _end = fiscal.fiscal_year_bounds(fiscal_year - 1)
    # a re-created dataset continues the history of the deleted one(s)
    olds = sorted({o for d in datasets for o in d.predecessors})
    ids = [d.id for d in datasets] + olds
    entries = _entries(ids, dt.datetime.combine(previous, dt.time()) - dt.timedelta(days=1))
    hist = _histories(datasets)
    exemptions = _exemptions(ids)
    created_of: dict[str, dt.datetime] = {}
    if olds:
        p = model.package_table
        created_of = dict(model.Session.execute(
            sa.select(p.c.id, p.c.metadata_created).where(p.c.id.in_(olds))).fetchall())
        old_hist = _histories([DatasetInfo(o, "", "", None, False, created_of[o], None, None)
                               for o in olds if o in created_of])
    out = {}
    for d in datasets:
        mine = entries.get(d.id, [])
        history = hist[d.id]
        created = d.created
        excused = exemptions.get(d.id, [])
        for old in d.predecessors:
            if old not in created_of:
                continue
            mine = mine + entries.get(old, [])
            excused = excused + exemptions.get(old, [])
            # the deleted dataset's cadence up to the new one's creation
            history = [h for h in old_hist.get(old, []) if h[0] < created] + history
            created = min(created, created_of[old])
        out[d.id] = engine.evaluate_fiscal_year(
            mine, history, fiscal_year, today=today,
            created=fiscal.local_date(created), retired=d.retired, exemptions=excused,
            grace_days=cfg["grace_days"], count_corrections=cfg["count_corrections"],
            count_late_as_on_time=cfg["count_late_as_on_time"])
    return out


def last_updates(ids: list[str]) -> dict[str, dt.datetime]:
    """The latest new-data ledger entry per dataset."""
    if not ids:
        return {}
    _flush_pending()
    rows = model.Session.execute(
        sa.select(ledger_table.c.package_id, sa.func.max(ledger_table.c.created))
        .where(ledger_table.c.package_id.in_(ids),
               ledger_table.c.nature == "new_data",
               ledger_table.c.withdrawn.is_(None))
        .group_by(ledger_table.c.package_id)).fetchall()
    return {pid: when for pid, when in rows}


def freshness_of(unit: Optional[str], interval: Any,
                 last_update: Optional[dt.datetime],
                 now: Optional[dt.datetime] = None,
                 thresholds: Any = False) -> str:
    cad = cadence_or_none(unit, interval)
    now = now or dt.datetime.now(dt.timezone.utc)
    if thresholds is False:
        thresholds = settings()["thresholds"]
    return cadence_mod.freshness(cad, last_update, now, thresholds)
