"""Capture data updates into kpigov_ledger, in the same transaction.

A SQLAlchemy ``before_flush`` listener sees every Resource that is created or
whose file/URL changes, whatever the path (web form, package_create/update/
patch, resource_create/update/patch, CLI). Metadata-only edits create no
entry. The nature (new data / correction / metadata only) is what the
publisher declared in ``kpigov_update_nature`` for this change; it is not
kept on the resource, so each change is declared afresh.
"""
from __future__ import annotations

import contextlib
import datetime
import logging
from typing import Any, Iterator, Optional

import sqlalchemy as sa
from sqlalchemy.orm import attributes

import ckan.model as model
import ckan.plugins as p

from .model import NATURES, record_update

log = logging.getLogger(__name__)

NATURE_FIELD = "kpigov_update_nature"

__all__ = ["install", "current_user_id", "request_source", "record_cadence",
           "dataset_field", "index_fields", "label_facets", "freshness_labels"]


def current_user_id() -> Optional[str]:
    try:
        from flask import has_request_context
        import ckan.plugins.toolkit as tk
        if has_request_context() and tk.current_user and \
                getattr(tk.current_user, "id", None):
            return tk.current_user.id  # type: ignore[no-any-return]
    except Exception:  # pragma: no cover - no app context (CLI)
        return None
    return None


def request_source() -> str:
    try:
        from flask import has_request_context, request
        if has_request_context():
            return "api" if request.path.startswith(("/api/", "/th/api", "/en/api")) \
                else "web"
    except Exception:  # pragma: no cover
        pass
    return "cli"


def _changed(obj: Any, attr: str) -> bool:
    hist = attributes.get_history(obj, attr)
    return bool(hist.added) and list(hist.added) != list(hist.deleted or [])


def _take_nature(res: model.Resource, default: str) -> str:
    extras = dict(res.extras or {})
    declared = extras.pop(NATURE_FIELD, None)
    if declared is not None:
        res.extras = extras  # transient: declared per change, never stored
    return declared if declared in NATURES else default


def _before_flush(session: Any, flush_context: Any, instances: Any) -> None:
    if not p.plugin_loaded("kpigov"):
        return
    pending: list[dict[str, Any]] = []
    for obj in list(session.new):
        if isinstance(obj, model.Resource) and obj.state in (None, "active"):
            kind = "upload" if obj.url_type == "upload" else "resource_create"
            pending.append({"res": obj, "kind": kind,
                            "nature": _take_nature(obj, "new_data")})
    for obj in list(session.dirty):
        if not isinstance(obj, model.Resource) or obj in session.new:
            continue
        if obj.state != "active":
            _take_nature(obj, "metadata")
            continue
        url_changed = _changed(obj, "url")
        is_upload = obj.url_type == "upload" and (
            url_changed or _changed(obj, "last_modified"))
        if is_upload or url_changed:
            pending.append({"res": obj,
                            "kind": "upload" if is_upload else "url_change",
                            "nature": _take_nature(obj, "new_data")})
        else:
            # a declared nature on a metadata-only edit is dropped, too
            _take_nature(obj, "metadata")
    if pending:
        session.info.setdefault("kpigov_pending", []).extend(pending)


def _after_flush(session: Any, flush_context: Any) -> None:
    # Written after the flush (ids assigned) on the flush's own connection:
    # same transaction as the change, so both land or neither does.
    pending = session.info.pop("kpigov_pending", None)
    if not pending:
        return
    user_id = current_user_id()
    source = request_source()
    conn = session.connection()
    for item in pending:
        res = item["res"]
        package_id = res.package_id or (res.package.id if res.package else None)
        if not package_id or not res.id:
            continue
        record_update(package_id, item["kind"], item["nature"],
                      resource_id=res.id, user_id=user_id, source=source,
                      detail={"url": (res.url or "")[:500],
                              "format": res.format or ""}, connection=conn)


def _after_rollback(session: Any, *args: Any) -> None:
    session.info.pop("kpigov_pending", None)


def install() -> None:
    """Register the listeners once (plugins may be loaded many times)."""
    for name, fn in (("before_flush", _before_flush),
                     ("after_flush", _after_flush),
                     ("after_soft_rollback", _after_rollback)):
        if not sa.event.contains(model.Session, name, fn):
            sa.event.listen(model.Session, name, fn)


