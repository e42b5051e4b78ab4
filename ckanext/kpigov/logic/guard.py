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
