"""Authorization functions and the evaluator rule."""
from __future__ import annotations

from typing import Any

import ckan.authz as authz
import ckan.plugins.toolkit as tk

__all__: list[str] = []


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
