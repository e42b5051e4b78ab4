"""Pages of KPI scoring (blueprint registered through views.py).

- /organization/<id>/kpi: the KPI tab (five steps, evidence, next actions,
  score, quarter progress, trend); evaluators verify steps there;
- /organization/<id>/kpi.csv|json|xlsx: the organization's evaluation form;
- /kpigov/overview: every organization (evaluators), with filters, sorting,
  a score distribution and exports (/kpigov/overview.csv|json|xlsx).
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Optional

from flask import Blueprint, Response

import ckan.plugins.toolkit as tk
from ckanext.kpigov import views_common
from ckanext.kpigov.views_common import org_or_404, request_context

from . import exports, fiscal, scoring
from .logic.score_actions import org_score, score_rows, visibility

kpigov_score = views_common.protect(Blueprint("kpigov_score", __name__))

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SORT_KEYS = ("title", "performance", "weighted_score", "points", "compliance_rate",
             "last_update", "kind")

# The official evaluation form's columns (seed 004), Thai first.
FORM_HEADER = [
    "องค์ประกอบ (component)", "ตัวชี้วัด (indicator)", "หน่วยวัด (unit)",
    "น้ำหนัก (ร้อยละ) (weight)",
    "เกณฑ์การให้คะแนน ระดับ 1", "เกณฑ์การให้คะแนน ระดับ 2", "เกณฑ์การให้คะแนน ระดับ 3",
    "เกณฑ์การให้คะแนน ระดับ 4", "เกณฑ์การให้คะแนน ระดับ 5",
    "ผลการดำเนินการตามตัวชี้วัด (performance)", "ค่าคะแนนที่ได้ (points earned)",
    "คะแนนถ่วงน้ำหนัก (weighted points)",
]
STEP_HEADER = [
    "ขั้นตอน (step)", "รายละเอียด (description)", "สัดส่วน (ร้อยละ) (share)",
    "ผลจากระบบ (computed)", "ผลการรับรอง (verification)", "ผ่าน (met)",
    "ความคืบหน้า (progress)", "คะแนนที่ได้ (earned)", "สิ่งที่ต้องทำ (next actions)",
]
STAMP_HEADER = ["เกณฑ์ (rubric)", "รุ่นเกณฑ์ (rubric version)", "ประเภท (basis)"]
OFFICIAL = "ทางการ (official)"
WHAT_IF = "สมมติ (what-if)"


def _basis(rubric: dict[str, Any]) -> str:
    return OFFICIAL if rubric.get("official", True) else WHAT_IF


def _file_stem(prefix: str, fy: int, quarter: Optional[int], rubric: dict[str, Any]) -> str:
    """Names the rubric used; a what-if says so."""
    return "%s-%s%s-%s%s" % (prefix, fy, "-q%s" % quarter if quarter else "", rubric["id"],
                             "" if rubric.get("official", True) else "-whatif")


_context = request_context
_org_or_404 = org_or_404


def _fy(raw: Optional[str]) -> int:
    if not raw:
        return fiscal.current_fiscal_year()
    try:
        return fiscal.validate_fiscal_year(raw)
    except (ValueError, TypeError):
        pass
    return tk.abort(400, tk._("Fiscal year must be a Buddhist Era year from 2550 to "
                              "next year, e.g. {example}").format(
        example=fiscal.current_fiscal_year()))


def _quarter(raw: Optional[str]) -> Optional[int]:
    if not raw:
        return None
    if raw not in ("1", "2", "3", "4"):
        tk.abort(400, tk._("Quarter must be 1, 2, 3 or 4"))
    return int(raw)


def _years() -> list[int]:
    now = fiscal.current_fiscal_year()
    return list(range(now, now - 5, -1))


def _validation_abort(exc: tk.ValidationError) -> Any:
    messages = "; ".join("%s: %s" % (k, " ".join(map(str, v)))
                         for k, v in exc.error_dict.items())
    return tk.abort(400, messages)


def _rubric_arg() -> Optional[str]:
    rid = tk.request.args.get("rubric") or None
    return rid


# ------------------------------------------------------------------ KPI tab


def kpi(id: str, format: str = "html") -> Any:
    org, group_dict = _org_or_404(id)
    fy = _fy(tk.request.args.get("fy"))
    quarter = _quarter(tk.request.args.get("q"))
    ctx = _context()
    try:
        tk.check_access("kpigov_org_score", ctx, {"id": org.id})
    except tk.NotAuthorized:
        tk.abort(403, tk._("Only members of the organization and evaluators may see "
                           "its KPI score"))
    try:
        result = org_score(org, fy, quarter, ctx["user"], _rubric_arg(),
                           with_trend=format == "html")
    except tk.ValidationError as exc:
        return _validation_abort(exc)
    except tk.NotAuthorized:
        return tk.abort(403, tk._(
            "Only evaluators may score with another rubric than the year's (a what-if)"))
    if format != "html":
        return _org_export(result, format)
    rubric = scoring.resolve_rubric(fy, result["rubric"]["id"])
    win = scoring.window(fy, quarter)
    elapsed = fiscal.elapsed_months(fy, min(fiscal.bangkok_today(), win["end"]
                                            + dt.timedelta(days=1)))
    return tk.render("kpigov/kpi.html", extra_vars={
        "group_dict": group_dict, "group_type": "organization", "result": result,
        "fiscal_year": fy, "quarter": quarter, "years": _years(),
        "rubrics": sorted(scoring.rubrics()), "rubric": rubric,
        "can_verify": tk.h.kpigov_is_evaluator(),
        "full": visibility(ctx["user"], org.id) == "full",
        "elapsed": elapsed, "months_total": len(win["months"]),
        "export_args": {"fy": fy, "q": quarter or "",
                        "rubric": tk.request.args.get("rubric") or ""},
    })


def verify(id: str) -> Any:
    org, _group = _org_or_404(id)
    form = tk.request.form
    fy = _fy(form.get("fy"))
    data = {"id": org.id, "fiscal_year": fy, "step": form.get("step"),
            "decision": form.get("decision"), "comment": form.get("comment") or "",
            "rubric": form.get("rubric") or None, "quarter": form.get("q") or None}
    try:
        tk.get_action("kpigov_step_verify")(_context(), data)
    except tk.NotAuthorized:
        tk.abort(403, tk._("Only evaluators may verify KPI steps"))
    except tk.ValidationError as exc:
        for field, messages in exc.error_dict.items():
            tk.h.flash_error("%s: %s" % (field, "; ".join(map(str, messages))))
    else:
        tk.h.flash_success(tk._("Decision recorded"))
    args: dict[str, Any] = {"id": org.name, "fy": fy}
    if form.get("q"):
        args["q"] = form.get("q")
    if form.get("rubric"):
        args["rubric"] = form.get("rubric")
    return tk.redirect_to("kpigov_score.kpi", **args)


# ------------------------------------------------------------------ exports


def _criteria(r: Any) -> list[Any]:
    if r.criteria is not None:
        return list(r.criteria.thresholds)
    if len(r.steps) == 5:
        total, out = 0.0, []
        for s in r.steps:
            total += s.share
            out.append(round(total, 3))
        return out
    return [None] * 5


def _form_row(result: dict[str, Any], r: Any) -> list[Any]:
    unit = "ระดับ" if r.mode == "cumulative" else "ร้อยละ"
    points = result["points"] if result["points"] is not None else result["performance"]
    return [scoring.FORM_COMPONENT, "5.2 " + r.title_th, unit, result["weight"],
            *_criteria(r), result["performance"], points, result["weighted_score"]]


def _status(met: Optional[bool]) -> str:
    return "" if met is None else ("ผ่าน (met)" if met else "ไม่ผ่าน (not met)")


def _step_rows(result: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for s in result["steps"]:
        ver = s.get("verification") or {}
        decision = {"verified": "รับรอง (verified)", "rejected": "ไม่รับรอง (rejected)"}.get(
            ver.get("decision") or "",
            "รอการรับรอง (pending)" if s["requires_verification"] else "")
        actions = "; ".join(a.get("text", "") for c in s["checks"]
                            for a in c.get("actions") or [])
        rows.append([s["id"], s["title_th"], s["share"], _status(s["computed_met"]),
                     decision, _status(s["met"]), round(s["progress"] * 100, 1),
                     s["earned"], actions])
    return rows


def _meta(result: dict[str, Any], org_title: Optional[str]) -> list[tuple[str, Any]]:
    q = result.get("quarter")
    meta = []
    if org_title:
        meta.append(("หน่วยงาน (organization)", org_title))
    meta += [
        ("ปีงบประมาณ (fiscal year)", result["fiscal_year"]),
        ("ไตรมาส (quarter)", q or "ทั้งปี (year to date)"),
        ("ข้อมูล ณ วันที่ (as of)", fiscal.format_date(
            dt.date.fromisoformat(result["as_of"]), "th") if result.get("as_of") else ""),
        ("เกณฑ์ (rubric)", result["rubric"]["id"]),
        ("รุ่นเกณฑ์ (rubric version)", result["rubric"]["version"]),
        ("ประเภท (basis)", _basis(result["rubric"])),
    ]
    return meta


def _send(body: bytes, mimetype: str, name: str) -> Response:
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": 'attachment; filename="%s"' % name})


def _org_export(result: dict[str, Any], format: str) -> Response:
    return _send(*org_file(result, format))


def org_file(result: dict[str, Any], format: str) -> tuple[bytes, str, str]:
    """One organization's evaluation form (an ``org_score`` result) as
    (body, mimetype, file name)."""
    r = scoring.resolve_rubric(result["fiscal_year"], result["rubric"]["id"])
    org = result["organization"]
    name = _file_stem("kpigov-kpi-%s" % org["name"], result["fiscal_year"],
                      result.get("quarter"), result["rubric"])
    stamp = [result["rubric"]["id"], result["rubric"]["version"], _basis(result["rubric"])]
    if format == "json":
        text = json.dumps(result, ensure_ascii=False, indent=1, default=str)
        return text.encode("utf-8"), "application/json; charset=utf-8", name + ".json"
    if format == "csv":
        header = ["หน่วยงาน (organization)", *FORM_HEADER, *STAMP_HEADER]
        rows = [[org["title"], *_form_row(result, r), *stamp]]
        rows.append([])
        rows.append(["หน่วยงาน (organization)", *STEP_HEADER, *STAMP_HEADER])
        rows += [[org["title"], *row, *stamp] for row in _step_rows(result)]
        return exports.to_csv(header, rows), "text/csv; charset=utf-8", name + ".csv"
    body = exports.to_xlsx([
        ("แบบประเมิน", FORM_HEADER, [_form_row(result, r)]),
        ("ขั้นตอน", STEP_HEADER, _step_rows(result)),
    ], meta=_meta(result, org["title"]))
    return body, XLSX_MIME, name + ".xlsx"


# ------------------------------------------------------------------ overview


def _overview_data() -> tuple[dict[str, Any], dict[str, Any]]:
    ctx = _context()
    try:
        tk.check_access("kpigov_score_overview", ctx, {})
    except tk.NotAuthorized:
        tk.abort(403, tk._("Only evaluators may see the KPI overview"))
    args = tk.request.args
    fy = _fy(args.get("fy"))
    quarter = _quarter(args.get("q"))
    kind = args.get("kind") or None
    try:
        data = score_rows(fy, quarter, ctx["user"], kind, _rubric_arg())
    except tk.ValidationError as exc:
        return _validation_abort(exc)
    except tk.NotAuthorized:
        return tk.abort(403, tk._(
            "Only evaluators may score with another rubric than the year's (a what-if)"))
    sort = args.get("sort") if args.get("sort") in SORT_KEYS else "performance"
    descending = args.get("dir", "desc" if sort != "title" else "asc") != "asc"

    def key(row: dict[str, Any]) -> Any:
        if sort == "title":
            return (row["organization"]["title"] or "").lower()
        if sort == "kind":
            return row.get("agency_kind") or ""
        value = row.get(sort)
        return (value is not None, value if value is not None else 0)

    data["organizations"].sort(key=key, reverse=descending)
    state = {"fy": fy, "q": quarter, "kind": kind, "sort": sort,
             "dir": "desc" if descending else "asc",
             "rubric": args.get("rubric") or ""}
    return data, state


def overview() -> Any:
    data, state = _overview_data()
    return tk.render("kpigov/overview.html", extra_vars={
        "data": data, "state": state, "years": _years(),
        "max_count": max([b["count"] for b in data["distribution"]] + [1]),
    })


def overview_export(format: str) -> Any:
    data, state = _overview_data()
    body, mimetype, name = overview_file(data, format)
    return _send(body, mimetype, name)


def overview_file(data: dict[str, Any], format: str) -> tuple[bytes, str, str]:
    """The all-organization export (``score_rows`` output) as (body, mimetype,
    file name): statuses and scores only, never evidence details."""
    fy, quarter = data["fiscal_year"], data["quarter"]
    r = scoring.resolve_rubric(fy, data["rubric"]["id"])
    name = _file_stem("kpigov-kpi-overview", fy, quarter, data["rubric"])
    raw = data.pop("raw")
    if format == "json":
        text = json.dumps(data, ensure_ascii=False, indent=1, default=str)
        return text.encode("utf-8"), "application/json; charset=utf-8", name + ".json"
    stamp = [data["rubric"]["id"], data["rubric"]["version"], _basis(data["rubric"])]
    form_rows, step_rows = [], []
    for row in data["organizations"]:
        res = raw[row["organization"]["id"]]
        title = row["organization"]["title"]
        form_rows.append([title, row.get("agency_kind") or "", *_form_row(res, r),
                          None if row["compliance_rate"] is None
                          else round(row["compliance_rate"] * 100, 1)])
        # the all-organization export lists statuses only: no evidence details
        for s in res["steps"]:
            step_rows.append([title, s["id"], s["title_th"], s["share"],
                              _status(s["computed_met"]),
                              (s.get("verification") or {}).get("decision") or "",
                              _status(s["met"]), round(s["progress"] * 100, 1), s["earned"]])
    form_header = ["หน่วยงาน (organization)", "ประเภท (kind)", *FORM_HEADER,
                   "อัตราการปรับปรุงตรงเวลา (compliance rate %)"]
    step_header = ["หน่วยงาน (organization)", *STEP_HEADER[:-1]]
    if format == "csv":
        rows = [[*row, *stamp] for row in form_rows]
        return (exports.to_csv([*form_header, *STAMP_HEADER], rows),
                "text/csv; charset=utf-8", name + ".csv")
    meta = [("ปีงบประมาณ (fiscal year)", fy),
            ("ไตรมาส (quarter)", quarter or "ทั้งปี (year to date)"),
            ("เกณฑ์ (rubric)", data["rubric"]["id"]),
            ("รุ่นเกณฑ์ (rubric version)", data["rubric"]["version"]),
            ("ประเภท (basis)", _basis(data["rubric"])),
            ("จำนวนหน่วยงาน (organizations)", len(form_rows))]
    body = exports.to_xlsx([("แบบประเมิน", form_header, form_rows),
                            ("ขั้นตอน", step_header, step_rows)], meta=meta)
    return body, XLSX_MIME, name + ".xlsx"


_R = kpigov_score.add_url_rule
_R("/organization/<id>/kpi", view_func=kpi, endpoint="kpi")
_R("/organization/<id>/kpi.<any(csv,json,xlsx):format>", view_func=kpi,
   endpoint="kpi_export")
_R("/organization/<id>/kpi/verify", view_func=verify, endpoint="verify",
   methods=["POST"])
_R("/kpigov/overview", view_func=overview, endpoint="overview")
_R("/kpigov/overview.<any(csv,json,xlsx):format>", view_func=overview_export,
   endpoint="overview_export")
