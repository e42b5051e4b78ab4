"""KPI checks: pure functions over plain facts (no CKAN import).

``scoring.py`` gathers an organization's portal facts in bulk into a plain dict
(see :data:`FACTS_DOC`); each rubric check type (``rubric.CHECK_TYPES``) has a
function here that reads those facts and the check's parameters from the
rubric and returns a :func:`result`:

``met``        the check passes;
``done/total`` progress in ``unit`` (months, datasets, columns, records, ...),
               e.g. 7 of 9 months; ``progress`` is done/total capped at 1;
``evidence``   what the verdict rests on: datasets, documents, ledger entries,
               evidence records (ids and labels; the CKAN side makes links and
               hides private datasets from viewers without rights);
``actions``    the next concrete things to do, as message codes with numbers
               and items (``MESSAGES`` holds the English text; the CKAN side
               translates).

A step is met when all its checks are met; its progress is the mean of its
checks' progress (for display: the score counts a step as met or not).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .rubric import CHECK_TYPES, Rubric

__all__ = ["CHECKS", "FACTS_DOC", "MESSAGES", "MONTH_OK", "VERIFIABLE", "check",
           "result", "run_rubric", "run_step", "step_decision", "step_status"]

FACTS_DOC = """
facts = {
  "fiscal_year": 2567, "months": ["2023-10", ...]  (months of the year to score),
  "quarter": 1-4 | None (the quarter scored; None: the year to date),
  "judged_quarter": 1-4 (the quarter a year-to-date score is judged in),
  "count_late_as_on_time": False,
  "governance": {"team": record | None, "plan": record | None},
      record = {"id", "status": pending|verified|rejected, "document_url",
                "document_name", "data": {...}}
  "stakeholders": [{"role", "name"}]           (the organization's register),
  "datasets": [{"id", "name", "title", "private", "created": "YYYY-MM-DD" | None,
                "has_owner", "has_steward",
                "completeness": 0..1, "missing": [field], "dict_columns",
                "dict_described", "online", "api", "has_cadence",
                "target_fy": int | None,
                "months": {"2023-10": status}, "entries": {"2023-10": [ids]},
                optional: "month_tally": {late_ok: (ok, due, [missed], [late])}
                and "tally_months" (the facts' months list it was counted on)}],
  "targets": [dataset ids] (this year's), "previous_targets": [dataset ids],
  "evidence": [{"id", "package_id", "evidence_type": usage|sharing, "kind",
                "status", "date", "description", "url"}],
}
"""

# Month statuses that count as compliant.
MONTH_OK = ("on_time",)
_DUE = ("on_time", "late", "missed")

def N_(text: str) -> str:
    """Marks a message for extraction (dev/i18n); translated by the caller."""
    return text


def _same(text: str) -> tuple[str, str]:
    return (text, text)


# code → (text for n = 1, text for other n), English; each is its own
# message in the catalogue. ``{n}`` and other named fields are filled in by
# the caller after translation.
MESSAGES: Mapping[str, tuple[str, str]] = {
    "team_missing": _same(N_("Record this year's data-governance working group")),
    "team_no_document": _same(N_("Attach the working group's appointment order")),
    "team_rejected": _same(N_(
        "The working group record was rejected: correct it and ask for verification again")),
    "plan_missing": _same(N_("Write this year's database development plan")),
    "plan_no_document": _same(N_("Attach the development plan document")),
    "team_pending": _same(N_(
        "The working group record awaits an evaluator's verification")),
    "plan_pending": _same(N_(
        "The development plan awaits an evaluator's verification")),
    "plan_rejected": _same(N_(
        "The development plan was rejected: correct it and ask for verification again")),
    "catalog_empty": _same(N_("Publish the agency's datasets in the data catalog")),
    "lack_owner": (N_("{n} dataset lacks an owner"),
                   N_("{n} datasets lack an owner")),
    "lack_steward": (N_("{n} dataset lacks a steward"),
                   N_("{n} datasets lack a steward")),
    "stakeholders_missing": _same(N_(
        "Name the stakeholders and the people responsible for the agency's data")),
    "target_missing": _same(N_(
        "Choose this year's target database (set \"KPI target database for fiscal year\" on a "
        "dataset)")),
    "completeness_low": _same(N_("Complete the target database's metadata: {fields}")),
    "dictionary_missing": _same(N_("Write the data dictionary of the target database")),
    "dictionary_low": (N_("Describe {n} more column in the data dictionary"),
        N_("Describe {n} more columns in the data dictionary")),
    "cadence_missing": _same(N_("Declare the update cadence of the target database")),
    "nothing_due": _same(N_("No month is due yet")),
    "no_data_for": _same(N_("No data for {months}")),
    "late_for": _same(N_("Data came late for {months}")),
    "catalog_behind": (N_("{n} catalog dataset is behind its update cadence"),
        N_("{n} catalog datasets are behind their update cadence")),
    "usage_missing": _same(N_("Record evidence that the target database is used in operations")),
    "usage_pending": (N_("{n} usage record awaits an evaluator's verification"),
        N_("{n} usage records await an evaluator's verification")),
    "not_online": _same(N_(
        "Publish the target database online: a file, a URL, an API or the DataStore")),
    "target_private": _same(N_(
        "Make the target database public, or record a verified sharing with other agencies")),
    "sharing_missing": _same(N_(
        "Record the online sharing of the target database with other agencies")),
    "sharing_pending": (N_("{n} sharing record awaits an evaluator's verification"),
        N_("{n} sharing records await an evaluator's verification")),
    "no_realtime": _same(N_("Link at least one database in real time (DataStore or API)")),
    "not_current": (N_("{n} dataset is not current"),
        N_("{n} datasets are not current")),
    "needs_evaluator": _same(N_("An evaluator must judge this step on the attached evidence")),
    "previous_missing": _same(N_("Name last year's target database")),
}


def result(type_: str, met: bool, done: float, total: float, unit: str,
           evidence: Iterable[Mapping[str, Any]] = (),
           actions: Iterable[Mapping[str, Any]] = (),
           value: float | None = None, required: float | None = None) -> dict[str, Any]:
    """One check's verdict (a plain, JSON-serializable dict)."""
    if total:
        progress = min(1.0, max(0.0, done / total))
    else:
        progress = 1.0 if met else 0.0
    if met:
        progress = 1.0
    return {"type": type_, "met": bool(met), "done": done, "total": total,
            "unit": unit, "progress": round(progress, 4), "value": value,
            "required": required, "evidence": [dict(e) for e in evidence],
            "actions": [dict(a) for a in actions]}


def _action(code: str, n: int = 1, **fields: Any) -> dict[str, Any]:
    if code not in MESSAGES:
        raise KeyError(code)
    return {"code": code, "n": n, **fields}


def _ds_evidence(ds: Mapping[str, Any], note: str = "") -> dict[str, Any]:
    return {"kind": "dataset", "id": ds["id"], "name": ds["name"],
            "label": ds["title"], "private": bool(ds.get("private")), "note": note}


def _by_id(facts: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {d["id"]: d for d in facts.get("datasets") or []}


def _targets(facts: Mapping[str, Any], key: str = "targets") -> list[Mapping[str, Any]]:
    index = _by_id(facts)
    return [index[i] for i in facts.get(key) or [] if i in index]


def _scope(facts: Mapping[str, Any], params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if params.get("scope") in ("catalog", "all"):
        return list(facts.get("datasets") or [])
    return _targets(facts)


def _pct(value: float) -> float:
    return round(value * 100, 3)


def _governance(facts: Mapping[str, Any], kind: str, type_: str,
                verified: bool = False) -> dict[str, Any]:
    record = (facts.get("governance") or {}).get(kind)
    prefix = "team" if kind == "team" else "plan"
    if not record:
        return result(type_, False, 0, 2, "items", (), [_action(prefix + "_missing")])
    evidence = [{"kind": "governance", "id": record["id"], "governance_kind": kind,
                 "label": record.get("document_name") or kind,
                 "url": record.get("document_url") or None,
                 "status": record.get("status")}]
    if record.get("status") == "rejected":
        return result(type_, False, 1, 2, "items", evidence, [_action(prefix + "_rejected")])
    if not record.get("document_url"):
        return result(type_, False, 1, 2, "items", evidence,
                      [_action(prefix + "_no_document")])
    if verified and record.get("status") != "verified":
        # a pending record is a claim, not yet evidence
        return result(type_, False, 1, 2, "items", evidence,
                      [_action(prefix + "_pending")])
    return result(type_, True, 2, 2, "items", evidence)


def governance_team(facts: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """The working group is recorded for the year with its appointment order
    (with ``verified``, as in a step that requires verification: verified
    by an evaluator)."""
    return _governance(facts, "team", "governance_team", bool(params.get("verified")))


def development_plan(facts: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """The database development plan is recorded with its document (with
    ``verified``: verified by an evaluator)."""
    return _governance(facts, "plan", "development_plan", bool(params.get("verified")))


def data_catalog(facts: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Enough datasets, and the required share of them catalog-complete
    (an owner and a steward named)."""
    datasets = list(facts.get("datasets") or [])
    minimum = params.get("min_datasets", 1)
    need = params.get("min_catalog_complete_share", 100)
    complete = [d for d in datasets if d.get("has_owner") and d.get("has_steward")]
    share = len(complete) / len(datasets) if datasets else 0.0
    actions: list[dict[str, Any]] = []
    if len(datasets) < max(1, minimum):
        actions.append(_action("catalog_empty"))
    no_owner = [d for d in datasets if not d.get("has_owner")]
    no_steward = [d for d in datasets if not d.get("has_steward")]
    if no_steward:
        actions.append(_action("lack_steward", len(no_steward),
                               datasets=[d["id"] for d in no_steward]))
    if no_owner:
        actions.append(_action("lack_owner", len(no_owner),
                               datasets=[d["id"] for d in no_owner]))
    met = len(datasets) >= max(1, minimum) and _pct(share) + 1e-9 >= need
    evidence = [_ds_evidence(d, "incomplete") for d in datasets if d not in complete]
    return result("data_catalog", met, len(complete), len(datasets), "datasets",
                  evidence, () if met else actions, _pct(share), need)


def stakeholders_named(facts: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """The organization's register names people, or the target names an owner
    and a steward."""
    people = [p for p in facts.get("stakeholders") or [] if str(p.get("name") or "").strip()]
    targets = _targets(facts)
    named_targets = [d for d in targets if d.get("has_owner") and d.get("has_steward")]
    met = bool(people) or (bool(targets) and len(named_targets) == len(targets))
    evidence = [{"kind": "stakeholder", "label": p["name"], "role": p.get("role")}
                for p in people[:20]]
    evidence += [_ds_evidence(d) for d in named_targets]
    done = len(people) if people else (1 if met else 0)
    return result("stakeholders_named", met, done, max(1, len(people)), "people",
                  evidence, [] if met else [_action("stakeholders_missing")])


def target_database(facts: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """At least ``min_count`` datasets chosen as this year's target database."""
    need = params.get("min_count", 1) or 1
    targets = _targets(facts)
    met = len(targets) >= need
    return result("target_database", met, len(targets), need, "datasets",
                  [_ds_evidence(d, "target") for d in targets],
                  [] if met else [_action("target_missing")])


def metadata_completeness(facts: Mapping[str, Any], params: Mapping[str, Any]
                          ) -> dict[str, Any]:
    """Average metadata completeness of the target (or catalog) ≥ ``min`` %."""
    scope = _scope(facts, params)
    need = params["min"]
    if not scope:
        return result("metadata_completeness", False, 0, need, "percent", (),
                      [_action("target_missing")], 0.0, need)
    share = sum(d.get("completeness") or 0.0 for d in scope) / len(scope)
    value = _pct(share)
    met = value + 1e-9 >= need
    missing: list[str] = []
    for d in scope:
        for name in d.get("missing") or []:
            if name not in missing:
                missing.append(name)
    actions = [] if met else [_action("completeness_low", len(missing), fields=missing)]
    return result("metadata_completeness", met, value, need, "percent",
                  [_ds_evidence(d, "%.0f%%" % _pct(d.get("completeness") or 0))
                   for d in scope], actions, value, need)


def dictionary_coverage(facts: Mapping[str, Any], params: Mapping[str, Any]
                        ) -> dict[str, Any]:
    """Share of the target's columns the data dictionary describes ≥ ``min`` %."""
    scope = _scope(facts, params)
    need = params["min"]
    if not scope:
        return result("dictionary_coverage", False, 0, 0, "columns", (),
                      [_action("target_missing")], 0.0, need)
    columns = sum(d.get("dict_columns") or 0 for d in scope)
    described = sum(d.get("dict_described") or 0 for d in scope)
    share = described / columns if columns else 0.0
    value = _pct(share)
    met = columns > 0 and value + 1e-9 >= need
    if met:
        actions: list[dict[str, Any]] = []
    elif not columns:
        actions = [_action("dictionary_missing")]
    else:
        # columns still to describe to reach the threshold
        short = max(1, math.ceil(need * columns / 100 - 1e-9) - described)
        actions = [_action("dictionary_low", short)]
    return result("dictionary_coverage", met, described, columns, "columns",
                  [_ds_evidence(d, "%d/%d" % (d.get("dict_described") or 0,
                                              d.get("dict_columns") or 0))
                   for d in scope], actions, value, need)


def _month_tally(ds: Mapping[str, Any], months: Sequence[str], late_ok: bool
                 ) -> tuple[int, int, list[str], list[str]]:
    # facts may carry the tally of their own months, precomputed per late_ok
    pre = ds.get("month_tally")
    if pre is not None and late_ok in pre and ds.get("tally_months") is months:
        return pre[late_ok]
    cells = ds.get("months") or {}
    ok = due = 0
    missed, late = [], []
    for key in months:
        status = cells.get(key)
        if status not in _DUE:
            continue
        due += 1
        if status == "on_time" or (late_ok and status == "late"):
            ok += 1
        if status == "missed":
            missed.append(key)
        elif status == "late":
            late.append(key)
    return ok, due, missed, late


def monthly_compliance(facts: Mapping[str, Any], params: Mapping[str, Any]
                       ) -> dict[str, Any]:
    """The target is compliant on the ledger for the year's due months
    (rate ≥ ``min_rate`` %); with ``include_catalog_share`` that share of the
    catalog's datasets with a cadence must reach ``min_rate`` too."""
    months = list(facts.get("months") or [])
    late_ok = params.get("count_late_as_on_time",
                         bool(facts.get("count_late_as_on_time")))
    need = params["min_rate"]
    targets = _targets(facts)
    if not targets:
        return result("monthly_compliance", False, 0, 0, "months", (),
                      [_action("target_missing")], None, need)
    ok = due = 0
    missed: list[str] = []
    late: list[str] = []
    evidence = []
    actions: list[dict[str, Any]] = []
    for d in targets:
        d_ok, d_due, d_missed, d_late = _month_tally(d, months, late_ok)
        ok, due = ok + d_ok, due + d_due
        missed += [m for m in d_missed if m not in missed]
        late += [m for m in d_late if m not in late]
        evidence.append(_ds_evidence(d, "%d/%d" % (d_ok, d_due)))
        for key in months:
            for entry in (d.get("entries") or {}).get(key, [])[:3]:
                evidence.append({"kind": "ledger", "id": entry, "dataset": d["id"],
                                 "name": d["name"], "month": key,
                                 "private": bool(d.get("private"))})
        if not d.get("has_cadence"):
            actions.append(_action("cadence_missing", datasets=[d["id"]]))
    rate = ok / due if due else None
    met = due > 0 and _pct(rate or 0) + 1e-9 >= need
    if due == 0 and not actions:
        actions.append(_action("nothing_due"))
    if missed:
        actions.append(_action("no_data_for", len(missed), months=sorted(missed)))
    if late and not late_ok:
        actions.append(_action("late_for", len(late), months=sorted(late)))
    share_need = params.get("include_catalog_share")
    catalog_value = None
    if share_need:
        behind = []
        counted = 0
        for d in facts.get("datasets") or []:
            d_ok, d_due, _m, _l = _month_tally(d, months, late_ok)
            if not d_due:
                continue
            counted += 1
            if _pct(d_ok / d_due) + 1e-9 < need:
                behind.append(d)
        catalog_value = _pct((counted - len(behind)) / counted) if counted else 100.0
        if catalog_value + 1e-9 < share_need:
            met = False
            actions.append(_action("catalog_behind", len(behind),
                                   datasets=[d["id"] for d in behind]))
    out = result("monthly_compliance", met, ok, due, "months", evidence,
                 () if met else actions, None if rate is None else _pct(rate), need)
    out["catalog_share"] = catalog_value
    return out


def _evidence_rows(facts: Mapping[str, Any], type_: str, ids: set[str]
                   ) -> list[Mapping[str, Any]]:
    return [e for e in facts.get("evidence") or []
            if e.get("evidence_type") == type_ and e.get("package_id") in ids]


def _evidence_item(e: Mapping[str, Any], index: Mapping[str, Mapping[str, Any]]
                   ) -> dict[str, Any]:
    ds = index.get(e["package_id"]) or {}
    return {"kind": "evidence", "id": e["id"], "evidence_type": e.get("evidence_type"),
            "label": e.get("description") or e.get("kind"), "url": e.get("url") or None,
            "status": e.get("status"), "date": e.get("date"), "dataset": e["package_id"],
            "name": ds.get("name"), "private": bool(ds.get("private"))}


def usage_evidence(facts: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Evidence of use of the target within the year (verified ones only, by
    default)."""
    need = params.get("min_count", 1) or 1
    verified_only = params.get("verified", True)
    targets = _targets(facts)
    if not targets:
        return result("usage_evidence", False, 0, need, "records", (),
                      [_action("target_missing")])
    index = _by_id(facts)
    rows = [e for e in _evidence_rows(facts, "usage", {d["id"] for d in targets})
            if e.get("status") != "rejected"]
    counted = [e for e in rows if e.get("status") == "verified" or not verified_only]
    pending = [e for e in rows if e.get("status") == "pending"]
    met = len(counted) >= need
    actions: list[dict[str, Any]] = []
    if not met:
        if pending and verified_only:
            actions.append(_action("usage_pending", len(pending)))
        if len(rows) < need:
            actions.append(_action("usage_missing"))
    return result("usage_evidence", met, len(counted), need, "records",
                  [_evidence_item(e, index) for e in rows], actions)


def _verified_sharing(facts: Mapping[str, Any], ids: set[str]) -> list[Mapping[str, Any]]:
    return [e for e in _evidence_rows(facts, "sharing", ids) if e.get("status") == "verified"]


def published_online(facts: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """The target is public with an online resource (file, URL, API, DataStore),
    or (unless ``public_only``) shared online by a verified sharing record."""
    need = params.get("min_datasets", 1) or 1
    public_only = params.get("public_only", False)
    targets = _targets(facts)
    if not targets:
        return result("published_online", False, 0, need, "datasets", (),
                      [_action("target_missing")])
    index = _by_id(facts)
    served: list[Mapping[str, Any]] = []
    evidence: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    for d in targets:
        shared = [] if public_only else _verified_sharing(facts, {d["id"]})
        if (not d.get("private") and d.get("online")) or shared:
            served.append(d)
            evidence.append(_ds_evidence(d, "online" if not shared else "shared"))
            evidence += [_evidence_item(e, index) for e in shared]
        elif d.get("private"):
            actions.append(_action("target_private", datasets=[d["id"]]))
        else:
            actions.append(_action("not_online", datasets=[d["id"]]))
    met = len(served) >= need
    return result("published_online", met, len(served), need, "datasets", evidence,
                  () if met else actions)


def sharing_record(facts: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Verified records of online sharing of the target within the year."""
    need = params.get("min_count", 1) or 1
    targets = _targets(facts)
    if not targets:
        return result("sharing_record", False, 0, need, "records", (),
                      [_action("target_missing")])
    index = _by_id(facts)
    rows = [e for e in _evidence_rows(facts, "sharing", {d["id"] for d in targets})
            if e.get("status") != "rejected"]
    verified = [e for e in rows if e.get("status") == "verified"]
    pending = [e for e in rows if e.get("status") == "pending"]
    met = len(verified) >= need
    actions: list[dict[str, Any]] = []
    if not met:
        if pending:
            actions.append(_action("sharing_pending", len(pending)))
        if len(rows) < need:
            actions.append(_action("sharing_missing"))
    return result("sharing_record", met, len(verified), need, "records",
                  [_evidence_item(e, index) for e in rows], actions)


def realtime_link(facts: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """At least one dataset is served by the DataStore or an API."""
    linked = [d for d in facts.get("datasets") or [] if d.get("api")]
    met = bool(linked)
    return result("realtime_link", met, len(linked), 1, "datasets",
                  [_ds_evidence(d, "api") for d in linked[:20]],
                  [] if met else [_action("no_realtime")])


def _quarter_start(month: str) -> str:
    """First day (YYYY-MM-DD) of the fiscal quarter of a month key."""
    year, mon = int(month[:4]), int(month[5:7])
    return "%04d-%02d-01" % (year, mon - (mon - 1) % 3)


def _current(facts: Mapping[str, Any], datasets: Iterable[Mapping[str, Any]]
             ) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """Datasets with a due period: current (none missed) and behind.

    A dataset created on or after the start of the judged quarter (the
    quarter of the last judged month) counts only when it is behind: new
    datasets with a single upload cannot raise the share."""
    months = list(facts.get("months") or [])
    late_ok = bool(facts.get("count_late_as_on_time"))
    since = _quarter_start(months[-1]) if months else ""
    current: list[Mapping[str, Any]] = []
    behind: list[Mapping[str, Any]] = []
    for d in datasets:
        _ok, due, missed, _late = _month_tally(d, months, late_ok)
        if not due:
            continue
        if missed:
            behind.append(d)
        elif not (d.get("created") and str(d["created"])[:10] >= since):
            current.append(d)
    return current, behind


def data_currency_share(facts: Mapping[str, Any], params: Mapping[str, Any]
                        ) -> dict[str, Any]:
    """Share of datasets with a cadence that missed no due period ≥ ``min`` %."""
    need = params["min"]
    current, behind = _current(facts, facts.get("datasets") or [])
    counted = len(current) + len(behind)
    value = _pct(len(current) / counted) if counted else 0.0
    met = counted > 0 and value + 1e-9 >= need
    actions = [] if met else [_action("not_current", len(behind),
                                      datasets=[d["id"] for d in behind])]
    return result("data_currency_share", met, len(current), counted, "datasets",
                  [_ds_evidence(d, "behind") for d in behind], actions, value, need)


def entry_complete_correct(facts: Mapping[str, Any], params: Mapping[str, Any]
                           ) -> dict[str, Any]:
    """Last year's target keeps getting data: months with data (on time or
    late) among the due months ≥ ``min`` %."""
    return _previous_rate(facts, params.get("min", 100), True, "entry_complete_correct")


def entry_on_time(facts: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Last year's target gets its data by the deadline: on-time months ≥
    ``min_rate`` % (the deadline is the portal's grace period)."""
    return _previous_rate(facts, params.get("min_rate", 100), False, "entry_on_time")


def _previous_rate(facts: Mapping[str, Any], need: float, late_ok: bool, type_: str
                   ) -> dict[str, Any]:
    targets = _targets(facts, "previous_targets")
    if not targets:
        return result(type_, False, 0, 0, "months", (), [_action("previous_missing")],
                      None, need)
    months = list(facts.get("months") or [])
    ok = due = 0
    missed: list[str] = []
    late: list[str] = []
    for d in targets:
        d_ok, d_due, d_missed, d_late = _month_tally(d, months, late_ok)
        ok, due = ok + d_ok, due + d_due
        missed += [m for m in d_missed if m not in missed]
        late += [m for m in d_late if m not in late]
    value = _pct(ok / due) if due else None
    met = bool(due) and (value or 0) + 1e-9 >= need
    actions: list[dict[str, Any]] = []
    if not due:
        actions.append(_action("nothing_due"))
    if missed:
        actions.append(_action("no_data_for", len(missed), months=sorted(missed)))
    if late and not late_ok:
        actions.append(_action("late_for", len(late), months=sorted(late)))
    return result(type_, met, ok, due, "months", [_ds_evidence(d) for d in targets],
                  () if met else actions, value, need)


def _evaluator_only(type_: str) -> Callable[[Mapping[str, Any], Mapping[str, Any]],
                                             dict[str, Any]]:
    def judged(facts: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        return result(type_, False, 0, 1, "decision", (), [_action("needs_evaluator")])
    judged.__doc__ = "Not computable from portal data: an evaluator decides."
    return judged


CHECKS: Mapping[str, Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]] = {
    "governance_team": governance_team,
    "development_plan": development_plan,
    "data_catalog": data_catalog,
    "stakeholders_named": stakeholders_named,
    "target_database": target_database,
    "metadata_completeness": metadata_completeness,
    "dictionary_coverage": dictionary_coverage,
    "monthly_compliance": monthly_compliance,
    "usage_evidence": usage_evidence,
    "published_online": published_online,
    "sharing_record": sharing_record,
    "realtime_link": realtime_link,
    "data_currency_share": data_currency_share,
    "eis_gis_views": _evaluator_only("eis_gis_views"),
    "entry_complete_correct": entry_complete_correct,
    "entry_on_time": entry_on_time,
    "manual": _evaluator_only("manual"),
}
# Every check type a rubric may name has an implementation.
assert set(CHECKS) == set(CHECK_TYPES), sorted(set(CHECK_TYPES) ^ set(CHECKS))


def check(type_: str, facts: Mapping[str, Any], params: Mapping[str, Any] | None = None
          ) -> dict[str, Any]:
    """Run one check type on ``facts``."""
    return CHECKS[type_](facts, dict(params or {}))


# Checks whose records must be verified by an evaluator in a step that
# requires verification (unless the rubric sets ``verified: false``).
VERIFIABLE = ("governance_team", "development_plan")


def run_step(checks: Iterable[Any], facts: Mapping[str, Any],
             requires_verification: bool = False) -> dict[str, Any]:
    """Run a step's checks: met when all are met; progress is their mean.

    In a step that requires verification, a pending governance record does
    not meet its check."""
    results = []
    for c in checks:
        params = dict(c.params)
        if requires_verification and c.type in VERIFIABLE:
            params.setdefault("verified", True)
        results.append(check(c.type, facts, params))
    if not results:
        return {"met": False, "progress": 0.0, "checks": []}
    return {"met": all(r["met"] for r in results),
            "progress": round(sum(r["progress"] for r in results) / len(results), 4),
            "checks": results}


def run_rubric(rubric: Rubric, facts: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Step id → :func:`run_step` result, for every step of the rubric."""
    return {step.id: run_step(step.checks, facts, step.requires_verification)
            for step in rubric.steps}


def step_decision(decisions: Sequence[Mapping[str, Any]], quarter: int | None
                  ) -> Mapping[str, Any] | None:
    """The evaluator's decision that applies to ``quarter``: the latest one
    made for that quarter (``decisions`` oldest first, each with its
    ``quarter``). A verification applies to the quarter it was made for;
    later quarters use their own computation unless verified again.
    ``quarter`` None: the latest decision of any quarter."""
    for dec in reversed(list(decisions or ())):
        if quarter is None or dec.get("quarter") == quarter:
            return dec
    return None


def step_status(run: Mapping[str, Any], decisions: Sequence[Mapping[str, Any]],
                quarter: int | None) -> tuple[bool, Mapping[str, Any] | None]:
    """A step's status in ``quarter``: (met, the decision applied). The
    decision for the quarter decides; without one, the computed status."""
    dec = step_decision(decisions, quarter)
    if dec is None:
        return bool(run["met"]), None
    return dec.get("decision") == "verified", dec
