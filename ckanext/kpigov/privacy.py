"""Keep personal contact data (stakeholder emails and phones) from outsiders.

Members of the dataset's organization and evaluators see them; everyone
else gets the names and roles only, in package_show, package_search and
every page built on them.
"""
from __future__ import annotations

from typing import Any, Optional

__all__ = ["strip_contacts", "may_see_contacts"]

_PRIVATE_KEYS = ("email", "phone")


def _request_user() -> Optional[str]:
    try:
        from flask import has_request_context
        import ckan.plugins.toolkit as tk
        if has_request_context():
            user = tk.current_user
            return getattr(user, "name", None) or ""
    except Exception:  # pragma: no cover - no application context
        return None
    return None


def may_see_contacts(pkg_dict: dict[str, Any], context: Any) -> bool:
    """Internal calls (ignore_auth: indexing, jobs) and members/evaluators."""
    from .logic.auth import is_evaluator, is_org_member
    if context is not None:
        if context.get("ignore_auth"):
            return True
        user = context.get("user") or ""
    else:
        # after_dataset_search has no context: the request's user decides
        request_user = _request_user()
        if request_user is None:
            return True  # no request: trusted server-side code
        user = request_user
    if not user:
        return False
    if is_evaluator(user):
        return True
    org = pkg_dict.get("owner_org")
    return bool(org and is_org_member(user, org))


def strip_contacts(pkg_dict: dict[str, Any], context: Any) -> None:
    people = pkg_dict.get("kpigov_stakeholders")
    if not isinstance(people, list) or not people:
        return
    if may_see_contacts(pkg_dict, context):
        return
    pkg_dict["kpigov_stakeholders"] = [
        {k: v for k, v in person.items() if k not in _PRIVATE_KEYS}
        if isinstance(person, dict) else person for person in people]
