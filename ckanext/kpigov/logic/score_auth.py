"""Auth functions for KPI scoring (re-exported by logic/auth.py).

- an organization's score: its members and evaluators; anyone when
  ``ckanext.kpigov.public_kpi_summary`` is on (the action then shows a
  summary without evidence on private datasets or next actions);
- the list of scores: evaluators see all; others see their own
  organizations (all with the public summary on);
- the evaluator overview and the all-organization export: evaluators;
- rubrics and the what-if calculator: anyone (no portal data);
- verifying a step: evaluators only.
"""
from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk

from .auth import is_evaluator, is_org_member

__all__ = ["kpigov_org_score", "kpigov_score_list", "kpigov_score_overview",
           "kpigov_rubric_list", "kpigov_rubric_evaluate", "kpigov_step_verify"]


def _user(context: dict[str, Any]) -> str:
    return context.get("user") or ""


def _public() -> bool:
    return bool(tk.config.get("ckanext.kpigov.public_kpi_summary"))


@tk.auth_allow_anonymous_access
def kpigov_org_score(context: dict[str, Any], data_dict: dict[str, Any]):
    user = _user(context)
    org = model.Group.get(str(data_dict.get("id") or ""))
    if is_evaluator(user) or _public():
        return {"success": True}
    if org is not None and is_org_member(user, org.id):
        return {"success": True}
    return {"success": False,
            "msg": tk._("Only members of the organization and evaluators may see "
                        "its KPI score")}


@tk.auth_allow_anonymous_access
def kpigov_score_list(context: dict[str, Any], data_dict: dict[str, Any]):
    """Logged-in users (filtered to their organizations), or anyone with the
    public summary on."""
    if _public() or _user(context):
        return {"success": True}
    return {"success": False, "msg": tk._("Log in to see KPI scores")}


def kpigov_score_overview(context: dict[str, Any], data_dict: dict[str, Any]):
    """The overview of every organization and its export."""
    return {"success": is_evaluator(_user(context)),
            "msg": tk._("Only evaluators may see the KPI overview")}


@tk.auth_allow_anonymous_access
def kpigov_rubric_list(context: dict[str, Any], data_dict: dict[str, Any]):
    return {"success": True}


@tk.auth_allow_anonymous_access
def kpigov_rubric_evaluate(context: dict[str, Any], data_dict: dict[str, Any]):
    return {"success": True}


def kpigov_step_verify(context: dict[str, Any], data_dict: dict[str, Any]):
    return {"success": is_evaluator(_user(context)),
            "msg": tk._("Only evaluators may verify KPI steps")}
