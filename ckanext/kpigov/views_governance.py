"""Pages of the governance feature (blueprint registered through views.py).

- /organization/<id>/governance: the Governance tab (public summary for
  outsiders, edit links for editors/admins, verify buttons for evaluators)
  and its forms (team, plan, stakeholders, evidence, verify);
- /organization/<id>/governance/document/<type>/<id>: stored documents;
- /organization/<id>/catalog.csv|xlsx: the data catalog (บัญชีรายการข้อมูล);
- /dataset/<id>/resource/<rid>/dictionary.csv|json: a data dictionary.

Every POST re-checks access and goes through the actions; a validation
error re-renders the form with the messages.
"""
from __future__ import annotations

import json
import os
from typing import Any, Optional

import sqlalchemy as sa
from flask import Blueprint, Response, send_file

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckanext.kpigov import views_common
from ckanext.kpigov.views_common import org_or_404, request_context

from . import exports, fiscal
from .completeness import field as pkg_field
from .completeness import stakeholder
from .logic import data
from .model import evidence_table, governance_table

kpigov_governance = views_common.protect(Blueprint("kpigov_governance", __name__))

MEMBER_FIELDS = ("name", "position", "role", "email", "phone")
BLANK_MEMBER_ROWS = 3
_VERIFY_TABLES = {"governance": governance_table, "evidence": evidence_table}


_context = request_context
_org_or_404 = org_or_404


def _fy(raw: Optional[str]) -> int:
    if not raw:
        return fiscal.current_fiscal_year()
    try:
        return fiscal.validate_fiscal_year(raw)
    except (ValueError, TypeError):
        tk.abort(400, tk._("Fiscal year must be a Buddhist Era year from 2550 to "
                           "next year, e.g. {example}").format(
            example=fiscal.current_fiscal_year()))


def _require(auth: str, org: model.Group) -> dict[str, Any]:
    ctx = _context()
    try:
        tk.check_access(auth, ctx, {"owner_org": org.id})
    except tk.NotAuthorized:
        tk.abort(403, tk._("Only editors and admins of the organization may change "
                           "its governance record"))
    return ctx


def _action(name: str, data_dict: dict[str, Any]) -> Any:
    return tk.get_action(name)(_context(), data_dict)


def _show(org: model.Group, fy: int, kind: str) -> Optional[dict[str, Any]]:
    try:
        return _action("kpigov_governance_show",
                       {"owner_org": org.id, "fiscal_year": fy, "kind": kind})
    except tk.ObjectNotFound:
        return None


def _datasets(org: model.Group, user: str) -> list[data.DatasetInfo]:
    from .logic.auth import may_see_private
    private = may_see_private(user, org.id)
    return data.org_datasets(org.id, include_private=private)


def _years() -> list[int]:
    now = fiscal.current_fiscal_year()
    return list(range(now + 1, now - 4, -1))


def _back(org: model.Group, fy: int) -> Any:
    return tk.redirect_to("kpigov_governance.governance", id=org.name, fy=fy)


def _form() -> dict[str, Any]:
    form: dict[str, Any] = {k: v for k, v in tk.request.form.items()
                            if k not in ("csrf_token", "_csrf_token")}
    upload = tk.request.files.get("document_upload")
    if upload is not None and upload.filename:
        form["document_upload"] = upload
    return form


# --- the tab --------------------------------------------------------------

def governance(id: str) -> Any:
    org, group_dict = _org_or_404(id)
    fy = _fy(tk.request.args.get("fy"))
    ctx = _context()
    tk.check_access("kpigov_governance_list", ctx, {"owner_org": org.id})
    evidence = _action("kpigov_evidence_list", {"owner_org": org.id, "fiscal_year": fy})
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for e in evidence:
        by_dataset.setdefault(e["package_id"], []).append(e)
    try:
        history = _action("kpigov_verification_list",
                          {"owner_org": org.id, "fiscal_year": fy})
    except tk.NotAuthorized:
        history = None
    return tk.render("kpigov/governance.html", extra_vars={
        "group_dict": group_dict, "group_type": "organization",
        "fiscal_year": fy, "years": _years(),
        "team": _show(org, fy, "team"), "plan": _show(org, fy, "plan"),
        "stakeholders": _action("kpigov_stakeholder_list", {"owner_org": org.id}),
        "datasets": _datasets(org, ctx["user"]), "evidence": by_dataset,
        "history": history,
        "can_edit": tk.h.kpigov_can_edit_governance(org.id),
        "can_verify": tk.h.kpigov_is_evaluator(),
        "members_view": history is not None,
    })


# --- team and plan forms --------------------------------------------------

