"""Authorization functions (one per action, same name) and the evaluator rule.

Visibility rules:
- evaluators (sysadmins and users named in ``ckanext.kpigov.evaluators``)
  see and verify everything;
- members of an organization see its governance and compliance data,
  editors and admins change it;
- everyone else sees only what concerns public datasets.
"""
from __future__ import annotations

from typing import Any

import ckan.authz as authz
import ckan.model as model
import ckan.plugins.toolkit as tk

__all__ = [
    "kpigov_dataset_compliance", "kpigov_org_compliance", "kpigov_ledger_list",
    "kpigov_exemption_create", "kpigov_exemption_list", "kpigov_exemption_decide",
]


def is_evaluator(user: Any) -> bool:
    """Sysadmins and the configured evaluator users see every organization."""
    if user is None:
        return False
    name = user if isinstance(user, str) else getattr(user, "name", None)
    if not name:
        return False
    if authz.is_sysadmin(name):
        return True
    return name in (tk.config.get("ckanext.kpigov.evaluators") or [])


def may_see_private(user: Any, org_id: Any) -> bool:
    """The one visibility rule: may this user see the organization's private
    data (private datasets, governance contacts, stakeholders' emails and
    phones)? Evaluators (and sysadmins) always; members of the organization
    (any capacity) for their organization; nobody else, anonymous never."""
    name = user if isinstance(user, str) else getattr(user, "name", None)
    if not name:
        return False
    if is_evaluator(name):
        return True
    return bool(org_id) and is_org_member(name, str(org_id))


def _user(context: dict[str, Any]) -> str:
    return context.get("user") or ""


def can_see_dataset(context: dict[str, Any], package_id: str) -> bool:
    """Whoever may read the dataset in CKAN, and evaluators."""
    if is_evaluator(_user(context)):
        return model.Package.get(package_id) is not None
    try:
        tk.check_access("package_show", dict(context), {"id": package_id})
        return True
    except (tk.NotAuthorized, tk.ObjectNotFound):
        return False


def can_edit_dataset(context: dict[str, Any], package_id: str) -> bool:
    try:
        tk.check_access("package_update", dict(context), {"id": package_id})
        return True
    except (tk.NotAuthorized, tk.ObjectNotFound):
        return False


def is_org_member(user: str, org_id: str, permission: str = "read") -> bool:
    if not user:
        return False
    return bool(authz.has_user_permission_for_group_or_org(org_id, user, permission))


def _package_ref(data_dict: dict[str, Any]) -> str:
    return str(data_dict.get("id") or data_dict.get("package_id") or "")


@tk.auth_allow_anonymous_access
def kpigov_dataset_compliance(context: dict[str, Any], data_dict: dict[str, Any]):
    """Whoever may see the dataset may see its compliance."""
    return {"success": can_see_dataset(context, _package_ref(data_dict))}


@tk.auth_allow_anonymous_access
def kpigov_ledger_list(context: dict[str, Any], data_dict: dict[str, Any]):
    return {"success": can_see_dataset(context, _package_ref(data_dict))}


@tk.auth_allow_anonymous_access
def kpigov_org_compliance(context: dict[str, Any], data_dict: dict[str, Any]):
    """Open to all: the action leaves out private datasets for outsiders."""
    return {"success": True}


def kpigov_exemption_create(context: dict[str, Any], data_dict: dict[str, Any]):
    """Publishers (editors and admins of the dataset's organization)."""
    return {"success": can_edit_dataset(context, _package_ref(data_dict))}


def kpigov_exemption_list(context: dict[str, Any], data_dict: dict[str, Any]):
    user = _user(context)
    org_id = data_dict.get("owner_org") or data_dict.get("organization_id")
    if org_id:
        org = model.Group.get(str(org_id))
        return {"success": may_see_private(user, org.id if org else None)}
    ref = _package_ref(data_dict)
    pkg = model.Package.get(ref) if ref else None
    return {"success": may_see_private(user, pkg.owner_org if pkg else None)}


def kpigov_exemption_decide(context: dict[str, Any], data_dict: dict[str, Any]):
    """Only evaluators approve or reject."""
    return {"success": is_evaluator(_user(context)),
            "msg": tk._("Only evaluators may decide on exemptions")}


# Feature modules keep their auth functions apart; blanket registers __all__.
from . import governance_auth as _governance_auth  # noqa: E402
from . import score_auth as _score_auth  # noqa: E402

for _module in (_governance_auth, _score_auth):
    for _name in _module.__all__:
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
