"""Validators for the governance fields (registered by the blanket decorator).

Messages go through CKAN's i18n, so a Thai portal shows them in Thai.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Callable

import ckan.plugins.toolkit as tk
from ckan.lib.navl.dictization_functions import Invalid, StopOnError, missing

from .. import cadence as cadence_mod

__all__ = [
    "kpigov_text", "kpigov_email", "kpigov_phone", "kpigov_be_year",
    "kpigov_target_fy_open",
    "kpigov_cadence_unit", "kpigov_cadence_interval", "kpigov_data_category",
    "kpigov_unique_column", "tag_name_validator", "kpigov_tag_string_convert",
    "kpigov_boolean", "tag_string_convert", "kpigov_year_as_written",
]

# Thai vowel and tone marks are Unicode marks (Mn/Mc), which CKAN's \w-only
# tag rule rejects: "ผู้สูงอายุ" would be refused.
_TAG = re.compile(r"^[\w \-.\u0E00-\u0E7F]*$", re.UNICODE)

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_PHONE = re.compile(r"^[0-9+()\-.\s#]{3,30}$|^[0-9+()\-.\s#]{3,30}\s*(ต่อ|ext\.?)\s*[0-9]{1,6}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_SHORT_CATEGORIES = {
    "สาธารณะ": "ข้อมูลสาธารณะ",
    "ส่วนบุคคล": "ข้อมูลส่วนบุคคล",
    "ความมั่นคง": "ข้อมูลความมั่นคง",
    "ความลับทางราชการ": "ข้อมูลความลับทางราชการ",
    "public": "ข้อมูลสาธารณะ",
    "personal": "ข้อมูลส่วนบุคคล",
    "security": "ข้อมูลความมั่นคง",
    "secret": "ข้อมูลความลับทางราชการ",
    "internal": "ข้อมูลใช้ภายใน",
}


def kpigov_text(max_length: int | str) -> Callable[[Any, Any], Any]:
    """Text up to ``max_length`` characters, without control characters."""
    limit = int(max_length)

    def validator(value: Any, context: Any) -> Any:
        if value is missing or value is None:
            return value
        if isinstance(value, (dict, list)):
            raise Invalid(tk._("Must be text"))
        value = unicodedata.normalize("NFC", str(value))
        if _CONTROL.search(value):
            raise Invalid(tk._("Must not contain control characters"))
        if len(value) > limit:
            raise Invalid(tk._("Must be at most {max} characters long").format(
                max=limit))
        return value

    return validator


def kpigov_email(value: Any, context: Any) -> Any:
    if value is missing or value in (None, ""):
        return value
    value = str(value).strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise Invalid(tk._("Not a valid email address"))
    return value


def kpigov_phone(value: Any, context: Any) -> Any:
    if value is missing or value in (None, ""):
        return value
    value = str(value).strip()
    if not _PHONE.match(value):
        raise Invalid(tk._("Not a valid phone number"))
    return value


def kpigov_be_year(value: Any, context: Any) -> Any:
    """A Buddhist Era year; a C.E. year (1900-2199) is converted."""
    if value is missing or value in (None, ""):
        return value
    text = str(value).strip().translate(str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789"))
    if not text.isdigit():
        raise Invalid(tk._("Must be a year, e.g. 2567"))
    year = int(text)
    if 1900 <= year <= 2199:
        year += 543
    if not 2443 <= year <= 2742:
        raise Invalid(tk._("Must be a year, e.g. 2567"))
    return str(year)


def kpigov_target_fy_open(value: Any, context: Any) -> Any:
    """A dataset's KPI target year cannot be set to, or moved out of, a
    fiscal year whose evaluation has closed, except by evaluators: the closed
    year's score would change after the fact."""
    if value is missing:
        return value
    stored = _stored(context, "kpigov_target_fy")
    if str(stored or "") == str(value or ""):
        return value  # unchanged (an edit never fails on a value it had)
    from .action import closed_error, year_closed
    from .auth import is_evaluator
    user = (context or {}).get("user") or ""
    if is_evaluator(user) or (context or {}).get("ignore_auth"):
        return value  # evaluators, and trusted server code (seeding, imports)
    for year in (value, stored):
        text = str(year or "")
        # (a value kpigov_be_year refused is still passed on by navl)
        if text.isdigit() and 2443 <= int(text) <= 2742 and year_closed(int(text)):
            raise Invalid(closed_error("kpigov_target_fy", int(text)).error_dict[
                "kpigov_target_fy"][0])
    return value


def _stored(context: Any, name: str) -> Any:
    """The value a dataset being updated has now (None on create)."""
    pkg = (context or {}).get("package")
    if pkg is None or not hasattr(pkg, "extras"):
        return None
    try:
        return pkg.extras.get(name)
    except Exception:  # pragma: no cover - a detached or odd object
        return None


def kpigov_cadence_unit(value: Any, context: Any) -> Any:
    """Accept thai_gdc's Thai labels (stored as is) or English keys.

    A new unit is normalised (``monthly`` -> เดือน) and an unknown one
    refused, but a dataset keeps the value it already has (thai_gdc itself
    checks no choices): an edit never fails on it nor rewrites it; compliance
    reads an unknown unit as "no cadence".
    """
    if value is missing or value in (None, ""):
        return value
    if value == _stored(context, "update_frequency_unit"):
        return value  # as the dataset has it (never rewritten on an edit)
    try:
        cad = cadence_mod.parse_cadence(value, 1)
    except ValueError:
        raise Invalid(tk._("Unknown update frequency unit: {value}").format(
            value=str(value)[:80]))
    return cad.label_th if str(value) not in cadence_mod.THAI_LABELS else value


