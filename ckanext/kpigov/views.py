"""Pages: organization tabs (Compliance, Governance, KPI), exports, overview."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

import ckan.plugins.toolkit as tk
from ckanext.kpigov import views_common
from ckanext.kpigov.views_common import org_or_404, request_context

from . import exports, fiscal
from .logic.action import org_compliance
from .views_governance import kpigov_governance
from .views_score import kpigov_score

__all__ = ["kpigov", "kpigov_governance", "kpigov_score"]

kpigov = views_common.protect(Blueprint("kpigov", __name__))


_context = request_context
_org_or_404 = org_or_404


def _fiscal_year_arg() -> int:
    raw = tk.request.args.get("fy")
    if not raw:
        return fiscal.current_fiscal_year()
    try:
        return fiscal.validate_fiscal_year(raw)
    except (ValueError, TypeError):
        tk.abort(400, tk._("Fiscal year must be a Buddhist Era year from 2550 to "
                           "next year, e.g. {example}").format(
            example=fiscal.current_fiscal_year()))


def _quarter_arg() -> Any:
    raw = tk.request.args.get("q")
    if not raw:
        return None
    if raw not in ("1", "2", "3", "4"):
        tk.abort(400, tk._("Quarter must be 1, 2, 3 or 4"))
    return int(raw)


def compliance(id: str, format: str = "html") -> Any:
    org, group_dict = _org_or_404(id)
    fy = _fiscal_year_arg()
    quarter = _quarter_arg()
    ctx = _context()
    tk.check_access("kpigov_org_compliance", ctx, {"id": org.id})
    result = org_compliance(org, fy, quarter, ctx["user"])
    if format in ("csv", "xlsx"):
        return _compliance_export(result, format)
    return tk.render("kpigov/org_compliance.html", extra_vars={
        "group_dict": group_dict, "group_type": "organization",
        "result": result, "fiscal_year": fy, "quarter": quarter,
        "years": list(range(fiscal.current_fiscal_year(), fiscal.current_fiscal_year() - 4, -1)),
    })


def _compliance_export(result: dict[str, Any], format: str) -> Response:
    lang = "th"
    months = result["months"]
    header = (["ชุดข้อมูล (dataset)", "ชื่อ (title)", "ความถี่ (cadence)",
               "ปรับปรุงล่าสุด (last update)", "ความสดใหม่ (freshness)",
               "อัตรา (rate)"] +
              [fiscal.format_month(int(m[:4]), int(m[5:]), lang) for m in months])
    rows = []
    for d in result["datasets"]:
        rows.append([d["name"], d["title"], d["cadence"], d["last_update"],
                     d["freshness"],
                     None if d["rate"] is None else round(d["rate"] * 100, 1)] +
                    [d["months"][m] for m in months])
    name = "kpigov-compliance-%s-%s" % (result["organization"]["name"],
                                       result["fiscal_year"])
    if format == "csv":
        body = exports.to_csv(header, rows)
        mimetype = "text/csv; charset=utf-8"
    else:
        body = exports.to_xlsx([("compliance", header, rows)], meta=[
            ("หน่วยงาน (organization)", result["organization"]["title"]),
            ("ปีงบประมาณ (fiscal year)", result["fiscal_year"]),
            ("อัตราการปรับปรุงตรงเวลา (rate)",
             None if result["rate"] is None else round(result["rate"] * 100, 1)),
        ])
        mimetype = ("application/vnd.openxmlformats-officedocument."
                    "spreadsheetml.sheet")
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": 'attachment; filename="%s.%s"' % (name, format)})


kpigov.add_url_rule("/organization/<id>/compliance", view_func=compliance,
                    endpoint="compliance")
kpigov.add_url_rule("/organization/<id>/compliance.<any(csv,xlsx):format>",
                    view_func=compliance, endpoint="compliance_export")

