"""Pages of the score feature (blueprint registered through views.py)."""
from __future__ import annotations

from flask import Blueprint

kpigov_score = Blueprint("kpigov_score", __name__)