def dataset_field(pkg_dict: dict[str, Any], name: str) -> Any:
    """A field from a dataset dict, top level (scheming) or in extras."""
    if pkg_dict.get(name) not in (None, ""):
        return pkg_dict[name]
    for extra in pkg_dict.get("extras") or []:
        if extra.get("key") == name:
            return extra.get("value")
    return None


def record_cadence(pkg_dict: dict[str, Any]) -> bool:
    """Log the dataset's declared cadence if it differs from the last logged.

    Called from after_dataset_create/update, i.e. inside the transaction of
    the change. Returns True when a history row was written.
    """
    from .model import cadence_history_table as t
    unit = dataset_field(pkg_dict, "update_frequency_unit") or None
    raw_interval = dataset_field(pkg_dict, "update_frequency_interval")
    try:
        interval: Optional[int] = int(str(raw_interval)) if raw_interval not in (
            None, "") else None
    except ValueError:
        interval = None
    last = model.Session.execute(
        sa.select(t.c.unit_to, t.c.interval_to)
        .where(t.c.package_id == pkg_dict["id"])
        .order_by(t.c.changed.desc(), t.c.id.desc()).limit(1)).first()
    if last is None and unit is None:
        return False
    if last is not None and (last[0], last[1]) == (unit, interval):
        return False
    model.Session.execute(t.insert().values(
        id=model.types.make_uuid(), package_id=pkg_dict["id"],
        user_id=current_user_id(), changed=datetime.datetime.utcnow(),
        unit_from=last[0] if last else None,
        interval_from=last[1] if last else None,
        unit_to=unit, interval_to=interval))
    return True


def freshness_labels() -> dict[str, str]:
    import ckan.plugins.toolkit as tk
    return {"fresh": tk._("Fresh"), "due": tk._("Due"), "overdue": tk._("Overdue"),
            "delinquent": tk._("Delinquent"),
            "not_applicable": tk._("No fixed cadence")}


_PREFETCHED = "kpigov_index_prefetched"


@contextlib.contextmanager
def prefetched_for_index(ids: list[str]) -> Iterator[None]:
    """A reindex batch: read the latest update of all ``ids`` in one query
    for :func:`index_fields` instead of one query per dataset."""
    from .logic import data
    model.Session.info[_PREFETCHED] = (set(ids), data.last_updates(ids))
    try:
        yield
    finally:
        model.Session.info.pop(_PREFETCHED, None)


def index_fields(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    """Freshness and cadence in the search document (Solr or kpigov_pgsearch).

    Plain string fields: Solr's dynamic ``*`` string field and our backend
    both index them, so ``fq=kpigov_freshness:overdue`` and the facet work
    with either. Freshness moves with time: ``ckan kpigov refresh-index``
    (cron) re-indexes the datasets whose state changed.
    """
    from .logic import data
    unit = dataset_field(pkg_dict, "update_frequency_unit")
    interval = dataset_field(pkg_dict, "update_frequency_interval")
    known = model.Session.info.get(_PREFETCHED)
    if known is not None and pkg_dict["id"] in known[0]:
        last = known[1].get(pkg_dict["id"])
    else:
        last = data.last_updates([pkg_dict["id"]]).get(pkg_dict["id"])
    pkg_dict["kpigov_freshness"] = data.freshness_of(unit, interval, last)
    if last is not None:
        pkg_dict["kpigov_last_update"] = last.isoformat() + "Z"
    cad = data.cadence_or_none(unit, interval)
    if cad is not None:
        pkg_dict["kpigov_cadence"] = cad.key
    return pkg_dict


def label_facets(search_results: dict[str, Any]) -> dict[str, Any]:
    """Readable facet labels, and the live freshness of each result."""
    from .logic import data
    results = [r for r in search_results.get("results") or []
               if isinstance(r, dict) and r.get("id")]
    if results:
        last = data.last_updates([r["id"] for r in results])
        for r in results:
            r["kpigov_freshness"] = data.freshness_of(
                dataset_field(r, "update_frequency_unit"),
                dataset_field(r, "update_frequency_interval"), last.get(r["id"]))
    facet = (search_results.get("search_facets") or {}).get("kpigov_freshness")
    if facet:
        labels = freshness_labels()
        for item in facet.get("items", []):
            item["display_name"] = labels.get(item["name"], item["name"])
    return search_results
