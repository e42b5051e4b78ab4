"""Actions for the score feature (re-exported by logic/action.py)."""
from __future__ import annotations

__all__: list[str] = []