def kpigov_cadence_interval(key: Any, data: dict[Any, Any],
                            errors: dict[Any, Any], context: Any) -> Any:
    """thai_gdc's update_frequency_interval, kept exactly as written.

    thai_gdc accepts any text here (``ทุกวันที่ 15``). kpigov reads it as "at
    least N updates per unit" when it is a whole number within the unit's
    range, and as "no fixed cadence" otherwise (``cadence_readable``); the
    value itself is never refused or rewritten.
    """
    value = data.get(key)
    if value is missing or value is None or (isinstance(value, str)
                                             and not value.strip()):
        # left empty: no interval (stored as nothing, like ignore_missing;
        # a Missing marker must never reach the database)
        data.pop(key, None)
        raise StopOnError
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        errors[key].append(tk._("Must be text"))
        raise StopOnError
    text = str(value)
    if _CONTROL.search(text) or len(text) > 200:
        errors[key].append(tk._("Must be at most {max} characters long").format(
            max=200) if len(text) > 200 else tk._(
            "Must not contain control characters"))
        raise StopOnError
    data[key] = text


def cadence_readable(unit: Any, interval: Any) -> bool:
    """Whether kpigov can read a fixed cadence from the two thai_gdc fields:
    a known unit, and an empty interval or a whole number in its range."""
    if unit in (None, ""):
        return False
    try:
        cadence_mod.parse_cadence(unit, interval if interval not in ("",) else None)
    except ValueError:
        return False
    return True


def kpigov_year_as_written(value: Any, context: Any) -> Any:
    """A thai_gdc year field (first/last_year_of_data): free text there, so
    kept as written (``2017``, ``ไม่ทราบ``); read with :func:`be_year`."""
    if value is missing or value in (None, ""):
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Invalid(tk._("Must be text"))
    text = str(value)
    if _CONTROL.search(text):
        raise Invalid(tk._("Must not contain control characters"))
    if len(text) > 100:
        raise Invalid(tk._("Must be at most {max} characters long").format(max=100))
    return text


def be_year(value: Any) -> int | None:
    """The B.E. year a year field means, or None (C.E. 1900-2199 converted,
    Thai digits read; ``ไม่ทราบ`` and other text: None)."""
    if value in (None, "") or value is missing:
        return None
    text = str(value).strip().translate(str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789"))
    if text.startswith(("พ.ศ.", "พ.ศ")):
        text = text.lstrip("พ.ศ").strip()
    if not text.isdigit():
        return None
    year = int(text)
    if 1900 <= year <= 2199:
        year += 543
    return year if 2443 <= year <= 2742 else None


def kpigov_data_category(value: Any, context: Any) -> Any:
    """Map the short labels (สาธารณะ, public ...) to thai_gdc's values."""
    if value is missing or value in (None, ""):
        return value
    text = str(value).strip()
    return _SHORT_CATEGORIES.get(text, _SHORT_CATEGORIES.get(text.lower(), text))


def kpigov_unique_column(key: Any, data: dict[Any, Any],
                         errors: dict[Any, Any], context: Any) -> Any:
    """Column names of one data dictionary must be unique."""
    value = data.get(key)
    if value in (None, "", missing):
        return
    prefix, index, name = key[:-2], key[-2], key[-1]
    mine = str(value).strip().lower()
    for other_key, other in data.items():
        if (len(other_key) == len(key) and other_key[:-2] == prefix
                and other_key[-1] == name and other_key[-2] != index
                and other_key[-2] < index
                and str(other or "").strip().lower() == mine):
            errors[key].append(tk._("Duplicate column name: {name}").format(
                name=str(value)[:120]))
            return


def tag_name_validator(value: Any, context: Any) -> Any:
    """CKAN's tag rule, extended to Thai script (replaces the core one)."""
    if not _TAG.match(value):
        raise Invalid(tk._(
            'Tag "%s" can only contain alphanumeric characters, spaces (" "), '
            'hyphens ("-"), underscores ("_") or dots (".")') % value)
    return value


def kpigov_tag_string_convert(key: Any, data: dict[Any, Any],
                              errors: dict[Any, Any], context: Any) -> Any:
    """CKAN's tag_string_convert with the Thai-aware tag rule."""
    from ckan.logic.validators import tag_length_validator
    value = data[key]
    if isinstance(value, str):
        tags = [t.strip() for t in value.split(",") if t.strip()]
    elif isinstance(value, (list, tuple)) and all(isinstance(t, str) for t in value):
        tags = [t.strip() for t in value if t.strip()]
    elif not value:
        tags = []
    else:
        errors[key].append(tk._("Tags must be text, separated by commas"))
        raise StopOnError
    current = max([int(k[1]) for k in data.keys()
                   if len(k) == 3 and k[0] == "tags"] + [-1])
    for num, tag in enumerate(tags, start=current + 1):
        data[("tags", num, "name")] = tag
    for tag in tags:
        tag_length_validator(tag, context)
        tag_name_validator(tag, context)


def kpigov_boolean(value: Any, context: Any) -> Any:
    """Yes/no: true/false, yes/no, 1/0, ใช่/ไม่ใช่; anything else is an error."""
    if value is missing or value is None or value == "":
        return value
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in ("true", "yes", "1", "on", "ใช่"):
        return True
    if text in ("false", "no", "0", "off", "ไม่ใช่"):
        return False
    raise Invalid(tk._("Must be yes or no"))


# Replaces CKAN's own (looked up by name by core and scheming schemas alike),
# so Thai tags work with or without the kpigov dataset schema.
tag_string_convert = kpigov_tag_string_convert

