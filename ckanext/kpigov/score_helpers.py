"""Template helpers for KPI scoring (re-exported by helpers.py)."""
from __future__ import annotations

from typing import Any, Optional

import ckan.plugins.toolkit as tk

__all__ = ["kpigov_check_label", "kpigov_score_number", "kpigov_progress_label",
           "kpigov_decision_label", "kpigov_evidence_label", "kpigov_can_see_kpi",
           "kpigov_agency_kind_label"]


def kpigov_check_label(check_type: str) -> str:
    """What a rubric check looks at, in the page's language."""
    labels = {
        "governance_team": tk._("Data-governance working group and its appointment order"),
        "development_plan": tk._("Database development plan"),
        "data_catalog": tk._("Data catalog: datasets with an owner and a steward"),
        "stakeholders_named": tk._("Stakeholders and people responsible named"),
        "target_database": tk._("Target database for the year"),
        "metadata_completeness": tk._("Metadata completeness of the target database"),
        "dictionary_coverage": tk._("Data dictionary coverage of the target database"),
        "monthly_compliance": tk._("Monthly updates on the ledger"),
        "usage_evidence": tk._("Verified evidence of use in operations"),
        "published_online": tk._("Served online or published to the public"),
        "sharing_record": tk._("Verified online sharing with other agencies"),
        "realtime_link": tk._("Databases linked in real time"),
        "data_currency_share": tk._("Share of data correct and current"),
        "eis_gis_views": tk._("Executive (EIS) and GIS views"),
        "entry_complete_correct": tk._("Last year's database: data entry complete"),
        "entry_on_time": tk._("Last year's database: data entered on time"),
        "manual": tk._("Evaluator judgement"),
    }
    return labels.get(check_type, check_type)


def kpigov_score_number(value: Any, digits: int = 3) -> str:
    """Scores as on the official forms: 3 decimals ('9.114'); '–' for none."""
    if value is None or value == "":
        return "–"
    try:
        return "%.*f" % (digits, float(value))
    except (TypeError, ValueError):
        return str(value)


def kpigov_progress_label(check: dict[str, Any]) -> str:
    """'7 of 9 months', '83.5 of 100 %' ..."""
    units = {"months": tk._("months"), "datasets": tk._("datasets"),
             "columns": tk._("columns"), "records": tk._("records"),
             "people": tk._("people"), "items": tk._("items"), "percent": "%",
             "decision": tk._("decision")}
    done, total = check.get("done"), check.get("total")
    unit = units.get(check.get("unit") or "", check.get("unit") or "")

    def num(x: Any) -> str:
        return ("%g" % x) if isinstance(x, (int, float)) else str(x)
    if check.get("unit") == "percent":
        return tk._("{done}% (needs {total}%)").format(done=num(done), total=num(total))
    return tk._("{done} of {total} {unit}").format(done=num(done), total=num(total),
                                                    unit=unit)


def kpigov_decision_label(decision: Optional[str]) -> str:
    return {"verified": tk._("Verified"), "rejected": tk._("Rejected")}.get(
        decision or "", tk._("Awaiting verification"))


def kpigov_evidence_label(item: dict[str, Any]) -> str:
    kind = item.get("kind")
    if kind == "ledger":
        return tk._("Update for {month}").format(
            month=tk.h.kpigov_format_month(item.get("month") or ""))
    if kind == "governance":
        return item.get("label") or tk._("Document")
    return str(item.get("label") or item.get("name") or item.get("id") or "")


def kpigov_can_see_kpi(org_id: str) -> bool:
    """Whether the KPI tab is shown to the current user."""
    user = tk.current_user.name if tk.current_user.is_authenticated else ""
    try:
        tk.check_access("kpigov_org_score", {"user": user}, {"id": org_id})
        return True
    except tk.NotAuthorized:
        return False


def kpigov_agency_kind_label(kind: Optional[str]) -> str:
    labels = {"department": tk._("Departments"), "district": tk._("District offices")}
    return labels.get(kind or "", kind or "")
