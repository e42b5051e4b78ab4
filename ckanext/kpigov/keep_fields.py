"""Nothing lost on save: fields the active schema does not list are kept.

CKAN's package_update replaces a dataset's extras with the ones in the
request, and ckanext-scheming's form sends only the fields of the schema. A
dataset created by thai_gdc (or any portal) with a field kpigov's schema does
not list — a fork's own field, a harvester's extra — would lose it on the
first edit through the form, and an API client that sends the dataset back
with the field at the top level (as thai_gdc's package_show shows it) would
lose it too: CKAN puts unknown top-level keys in ``__extras`` and ignores them.

This is done as chained ``package_update``/``resource_update`` actions rather
than in the schema: the schema belongs to scheming's IDatasetForm (one per
dataset type, whichever schema file the portal loads, including thai_gdc's own
on the merge path), while a chained action sees the stored dataset and covers
every path that saves one (API update/patch/revise, the web form, resource
edits). The rule:

- a stored extra the schema does not list, not mentioned in the request, is
  kept as stored;
- one sent at the top level is saved as that extra (lists and dicts as JSON,
  like scheming stores them);
- one mentioned in ``extras`` is the client's: a ``deleted`` flag or a null
  value deletes it, as in CKAN.

Resource fields work the same way (a resource keeps its stored fields the
schema does not list unless the request names them).
"""
from __future__ import annotations

import json
from typing import Any, Callable, Optional

import ckan.model as model
import ckan.plugins as p
import ckan.plugins.toolkit as tk

# package columns and keys package_show adds: never extras
_CORE = frozenset((
    "id", "name", "title", "author", "author_email", "maintainer",
    "maintainer_email", "license_id", "notes", "url", "version", "state",
    "type", "owner_org", "private", "metadata_created", "metadata_modified",
    "creator_user_id", "plugin_data", "extras", "resources", "tags", "groups",
    "tag_string", "organization", "num_resources", "num_tags", "isopen",
    "license_title", "license_url", "relationships_as_object",
    "relationships_as_subject", "save", "return_to",
))


def _schema(dataset_type: str) -> Optional[dict[str, Any]]:
    if not p.plugin_loaded("scheming_datasets"):
        return None
    from ckanext.scheming.helpers import scheming_get_dataset_schema
    return scheming_get_dataset_schema(dataset_type)


def _listed(schema: Optional[dict[str, Any]], section: str) -> set[str]:
    return {f["field_name"] for f in (schema or {}).get(section) or []}


def _as_extra_value(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if value is None or isinstance(value, str):
        return value
    return str(value)


def keep_dataset_fields(data_dict: dict[str, Any]) -> None:
    """Add to a package_update request the stored extras the active schema
    does not list (see the module docstring)."""
    ref = data_dict.get("id") or data_dict.get("name")
    if not isinstance(ref, str) or not ref:
        return
    pkg = model.Package.get(ref)
    if pkg is None:
        return
    schema = _schema(pkg.type)
    if schema is None:
        return  # CKAN's own form edits free extras itself
    listed = _listed(schema, "dataset_fields") | _CORE
    stored = {k: v for k, v in pkg.extras.items() if k not in listed}
    if not stored:
        return
    extras = data_dict.get("extras")
    if not isinstance(extras, list):
        extras = []
    mentioned = {e.get("key") for e in extras if isinstance(e, dict)}
    for key, value in stored.items():
        if key in mentioned:
            continue
        if key in data_dict:
            extras.append({"key": key, "value": _as_extra_value(data_dict.pop(key))})
        else:
            extras.append({"key": key, "value": value})
    data_dict["extras"] = extras


def keep_resource_fields(data_dict: dict[str, Any]) -> None:
    """Add to a resource_update request the stored resource fields the
    active schema does not list."""
    ref = data_dict.get("id")
    if not isinstance(ref, str) or not ref:
        return
    res = model.Resource.get(ref)
    if res is None or not res.extras:
        return
    pkg = res.package
    schema = _schema(pkg.type) if pkg is not None else None
    if schema is None:
        return
    listed = _listed(schema, "resource_fields")
    for key, value in res.extras.items():
        if key not in listed and key not in data_dict:
            data_dict[key] = value


def _chain(keep: Callable[[dict[str, Any]], None]) -> Callable[..., Any]:
    def chained(up: Callable[..., Any], context: Any, data_dict: Any) -> Any:
        if isinstance(data_dict, dict):
            keep(data_dict)
        return up(context, data_dict)
    return chained


def chained_actions(existing: dict[str, Any]) -> dict[str, Any]:
    """package_update/resource_update, run inside kpigov's other chained
    versions of the same actions (if any) in ``existing``."""
    out = {}
    for name, keep in (("package_update", keep_dataset_fields),
                       ("resource_update", keep_resource_fields)):
        inner = _chain(keep)
        outer = existing.get(name)
        if outer is None:
            fn = inner
        else:
            def fn(up: Callable[..., Any], context: Any, data_dict: Any,
                   outer: Any = outer, inner: Any = inner) -> Any:
                return outer(lambda c, d: inner(up, c, d), context, data_dict)
        fn.__name__ = name
        out[name] = tk.chained_action(fn)
    return out
