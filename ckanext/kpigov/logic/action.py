"""Actions: validate, check access once, call the engine or the model, return a dict."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Optional

import sqlalchemy as sa

import ckan.model as model
import ckan.plugins.toolkit as tk

from .. import fiscal
from ..compliance import PeriodStatus
from ..model import (EXEMPTION_REASONS, exemption_log_table, exemption_table,
                     ledger_table)
from . import data
from .validators import cadence_readable
from .auth import can_see_dataset, is_evaluator, may_see_private

__all__ = [
    "kpigov_dataset_compliance", "kpigov_org_compliance", "kpigov_ledger_list",
    "kpigov_exemption_create", "kpigov_exemption_list", "kpigov_exemption_decide",
]

MAX_LIST = 1000
log = logging.getLogger(__name__)


def _error(field: str, message: str) -> tk.ValidationError:
    return tk.ValidationError({field: [message]})


def _fiscal_year(data_dict: dict[str, Any], required: bool = False) -> int:
    raw = data_dict.get("fiscal_year")
    if raw in (None, ""):
        if required:
            raise _error("fiscal_year", tk._("Missing value"))
        return fiscal.current_fiscal_year()
    try:
        return fiscal.validate_fiscal_year(raw)
    except (ValueError, TypeError):
        raise _error("fiscal_year", tk._(
            "Fiscal year must be a Buddhist Era year from 2550 to next year, "
            "e.g. {example}").format(example=fiscal.current_fiscal_year()))


def _int(data_dict: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    raw = data_dict.get(key, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise _error(key, tk._("Must be a whole number"))
    if not low <= value <= high:
        raise _error(key, tk._("Must be between {low} and {high}").format(
            low=low, high=high))
    return value


def _date(data_dict: dict[str, Any], key: str, required: bool = True) -> Optional[dt.date]:
    raw = data_dict.get(key)
    if raw in (None, ""):
        if required:
            raise _error(key, tk._("Missing value"))
        return None
    if isinstance(raw, dt.date):
        return raw
    try:
        return fiscal.parse_date(str(raw))
    except (ValueError, TypeError):
        raise _error(key, tk._("Not a valid date (YYYY-MM-DD, C.E. or B.E.)"))


def _text(data_dict: dict[str, Any], key: str, limit: int, required: bool = False) -> str:
    raw = data_dict.get(key)
    if raw in (None, ""):
        if required:
            raise _error(key, tk._("Missing value"))
        return ""
    if not isinstance(raw, str):
        raise _error(key, tk._("Must be text"))
    if len(raw) > limit:
        raise _error(key, tk._("Must be at most {max} characters long").format(max=limit))
    if any(ord(c) < 32 and c not in "\n\r\t" for c in raw):
        raise _error(key, tk._("Must not contain control characters"))
    return raw


# --- closed fiscal years --------------------------------------------------

def close_days() -> int:
    """``ckanext.kpigov.evaluation_close``: days after 30 September when a
    fiscal year's evaluation closes."""
    try:
        return max(0, int(tk.config.get("ckanext.kpigov.evaluation_close", 15)))
    except (TypeError, ValueError):
        return 15


def year_closed(fy: int, today: Optional[dt.date] = None) -> bool:
    """Whether fiscal year ``fy``'s evaluation has closed."""
    today = today or fiscal.bangkok_today()
    return today > fiscal.evaluation_close_date(fy, close_days())


def closed_error(field: str, fy: int) -> tk.ValidationError:
    closed = fiscal.evaluation_close_date(fy, close_days())
    return _error(field, tk._(
        "Fiscal year {fy} is closed: its evaluation ended on {date}. Only evaluators "
        "may change its records").format(fy=fy, date=closed.isoformat()))


def refuse_closed(context: dict[str, Any], fy: int, field: str = "fiscal_year") -> None:
    """A closed year's records are read-only for publishers; evaluators and
    sysadmins may still change them (logged, and the records keep who did)."""
    if not year_closed(fy):
        return
    user = context.get("user") or ""
    if is_evaluator(user) or (context.get("ignore_auth") and not user):
        log.info("kpigov: %s changes a record of closed fiscal year %s", user or "site", fy)
        return
    raise closed_error(field, fy)