def _members_from_form(form: dict[str, Any]) -> list[dict[str, str]]:
    rows: dict[int, dict[str, str]] = {}
    for key in list(form):
        parts = key.split("-")
        if len(parts) == 3 and parts[0] == "members" and parts[1].isdigit() \
                and parts[2] in MEMBER_FIELDS:
            rows.setdefault(int(parts[1]), {})[parts[2]] = form.pop(key)
    return [rows[n] for n in sorted(rows)]


def _record_form(id: str, kind: str) -> Any:
    org, group_dict = _org_or_404(id)
    raw_fy = tk.request.form.get("fiscal_year") if tk.request.method == "POST" \
        else tk.request.args.get("fy")
    fy = _fy(raw_fy)
    _require("kpigov_governance_update", org)
    errors: dict[str, Any] = {}
    record = _show(org, fy, kind)
    values: dict[str, Any] = dict((record or {}).get("data") or {})
    if record and record["document_url"]:
        values["document_link"] = record["document_url"]
        values["document_name"] = record["document_name"]
        if not _stored_name("governance", record["id"]) or \
                record["document_url"] == _stored_name("governance", record["id"]):
            values["document_url"] = record["document_url"]  # an external link
    if tk.request.method == "POST":
        form = _form()
        form.update({"owner_org": org.id, "fiscal_year": fy, "kind": kind})
        if kind == "team":
            form["members"] = _members_from_form(form)
        else:
            form["target_datasets"] = tk.request.form.getlist("target_datasets")
        if not form.get("document_url") and "document_upload" not in form \
                and not form.get("clear_document"):
            form.pop("document_url", None)  # keep the stored document
        if record and record["document_url"] == form.get("document_url"):
            form.pop("document_url", None)  # unchanged
        try:
            _action("kpigov_governance_update", form)
        except tk.ValidationError as exc:
            errors = exc.error_dict
            values.update({k: v for k, v in form.items() if k != "document_upload"})
            if kind == "plan":
                values["target_datasets"] = [{"id": i} for i in form["target_datasets"]]
        else:
            tk.h.flash_success(tk._("Saved"))
            return _back(org, fy)
    if kind == "team":
        members = list(values.get("members") or [])
        values["members"] = members + [{} for _ in range(BLANK_MEMBER_ROWS)]
    else:
        values["target_ids"] = [t.get("id") for t in values.get("target_datasets") or []]
    return tk.render("kpigov/governance_%s_form.html" % kind, extra_vars={
        "group_dict": group_dict, "group_type": "organization", "fiscal_year": fy,
        "record": record, "values": values, "errors": errors,
        "datasets": _datasets(org, _context()["user"]),
    })


def team(id: str) -> Any:
    return _record_form(id, "team")


def plan(id: str) -> Any:
    return _record_form(id, "plan")


# --- stakeholder register -------------------------------------------------

def stakeholders(id: str) -> Any:
    org, group_dict = _org_or_404(id)
    fy = _fy(tk.request.values.get("fy"))
    _require("kpigov_stakeholder_create", org)
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if tk.request.method == "POST":
        form = _form()
        form.pop("fy", None)
        try:
            if form.pop("delete", None):
                _action("kpigov_stakeholder_delete", {"id": form.get("id")})
            else:
                form["owner_org"] = org.id
                _action("kpigov_stakeholder_create", form)
        except tk.ValidationError as exc:
            errors, values = exc.error_dict, form
        except tk.ObjectNotFound:
            tk.abort(404, tk._("Stakeholder not found"))
        else:
            tk.h.flash_success(tk._("Saved"))
            return tk.redirect_to("kpigov_governance.stakeholders", id=org.name, fy=fy)
    return tk.render("kpigov/governance_stakeholders.html", extra_vars={
        "group_dict": group_dict, "group_type": "organization", "fiscal_year": fy,
        "stakeholders": _action("kpigov_stakeholder_list", {"owner_org": org.id}),
        "values": values, "errors": errors,
    })


# --- evidence -------------------------------------------------------------

def evidence(id: str) -> Any:
    org, group_dict = _org_or_404(id)
    fy = _fy(tk.request.values.get("fy"))
    _require("kpigov_evidence_create", org)
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {"package_id": tk.request.args.get("package_id", ""),
                              "evidence_type": tk.request.args.get("type", "usage")}
    if tk.request.method == "POST":
        form = _form()
        form.pop("fy", None)
        form["owner_org"] = org.id
        # one select per evidence type; the type decides which applies
        form["kind"] = form.pop("kind_%s" % form.get("evidence_type"), "")
        form.pop("kind_usage", None)
        form.pop("kind_sharing", None)
        try:
            _action("kpigov_evidence_create", form)
        except tk.ValidationError as exc:
            errors = exc.error_dict
            values = {k: v for k, v in form.items() if k != "document_upload"}
            values["kind_%s" % form.get("evidence_type")] = form["kind"]
        else:
            tk.h.flash_success(tk._("Saved"))
            return _back(org, fy)
    return tk.render("kpigov/governance_evidence_form.html", extra_vars={
        "group_dict": group_dict, "group_type": "organization", "fiscal_year": fy,
        "values": values, "errors": errors,
        "datasets": _datasets(org, _context()["user"]),
    })


