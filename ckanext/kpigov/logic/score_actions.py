"""Actions for KPI scoring (re-exported by logic/action.py).

Thin: validate, check access once, call ``scoring`` (bulk portal facts) and
the pure engines (``checks``, ``rubric``), return a dict.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

import sqlalchemy as sa

import ckan.model as model
import ckan.plugins.toolkit as tk

from .. import fiscal, scoring
from .. import rubric as rubric_mod
from ..model import VERIFICATION_DECISIONS, verification_table
from .guard import as_bool
from .auth import is_evaluator, is_org_member, may_see_private

__all__ = ["kpigov_org_score", "kpigov_score_list", "kpigov_rubric_list",
           "kpigov_rubric_evaluate", "kpigov_step_verify"]


def _error(field: str, message: str) -> tk.ValidationError:
    return tk.ValidationError({field: [message]})


def _fy(data_dict: dict[str, Any]) -> int:
    from .action import _fiscal_year
    return _fiscal_year(data_dict)


def _quarter(data_dict: dict[str, Any]) -> Optional[int]:
    raw = data_dict.get("quarter")
    if raw in (None, ""):
        return None
    if str(raw).strip() not in ("1", "2", "3", "4"):
        raise _error("quarter", tk._("Quarter must be 1, 2, 3 or 4"))
    return int(str(raw).strip())


def _lang() -> str:
    from ..helpers import kpigov_lang
    return kpigov_lang()


def _org(ref: Any) -> model.Group:
    org = model.Group.get(ref) if isinstance(ref, str) and ref else None
    if org is None or not org.is_organization or org.state != "active":
        raise tk.ObjectNotFound(tk._("Organization not found"))
    return org


def visibility(user: str, org_id: str) -> Optional[str]:
    """"full" for evaluators and members, "summary" for anyone else when
    ``ckanext.kpigov.public_kpi_summary`` is on, else None."""
    if may_see_private(user, org_id):
        return "full"
    if tk.config.get("ckanext.kpigov.public_kpi_summary"):
        return "summary"
    return None


def _rubric_param(data_dict: dict[str, Any]) -> Optional[str]:
    """The optional rubric id: a short string, or a validation error."""
    value = data_dict.get("rubric")
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise _error("rubric", tk._("Unknown rubric"))
    return value


def _input(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except scoring.ScoreInputError as err:
        raise _error(err.field, err.message) from None
    except rubric_mod.RubricError as err:
        raise _error("rubric", str(err)) from None


def what_if(fy: int, rubric_id: Optional[str], user: str) -> Optional[str]:
    """The rubric asked for, when it is not the year's own: a what-if, for
    evaluators only (others get NotAuthorized). None: the year's rubric."""
    if rubric_id is None:
        return None
    chosen = _input(scoring.resolve_rubric, fy, rubric_id)
    try:
        official: Optional[str] = scoring.resolve_rubric(fy).id
    except scoring.ScoreInputError:
        official = None
    if chosen.id == official:
        return None
    if not is_evaluator(user):
        raise tk.NotAuthorized(tk._(
            "Only evaluators may score with another rubric than the year's (a what-if)"))
    return chosen.id


def org_score(org: model.Group, fy: int, quarter: Optional[int], user: str,
              rubric_id: Optional[str] = None, today: Optional[dt.date] = None,
              with_trend: bool = False) -> dict[str, Any]:
    """Score one organization as ``user`` may see it (views use this too).

    With ``rubric_id`` other than the year's rubric: a what-if, evaluators
    only; ``rubric.official`` says which it is."""
    level = visibility(user, org.id) or "summary"
    rubric_id = what_if(fy, rubric_id, user)
    raw = _input(scoring.score_orgs, [org], fy, quarter, rubric_id, today)[org.id]
    out = scoring.present(raw, level, _lang())
    out["rubric"] = dict(out["rubric"], official=rubric_id is None)
    if with_trend:
        out["trend"] = scoring.trend(org, raw, today)
    return out