def _package(ref: Any, context: Optional[dict[str, Any]] = None) -> model.Package:
    """The dataset ``ref`` names. With ``context``: a private dataset the
    user may not see is "not found", exactly as an unknown one (no oracle)."""
    if not ref or not isinstance(ref, str):
        raise _error("id", tk._("Missing value"))
    pkg = model.Package.get(ref)
    if pkg is not None and context is not None and (
            pkg.private or pkg.state != "active") and \
            not context.get("ignore_auth") and not can_see_dataset(
                {"user": context.get("user") or ""}, pkg.id):
        pkg = None
    if pkg is None or pkg.state == "deleted":
        raise tk.ObjectNotFound(tk._("Dataset not found"))
    return pkg


def _period_dict(p: PeriodStatus) -> dict[str, Any]:
    return {
        "key": p.key, "start": p.start.isoformat(), "end": p.end.isoformat(),
        "deadline": p.deadline.isoformat() if p.deadline else None,
        "status": p.status, "cadence": p.cadence.key if p.cadence else None,
        "fiscal_year": p.fiscal_year, "quarter": p.quarter,
        "ledger_entries": list(p.entry_ids), "exemption_id": p.exemption_id,
    }


@tk.side_effect_free
def kpigov_dataset_compliance(context: dict[str, Any], data_dict: dict[str, Any]):
    """Compliance of one dataset with its update cadence over a fiscal year.

    :param id: the id or name of the dataset
    :type id: string
    :param fiscal_year: Buddhist Era fiscal year (Oct-Sep), e.g. 2568;
        default the current one
    :type fiscal_year: int

    :returns: the periods with their status (on_time, late, missed,
        upcoming, exempt, not_required), the ledger entries that decided
        each, the tally and the compliance rate
    :rtype: dictionary
    """
    pkg = _package(data_dict.get("id"), context)
    tk.check_access("kpigov_dataset_compliance", context, {"id": pkg.id})
    fy = _fiscal_year(data_dict)
    info = data.org_datasets(ids=[pkg.id], fiscal_year=fy)
    if not info:
        raise tk.ObjectNotFound(tk._("Dataset not found"))
    result = data.compliance_for(info, fy)[pkg.id]
    tally = result.tally()
    last = data.last_updates([pkg.id]).get(pkg.id)
    return {
        "id": pkg.id, "name": pkg.name, "fiscal_year": fy,
        "cadence": {"unit": info[0].unit, "interval": info[0].interval},
        "periods": [_period_dict(p) for p in result.periods],
        "tally": tally.as_dict(), "rate": tally.rate,
        "last_update": last.isoformat() if last else None,
        "freshness": data.freshness_of(info[0].unit, info[0].interval, last),
    }


@tk.side_effect_free
def kpigov_org_compliance(context: dict[str, Any], data_dict: dict[str, Any]):
    """Compliance of an organization's datasets per month of a fiscal year.

    Private datasets are included only for members of the organization and
    for evaluators.

    :param id: the id or name of the organization
    :type id: string
    :param fiscal_year: Buddhist Era fiscal year, default the current one
    :type fiscal_year: int
    :param quarter: limit to one quarter (1-4; Q1 = Oct-Dec)
    :type quarter: int

    :returns: months, per-dataset month cells and rates, per-month rates,
        the overall rate, and the lists of what is overdue and due soon
    :rtype: dictionary
    """
    ref = data_dict.get("id")
    org = model.Group.get(ref) if isinstance(ref, str) and ref else None
    if org is None or not org.is_organization or org.state != "active":
        raise tk.ObjectNotFound(tk._("Organization not found"))
    tk.check_access("kpigov_org_compliance", context, {"id": org.id})
    fy = _fiscal_year(data_dict)
    quarter = data_dict.get("quarter")
    if quarter not in (None, ""):
        quarter = _int(data_dict, "quarter", 1, 1, 4)
    else:
        quarter = None
    return org_compliance(org, fy, quarter, context.get("user") or "")


# Per-process memo of organizations' compliance (without freshness, which
# moves with the clock): reused while the organization's datasets, their
# ledger stamps, cadence history, exemptions and the settings are unchanged.
_ORG_MEMO: dict[tuple[Any, ...], tuple[Any, dict[str, Any]]] = {}
_ORG_MEMO_LIMIT = 2000


