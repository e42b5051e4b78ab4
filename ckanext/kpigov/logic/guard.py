"""Input every kpigov action refuses before it reaches the database.

PostgreSQL text cannot hold a NUL byte (psycopg2 raises at the query, a
500); no kpigov field is meant to hold other C0 control characters but tab,
line feed and carriage return. Applied to every kpigov action when the
plugin registers them, so a new action is covered too.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Callable

import ckan.plugins.toolkit as tk

__all__ = ["guarded", "as_bool", "check", "chained_guards"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_DEPTH = 20


def _problems(value: Any, path: str, out: dict[str, list[str]], depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        out.setdefault(path or "data", []).append(tk._("Nested too deeply"))
        return
    if isinstance(value, str):
        if _CONTROL.search(value):
            out.setdefault(path or "data", []).append(
                tk._("Must not contain control characters (such as NUL)"))
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _CONTROL.search(key):
                out.setdefault(path or "data", []).append(
                    tk._("Must not contain control characters (such as NUL)"))
                continue
            _problems(item, str(key) if not path else "%s.%s" % (path, key), out,
                      depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _problems(item, path, out, depth + 1)


def check(data_dict: Any) -> None:
    """A validation error (409) for control characters anywhere in the input."""
    if not isinstance(data_dict, dict):
        return
    errors: dict[str, list[str]] = {}
    _problems({k: v for k, v in data_dict.items() if not hasattr(v, "read")}, "", errors)
    if errors:
        raise tk.ValidationError(errors)


def guarded(action: Callable[..., Any]) -> Callable[..., Any]:
    """The action, refusing control characters anywhere in its input with a
    validation error (409), before any query runs."""
    if getattr(action, "chained_action", False):
        @functools.wraps(action)
        def chained(up: Callable[..., Any], context: dict[str, Any],
                    data_dict: dict[str, Any]) -> Any:
            check(data_dict)
            return action(up, context, data_dict)
        return chained

    @functools.wraps(action)
    def wrapper(context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
        check(data_dict)
        return action(context, data_dict)
    return wrapper


# CKAN's dataset and resource writes carry kpigov's fields: the same guard
# (CKAN itself answers a NUL byte in a name or id with a 500).
GUARDED_CORE = ("package_create", "package_update", "package_patch", "package_revise",
                "resource_create", "resource_update", "resource_patch")


def _chained(up: Callable[..., Any], context: dict[str, Any],
             data_dict: dict[str, Any]) -> Any:
    check(data_dict)
    return up(context, data_dict)


def chained_guards() -> dict[str, Any]:
    out = {}
    for name in GUARDED_CORE:
        def fn(up: Callable[..., Any], context: dict[str, Any],
               data_dict: dict[str, Any]) -> Any:
            return _chained(up, context, data_dict)
        fn.__name__ = name
        out[name] = tk.chained_action(fn)
    return out


def as_bool(data_dict: dict[str, Any], key: str, default: bool = False) -> bool:
    """A boolean parameter: true/false/yes/no/1/0/on/off, else a validation
    error naming the key."""
    value = data_dict.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    try:
        return bool(tk.asbool(value))
    except (ValueError, TypeError):
        raise tk.ValidationError({key: [tk._("Must be true or false")]}) from None


# --- every request ------------------------------------------------------------
# CKAN answers a NUL byte in almost any input with a 500 (PostgreSQL text
# cannot hold one: psycopg2 raises at the query), and not only in actions:
# views query the database with URL parts and form fields before any
# action runs. One check before every request of the portal — API calls,
# web forms, every blueprint's routes, whichever plugin registered them —
# refuses control characters in the URL's parts, the query string, the
# form fields and a JSON body: a 409 Validation Error (CKAN's API answer to
# bad input) on the API, a 400 page elsewhere. Nothing has run, so nothing
# is stored. DataStore records are data, not metadata: there only NUL (which
# PostgreSQL cannot store) is refused.

_NUL = re.compile(r"\x00")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


# fields kpigov's own forms send several of (checkbox lists)
_KPIGOV_MULTI = frozenset(("target_datasets",))
_MULTI_SNIPPETS = ("multiple_checkbox.html", "multiple_select.html", "multiple_text.html")


def multi_valued_fields() -> frozenset[str]:
    """The form fields that may be sent more than once: kpigov's checkbox
    lists and every multiple-choice field of the active scheming schemas."""
    names = set(_KPIGOV_MULTI)
    try:
        import ckan.plugins as p
        if p.plugin_loaded("scheming_datasets"):
            from ckanext.scheming.helpers import scheming_dataset_schemas
            for schema in (scheming_dataset_schemas() or {}).values():
                for f in (schema.get("dataset_fields") or []) + (
                        schema.get("resource_fields") or []):
                    snippet = f.get("form_snippet") or ""
                    validators = f.get("validators") or ""
                    if snippet in _MULTI_SNIPPETS or "multiple_choice" in validators \
                            or f.get("preset") in ("multiple_checkbox", "multiple_select",
                                                   "multiple_text", "tag_string_autocomplete"):
                        names.add(f["field_name"])
    except Exception:  # pragma: no cover - scheming absent or misconfigured
        pass
    return frozenset(names)


def _request_problems() -> dict[str, list[str]]:
    import json
    from flask import request
    path = request.path or ""
    api = path.startswith("/api/")
    data_only = api and "/action/datastore_" in path
    errors: dict[str, list[str]] = {}

    def scan(value: Any, where: str, pattern: "re.Pattern[str]" = _CONTROL) -> None:
        found: dict[str, list[str]] = {}
        _problems(value, where, found)
        if pattern is _NUL:
            found = {k: v for k, v in found.items() if _has_nul(value)}
        errors.update(found)

    if _CONTROL.search(path):
        errors["url"] = [tk._("Must not contain control characters (such as NUL)")]
    for key, value in (request.view_args or {}).items():
        scan(value, key)
    for key in request.args:
        scan({key: request.args.getlist(key)}, "")
    # an identifier sent twice becomes a list in CKAN's views (``pkg_name``
    # of the dataset form goes straight into package_update and back to
    # package_show in its error handler): one value only
    sources = [request.args]
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in _FORM_TYPES:
        sources.append(request.form)
    for source in sources:
        for key in IDENTIFIERS + ("pkg_name", "name", "tag_string", "save", "_ckan_phase"):
            if len(source.getlist(key)) > 1:
                errors[key] = [tk._("Must be given only once")]
    if not api and len(sources) > 1:
        # a web form's field sent twice is a list where CKAN's views and
        # scheming's snippets expect text (``'list' object has no attribute
        # 'lower'``): only the fields the forms send several of may repeat
        multi = multi_valued_fields()
        for key in request.form:
            if key not in multi and len(request.form.getlist(key)) > 1:
                errors[key] = [tk._("Must be given only once")]
    if request.method in ("POST", "PUT", "PATCH"):
        if request.mimetype in _FORM_TYPES:
            for key in request.form:
                scan({key: request.form.getlist(key)}, "",
                     _NUL if data_only else _CONTROL)
            for key, upload in request.files.items(multi=True):
                scan({key: upload.filename or ""}, "")
        elif api:
            raw = request.get_data(cache=True)
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    return errors  # CKAN answers malformed JSON with a 400
                scan(body, "", _NUL if data_only else _CONTROL)
    return errors


def _has_nul(value: Any, depth: int = 0) -> bool:
    if depth > _MAX_DEPTH:
        return True
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1)
                   for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


def before_request() -> Any:
    """Flask before_request, app-wide (registered by the plugin)."""
    errors = _request_problems()
    if not errors:
        return None
    from flask import make_response, request
    import json
    if request.path.startswith("/api/"):
        body = {"help": request.url_root.rstrip("/") + "/api/3/action/help_show",
                "success": False,
                "error": dict(errors, __type="Validation Error")}
        return make_response((json.dumps(body), 409,
                              {"Content-Type": "application/json;charset=utf-8"}))
    tk.abort(400, "; ".join(sorted({m for msgs in errors.values() for m in msgs})))
    return None  # pragma: no cover (abort raises)


# --- every action of the registry ---------------------------------------------
# Views and CKAN's own code call actions directly (a web form's fields go
# straight into package_update), so the request check is not enough for
# what PostgreSQL cannot take: every action in the registry — CKAN's and
# every plugin's — refuses a NUL byte anywhere in its input, and an
# identifier that is not a string (a form field sent twice is a list:
# ``Package.get(['a', 'b'])`` is a 500). Only NUL: stored data cannot hold
# one, so no internal call that re-sends stored data (activity_create with
# a dataset, package_update from package_show) is ever refused; other
# control characters are refused where users send them (the request check,
# kpigov's actions, the dataset and resource writes).

IDENTIFIERS = ("id", "name_or_id", "package_id", "resource_id", "owner_org")


def check_action_input(data_dict: Any) -> None:
    if not isinstance(data_dict, dict):
        return
    errors: dict[str, list[str]] = {}
    for key in IDENTIFIERS:
        value = data_dict.get(key)
        if value is not None and not isinstance(value, str):
            errors[key] = [tk._("Must be a string")]
    for key, value in data_dict.items():
        if hasattr(value, "read") or key in errors:
            continue
        if _has_nul(key) or _has_nul(value):
            errors[str(key).replace("\x00", "")] = [
                tk._("Must not contain control characters (such as NUL)")]
    if errors:
        raise tk.ValidationError(errors)


def _registry_names(own: str) -> dict[str, Any]:
    """Every action name CKAN's registry will hold besides kpigov's: core
    modules and the other plugins' (name -> a function to read attributes
    such as side_effect_free from)."""
    import importlib
    import ckan.authz as authz
    import ckan.plugins as p
    names: dict[str, Any] = {}
    for module_name in ("get", "create", "update", "delete", "patch"):
        module = importlib.import_module("ckan.logic.action." + module_name)
        for name, fn in authz.get_local_functions(module):
            if module_name == "get" and not hasattr(fn, "side_effect_free"):
                fn.side_effect_free = True
            names[name] = fn
    for plugin in p.PluginImplementations(p.IActions):
        if plugin.name == own:
            continue
        for name, fn in plugin.get_actions().items():
            if not getattr(fn, "chained_action", False):
                names[name] = fn
            else:
                names.setdefault(name, fn)
    return names


def guard_registry(actions: dict[str, Any], own: str = "kpigov") -> dict[str, Any]:
    """kpigov's action dict, with every other action of the registry
    chained to :func:`check_action_input` (composed with kpigov's own chain
    where it has one)."""
    out = dict(actions)
    for name, base in _registry_names(own).items():
        mine = out.get(name)
        if mine is not None and not getattr(mine, "chained_action", False):
            continue  # kpigov's own action (guarded where it is defined)

        def make(inner: Any = mine) -> Any:
            def chained(up: Any, context: Any, data_dict: Any) -> Any:
                check_action_input(data_dict)
                if inner is not None:
                    return inner(up, context, data_dict)
                return up(context, data_dict)
            return chained
        fn = make()
        fn.__name__ = name
        source = mine if mine is not None else base
        if getattr(source, "side_effect_free", False) or getattr(
                base, "side_effect_free", False):
            fn.side_effect_free = True  # type: ignore[attr-defined]
        if getattr(base, "auth_audit_exempt", False):
            fn.auth_audit_exempt = True  # type: ignore[attr-defined]
        out[name] = tk.chained_action(fn)
    return out
