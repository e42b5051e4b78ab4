"""Auth functions for the governance feature (re-exported by logic/auth.py).

- editors and admins of the organization (and sysadmins) change its
  governance record, stakeholder register and evidence;
- everyone may read: the actions give outsiders the public summary only
  (no emails, phones, user names, nor evidence on private datasets);
- the verification history is for members and evaluators;
- only evaluators verify or reject.

The actions resolve the organization and pass ``owner_org``; called
directly (``check_access`` from a template or another extension) the
functions also accept the record ``id``.
"""
from __future__ import annotations

from typing import Any, Optional

import sqlalchemy as sa

import ckan.model as model
import ckan.plugins.toolkit as tk

from ..model import evidence_table, governance_table, stakeholder_table
from .auth import is_evaluator, is_org_member, may_see_private

__all__ = [
    "kpigov_governance_create", "kpigov_governance_update",
    "kpigov_governance_show", "kpigov_governance_list",
    "kpigov_governance_delete",
    "kpigov_stakeholder_create", "kpigov_stakeholder_update",
    "kpigov_stakeholder_delete", "kpigov_stakeholder_list",
    "kpigov_evidence_create", "kpigov_evidence_update",
    "kpigov_evidence_delete", "kpigov_evidence_list",
    "kpigov_verify", "kpigov_verification_list",
]

# the organization permission editors and admins have, members do not
EDIT_PERMISSION = "update_dataset"


def _org_id(data_dict: dict[str, Any], table: Optional[sa.Table] = None) -> Optional[str]:
    ref = data_dict.get("owner_org") or data_dict.get("organization_id")
    if ref:
        org = model.Group.get(ref)
        return org.id if org is not None else None
    if table is not None and data_dict.get("id"):
        row = model.Session.execute(sa.select(table.c.owner_org).where(
            table.c.id == str(data_dict["id"]))).first()
        return row.owner_org if row else None
    if data_dict.get("package_id"):
        pkg = model.Package.get(str(data_dict["package_id"]))
        return pkg.owner_org if pkg else None
    return None


def _editor(context: dict[str, Any], data_dict: dict[str, Any],
            table: Optional[sa.Table] = None) -> dict[str, Any]:
    org_id = _org_id(data_dict, table)
    allowed = bool(org_id) and is_org_member(context.get("user") or "", org_id,
                                             EDIT_PERMISSION)
    return {"success": allowed,
            "msg": tk._("Only editors and admins of the organization may change "
                        "its governance record")}


def kpigov_governance_create(context: dict[str, Any], data_dict: dict[str, Any]):
    return _editor(context, data_dict, governance_table)


def kpigov_governance_update(context: dict[str, Any], data_dict: dict[str, Any]):
    return _editor(context, data_dict, governance_table)


def kpigov_governance_delete(context: dict[str, Any], data_dict: dict[str, Any]):
    return _editor(context, data_dict, governance_table)


@tk.auth_allow_anonymous_access
def kpigov_governance_show(context: dict[str, Any], data_dict: dict[str, Any]):
    """Open: outsiders get the public summary."""
    return {"success": True}


@tk.auth_allow_anonymous_access
def kpigov_governance_list(context: dict[str, Any], data_dict: dict[str, Any]):
    return {"success": True}


def kpigov_stakeholder_create(context: dict[str, Any], data_dict: dict[str, Any]):
    return _editor(context, data_dict, stakeholder_table)


def kpigov_stakeholder_update(context: dict[str, Any], data_dict: dict[str, Any]):
    return _editor(context, data_dict, stakeholder_table)


def kpigov_stakeholder_delete(context: dict[str, Any], data_dict: dict[str, Any]):
    return _editor(context, data_dict, stakeholder_table)


@tk.auth_allow_anonymous_access
def kpigov_stakeholder_list(context: dict[str, Any], data_dict: dict[str, Any]):
    """Open: outsiders get names, positions and agencies, no contacts."""
    return {"success": True}


def kpigov_evidence_create(context: dict[str, Any], data_dict: dict[str, Any]):
    return _editor(context, data_dict, evidence_table)


def kpigov_evidence_update(context: dict[str, Any], data_dict: dict[str, Any]):
    return _editor(context, data_dict, evidence_table)


def kpigov_evidence_delete(context: dict[str, Any], data_dict: dict[str, Any]):
    return _editor(context, data_dict, evidence_table)


@tk.auth_allow_anonymous_access
def kpigov_evidence_list(context: dict[str, Any], data_dict: dict[str, Any]):
    """Open: the action leaves out evidence on private datasets for outsiders."""
    return {"success": True}


def kpigov_verify(context: dict[str, Any], data_dict: dict[str, Any]):
    """Only evaluators verify or reject."""
    return {"success": is_evaluator(context.get("user") or ""),
            "msg": tk._("Only evaluators may verify governance records and evidence")}


def kpigov_verification_list(context: dict[str, Any], data_dict: dict[str, Any]):
    return {"success": may_see_private(context.get("user") or "", _org_id(data_dict))}