def org_compliance(org: model.Group, fy: int, quarter: Optional[int],
                   user: str, today: Optional[dt.date] = None) -> dict[str, Any]:
    """The Compliance tab and ``kpigov_org_compliance``: per dataset and
    per month, rates, what is due soon and what is overdue."""
    from ..scoring import _LEDGER_STAMPS, _OTHER_STAMPS
    today = today or fiscal.bangkok_today()
    include_private = may_see_private(user, org.id)
    datasets = data.org_datasets(org.id, include_private=include_private, fiscal_year=fy)
    stamps = {r[0]: tuple(r[1:]) for r in model.Session.execute(
        _LEDGER_STAMPS, {"orgs": [org.id]})}
    other = sorted(tuple(r) for r in model.Session.execute(_OTHER_STAMPS, {"orgs": [org.id]}))
    remind_days = tk.config.get("ckanext.kpigov.remind_days")
    count_late = bool(tk.config.get("ckanext.kpigov.count_late_as_on_time"))
    settings = data.settings()
    key = (org.id, org.name, org.title, fy, quarter, today, include_private)
    stamp = ([tuple(vars(d).values()) for d in datasets],
             [stamps.get(d.id) for d in datasets], other,
             repr(sorted(settings.items())), remind_days, count_late)
    memo = _ORG_MEMO.get(key)
    if memo is None or memo[0] != stamp:
        if len(_ORG_MEMO) >= _ORG_MEMO_LIMIT:
            _ORG_MEMO.clear()
        memo = _ORG_MEMO[key] = (stamp, _org_compliance(
            org, datasets, fy, quarter, today, remind_days, count_late))
    result = dict(memo[1])
    # freshness is judged now, from the latest new data in the ledger
    thresholds = settings["thresholds"]
    rows = []
    for row in result["datasets"]:
        when = (stamps.get(row["id"]) or (None, None, None))[2]
        rows.append(dict(row, last_update=when.isoformat() if when else None,
                         freshness=data.freshness_of(row["cadence"], row["interval"], when,
                                                     thresholds=thresholds)))
    result["datasets"] = rows
    result["includes_private"] = include_private
    return result


def _org_compliance(org: model.Group, datasets: list[data.DatasetInfo], fy: int,
                    quarter: Optional[int], today: dt.date, remind_days: int,
                    count_late: bool) -> dict[str, Any]:
    from ..compliance import tally as _tally
    results = data.compliance_for(datasets, fy, today)
    months = fiscal.fiscal_months(fy)
    if quarter:
        months = months[(quarter - 1) * 3: quarter * 3]
    month_keys = ["%04d-%02d" % ym for ym in months]
    rows = []
    per_month: dict[str, dict[str, int]] = {k: {"on_time": 0, "late": 0, "missed": 0}
                                            for k in month_keys}
    totals = {"on_time": 0, "late": 0, "missed": 0, "exempt": 0, "upcoming": 0}
    due_soon, overdue = [], []
    for d in datasets:
        res = results[d.id]
        cells = res.worst_by_month()
        row_cells = {}
        for ym, key in zip(months, month_keys):
            status = cells.get(ym, "not_required")
            row_cells[key] = status
            if status in per_month[key]:
                per_month[key][status] += 1
        periods = [p for p in res.periods
                   if not quarter or p.quarter == quarter]
        for p in periods:
            if p.status in totals:
                totals[p.status] += 1
            if p.status == "upcoming" and p.deadline and \
                    0 <= (p.deadline - today).days <= remind_days and p.start <= today:
                due_soon.append({"dataset": d.name, "title": d.title,
                                 "period": p.key, "deadline": p.deadline.isoformat()})
            if p.status == "missed":
                overdue.append({"dataset": d.name, "title": d.title,
                                "period": p.key,
                                "deadline": p.deadline.isoformat() if p.deadline else None})
        t = _tally(periods, count_late)
        rows.append({
            "id": d.id, "name": d.name, "title": d.title, "private": d.private,
            "cadence": d.unit, "interval": d.interval, "months": row_cells,
            "tally": t.as_dict(), "rate": t.rate,
            # draft or deleted datasets keep the periods they owe
            "state": d.state, "continues": list(d.predecessors),
            # a cadence kept as written (thai_gdc free text such as
            # "ทุกวันที่ 15") that kpigov reads as "no fixed cadence"
            "cadence_readable": not d.unit or cadence_readable(d.unit, d.interval),
        })
    month_rates = {}
    current = "%04d-%02d" % (today.year, today.month)
    for key, c in per_month.items():
        due = c["on_time"] + c["late"] + c["missed"]
        # months that have not started have no rate, whatever the cells say
        month_rates[key] = round(c["on_time"] / due, 4) if due and key <= current \
            else None
    due_total = totals["on_time"] + totals["late"] + totals["missed"]
    return {
        "organization": {"id": org.id, "name": org.name, "title": org.title},
        "fiscal_year": fy, "quarter": quarter, "months": month_keys,
        "datasets": rows, "month_rates": month_rates, "totals": totals,
        "rate": round(totals["on_time"] / due_total, 4) if due_total else None,
        "due_soon": sorted(due_soon, key=lambda x: x["deadline"]),
        "overdue": overdue,
    }


