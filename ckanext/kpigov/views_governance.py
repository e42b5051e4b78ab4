"""Pages of the governance feature (blueprint registered through views.py)."""
from __future__ import annotations

from flask import Blueprint

kpigov_governance = Blueprint("kpigov_governance", __name__)