def evidence_delete(id: str, evidence_id: str) -> Any:
    org, _group = _org_or_404(id)
    fy = _fy(tk.request.form.get("fy"))
    _require("kpigov_evidence_delete", org)
    try:
        _action("kpigov_evidence_delete", {"id": evidence_id})
    except tk.ObjectNotFound:
        tk.abort(404, tk._("Evidence not found"))
    except tk.NotAuthorized:
        tk.abort(403, tk._("Only editors and admins of the organization may change "
                           "its governance record"))
    except tk.ValidationError as exc:  # e.g. the fiscal year is closed
        for messages in exc.error_dict.values():
            tk.h.flash_error("; ".join(map(str, messages)))
        return _back(org, fy)
    tk.h.flash_success(tk._("Deleted"))
    return _back(org, fy)


# --- verification ---------------------------------------------------------

def verify(id: str) -> Any:
    org, _group = _org_or_404(id)
    fy = _fy(tk.request.form.get("fy"))
    ctx = _context()
    try:
        tk.check_access("kpigov_verify", ctx, {})
    except tk.NotAuthorized:
        tk.abort(403, tk._("Only evaluators may verify governance records and evidence"))
    form = {k: tk.request.form.get(k) for k in ("object_type", "id", "decision", "comment")}
    # the record must belong to the organization whose page posted it
    t = _VERIFY_TABLES.get(form["object_type"] or "")
    if t is None:
        tk.abort(400, tk._("Unknown record type"))
    row = model.Session.execute(sa.select(t.c.owner_org).where(
        t.c.id == (form["id"] or ""))).first()
    if row is None or row.owner_org != org.id:
        tk.abort(404, tk._("Record not found"))
    try:
        tk.get_action("kpigov_verify")(ctx, form)
    except tk.ValidationError as exc:
        for field, messages in exc.error_dict.items():
            tk.h.flash_error("%s: %s" % (field, "; ".join(map(str, messages))))
    else:
        tk.h.flash_success(tk._("Decision recorded"))
    return _back(org, fy)


# --- documents ------------------------------------------------------------

def document(id: str, object_type: str, object_id: str) -> Any:
    from .logic.governance_actions import document_path
    org, _group = _org_or_404(id)
    try:
        if object_type == "governance":
            record = _action("kpigov_governance_show", {"id": object_id})
            stored_row = _stored_name("governance", object_id)
        else:
            matches = [e for e in _action("kpigov_evidence_list", {"owner_org": org.id,
                                                                   "limit": 1000})
                       if e["id"] == object_id]
            if not matches:
                raise tk.ObjectNotFound()
            record = matches[0]
            stored_row = _stored_name("evidence", object_id)
    except (tk.ObjectNotFound, tk.ValidationError):
        tk.abort(404, tk._("Document not found"))
    if record.get("owner_org") != org.id:
        tk.abort(404, tk._("Document not found"))
    try:
        path = document_path(stored_row)
    except tk.ValidationError:  # no storage configured
        path = None
    if path is None:
        tk.abort(404, tk._("Document not found"))
    return send_file(path, as_attachment=True,
                     download_name=record.get("document_name") or os.path.basename(path))


def _stored_name(object_type: str, object_id: str) -> Optional[str]:
    if object_type == "governance":
        row = model.Session.execute(sa.select(governance_table.c.document_url).where(
            governance_table.c.id == object_id)).first()
        return row.document_url if row else None
    row = model.Session.execute(sa.select(evidence_table.c.url).where(
        evidence_table.c.id == object_id)).first()
    return row.url if row else None


# --- data catalog export --------------------------------------------------

CATALOG_COLUMNS = (
    ("ชื่อชุดข้อมูล", "dataset"), ("คำอธิบาย", "description"),
    ("เจ้าของข้อมูล", "owner"), ("ผู้ดูแลข้อมูล", "steward"),
    ("ความถี่ในการปรับปรุง", "cadence"), ("หมวดหมู่ข้อมูล", "category"),
    ("ระดับชั้นข้อมูล", "classification"), ("รูปแบบ", "formats"),
    ("การเผยแพร่", "public/private"), ("URL", "URL"),
)


