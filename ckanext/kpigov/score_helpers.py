"""Template helpers for the score feature (re-exported by helpers.py)."""
from __future__ import annotations

__all__: list[str] = []