@tk.side_effect_free
def kpigov_org_score(context: dict[str, Any], data_dict: dict[str, Any]):
    """The KPI 5.2 score of one organization, step by step, with evidence.

    Members of the organization and evaluators see everything, private
    datasets included, and the next action for each unmet check; others see
    a summary (statuses and scores, public datasets only) when
    ``ckanext.kpigov.public_kpi_summary`` is on.

    :param id: the id or name of the organization
    :type id: string
    :param fiscal_year: Buddhist Era fiscal year, default the current one
    :type fiscal_year: int
    :param quarter: score as at the end of this quarter (1-4; Q1 = Oct-Dec);
        default: the year to date
    :type quarter: int
    :param rubric: the id of the rubric to score with (see
        ``kpigov_rubric_list``); default: the one configured for the year.
        Another rubric than the year's is a what-if for evaluators only
    :type rubric: string
    :param trend: include the change against the previous quarter and the
        same quarter last year (default false)
    :type trend: bool

    :returns: ``performance`` (0-100), ``level``, ``points``, ``weight``,
        ``weighted_score``, ``provisional`` (a step awaits verification),
        ``steps`` (computed and verified status, progress, checks with
        evidence and next actions) and ``rubric`` (id, version)
    :rtype: dictionary
    """
    org = _org(data_dict.get("id"))
    tk.check_access("kpigov_org_score", context, {"id": org.id})
    fy = _fy(data_dict)
    quarter = _quarter(data_dict)
    rubric_id = _rubric_param(data_dict)
    if rubric_id is not None and not isinstance(rubric_id, str):
        raise _error("rubric", tk._("Must be text"))
    return org_score(org, fy, quarter, context.get("user") or "", rubric_id,
                     with_trend=as_bool(data_dict, "trend"))


def score_rows(fy: int, quarter: Optional[int], user: str, kind: Optional[str] = None,
               rubric_id: Optional[str] = None, today: Optional[dt.date] = None
               ) -> dict[str, Any]:
    """Every organization the user may see, scored in one bulk pass."""
    orgs = model.Session.query(model.Group).filter(
        model.Group.is_organization == sa.true(), model.Group.state == "active"
    ).order_by(model.Group.title).all()
    evaluator = is_evaluator(user)
    public = bool(tk.config.get("ckanext.kpigov.public_kpi_summary"))
    if not evaluator and not public:
        orgs = [o for o in orgs if is_org_member(user, o.id)]
    kinds = scoring.agency_kinds([o.id for o in orgs])
    if kind:
        orgs = [o for o in orgs if kinds.get(o.id) == kind]
    rubric_id = what_if(fy, rubric_id, user)
    raw = _input(scoring.score_orgs, orgs, fy, quarter, rubric_id, today)
    r = _input(scoring.resolve_rubric, fy, rubric_id)
    lang = _lang()
    rows = []
    for org in orgs:
        res = raw[org.id]
        insider = evaluator or may_see_private(user, org.id)
        rows.append({
            "organization": res["organization"], "agency_kind": kinds.get(org.id),
            "performance": res["performance"], "level": res["level"],
            "points": res["points"], "weight": res["weight"],
            "weighted_score": res["weighted_score"], "provisional": res["provisional"],
            "steps": {s["id"]: s["met"] for s in res["steps"]},
            "compliance_rate": res["compliance_rate"],
            # outsiders (public summary): public datasets' count and date only
            "last_update": res["last_update"] if insider else res["public_last_update"],
            "datasets": res["datasets"] if insider else res["public_datasets"],
        })
    return {"fiscal_year": fy, "quarter": quarter,
            "rubric": {"id": r.id, "version": r.version, "title": r.title(lang),
                       "official": rubric_id is None},
            "steps": [{"id": s.id, "title": s.title(lang)} for s in r.steps],
            "organizations": rows, "kinds": sorted({k for k in kinds.values() if k}),
            "distribution": distribution(rows), "raw": raw}