@tk.side_effect_free
def kpigov_ledger_list(context: dict[str, Any], data_dict: dict[str, Any]):
    """The data updates recorded for a dataset, newest first.

    Each entry carries the sha256 and size of the content written (uploads
    and DataStore records; ``null`` for links and entries made before
    hashes were recorded), ``withdrawn`` (when its resource was deleted
    within the entry's period; such an entry no longer counts) and
    ``counts`` (it is new data that counts for compliance).

    Who made each change is shown to members of the organization and to
    evaluators only.

    :param id: the id or name of the dataset
    :type id: string
    :param nature: only entries of this nature (new_data, correction, metadata)
    :type nature: string
    :param limit: at most this many entries (default 100, max 1000)
    :type limit: int
    :param offset: skip this many entries
    :type offset: int
    :rtype: dictionary with ``count`` and ``results``
    """
    pkg = _package(data_dict.get("id"), context)
    tk.check_access("kpigov_ledger_list", context, {"id": pkg.id})
    limit = _int(data_dict, "limit", 100, 1, MAX_LIST)
    offset = _int(data_dict, "offset", 0, 0, 10 ** 9)
    nature = data_dict.get("nature")
    if nature not in (None, "", "new_data", "correction", "metadata"):
        raise _error("nature", tk._("Unknown value"))
    data._flush_pending()
    t = ledger_table
    where = [t.c.package_id == pkg.id]
    if nature:
        where.append(t.c.nature == nature)
    count = model.Session.execute(sa.select(sa.func.count()).select_from(t)
                                  .where(*where)).scalar()
    rows = model.Session.execute(sa.select(t).where(*where).order_by(
        t.c.created.desc(), t.c.id).limit(limit).offset(offset)).fetchall()
    user = context.get("user") or ""
    show_users = may_see_private(user, pkg.owner_org)
    names = {}
    if show_users:
        ids = {r.user_id for r in rows if r.user_id}
        if ids:
            names = dict(model.Session.query(model.User.id, model.User.name)
                         .filter(model.User.id.in_(ids)).all())
    results = []
    for r in rows:
        item = {"id": r.id, "resource_id": r.resource_id,
                "created": r.created.isoformat(), "kind": r.kind,
                "nature": r.nature, "source": r.source,
                # what was written: evaluators compare it across entries
                "sha256": r.sha256, "size": r.size,
                "withdrawn": r.withdrawn.isoformat() if r.withdrawn else None,
                "counts": r.nature == "new_data" and r.withdrawn is None}
        if show_users:
            item["user"] = names.get(r.user_id)
        results.append(item)
    return {"count": count, "results": results}


def _exemption_dict(r: Any) -> dict[str, Any]:
    return {
        "id": r.id, "package_id": r.package_id, "owner_org": r.owner_org,
        "period_start": r.period_start.isoformat(), "period_end": r.period_end.isoformat(),
        "reason": r.reason, "note": r.note, "status": r.status,
        "requested_by": r.requested_by,
        "requested_at": r.requested_at.isoformat() if r.requested_at else None,
        "decided_by": r.decided_by,
        "decided_at": r.decided_at.isoformat() if r.decided_at else None,
        "comment": r.comment,
        "expires_at": r.expires_at.isoformat() if r.expires_at else None,
    }


def _user_id(context: dict[str, Any]) -> Optional[str]:
    obj = context.get("auth_user_obj")
    if obj is not None and getattr(obj, "id", None):
        return obj.id  # type: ignore[no-any-return]
    user = model.User.get(context.get("user") or "")
    return user.id if user else None


