"""Template helpers (registered by the blanket decorator)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

import ckan.plugins.toolkit as tk
from markupsafe import Markup, escape

from . import cadence as cadence_mod
from . import fiscal

__all__ = [
    "kpigov_is_evaluator", "kpigov_lang", "kpigov_format_date",
    "kpigov_format_month", "kpigov_freshness_label", "kpigov_status_label",
    "kpigov_cadence_label", "kpigov_dataset_panel", "kpigov_current_fiscal_year",
    "kpigov_fiscal_year_label", "kpigov_percent", "kpigov_can_see_contacts",
    "kpigov_heatmap_cells", "kpigov_heatmap_table", "kpigov_format_period",
]

_CELL = ('<td class="text-center kpigov-cell kpigov-%s" title="%s: %s">'
         '<span aria-hidden="true">%s</span><span class="visually-hidden">%s</span></td>')


def kpigov_heatmap_table(months: list[str], month_label: dict[str, str],
                         status_label: dict[str, str],
                         status_symbol: dict[str, str]) -> dict[str, dict[str, Markup]]:
    """Every heat-map cell a page can show ({month: {status: escaped <td>}}:
    colour class, symbol, and the status in words for screen readers), built
    once per page; rows are then joined by :func:`kpigov_heatmap_cells`."""
    table: dict[str, dict[str, Markup]] = {}
    for m in months:
        row = table[m] = {}
        for st, text in status_label.items():
            label = escape(text)
            row[st] = Markup(_CELL % (escape(st), escape(month_label.get(m, m)), label,
                                      escape(status_symbol.get(st, "")), label))
    return table


def kpigov_heatmap_cells(cells: dict[str, str], months: list[str],
                         table: dict[str, dict[str, Markup]]) -> Markup:
    """One heat-map row's month cells from :func:`kpigov_heatmap_table`
    (a Compliance tab can have a thousand cells: joined here, not in Jinja)."""
    return Markup("".join(table[m].get(cells.get(m, "not_required"), "<td></td>")
                          for m in months))


STATUS_SYMBOLS = {"on_time": "✓", "late": "!", "missed": "✗", "upcoming": "…",
                  "exempt": "E", "not_required": "–"}


def kpigov_is_evaluator(user: Any = None) -> bool:
    """True for sysadmins and for users named in ckanext.kpigov.evaluators."""
    from .logic.auth import is_evaluator
    if user is None:
        user = getattr(tk.current_user, "name", None)
    return is_evaluator(user)


def kpigov_lang() -> str:
    try:
        return tk.h.lang() or "en"
    except Exception:  # outside a request
        return tk.config.get("ckan.locale_default") or "en"


def _to_date(value: Any) -> Optional[dt.date]:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return fiscal.local_date(value)
    if isinstance(value, dt.date):
        return value
    text = str(value).rstrip("Z")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            return fiscal.parse_date(text[:10])
        except ValueError:
            return None
    return fiscal.local_date(parsed)


def kpigov_format_date(value: Any, lang: Optional[str] = None) -> str:
    """'15 ม.ค. 2567' on Thai pages (Buddhist Era), '15 Jan 2024' in English."""
    d = _to_date(value)
    if d is None:
        return ""
    return fiscal.format_date(d, lang or kpigov_lang())


def kpigov_format_period(key: str, lang: Optional[str] = None) -> str:
    """A period key as a reader says it: '2024-05' → 'พ.ค. 2567' / 'May 2024',
    '2024-05-13' (a day or a week's first day) → '13 พ.ค. 2567'; keys already
    in fiscal terms ('2567-Q1', 'FY2567') as they are."""
    text = str(key or "")
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit():
        return kpigov_format_month(text, lang)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return kpigov_format_date(text, lang) or text
    return text


def kpigov_format_month(key: str, lang: Optional[str] = None) -> str:
    """'2024-01' → 'ม.ค. 2567' / 'Jan 2024'."""
    try:
        year, month = (int(x) for x in key.split("-")[:2])
        return fiscal.format_month(year, month, lang or kpigov_lang())
    except (ValueError, AttributeError):
        return key


def kpigov_current_fiscal_year() -> int:
    return fiscal.current_fiscal_year()


def kpigov_fiscal_year_label(fy: int, lang: Optional[str] = None) -> str:
    return fiscal.format_fiscal_year(int(fy), lang or kpigov_lang())


def kpigov_freshness_label(state: Optional[str]) -> str:
    from .ledger import freshness_labels
    return freshness_labels().get(state or "", state or "")


def kpigov_status_label(status: str) -> str:
    labels = {"on_time": tk._("On time"), "late": tk._("Late"),
              "missed": tk._("Missed"), "upcoming": tk._("Upcoming"),
              "exempt": tk._("Exempt"), "not_required": tk._("Not required")}
    return labels.get(status, status)


def kpigov_status_symbol(status: str) -> str:
    return STATUS_SYMBOLS.get(status, "?")


__all__.append("kpigov_status_symbol")


def kpigov_cadence_label(unit: Any, interval: Any = None) -> str:
    if not unit:
        return tk._("Not declared")
    try:
        return cadence_mod.parse_cadence(unit, interval).describe(kpigov_lang())
    except ValueError:
        return str(unit)


def kpigov_percent(rate: Optional[float]) -> str:
    return "–" if rate is None else "%.1f%%" % (rate * 100)


def kpigov_can_see_contacts(pkg_dict: dict[str, Any]) -> bool:
    """Members of the dataset's organization and evaluators see emails/phones."""
    from .logic.auth import may_see_private
    return may_see_private(getattr(tk.current_user, "name", None), pkg_dict.get("owner_org"))


def kpigov_dataset_panel(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    """Everything the dataset's governance panel shows."""
    from .completeness import dictionary_coverage, metadata_completeness
    from .ledger import dataset_field
    from .logic import data
    unit = dataset_field(pkg_dict, "update_frequency_unit")
    interval = dataset_field(pkg_dict, "update_frequency_interval")
    last = data.last_updates([pkg_dict["id"]]).get(pkg_dict["id"])
    stakeholders = pkg_dict.get("kpigov_stakeholders") or []
    coverage = [dictionary_coverage(r) for r in pkg_dict.get("resources") or []]
    described = [c for c in coverage if c["columns"]]
    return {
        "cadence": kpigov_cadence_label(unit, interval),
        "freshness": data.freshness_of(unit, interval, last),
        "last_update": last,
        "stakeholders": stakeholders,
        "coverage": coverage,
        "coverage_share": (sum(c["described"] for c in described)
                           / sum(c["columns"] for c in described)) if described else None,
        "completeness": metadata_completeness(pkg_dict),
    }


# Feature modules keep their helpers apart; blanket registers __all__.
from . import governance_helpers as _governance_helpers  # noqa: E402
from . import score_helpers as _score_helpers  # noqa: E402

for _module in (_governance_helpers, _score_helpers):
    for _name in _module.__all__:
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
