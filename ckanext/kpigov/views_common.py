"""Helpers shared by the kpigov pages (Compliance, Governance, KPI)."""
from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk

__all__ = ["request_context", "org_or_404", "protect"]


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


def _csrf_protect() -> None:
    """kpigov's forms check CSRF tokens whatever
    ``ckan.csrf_protection.ignore_extensions`` says (CKAN's default, true,
    exempts every extension's blueprint). Requests authenticated by an API
    token header are exempt, as CKAN exempts them."""
    from flask import current_app, g, request
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if getattr(g, "_csrf_exempt_view", False) or g.get("login_via_auth_header"):
        return
    from ckan.config.middleware.flask_app import csrf
    csrf.protect()


def _error_page(code: int, name: str, message: str) -> Any:
    return tk.render("error_document_template.html", extra_vars={
        "code": code, "content": message, "name": name}), code


def _not_authorized(err: Exception) -> Any:
    return _error_page(403, "Forbidden", str(err) or tk._("Not authorized to see this page"))


def _not_found(err: Exception) -> Any:
    return _error_page(404, "Not Found", str(err) or tk._("Not found"))


def _invalid(err: Any) -> Any:
    summary = "; ".join("%s: %s" % (k, ", ".join(map(str, v)) if isinstance(v, list) else v)
                        for k, v in (getattr(err, "error_dict", {}) or {}).items())
    return _error_page(400, "Bad Request", summary or tk._("Invalid request"))


def protect(blueprint: Any) -> Any:
    """Every kpigov blueprint: CSRF on its forms, and an action's refusal
    that a view did not handle is a 403/404/400 page, never a 500."""
    blueprint.before_request(_csrf_protect)
    blueprint.register_error_handler(tk.NotAuthorized, _not_authorized)
    blueprint.register_error_handler(tk.ObjectNotFound, _not_found)
    blueprint.register_error_handler(tk.ValidationError, _invalid)
    return blueprint