def _exemption_year_errors(start: dt.date, end: dt.date) -> dict[str, list[str]]:
    """A request's whole range lies in one fiscal year, which is not closed."""
    fy_start, fy_end = fiscal.fiscal_year_of(start), fiscal.fiscal_year_of(end)
    if fy_start != fy_end:
        return {"period_end": [tk._(
            "An exemption must lie within one fiscal year (1 October to 30 September): "
            "ask once for each year")]}
    try:
        fiscal.validate_fiscal_year(fy_start)
    except ValueError:
        return {"period_start": [tk._(
            "The date is outside the fiscal years the portal evaluates")]}
    if year_closed(fy_start):
        return {"period_start": [tk._(
            "These periods belong to a fiscal year that is already closed "
            "and evaluated")]}
    return {}


def kpigov_exemption_create(context: dict[str, Any], data_dict: dict[str, Any]):
    """Ask for a dataset to be exempt from its cadence for some periods.

    The whole range must lie in one fiscal year whose evaluation has not
    closed (``ckanext.kpigov.evaluation_close``).

    :param package_id: the id or name of the dataset
    :type package_id: string
    :param period_start: first day of the first exempt period (YYYY-MM-DD)
    :type period_start: string
    :param period_end: last day of the last exempt period (YYYY-MM-DD)
    :type period_end: string
    :param reason: discontinued, no_new_data, legal_hold, embargo or other
    :type reason: string
    :param note: the publisher's explanation (required for ``other``)
    :type note: string

    :returns: the request, status ``pending``
    :rtype: dictionary
    """
    pkg = _package(data_dict.get("package_id") or data_dict.get("id"), context)
    tk.check_access("kpigov_exemption_create", context, {"id": pkg.id})
    start = _date(data_dict, "period_start")
    end = _date(data_dict, "period_end")
    assert start and end
    errors: dict[str, list[str]] = {}
    if end < start:
        errors["period_end"] = [tk._("The end must not be before the start")]
    if (end - start).days > 366:
        errors["period_end"] = [tk._("An exemption may cover at most one year")]
    reason = data_dict.get("reason")
    if reason not in EXEMPTION_REASONS:
        errors["reason"] = [tk._("Must be one of: {values}").format(
            values=", ".join(EXEMPTION_REASONS))]
    note = _text(data_dict, "note", 2000, required=(reason == "other"))
    if not errors:
        errors.update(_exemption_year_errors(start, end))
    if errors:
        raise tk.ValidationError(errors)
    now = dt.datetime.utcnow()
    new_id = model.types.make_uuid()
    user_id = _user_id(context)
    model.Session.execute(exemption_table.insert().values(
        id=new_id, package_id=pkg.id, owner_org=pkg.owner_org, period_start=start,
        period_end=end, reason=reason, note=note, status="pending",
        requested_by=user_id, requested_at=now))
    model.Session.execute(exemption_log_table.insert().values(
        id=model.types.make_uuid(), exemption_id=new_id, user_id=user_id, at=now,
        action="request", status_before=None, status_after="pending", comment=note))
    model.Session.commit()
    row = model.Session.execute(sa.select(exemption_table).where(
        exemption_table.c.id == new_id)).first()
    return _exemption_dict(row)


@tk.side_effect_free
def kpigov_exemption_list(context: dict[str, Any], data_dict: dict[str, Any]):
    """Exemption requests of a dataset or of an organization.

    :param package_id: the dataset (or)
    :type package_id: string
    :param owner_org: the organization id or name
    :type owner_org: string
    :param status: pending, approved or rejected
    :type status: string
    :returns: list of exemption dictionaries, each with its ``log``
    :rtype: list
    """
    where = []
    org_ref = data_dict.get("owner_org")
    if org_ref:
        org = model.Group.get(org_ref) if isinstance(org_ref, str) else None
        if org is None:
            raise tk.ObjectNotFound(tk._("Organization not found"))
        tk.check_access("kpigov_exemption_list", context, {"owner_org": org.id})
        where.append(exemption_table.c.owner_org == org.id)
    else:
        pkg = _package(data_dict.get("package_id") or data_dict.get("id"), context)
        tk.check_access("kpigov_exemption_list", context, {"package_id": pkg.id})
        where.append(exemption_table.c.package_id == pkg.id)
    status = data_dict.get("status")
    if status:
        if status not in ("pending", "approved", "rejected"):
            raise _error("status", tk._("Unknown value"))
        where.append(exemption_table.c.status == status)
    rows = model.Session.execute(sa.select(exemption_table).where(*where).order_by(
        exemption_table.c.requested_at.desc())).fetchall()
    logs: dict[str, list[dict[str, Any]]] = {}
    if rows:
        for lr in model.Session.execute(sa.select(exemption_log_table).where(
                exemption_log_table.c.exemption_id.in_([r.id for r in rows])).order_by(
                exemption_log_table.c.at)):
            logs.setdefault(lr.exemption_id, []).append({
                "user_id": lr.user_id, "at": lr.at.isoformat(), "action": lr.action,
                "status_before": lr.status_before, "status_after": lr.status_after,
                "comment": lr.comment})
    return [dict(_exemption_dict(r), log=logs.get(r.id, [])) for r in rows]


