"""When each dataset was active: what a year's compliance and KPI include.

A dataset owes its periods from the first time it is active until it is
deleted, whatever a publisher does in between: a draft or private dataset
still owes (hiding it erases nothing), a deleted one owes the period it was
deleted in, and a dataset created again under a deleted dataset's name (CKAN
renames the deleted one to its id), or with a deleted dataset's link
resources, in the same organization, continues that dataset's history
(``predecessor_id``; evaluators see the link on the Compliance tab).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

import sqlalchemy as sa

import ckan.model as model
from ckan.model.meta import metadata

__all__ = ["dataset_life_table", "record", "lives", "chain"]

dataset_life_table = sa.Table(
    "kpigov_dataset_life", metadata,
    sa.Column("package_id", sa.UnicodeText, primary_key=True),
    sa.Column("name", sa.UnicodeText),  # the name it had while not deleted
    sa.Column("owner_org", sa.UnicodeText),
    sa.Column("first_active", sa.DateTime),  # None: never active (a form draft)
    sa.Column("retired_at", sa.DateTime),  # when it was deleted
    sa.Column("predecessor_id", sa.UnicodeText),
    sa.Column("linked_by", sa.UnicodeText),  # 'name' or 'resources'
    extend_existing=True,
)


def _now() -> dt.datetime:
    return dt.datetime.utcnow()


def record(package_id: str, deleting: bool = False) -> None:
    """Note the dataset's state after a create, update or delete (in the
    transaction of the change; CKAN calls the delete hook before it sets the
    state, hence ``deleting``)."""
    t = dataset_life_table
    pkg = model.Session.get(model.Package, package_id)
    if pkg is None or pkg.type != "dataset":
        return
    row = model.Session.execute(sa.select(t).where(t.c.package_id == package_id)).first()
    values: dict[str, Any] = {"owner_org": pkg.owner_org}
    state = "deleted" if deleting else pkg.state
    if state == "deleted":
        values["retired_at"] = (row.retired_at if row is not None and row.retired_at
                                else _now())
    else:
        values["name"] = pkg.name
        values["retired_at"] = None
        if state == "active" and (row is None or row.first_active is None):
            values["first_active"] = _now()
    if row is None:
        model.Session.execute(t.insert().values(package_id=package_id, **values))
    else:
        model.Session.execute(t.update().where(t.c.package_id == package_id)
                              .values(**values))
    first = values.get("first_active") or (row.first_active if row is not None else None)
    if state == "active" and (row is None or row.predecessor_id is None) \
            and first is not None and _now() - first <= RELINK_WINDOW:
        # at creation, and while resources are still being added to a new
        # dataset (a re-created dataset gets its files after it is made)
        _link(pkg, first)


# how long after its first activation a dataset may still be recognised as
# the re-creation of a deleted one (by the content of resources added later)
RELINK_WINDOW = dt.timedelta(days=92)


def _link(pkg: model.Package, first_active: dt.datetime) -> None:
    """Link a new dataset to the deleted one it replaces, if any: same name,
    else the same content (an upload's sha256 or a normalised link URL in
    the ledger), else the same link URL; the deleted one retired before the
    new one was first active, in the same organization."""
    from .ledger import normalize_url
    from .model import ledger_table as lt
    t = dataset_life_table
    if not pkg.owner_org:
        return
    taken = sa.select(t.c.predecessor_id).where(t.c.predecessor_id.isnot(None))
    base = [t.c.owner_org == pkg.owner_org, t.c.package_id != pkg.id,
            t.c.retired_at.isnot(None), t.c.first_active.isnot(None),
            t.c.retired_at <= first_active + dt.timedelta(minutes=1),
            t.c.package_id.notin_(taken)]
    found = model.Session.execute(
        sa.select(t.c.package_id).where(t.c.name == pkg.name, *base)
        .order_by(t.c.retired_at.desc()).limit(1)).scalar()
    how = "name"
    if found is None:
        keys = {normalize_url(r.url) for r in pkg.resources
                if r.state == "active" and r.url and r.url_type != "upload"}
        hashes: set[str] = set()
        for sha, key in model.Session.execute(sa.select(
                lt.c.sha256, lt.c.detail["url_key"].astext).where(
                lt.c.package_id == pkg.id)):
            if sha:
                hashes.add(sha)
            if key:
                keys.add(key)
        keys.discard("")
        match = []
        if hashes:
            match.append(lt.c.sha256.in_(hashes))
        if keys:
            match.append(lt.c.detail["url_key"].astext.in_(keys))
        if match:
            found = model.Session.execute(
                sa.select(t.c.package_id).join(lt, lt.c.package_id == t.c.package_id)
                .where(sa.or_(*match), *base)
                .order_by(t.c.retired_at.desc()).limit(1)).scalar()
            how = "resources"
    if found is None:
        urls = [r.url.strip() for r in pkg.resources
                if r.url and r.url_type != "upload" and r.url.strip()]
        if urls:
            r = model.resource_table
            found = model.Session.execute(
                sa.select(t.c.package_id).join(r, r.c.package_id == t.c.package_id)
                .where(sa.func.btrim(r.c.url).in_(urls), *base)
                .order_by(t.c.retired_at.desc()).limit(1)).scalar()
            how = "resources"
    if found is not None:
        model.Session.execute(t.update().where(t.c.package_id == pkg.id)
                              .values(predecessor_id=found, linked_by=how))
        _withdraw_inherited(pkg.id, found)


def _withdraw_inherited(package_id: str, predecessor_id: str) -> None:
    """Entries the re-created dataset got for content the deleted one
    already had (the same file uploaded again) are not new data."""
    from .ledger import seen_keys
    from .model import ledger_table as lt
    hashes, urls = seen_keys(predecessor_id)
    match = []
    if hashes:
        match.append(lt.c.sha256.in_(hashes))
    if urls:
        match.append(lt.c.detail["url_key"].astext.in_(urls))
    if not match:
        return
    model.Session.execute(lt.update().where(
        lt.c.package_id == package_id, lt.c.withdrawn.is_(None),
        lt.c.nature.in_(("new_data", "correction")), sa.or_(*match))
        .values(withdrawn=_now()))


def lives(ids: list[str]) -> dict[str, Any]:
    """The life rows of ``ids``."""
    if not ids:
        return {}
    t = dataset_life_table
    return {r.package_id: r for r in model.Session.execute(
        sa.select(t).where(t.c.package_id.in_(ids)))}


def chain(package_id: str, rows: Optional[dict[str, Any]] = None) -> list[str]:
    """The deleted datasets whose history ``package_id`` continues, newest first."""
    t = dataset_life_table
    out: list[str] = []
    current = package_id
    while len(out) < 50:
        row = (rows or {}).get(current) or model.Session.execute(
            sa.select(t).where(t.c.package_id == current)).first()
        if row is None or not row.predecessor_id or row.predecessor_id in out:
            break
        out.append(row.predecessor_id)
        current = row.predecessor_id
    return out
