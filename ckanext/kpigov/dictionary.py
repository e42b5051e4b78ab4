"""Data-dictionary prefill: the columns a resource actually has.

The header row of a CSV (UTF-8 with or without BOM, or the Thai Windows
encodings cp874 / TIS-620) or an XLSX file is read from the upload, from the
portal's own storage, or (only when ``ckanext.kpigov.dictionary_fetch`` is
on) from the resource URL; where the resource is in the DataStore, CKAN's
own Data Dictionary (``datastore_info`` field ``info.label`` / ``info.notes``)
adds labels and descriptions. The columns go to the resource extra
``kpigov_columns``, which dictionary coverage counts against, and an empty
``kpigov_dictionary`` is prefilled with one row per column.

The header readers are pure; ``prefill`` is the hook the plugin calls from
``IResourceController.before_resource_create/update``.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import os
from typing import Any, Iterable, Optional
from urllib.parse import urlparse

__all__ = ["MAX_COLUMNS", "header_from_bytes", "csv_header", "xlsx_header",
           "columns_from_upload", "columns_from_storage", "columns_from_url",
           "datastore_dictionary", "prefill", "dictionary_rows",
           "DICTIONARY_FIELDS", "dictionary_csv", "dictionary_json"]

log = logging.getLogger(__name__)

MAX_COLUMNS = 500
MAX_HEADER_BYTES = 256 * 1024  # a header row is never longer than this
_ENCODINGS = ("utf-8-sig", "cp874", "tis-620")
_CSV_FORMATS = {"csv", "tsv", "txt", "text/csv"}
_XLSX_FORMATS = {"xlsx", "xlsm",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

# Order and Thai/English headers of the dictionary downloads.
DICTIONARY_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("column", "ชื่อคอลัมน์", "Column name"),
    ("label_th", "ชื่อภาษาไทย", "Thai label"),
    ("label_en", "ชื่อภาษาอังกฤษ", "English label"),
    ("type", "ชนิดข้อมูล", "Type"),
    ("description", "คำอธิบาย", "Description"),
    ("unit", "หน่วย", "Unit"),
    ("example", "ตัวอย่าง", "Example"),
    ("nullable", "เว้นว่างได้", "Nullable"),
    ("personal_data", "ข้อมูลส่วนบุคคล (PDPA)", "Personal data (PDPA)"),
)

# DataStore (PostgreSQL) types → dictionary types
_PG_TYPES = {"text": "text", "int": "integer", "int4": "integer", "int8": "integer",
             "integer": "integer", "bigint": "integer", "numeric": "number",
             "float8": "number", "float4": "number", "double precision": "number",
             "date": "date", "timestamp": "datetime", "timestamptz": "datetime",
             "bool": "boolean", "boolean": "boolean", "geometry": "geometry"}


# --- pure readers ---------------------------------------------------------

def _clean(names: Iterable[Any]) -> list[str]:
    out = [("" if n is None else str(n)).replace("\ufeff", "").strip() for n in names]
    while out and not out[-1]:
        out.pop()  # trailing empty cells of a spreadsheet row
    return out[:MAX_COLUMNS]


def _decode(data: bytes) -> str:
    for encoding in _ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def csv_header(data: bytes) -> list[str]:
    """The first row of CSV bytes, whatever the Thai encoding and delimiter."""
    data = data[:MAX_HEADER_BYTES]
    if len(data) == MAX_HEADER_BYTES:
        # cut at the last complete line so no multi-byte character is split
        data = data[:data.rfind(b"\n") + 1] or data
    text = _decode(data)
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample.splitlines()[0] if sample else "",
                                           delimiters=",;\t|")
    except (csv.Error, IndexError):
        dialect = csv.excel
    for row in csv.reader(io.StringIO(text), dialect):
        cleaned = _clean(row)
        if cleaned:
            return cleaned
    return []


def xlsx_header(data: bytes) -> list[str]:
    """The first non-empty row of the first sheet of an XLSX workbook."""
    from openpyxl import load_workbook
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        for row in ws.iter_rows(max_row=50, values_only=True):
            cleaned = _clean(row)
            if any(cleaned):
                return cleaned
        return []
    finally:
        wb.close()


def _kind(filename: str = "", fmt: str = "", data: bytes = b"") -> Optional[str]:
    ext = os.path.splitext(filename or "")[1].lstrip(".").lower()
    fmt = (fmt or "").strip().lower()
    if ext in _XLSX_FORMATS or fmt in _XLSX_FORMATS:
        return "xlsx"
    if ext in _CSV_FORMATS or fmt in _CSV_FORMATS:
        return "csv"
    if data[:2] == b"PK":
        return "xlsx"
    return None


def header_from_bytes(data: bytes, filename: str = "", fmt: str = "") -> list[str]:
    """Columns of a CSV or XLSX file; [] for other or unreadable files."""
    kind = _kind(filename, fmt, data)
    try:
        if kind == "xlsx":
            return xlsx_header(data)
        if kind == "csv":
            return csv_header(data)
    except Exception as exc:  # a broken file must not stop the upload
        log.info("could not read the header of %s: %s", filename or fmt, exc)
    return []


# --- sources --------------------------------------------------------------

def columns_from_upload(upload: Any, fmt: str = "") -> list[str]:
    """Columns of an uploaded file (werkzeug FileStorage), stream rewound."""
    stream = getattr(upload, "stream", None) or upload
    if not hasattr(stream, "read"):
        return []
    filename = getattr(upload, "filename", "") or ""
    try:
        pos = stream.tell()
    except (OSError, AttributeError):
        pos = 0
    try:
        kind = _kind(filename, fmt)
        # XLSX needs the whole zip; CSV only its start
        data = stream.read() if kind != "csv" else stream.read(MAX_HEADER_BYTES)
    finally:
        try:
            stream.seek(pos)
        except (OSError, AttributeError):
            pass
    return header_from_bytes(data, filename, fmt)


def _storage_file(resource: dict[str, Any]) -> Optional[str]:
    """The stored file of an uploaded resource, or of a URL to this portal."""
    import ckan.plugins.toolkit as tk
    from ckan.lib import uploader
    rid = resource.get("id")
    if not rid:
        return None
    url = str(resource.get("url") or "")
    site = (tk.config.get("ckan.site_url") or "").rstrip("/")
    own = resource.get("url_type") == "upload" or (
        site and url.startswith(site + "/dataset/") and "/resource/%s/download/" % rid in url)
    if not own:
        return None
    try:
        upload = uploader.get_resource_uploader(resource)
        path = upload.get_path(rid)  # type: ignore[attr-defined]
    except Exception:
        return None
    return path if path and os.path.isfile(path) else None


def columns_from_storage(resource: dict[str, Any]) -> list[str]:
    path = _storage_file(resource)
    if not path:
        return []
    with open(path, "rb") as f:
        kind = _kind(str(resource.get("url") or ""), str(resource.get("format") or ""))
        data = f.read() if kind != "csv" else f.read(MAX_HEADER_BYTES)
    return header_from_bytes(data, str(resource.get("url") or ""),
                             str(resource.get("format") or ""))


def columns_from_url(resource: dict[str, Any]) -> list[str]:
    """Fetch the start of a linked CSV/XLSX, only if the portal allows it."""
    import ckan.plugins.toolkit as tk
    if not tk.asbool(tk.config.get("ckanext.kpigov.dictionary_fetch", False)):
        return []
    url = str(resource.get("url") or "")
    if urlparse(url).scheme not in ("http", "https"):
        return []
    kind = _kind(urlparse(url).path, str(resource.get("format") or ""))
    if kind is None:
        return []
    import requests
    limit = 10 * 1024 * 1024 if kind == "xlsx" else MAX_HEADER_BYTES
    try:
        with requests.get(url, stream=True, timeout=5,
                          headers={"Range": "bytes=0-%d" % (limit - 1)}
                          if kind == "csv" else {}) as response:
            response.raise_for_status()
            data = b""
            for chunk in response.iter_content(65536):
                data += chunk
                if len(data) >= limit:
                    if kind == "xlsx":
                        return []  # too big to read a header from
                    break
    except requests.RequestException as exc:
        log.info("could not fetch %s for its header: %s", url, exc)
        return []
    return header_from_bytes(data, urlparse(url).path, str(resource.get("format") or ""))


def datastore_dictionary(resource_id: Optional[str]) -> list[dict[str, Any]]:
    """CKAN's own Data Dictionary of a DataStore resource ([] without it)."""
    import ckan.plugins as p
    import ckan.plugins.toolkit as tk
    if not resource_id or not p.plugin_loaded("datastore"):
        return []
    try:
        info = tk.get_action("datastore_info")({"ignore_auth": True},
                                               {"id": resource_id})
    except Exception:  # not in the DataStore (yet)
        return []
    rows = []
    for f in info.get("fields") or []:
        if not f.get("id") or str(f["id"]).startswith("_"):
            continue
        extra = f.get("info") or {}
        row = {"column": str(f["id"]),
               "type": _PG_TYPES.get(str(extra.get("type_override") or f.get("type") or "")
                                     .lower(), "")}
        if extra.get("label"):
            row["label_th"] = str(extra["label"])
        if extra.get("notes"):
            row["description"] = str(extra["notes"])
        rows.append(row)
    return rows


