"""Template helpers for the governance feature (re-exported by helpers.py)."""
from __future__ import annotations

__all__: list[str] = []
