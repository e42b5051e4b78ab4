"""`ckan kpigov check-schema`: what kpigov can read of a portal's datasets.

Read-only: reads every active dataset's fields (columns and extras) and
reports, per field kpigov interprets, how many values it can read for
compliance and scoring and which it cannot; the other fields are kept as
they are. Nothing is written.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from . import cadence as cadence_mod
from .logic.validators import _SHORT_CATEGORIES, be_year, cadence_readable

# thai_gdc 2.1.0's data_category values plus the forks'
DATA_CATEGORIES = frozenset(_SHORT_CATEGORIES.values()) | {"ข้อมูลความลับองค์กร"}


def _unit(value: Any, row: dict[str, Any]) -> bool:
    try:
        cadence_mod.parse_cadence(value, 1)
    except ValueError:
        return False
    return True


def _interval(value: Any, row: dict[str, Any]) -> bool:
    return cadence_readable(row.get("update_frequency_unit"), value)


def _year(value: Any, row: dict[str, Any]) -> bool:
    return be_year(value) is not None


def _category(value: Any, row: dict[str, Any]) -> bool:
    text = str(value).strip()
    return text in DATA_CATEGORIES or text in _SHORT_CATEGORIES \
        or text.lower() in _SHORT_CATEGORIES


# field -> (what kpigov does with it, reader)
INTERPRETED: dict[str, tuple[str, Callable[[Any, dict[str, Any]], bool]]] = {
    "update_frequency_unit": ("cadence unit (compliance, freshness, DCAT)", _unit),
    "update_frequency_interval": ("updates per unit (compliance)", _interval),
    "data_category": ("data category (scores, catalog form)", _category),
    "first_year_of_data": ("B.E. year (catalog form)", _year),
    "last_year_of_data": ("B.E. year (catalog form)", _year),
    "kpigov_target_fy": ("KPI target fiscal year (scores)", _year),
}


@dataclass
class FieldReport:
    name: str
    use: str
    present: int = 0
    readable: int = 0
    unreadable: Counter = field(default_factory=Counter)

    def as_dict(self, limit: int = 20) -> dict[str, Any]:
        return {"field": self.name, "use": self.use, "with_value": self.present,
                "readable": self.readable,
                "unreadable": sum(self.unreadable.values()),
                "unreadable_values": [
                    {"value": v, "datasets": n}
                    for v, n in self.unreadable.most_common(limit)]}


def check(rows: Iterable[dict[str, Any]], listed: Optional[set[str]] = None
          ) -> dict[str, Any]:
    """Report on dataset dicts (flat: columns and extras). ``listed``: the
    field names of the active schema; others are reported as kept as is."""
    reports = {k: FieldReport(k, use) for k, (use, _) in INTERPRETED.items()}
    other: Counter = Counter()
    count = 0
    for row in rows:
        count += 1
        unit = row.get("update_frequency_unit")
        if unit in (None, ""):
            reports["update_frequency_unit"].unreadable["(empty)"] += 1
        for name, (_, reader) in INTERPRETED.items():
            value = row.get(name)
            if value in (None, ""):
                continue
            rep = reports[name]
            rep.present += 1
            if name == "update_frequency_interval" and unit in (None, ""):
                ok = False
            else:
                ok = reader(value, row)
            if ok:
                rep.readable += 1
            else:
                rep.unreadable[str(value)[:120]] += 1
        if listed is not None:
            for name, value in row.get("_extras", {}).items():
                if name not in listed and value not in (None, ""):
                    other[name] += 1
    return {
        "datasets": count,
        "fields": [r.as_dict() for r in reports.values()],
        "kept_as_is": [{"field": k, "datasets": n} for k, n in sorted(other.items())],
    }


def portal_rows() -> Iterable[dict[str, Any]]:
    """Every active dataset, flat (read-only query)."""
    import ckan.model as model
    q = (model.Session.query(model.Package)
         .filter(model.Package.state == "active")
         .order_by(model.Package.name))
    for pkg in q.yield_per(200):
        extras = dict(pkg.extras)
        row: dict[str, Any] = dict(extras)
        row["_extras"] = extras
        row["name"] = pkg.name
        yield row


def schema_fields() -> Optional[set[str]]:
    import ckan.plugins as p
    if not p.plugin_loaded("scheming_datasets"):
        return None
    from ckanext.scheming.helpers import scheming_get_dataset_schema
    schema = scheming_get_dataset_schema("dataset") or {}
    return {f["field_name"] for f in schema.get("dataset_fields") or []}