def distribution(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """How many organizations per performance band (0-19, 20-39, ... 100)."""
    bands = [(0, 20), (20, 40), (40, 60), (60, 80), (80, 100), (100, 101)]
    out = []
    for low, high in bands:
        n = sum(1 for r in rows if low <= (r["performance"] or 0) < high)
        out.append({"label": "100" if low == 100 else "%d–%d" % (low, high - 1),
                    "low": low, "count": n})
    return out


@tk.side_effect_free
def kpigov_score_list(context: dict[str, Any], data_dict: dict[str, Any]):
    """The KPI 5.2 score of every organization (the evaluator overview).

    Evaluators see every organization; other users see the organizations
    they belong to, or all of them when ``ckanext.kpigov.public_kpi_summary``
    is on. Only scores and step statuses are listed (no evidence).

    :param fiscal_year: Buddhist Era fiscal year, default the current one
    :type fiscal_year: int
    :param quarter: score as at the end of this quarter (1-4)
    :type quarter: int
    :param kind: only organizations of this kind (the organization field
        ``ckanext.kpigov.agency_kind_field``, e.g. department or district,
        or the ckanext-hierarchy parent's name)
    :type kind: string
    :param rubric: score with this rubric instead of the year's (a what-if,
        evaluators only)
    :type rubric: string

    :returns: ``organizations`` (score, level, points, weighted score, each
        step met or not, compliance rate, last update), ``distribution``
        and ``rubric`` (id, version)
    :rtype: dictionary
    """
    tk.check_access("kpigov_score_list", context, data_dict)
    fy = _fy(data_dict)
    quarter = _quarter(data_dict)
    kind = data_dict.get("kind") or None
    out = score_rows(fy, quarter, context.get("user") or "",
                     str(kind) if kind else None, _rubric_param(data_dict))
    out.pop("raw")
    return out


@tk.side_effect_free
def kpigov_rubric_list(context: dict[str, Any], data_dict: dict[str, Any]):
    """The KPI rubrics this portal knows (shipped and configured files).

    :returns: each rubric's id, version (hash of its file), titles, fiscal
        years, weight, mode, criteria and steps with their checks, and
        ``for_year``: the rubric that scores the current fiscal year
    :rtype: dictionary
    """
    tk.check_access("kpigov_rubric_list", context, data_dict)
    lang = _lang()
    found = _input(scoring.rubrics)
    fy = fiscal.current_fiscal_year()
    try:
        current = scoring.resolve_rubric(fy).id
    except scoring.ScoreInputError:
        current = None
    return {"rubrics": [scoring.rubric_dict(r, lang) for _, r in sorted(found.items())],
            "for_year": {"fiscal_year": fy, "rubric": current}}


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool):
        raise _error(field, tk._("Must be a number"))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _error(field, tk._("Must be a number")) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise _error(field, tk._("Must be a number"))
    return number


@tk.side_effect_free
def kpigov_rubric_evaluate(context: dict[str, Any], data_dict: dict[str, Any]):
    """What-if calculator: score a rubric from a performance or step results,
    without portal data.

    :param rubric: the rubric's id
    :type rubric: string
    :param performance: a performance % between 0 and 100 (give this or steps)
    :type performance: number
    :param steps: step results: a list of the ids of the steps met, or an
        object step id → true/false or progress 0..1
    :type steps: list or dictionary
    :param weight: the KPI weight, default the rubric's
    :type weight: number

    :returns: ``performance``, ``level``, ``points``, ``weight``,
        ``weighted_score``, per-step earned shares and ``rubric`` (id, version)
    :rtype: dictionary
    """
    tk.check_access("kpigov_rubric_evaluate", context, data_dict)
    rid = data_dict.get("rubric")
    if not rid or not isinstance(rid, str):
        raise _error("rubric", tk._("Missing value"))
    r = _input(scoring.resolve_rubric, 0, rid)
    weight = data_dict.get("weight")
    weight = None if weight in (None, "") else _number(weight, "weight")
    if weight is not None and not 0 <= weight <= 100:
        raise _error("weight", tk._("Must be between {low} and {high}").format(low=0, high=100))
    perf, steps = data_dict.get("performance"), data_dict.get("steps")
    if (perf in (None, "")) == (steps in (None, "")):
        raise _error("performance", tk._("Give either a performance or step results"))
    if perf not in (None, ""):
        value = _number(perf, "performance")
        if not 0 <= value <= 100:
            raise _error("performance", tk._("Must be between {low} and {high}").format(
                low=0, high=100))
        score = rubric_mod.evaluate_performance(r, value, weight)
    else:
        if isinstance(steps, str):
            steps = [s for s in steps.replace(",", " ").split() if s]
        if isinstance(steps, list):
            steps = {str(s): True for s in steps}
        if not isinstance(steps, dict):
            raise _error("steps", tk._("Give a list of step ids or an object of step results"))
        clean: dict[str, Any] = {}
        for key, value in steps.items():
            if isinstance(value, str) and value.lower() in ("true", "false"):
                value = value.lower() == "true"
            elif isinstance(value, str):
                value = _number(value, "steps")
            clean[str(key)] = value
        try:
            score = rubric_mod.evaluate(r, clean, weight)
        except ValueError as err:
            raise _error("steps", str(err)) from None
    out = score.as_dict()
    out["rubric"] = {"id": r.id, "version": r.version}
    return out


