"""Differences between the CKAN versions kpigov runs on.

CKAN 2.10 and 2.11 keep a dataset's custom fields in the ``package_extra``
table (one row per key); CKAN 2.12 keeps them in a JSONB ``extras`` column
of ``package``. Code that reads extras in bulk goes through these helpers.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Sequence

import sqlalchemy as sa

import ckan.model as model

__all__ = ["EXTRA_TABLE", "extra_column", "extras_for", "group_extra_values",
           "FINGERPRINT_TABLES"]

EXTRA_TABLE: Any = getattr(model, "package_extra_table", None)

# tables whose row versions make up a dataset's fingerprint (with package)
FINGERPRINT_TABLES: tuple[str, ...] = (
    ("package_extra", "resource", "package_tag") if EXTRA_TABLE is not None
    else ("resource", "package_tag"))


def _live(table: Any) -> list[Any]:
    """The condition for rows of an extras table that are not deleted
    (older CKAN versions keep a ``state`` column on them)."""
    if "state" in table.c:
        return [sa.or_(table.c.state == "active", table.c.state.is_(None))]
    return []


def extra_column(key: str) -> Any:
    """A column expression: the value of extra ``key`` of the package row of
    ``model.package_table`` in the enclosing query (NULL when absent)."""
    p = model.package_table
    if EXTRA_TABLE is None:
        return p.c.extras[key].astext
    e = EXTRA_TABLE
    conds = [e.c.package_id == p.c.id, e.c.key == key, *_live(e)]
    return sa.select(e.c.value).where(*conds).limit(1).scalar_subquery()


def extras_for(ids: Sequence[str], keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """{package id: {key: value}} for the given keys of the given packages."""
    keys = list(keys)
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    if not ids:
        return out
    if EXTRA_TABLE is None:
        p = model.package_table
        rows = model.Session.execute(
            sa.select(p.c.id, p.c.extras).where(p.c.id.in_(list(ids))))
        for pid, extras in rows:
            for key in keys:
                if extras and key in extras:
                    out[pid][key] = extras[key]
        return out
    e = EXTRA_TABLE
    conds = [e.c.package_id.in_(list(ids)), e.c.key.in_(keys), *_live(e)]
    for pid, key, value in model.Session.execute(
            sa.select(e.c.package_id, e.c.key, e.c.value).where(*conds)):
        out[pid][key] = value
    return out


def group_extra_values(group_ids: Sequence[str], key: str) -> dict[str, Any]:
    """{group id: value of extra ``key``} for the groups that have it
    (``group_extra`` table before CKAN 2.12, ``group.extras`` JSONB after)."""
    if not group_ids:
        return {}
    ge = getattr(model, "group_extra_table", None)
    if ge is None:
        g = model.group_table
        rows = model.Session.execute(
            sa.select(g.c.id, g.c.extras[key].astext)
            .where(g.c.id.in_(list(group_ids)), g.c.extras.has_key(key)))
        return {gid: value for gid, value in rows}
    conds = [ge.c.group_id.in_(list(group_ids)), ge.c.key == key, *_live(ge)]
    return {gid: value for gid, value in model.Session.execute(
        sa.select(ge.c.group_id, ge.c.value).where(*conds))}
