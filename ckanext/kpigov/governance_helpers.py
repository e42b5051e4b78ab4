"""Template helpers for the governance feature (re-exported by helpers.py)."""
from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk

__all__ = [
    "kpigov_governance_choices", "kpigov_governance_label",
    "kpigov_can_edit_governance", "kpigov_dictionary_rows",
    "kpigov_dictionary_fields", "kpigov_dictionary_coverage",
]


def _labels() -> dict[str, dict[str, str]]:
    # Built per call so each label follows the request's language.
    return {
        "group_role": {
            "chair": tk._("Chair"), "vice_chair": tk._("Vice chair"),
            "member": tk._("Member"), "secretary": tk._("Secretary"),
            "assistant_secretary": tk._("Assistant secretary"),
            "advisor": tk._("Advisor")},
        "stakeholder_role": {
            "owner": tk._("Data owner"), "steward": tk._("Data steward"),
            "custodian": tk._("Custodian"), "producer": tk._("Producer"),
            "user": tk._("Data user"), "other": tk._("Other")},
        "usage": {
            "operations": tk._("Operations"), "decision": tk._("Decision making"),
            "planning": tk._("Planning"), "public_service": tk._("Public service"),
            "report": tk._("Report"), "other": tk._("Other")},
        "sharing": {
            "online_service": tk._("Online service"), "api": tk._("API"),
            "exchange_bma": tk._("Exchange with a BMA agency"),
            "exchange_external": tk._("Exchange with an outside body"),
            "publication": tk._("Public publication")},
        "evidence_type": {"usage": tk._("Usage"), "sharing": tk._("Sharing")},
        "status": {"pending": tk._("Awaiting verification"),
                   "verified": tk._("Verified"), "rejected": tk._("Rejected")},
    }


def kpigov_governance_choices(vocabulary: str) -> list[dict[str, str]]:
    """[{value, label}] of a governance vocabulary, for form selects.

    vocabulary: group_role, stakeholder_role, usage, sharing, evidence_type
    or status.
    """
    return [{"value": k, "label": v} for k, v in _labels().get(vocabulary, {}).items()]


def kpigov_governance_label(vocabulary: str, value: Any) -> str:
    """The label of a value in a governance vocabulary (the value if unknown)."""
    return _labels().get(vocabulary, {}).get(str(value or ""), str(value or ""))


def kpigov_can_edit_governance(org_id: str) -> bool:
    """Whether the current user may change the organization's governance record."""
    user = getattr(tk.current_user, "name", None) or ""
    try:
        tk.check_access("kpigov_governance_update", {"user": user},
                        {"owner_org": org_id})
        return True
    except tk.NotAuthorized:
        return False


def kpigov_dictionary_rows(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The resource's data dictionary as plain rows."""
    from .dictionary import dictionary_rows
    return dictionary_rows(resource)


def kpigov_dictionary_fields() -> list[dict[str, str]]:
    """Keys and labels (in the page's language) of the dictionary columns."""
    from .dictionary import DICTIONARY_FIELDS
    from .helpers import kpigov_lang
    thai = kpigov_lang().startswith("th")
    return [{"key": k, "label": th if thai else en} for k, th, en in DICTIONARY_FIELDS]


def kpigov_dictionary_coverage(resource: dict[str, Any]) -> dict[str, Any]:
    """Share of the resource's actual columns the dictionary describes."""
    from .completeness import dictionary_coverage
    from .dictionary import _as_rows
    return dictionary_coverage(dict(
        resource, kpigov_dictionary=_as_rows(resource.get("kpigov_dictionary"))))