def kpigov_step_verify(context: dict[str, Any], data_dict: dict[str, Any]):
    """An evaluator accepts or rejects one KPI step of an organization.

    Every decision is kept (who, when, the status before and after); the
    latest decides the step. Two evaluators deciding at once both end up
    in the audit, the later one decides.

    :param id: the id or name of the organization
    :type id: string
    :param fiscal_year: Buddhist Era fiscal year, default the current one
    :type fiscal_year: int
    :param step: the step id in the year's rubric (e.g. step1)
    :type step: string
    :param decision: ``verified`` or ``rejected``
    :type decision: string
    :param comment: why (required when rejecting)
    :type comment: string
    :param quarter: the quarter (1-4) the decision is for, default the
        current one; a decision applies to its quarter only (later quarters
        use their own computation unless verified again)
    :type quarter: int

    :returns: the decision recorded, with the status before and after
    :rtype: dictionary
    """
    org = _org(data_dict.get("id"))
    tk.check_access("kpigov_step_verify", context, {"id": org.id})
    from .action import _text
    fy = _fy(data_dict)
    decision = data_dict.get("decision")
    if decision not in VERIFICATION_DECISIONS:
        raise _error("decision", tk._("Must be one of: {values}").format(
            values=", ".join(VERIFICATION_DECISIONS)))
    comment = _text(data_dict, "comment", 2000, required=decision == "rejected")
    step_id = data_dict.get("step")
    r = _input(scoring.resolve_rubric, fy, _rubric_param(data_dict))
    if not isinstance(step_id, str) or step_id not in {s.id for s in r.steps}:
        raise _error("step", tk._("Unknown step (known: {known})").format(
            known=", ".join(s.id for s in r.steps)))
    now_q = scoring.current_quarter(fy)
    quarter = _quarter(data_dict) or now_q
    if quarter > now_q:
        raise _error("quarter", tk._("Quarter {q} of fiscal year {fy} has not started").format(
            q=quarter, fy=fy))
    raw = scoring.score_orgs([org], fy, quarter, r.id)[org.id]
    step = next(s for s in raw["steps"] if s["id"] == step_id)
    before = {"computed_met": step["computed_met"], "met": step["met"],
              "progress": step["progress"],
              "verification": (step["verification"] or {}).get("decision"),
              "performance": raw["performance"]}
    after = {"computed_met": step["computed_met"], "met": decision == "verified",
             "verification": decision, "rubric": r.id, "rubric_version": r.version,
             "quarter": quarter}
    user = model.User.get(context.get("user") or "")
    row = {"id": scoring._uuid(), "object_type": "step",
           "object_id": "%s:%s:%s" % (org.id, fy, step_id), "owner_org": org.id,
           "fiscal_year": fy, "decision": decision, "comment": comment or None,
           "before": before, "after": after, "user_id": user.id if user else None,
           # the database clock (UTC, microseconds): the latest decision wins
           "at": sa.func.timezone("UTC", sa.func.clock_timestamp())}
    # An insert only: concurrent decisions never overwrite each other.
    row["at"] = model.Session.execute(verification_table.insert().values(**row)
                                      .returning(verification_table.c.at)).scalar()
    if not context.get("defer_commit"):
        model.Session.commit()
    return {"id": row["id"], "organization": org.name, "fiscal_year": fy,
            "quarter": quarter, "step": step_id, "decision": decision, "comment": comment,
            "before": before, "after": after, "user": user.name if user else None,
            "at": row["at"].isoformat()}