def kpigov_exemption_decide(context: dict[str, Any], data_dict: dict[str, Any]):
    """Approve or reject an exemption request (evaluators only).

    Refused once the fiscal year of the request has closed.

    :param id: the exemption id
    :type id: string
    :param decision: ``approve`` or ``reject``
    :type decision: string
    :param comment: the evaluator's comment (required to reject)
    :type comment: string
    :param expires_at: date after which an approval no longer applies
    :type expires_at: string

    :returns: the updated exemption
    :rtype: dictionary
    """
    tk.check_access("kpigov_exemption_decide", context, data_dict)
    ref = data_dict.get("id")
    if not isinstance(ref, str) or not ref:
        raise _error("id", tk._("Missing value"))
    decision = data_dict.get("decision")
    if decision not in ("approve", "reject"):
        raise _error("decision", tk._("Must be one of: {values}").format(
            values="approve, reject"))
    comment = _text(data_dict, "comment", 2000, required=(decision == "reject"))
    expires = _date(data_dict, "expires_at", required=False)
    status = "approved" if decision == "approve" else "rejected"
    # Lock the row: two evaluators deciding at once are serialised, and
    # both decisions stay in the log.
    row = model.Session.execute(sa.select(exemption_table).where(
        exemption_table.c.id == ref).with_for_update()).first()
    if row is None:
        raise tk.ObjectNotFound(tk._("Exemption not found"))
    years = {fiscal.fiscal_year_of(row.period_start), fiscal.fiscal_year_of(row.period_end)}
    closed = sorted(fy for fy in years if year_closed(fy))
    if closed:
        model.Session.rollback()
        raise _error("id", tk._(
            "Fiscal year {fy} is closed: its evaluation ended on {date}, and its "
            "exemptions can no longer be decided").format(
            fy=closed[0], date=fiscal.evaluation_close_date(closed[0], close_days())))
    now = dt.datetime.utcnow()
    user_id = _user_id(context)
    model.Session.execute(exemption_table.update().where(
        exemption_table.c.id == ref).values(
        status=status, decided_by=user_id, decided_at=now, comment=comment,
        expires_at=dt.datetime.combine(expires, dt.time()) if expires else None))
    model.Session.execute(exemption_log_table.insert().values(
        id=model.types.make_uuid(), exemption_id=ref, user_id=user_id, at=now,
        action=decision, status_before=row.status, status_after=status,
        comment=comment))
    # Compliance and freshness shown in search depend on exemptions: the
    # document is rewritten in the same transaction, so the decision, its
    # log row and the index are stored together or not at all.
    _reindex(row.package_id)
    model.Session.commit()
    fresh = model.Session.execute(sa.select(exemption_table).where(
        exemption_table.c.id == ref)).first()
    return _exemption_dict(fresh)


def _reindex(package_id: str) -> None:
    """Rewrite the dataset's search document inside the current transaction
    (committed with it); a failure fails the action, nothing is stored."""
    from ckan.lib import search
    search.rebuild(package_id, defer_commit=True)
    from ..search.backend import flush_pending
    flush_pending(model.Session)


# Feature modules keep their actions apart; blanket registers __all__.
from . import governance_actions as _governance_actions  # noqa: E402
from . import score_actions as _score_actions  # noqa: E402

for _module in (_governance_actions, _score_actions):
    for _name in _module.__all__:
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
