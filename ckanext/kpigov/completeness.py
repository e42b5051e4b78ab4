"""Metadata completeness and data-dictionary coverage (pure, no CKAN import).

Both read a plain ``package_show``-style dict, so the scoring engine, the
publisher's checklist and the catalog export agree on one definition.
"""
from __future__ import annotations

from typing import Any

__all__ = ["CATALOG_FIELDS", "metadata_completeness", "dictionary_coverage",
           "catalog_complete", "stakeholder", "field"]

# Fields the official data catalog (บัญชีรายการข้อมูล) needs for each dataset.
CATALOG_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("title", "ชื่อชุดข้อมูล", "Title"),
    ("notes", "คำอธิบาย", "Description"),
    ("tags", "คำสำคัญ", "Tags"),
    ("license_id", "สัญญาอนุญาต", "License"),
    ("maintainer", "ผู้ติดต่อ", "Contact person"),
    ("maintainer_email", "อีเมลผู้ติดต่อ", "Contact email"),
    ("update_frequency_unit", "ความถี่ในการปรับปรุง", "Update cadence"),
    ("data_category", "หมวดหมู่ข้อมูล", "Data category"),
    ("data_classification", "ระดับชั้นข้อมูล", "Classification"),
    ("objective", "วัตถุประสงค์", "Objective"),
    ("data_source", "แหล่งที่มา", "Data source"),
    ("owner", "เจ้าของข้อมูล", "Data owner"),
    ("steward", "ผู้ดูแลข้อมูล", "Data steward"),
    ("resources", "ทรัพยากรข้อมูล", "Resources"),
)


def field(pkg: dict[str, Any], name: str) -> Any:
    """A field at the top level (scheming) or in ``extras`` (plain CKAN)."""
    value = pkg.get(name)
    if value not in (None, "", [], {}):
        return value
    for extra in pkg.get("extras") or []:
        if isinstance(extra, dict) and extra.get("key") == name:
            return extra.get("value")
    return None


def stakeholder(pkg: dict[str, Any], role: str) -> list[dict[str, Any]]:
    people = pkg.get("kpigov_stakeholders") or []
    if not isinstance(people, list):
        return []
    return [p for p in people if isinstance(p, dict) and p.get("role") == role
            and str(p.get("name") or "").strip()]


def _present(pkg: dict[str, Any], name: str) -> bool:
    if name in ("owner", "steward"):
        return bool(stakeholder(pkg, name))
    if name == "resources":
        return bool([r for r in pkg.get("resources") or [] if r.get("url")])
    value = field(pkg, name)
    if isinstance(value, str):
        return bool(value.strip())
    return value not in (None, [], {})


def metadata_completeness(pkg: dict[str, Any]) -> dict[str, Any]:
    """Which catalog fields are present: share, present and missing lists."""
    present = [name for name, _th, _en in CATALOG_FIELDS if _present(pkg, name)]
    missing = [name for name, _th, _en in CATALOG_FIELDS if name not in present]
    return {"share": len(present) / len(CATALOG_FIELDS), "present": present,
            "missing": missing, "total": len(CATALOG_FIELDS)}


def catalog_complete(pkg: dict[str, Any]) -> bool:
    """Catalog-complete: at least an owner and a steward are named."""
    return bool(stakeholder(pkg, "owner")) and bool(stakeholder(pkg, "steward"))


def _described(entry: dict[str, Any]) -> bool:
    return any(str(entry.get(k) or "").strip()
               for k in ("label_th", "label_en", "description"))


def dictionary_coverage(resource: dict[str, Any]) -> dict[str, Any]:
    """Share of the resource's actual columns that the dictionary describes.

    The actual columns are those read from the file's header
    (``kpigov_columns``); without them, the dictionary's own columns.
    """
    entries = [e for e in resource.get("kpigov_dictionary") or []
               if isinstance(e, dict) and str(e.get("column") or "").strip()]
    actual = resource.get("kpigov_columns") or []
    if isinstance(actual, str):
        actual = [c.strip() for c in actual.split(",") if c.strip()]
    described = {str(e["column"]).strip().lower() for e in entries if _described(e)}
    columns = [str(c).strip().lower() for c in actual] or \
        [str(e["column"]).strip().lower() for e in entries]
    covered = len([c for c in columns if c in described])
    return {"resource_id": resource.get("id"), "name": resource.get("name"),
            "columns": len(columns), "described": covered,
            "share": covered / len(columns) if columns else None,
            "undescribed": [c for c in columns if c not in described]}
