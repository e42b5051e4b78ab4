"""Template helpers (registered by the blanket decorator)."""
from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk

__all__ = ["kpigov_is_evaluator"]


def kpigov_is_evaluator(user: Any = None) -> bool:
    """True for sysadmins and for users named in ckanext.kpigov.evaluators."""
    from .logic.auth import is_evaluator
    return is_evaluator(user if user is not None else tk.current_user)