def _people(pkg: dict[str, Any], role: str) -> str:
    if isinstance(pkg.get("kpigov_stakeholders"), str):
        try:
            pkg = dict(pkg, kpigov_stakeholders=json.loads(pkg["kpigov_stakeholders"]))
        except ValueError:
            pkg = dict(pkg, kpigov_stakeholders=[])
    return "; ".join("%s (%s)" % (p["name"], p["agency"]) if p.get("agency") else p["name"]
                     for p in stakeholder(pkg, role))


def catalog_rows(org: model.Group, include_private: bool) -> list[list[Any]]:
    """One row per dataset in the columns of the official catalog form."""
    from . import cadence as cadence_mod
    site = (tk.config.get("ckan.site_url") or "").rstrip("/")
    rows = []
    for info in data.org_datasets(org.id, include_private=include_private):
        pkg = tk.get_action("package_show")({"ignore_auth": True}, {"id": info.id})
        unit = pkg_field(pkg, "update_frequency_unit")
        try:
            cadence = cadence_mod.parse_cadence(
                unit, pkg_field(pkg, "update_frequency_interval")).describe("th") \
                if unit else ""
        except ValueError:
            cadence = str(unit)
        formats = []
        for r in pkg.get("resources") or []:
            f = (r.get("format") or "").strip()
            if f and f not in formats:
                formats.append(f)
        if not formats:
            declared = pkg_field(pkg, "data_format") or []
            formats = declared if isinstance(declared, list) else [str(declared)]
        rows.append([
            pkg.get("title") or pkg["name"], pkg.get("notes") or "",
            _people(pkg, "owner"), _people(pkg, "steward"), cadence,
            pkg_field(pkg, "data_category") or "",
            pkg_field(pkg, "data_classification") or "", ", ".join(formats),
            "ส่วนตัว (private)" if pkg.get("private") else "สาธารณะ (public)",
            "%s/dataset/%s" % (site, pkg["name"]),
        ])
    return rows


def catalog(id: str, format: str) -> Any:
    from .logic.auth import may_see_private
    org, group_dict = _org_or_404(id)
    user = _context()["user"]
    include_private = may_see_private(user, org.id)
    header = ["%s (%s)" % pair for pair in CATALOG_COLUMNS]
    rows = catalog_rows(org, include_private)
    name = "kpigov-catalog-%s" % org.name
    if format == "csv":
        body = exports.to_csv(header, rows)
        mimetype = "text/csv; charset=utf-8"
    else:
        body = exports.to_xlsx([("catalog", header, rows)], meta=[
            ("บัญชีรายการข้อมูล (data catalog)", group_dict["title"] or org.name),
            ("วันที่ส่งออก (exported)", fiscal.format_date(fiscal.bangkok_today(), "th")),
        ])
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": 'attachment; filename="%s.%s"' % (name, format)})


# --- data dictionary downloads --------------------------------------------

def dictionary(id: str, resource_id: str, format: str) -> Any:
    from .dictionary import dictionary_csv, dictionary_json
    try:
        resource = tk.get_action("resource_show")(_context(), {"id": resource_id})
    except (tk.ObjectNotFound, tk.NotAuthorized):
        tk.abort(404, tk._("Resource not found"))
    pkg = model.Package.get(id)
    if pkg is None or pkg.id != resource.get("package_id"):
        tk.abort(404, tk._("Resource not found"))
    filename = "dictionary-%s.%s" % (resource_id, format)
    if format == "csv":
        return Response(dictionary_csv(resource), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 'attachment; filename="%s"' % filename})
    return Response(json.dumps(dictionary_json(resource), ensure_ascii=False, indent=1),
                    mimetype="application/json; charset=utf-8")


_R = kpigov_governance.add_url_rule
_R("/organization/<id>/governance", view_func=governance, endpoint="governance")
_R("/organization/<id>/governance/team", view_func=team, endpoint="team",
   methods=["GET", "POST"])
_R("/organization/<id>/governance/plan", view_func=plan, endpoint="plan",
   methods=["GET", "POST"])
_R("/organization/<id>/governance/stakeholders", view_func=stakeholders,
   endpoint="stakeholders", methods=["GET", "POST"])
_R("/organization/<id>/governance/evidence", view_func=evidence, endpoint="evidence",
   methods=["GET", "POST"])
_R("/organization/<id>/governance/evidence/<evidence_id>/delete",
   view_func=evidence_delete, endpoint="evidence_delete", methods=["POST"])
_R("/organization/<id>/governance/verify", view_func=verify, endpoint="verify",
   methods=["POST"])
_R("/organization/<id>/governance/document/<any(governance,evidence):object_type>/"
   "<object_id>", view_func=document, endpoint="document")
_R("/organization/<id>/catalog.<any(csv,xlsx):format>", view_func=catalog,
   endpoint="catalog")
_R("/dataset/<id>/resource/<resource_id>/dictionary.<any(csv,json):format>",
   view_func=dictionary, endpoint="dictionary")
