"""Actions for the governance feature (re-exported by logic/action.py)."""
from __future__ import annotations

__all__: list[str] = []