def _as_rows(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def _schema_has_dictionary() -> bool:
    """Is a scheming resource schema with kpigov_dictionary in use?"""
    import ckan.plugins as p
    if not p.plugin_loaded("scheming_datasets"):
        return False
    try:
        from ckanext.scheming.helpers import scheming_get_dataset_schema
        schema = scheming_get_dataset_schema("dataset") or {}
    except Exception:  # scheming not configured
        return False
    return any(f.get("field_name") == "kpigov_dictionary"
               for f in schema.get("resource_fields") or [])


def prefill(resource: dict[str, Any], upload: Any = None) -> dict[str, Any]:
    """Record a resource's actual columns and prefill an empty dictionary.

    Call from ``before_resource_create(context, resource)`` with
    ``resource.get("upload")`` and from ``before_resource_update(context,
    current, resource)`` the same way. Changes ``resource`` in place (and
    returns it); never raises: a file that cannot be read leaves the
    resource as it was.
    """
    try:
        columns: list[str] = []
        if upload is not None and getattr(upload, "filename", None):
            columns = columns_from_upload(upload, str(resource.get("format") or ""))
        elif resource.get("url_type") != "upload":
            columns = columns_from_storage(resource) or columns_from_url(resource)
        elif resource.get("id"):
            columns = columns_from_storage(resource)
        ds_rows = datastore_dictionary(resource.get("id"))
        if not columns and ds_rows:
            columns = [r["column"] for r in ds_rows]
        if not columns:
            return resource
        if not _schema_has_dictionary():
            # plain CKAN schema: no nested fields; keep the header as text
            resource["kpigov_columns"] = ",".join(c.replace(",", " ") for c in columns)
            return resource
        resource["kpigov_columns"] = columns
        # an empty form row (no column name) does not count as a dictionary
        if not [r for r in _as_rows(resource.get("kpigov_dictionary"))
                if str(r.get("column") or "").strip()]:
            known = {r["column"]: r for r in ds_rows}
            seen: set[str] = set()
            rows = []
            for name in columns:
                # a dictionary needs unique, non-empty column names
                if not name or name.lower() in seen:
                    continue
                seen.add(name.lower())
                rows.append(dict(known.get(name, {}), column=name))
            resource["kpigov_dictionary"] = rows
    except Exception:  # never break a resource save over a prefill
        log.exception("dictionary prefill failed for %s", resource.get("id"))
    return resource


# --- downloads ------------------------------------------------------------

def dictionary_rows(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The dictionary of a resource as plain rows (for pages and downloads)."""
    rows = []
    for r in _as_rows(resource.get("kpigov_dictionary")):
        rows.append({k: r.get(k, "") if r.get(k) is not None else ""
                     for k, _th, _en in DICTIONARY_FIELDS})
    return rows


def dictionary_csv(resource: dict[str, Any]) -> bytes:
    from .exports import to_csv
    header = ["%s (%s)" % (th, en) for _k, th, en in DICTIONARY_FIELDS]
    rows = [[r[k] for k, _th, _en in DICTIONARY_FIELDS] for r in dictionary_rows(resource)]
    return to_csv(header, rows)


def dictionary_json(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resource_id": resource.get("id"), "name": resource.get("name"),
            "columns": resource.get("kpigov_columns") or [],
            "fields": dictionary_rows(resource)}
