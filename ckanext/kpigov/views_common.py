"""Helpers shared by the kpigov pages (Compliance, Governance, KPI)."""
from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk

__all__: list[str] = []


def request_context() -> dict[str, Any]:
    """An action context for the user of the current request."""
    user = tk.current_user
    return {"user": user.name if user.is_authenticated else "",
            "auth_user_obj": user if user.is_authenticated else None}


def org_or_404(id: str) -> tuple[model.Group, dict[str, Any]]:
    """The organization (model and dict) the user may see, or a 404 page."""
    try:
        group_dict = tk.get_action("organization_show")(
            # as CKAN's own organization page: the tabs use neither the
            # datasets nor the member list of the organization
            request_context(), {"id": id, "include_datasets": False,
                                "include_users": False})
    except (tk.ObjectNotFound, tk.NotAuthorized):
        tk.abort(404, tk._("Organization not found"))
    org = model.Group.get(group_dict["id"])
    assert org is not None
    return org, group_dict
