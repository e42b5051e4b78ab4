"""DataStore writes are data updates too: record them in the ledger.

Chained onto datastore_create (with records) and datastore_upsert; the
entry is written after the DataStore accepted the rows, in the main
database's transaction, so a refused write records nothing. Each write
carries the sha256 and size of its records (canonical JSON): records the
dataset's ledger has already seen (the same load run again) are no update.
``datastore_delete`` removes data and records nothing.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Optional

import ckan.model as model
import ckan.plugins.toolkit as tk

from ..ledger import current_user_id, request_source, seen_keys
from ..model import NATURES, record_update

__all__ = ["chained_actions"]


def records_hash(records: Any) -> tuple[str, int]:
    """sha256 and size of the records as canonical JSON (keys sorted)."""
    body = json.dumps(records, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), default=str).encode("utf-8")
    return hashlib.sha256(body).hexdigest(), len(body)


def _record(data_dict: dict[str, Any], context: dict[str, Any], rows: int,
            content: Optional[tuple[str, int]] = None) -> None:
    resource_id = data_dict.get("resource_id") or (
        data_dict.get("resource") or {}).get("id")
    if not resource_id or rows <= 0 or content is None:
        return
    res = model.Resource.get(resource_id)
    if res is None:
        return
    if content[0] in seen_keys(res.package_id)[0]:
        return  # the same records again: not new data
    nature = data_dict.get("kpigov_update_nature")
    if nature not in NATURES:
        nature = "new_data"
    user = model.User.get(context.get("user") or "")
    record_update(res.package_id, "datastore_upsert", nature, resource_id=res.id,
                  user_id=user.id if user else current_user_id(),
                  source=request_source(), detail={"rows": rows},
                  sha256=content[0], size=content[1])
    model.Session.commit()


def _rows(data_dict: dict[str, Any]) -> int:
    records = data_dict.get("records")
    return len(records) if isinstance(records, list) else 0


def _content(data_dict: dict[str, Any]) -> Optional[tuple[str, int]]:
    records = data_dict.get("records")
    return records_hash(records) if isinstance(records, list) and records else None


@tk.chained_action
def datastore_upsert(up_func: Callable[..., Any], context: dict[str, Any],
                     data_dict: dict[str, Any]) -> Any:
    nature = data_dict.pop("kpigov_update_nature", None)
    rows, dry_run = _rows(data_dict), data_dict.get("dry_run")
    content = _content(data_dict)  # before CKAN validates (and alters) them
    resource_id = data_dict.get("resource_id")
    result = up_func(context, data_dict)
    if not dry_run:
        _record({"resource_id": resource_id, "kpigov_update_nature": nature},
                context, rows, content)
    return result


@tk.chained_action
def datastore_create(up_func: Callable[..., Any], context: dict[str, Any],
                     data_dict: dict[str, Any]) -> Any:
    nature = data_dict.pop("kpigov_update_nature", None)
    rows, content = _rows(data_dict), _content(data_dict)
    result = up_func(context, data_dict)
    _record({"resource_id": result.get("resource_id"), "kpigov_update_nature": nature},
            context, rows, content)
    return result


def chained_actions() -> dict[str, Any]:
    return {"datastore_upsert": datastore_upsert, "datastore_create": datastore_create}
