"""Actions for the governance feature (re-exported by logic/action.py).

The agency's governance record (working group and development plan per
organization and fiscal year), its stakeholder register, usage and sharing
evidence on datasets, and the evaluators' verification decisions.

Every action validates the whole input before it writes anything, so a
rejected request leaves the stored record unchanged. Outsiders (anonymous
users and users who are not members of the organization) get a public
summary: working-group names and positions, never emails or phone numbers.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import os
import uuid
import zipfile
from typing import Any, Optional
from urllib.parse import urlparse

import sqlalchemy as sa

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.lib.navl.dictization_functions import Invalid

from .. import fiscal
from ..model import (GOVERNANCE_KINDS, SHARING_KINDS, USAGE_KINDS,
                     VERIFICATION_DECISIONS, evidence_table, governance_table,
                     stakeholder_table, verification_table)
from . import validators
from .action import _date, _error, _fiscal_year, _int, _text, _user_id, refuse_closed
from .auth import may_see_private
from .guard import as_bool

__all__ = [
    "kpigov_governance_create", "kpigov_governance_update",
    "kpigov_governance_show", "kpigov_governance_list",
    "kpigov_governance_delete",
    "kpigov_stakeholder_create", "kpigov_stakeholder_update",
    "kpigov_stakeholder_delete", "kpigov_stakeholder_list",
    "kpigov_evidence_create", "kpigov_evidence_update",
    "kpigov_evidence_delete", "kpigov_evidence_list",
    "kpigov_verify", "kpigov_verification_list",
]

log = logging.getLogger(__name__)

# Roles in the data-governance working group (คณะทำงานธรรมาภิบาลข้อมูล).
GROUP_ROLES = ("chair", "vice_chair", "member", "secretary",
               "assistant_secretary", "advisor")
# Same vocabulary as the dataset's kpigov_stakeholders preset.
STAKEHOLDER_ROLES = ("owner", "steward", "custodian", "producer", "user", "other")
EVIDENCE_TYPES = ("usage", "sharing")
# Sharing kinds that need the partner (which agency or body) named.
PARTNER_REQUIRED = ("exchange_bma", "exchange_external")
MAX_MEMBERS = 100
MAX_TARGETS = 50
MAX_LIST = 1000

# extension → content types accepted when sniffed from the bytes
DOCUMENT_TYPES: dict[str, tuple[str, ...]] = {
    "pdf": ("application/pdf",),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "application/zip", "application/octet-stream"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "application/zip", "application/octet-stream"),
    "png": ("image/png",),
    "jpg": ("image/jpeg",),
    "jpeg": ("image/jpeg",),
}
# the part an Office Open XML file of that kind must contain
_OOXML_PART = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}


# --- small validators -----------------------------------------------------

def _collect(errors: dict[str, list[str]], fn: Any, *args: Any, **kw: Any) -> Any:
    """Run one of the raising helpers, gathering its errors instead."""
    try:
        return fn(*args, **kw)
    except tk.ValidationError as exc:
        for key, messages in exc.error_dict.items():
            errors.setdefault(key, []).extend(
                messages if isinstance(messages, list) else [str(messages)])
        return None


def _choice(data_dict: dict[str, Any], key: str, values: tuple[str, ...],
            required: bool = True) -> str:
    raw = data_dict.get(key)
    if raw in (None, ""):
        if required:
            raise _error(key, tk._("Missing value"))
        return ""
    if raw not in values:
        raise _error(key, tk._("Must be one of: {values}").format(
            values=", ".join(values)))
    return str(raw)


def _email(data_dict: dict[str, Any], key: str) -> str:
    raw = data_dict.get(key)
    if raw in (None, ""):
        return ""
    try:
        return str(validators.kpigov_email(raw, {}))
    except Invalid as exc:
        raise _error(key, exc.error)


def _phone(data_dict: dict[str, Any], key: str) -> str:
    raw = data_dict.get(key)
    if raw in (None, ""):
        return ""
    try:
        return str(validators.kpigov_phone(raw, {}))
    except Invalid as exc:
        raise _error(key, exc.error)


def _url(data_dict: dict[str, Any], key: str) -> str:
    raw = _text(data_dict, key, 1000).strip()
    if not raw:
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in raw:
        raise _error(key, tk._("Must be a web address starting with http:// or https://"))
    return raw


def _past_date(data_dict: dict[str, Any], key: str, required: bool) -> Optional[dt.date]:
    value = _date(data_dict, key, required=required)
    if value is not None and value > fiscal.bangkok_today():
        raise _error(key, tk._("The date cannot be in the future"))
    if value is not None and value.year < 1957:  # before B.E. 2500
        raise _error(key, tk._("Not a valid date (YYYY-MM-DD, C.E. or B.E.)"))
    return value


def _as_list(value: Any, key: str) -> list[Any]:
    if value in (None, ""):
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        # a form or a simple API client may send "a,b" or one name
        return [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]
    raise _error(key, tk._("Must be a list"))


def _org(ref: Any) -> model.Group:
    org = model.Group.get(ref) if isinstance(ref, str) and ref else None
    if org is None or not org.is_organization or org.state != "active":
        raise tk.ObjectNotFound(tk._("Organization not found"))
    return org


def _org_ref(data_dict: dict[str, Any]) -> Any:
    return data_dict.get("owner_org") or data_dict.get("organization_id") \
        or data_dict.get("org_id")


def _can_read_private(context: dict[str, Any], org_id: str) -> bool:
    """Members of the organization and evaluators see contacts and users."""
    user = context.get("user") or ""
    return may_see_private(user, org_id)


def _user_names(ids: set[Optional[str]]) -> dict[str, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(model.Session.query(model.User.id, model.User.name)
                .filter(model.User.id.in_(ids)).all())


def _iso(value: Any) -> Optional[str]:
    return value.isoformat() if value is not None else None


# --- documents ------------------------------------------------------------

def _upload_limit() -> int:
    try:
        return int(tk.config.get("ckanext.kpigov.upload_max_mb", 10) or 10)
    except (TypeError, ValueError):
        return 10


def _is_file(value: Any) -> bool:
    return hasattr(value, "read") or hasattr(value, "stream")


def _check_document(upload: Any, key: str) -> tuple[bytes, str]:
    """The bytes and original name of an acceptable upload, or ValidationError."""
    filename = os.path.basename(str(getattr(upload, "filename", "") or "document"))
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    allowed = ", ".join(sorted({e.upper() for e in DOCUMENT_TYPES if e != "jpeg"}))
    if ext not in DOCUMENT_TYPES:
        raise _error(key, tk._("Unsupported file type; allowed: {types}").format(
            types=allowed))
    limit_mb = _upload_limit()
    stream = getattr(upload, "stream", upload)
    data = stream.read(limit_mb * 1024 * 1024 + 1)
    if len(data) > limit_mb * 1024 * 1024:
        raise _error(key, tk._("The file is larger than {size} MB").format(size=limit_mb))
    if not data:
        raise _error(key, tk._("The file is empty"))
    import magic
    sniffed = magic.from_buffer(data[:4096], mime=True)
    ok = sniffed in DOCUMENT_TYPES[ext]
    if ok and ext in _OOXML_PART:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                ok = _OOXML_PART[ext] in archive.namelist()
        except zipfile.BadZipFile:
            ok = False
    if not ok:
        raise _error(key, tk._(
            "The file's content does not match its type; allowed: {types}").format(
            types=allowed))
    return data, filename


def _storage_dir() -> str:
    from ckan.lib import uploader
    upload = uploader.get_uploader("kpigov")
    path = getattr(upload, "storage_path", None)
    if not path:
        raise _error("document_upload", tk._("File uploads are not enabled on this portal"))
    return str(path)


def _store_document(data: bytes, filename: str) -> str:
    """Write an accepted upload under <storage>/uploads/kpigov; its stored name."""
    from ckan.lib.munge import munge_filename
    folder = _storage_dir()
    stored = "%s-%s" % (uuid.uuid4().hex[:16], munge_filename(filename))
    tmp = os.path.join(folder, stored + "~")
    with open(tmp, "wb") as out:
        out.write(data)
    os.rename(tmp, os.path.join(folder, stored))
    return stored


def document_path(stored: Optional[str]) -> Optional[str]:
    """The file of a stored document name (None for links and bad names)."""
    if not stored or stored.startswith(("http://", "https://")) or \
            os.path.basename(stored) != stored:
        return None
    path = os.path.join(_storage_dir(), stored)
    return path if os.path.isfile(path) else None


def drop_unreferenced(*names: Optional[str]) -> int:
    """Remove stored documents (after a commit) that no governance record
    or evidence refers to any more: a replaced, cleared or deleted upload
    does not stay on disk. Links and unknown names are left alone."""
    removed = 0
    for name in {n for n in names if n}:
        try:
            path = document_path(name)
        except tk.ValidationError:
            return removed  # uploads not configured: nothing stored
        if path is None:
            continue
        used = model.Session.execute(sa.select(sa.func.count()).select_from(
            governance_table).where(governance_table.c.document_url == name)).scalar() or \
            model.Session.execute(sa.select(sa.func.count()).select_from(
                evidence_table).where(evidence_table.c.url == name)).scalar()
        if not used:
            try:
                os.remove(path)
                removed += 1
            except OSError:  # pragma: no cover - already gone
                pass
    return removed


def _document(data_dict: dict[str, Any], url_key: str,
              upload_key: str = "document_upload") -> Optional[tuple[Any, ...]]:
    """What the request says about the document, checked but not yet stored.

    None: nothing said (keep what is stored); ("clear",); ("url", url,
    name); ("file", bytes, name).
    """
    upload = data_dict.get(upload_key)
    if upload is not None and _is_file(upload) and getattr(upload, "filename", None):
        data, name = _check_document(upload, upload_key)
        return ("file", data, name)
    if upload not in (None, "") and not _is_file(upload):
        raise _error(upload_key, tk._("Send the document as a file upload"))
    if as_bool(data_dict, "clear_document"):
        return ("clear",)
    if url_key in data_dict:
        url = _url(data_dict, url_key)
        if not url:
            return ("clear",)
        name = _text(data_dict, "document_name", 300) or None
        return ("url", url, name)
    return None


def _document_values(doc: Optional[tuple[Any, ...]]
                     ) -> Optional[tuple[Optional[str], Optional[str]]]:
    """Store the file (after validation passed): (stored url, name)."""
    if doc is None:
        return None
    if doc[0] == "clear":
        return (None, None)
    if doc[0] == "url":
        return (doc[1], doc[2])
    return (_store_document(doc[1], doc[2]), doc[2])


def _document_link(stored: Optional[str], object_type: str, object_id: str,
                   org_name: str) -> Optional[str]:
    if not stored:
        return None
    if stored.startswith(("http://", "https://")):
        return stored
    site = (tk.config.get("ckan.site_url") or "").rstrip("/")
    return "%s/organization/%s/governance/document/%s/%s" % (
        site, org_name, object_type, object_id)


# --- governance record ----------------------------------------------------

def _members(value: Any) -> list[dict[str, str]]:
    rows = _as_list(value, "members")
    if len(rows) > MAX_MEMBERS:
        raise _error("members", tk._("At most {n} rows").format(n=MAX_MEMBERS))
    members, problems = [], []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            problems.append(tk._("Row {n}: must be an object").format(n=n))
            continue
        if not any(str(row.get(k) or "").strip() for k in
                   ("name", "position", "email", "phone")):
            continue  # an empty form row
        errors: dict[str, list[str]] = {}
        member = {
            "name": _collect(errors, _text, row, "name", 200, required=True),
            "position": _collect(errors, _text, row, "position", 200),
            "role": _collect(errors, _choice, row, "role", GROUP_ROLES),
            "email": _collect(errors, _email, row, "email"),
            "phone": _collect(errors, _phone, row, "phone"),
        }
        for field, messages in errors.items():
            for m in messages:
                problems.append(tk._("Row {n}, {field}: {message}").format(
                    n=n, field=field, message=m))
        members.append({k: v or "" for k, v in member.items()})
    if problems:
        raise tk.ValidationError({"members": problems})
    return members


def _targets(value: Any, org: model.Group) -> list[str]:
    refs = _as_list(value, "target_datasets")
    if len(refs) > MAX_TARGETS:
        raise _error("target_datasets", tk._("At most {n} rows").format(n=MAX_TARGETS))
    ids, problems = [], []
    for ref in refs:
        pkg = model.Package.get(str(ref)) if isinstance(ref, str) else None
        # another agency's private dataset is "not found", as an unknown id
        # is; messages repeat what was sent, never a stored name
        if pkg is None or pkg.state != "active" or (
                pkg.owner_org != org.id and pkg.private):
            problems.append(tk._("Dataset not found: {name}").format(name=str(ref)[:100]))
        elif pkg.owner_org != org.id:
            problems.append(tk._("The dataset {name} does not belong to this "
                                 "organization").format(name=str(ref)[:100]))
        elif pkg.id not in ids:
            ids.append(pkg.id)
    if problems:
        raise tk.ValidationError({"target_datasets": problems})
    return ids


def _governance_data(kind: str, data_dict: dict[str, Any], org: model.Group,
                     stored: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    """The record's data: given keys replace stored ones, others are kept."""
    out = dict(stored)
    if kind == "team":
        if "members" in data_dict:
            out["members"] = _collect(errors, _members, data_dict["members"]) or []
        if "order_number" in data_dict:
            out["order_number"] = _collect(errors, _text, data_dict, "order_number", 100)
        if "order_date" in data_dict:
            d = _collect(errors, _past_date, data_dict, "order_date", False)
            out["order_date"] = d.isoformat() if d else None
    else:
        if "summary" in data_dict:
            out["summary"] = _collect(errors, _text, data_dict, "summary", 5000)
        if "target_datasets" in data_dict:
            out["target_datasets"] = _collect(
                errors, _targets, data_dict["target_datasets"], org) or []
        if "approval_date" in data_dict:
            d = _collect(errors, _past_date, data_dict, "approval_date", False)
            out["approval_date"] = d.isoformat() if d else None
    return out


def _governance_dict(row: Any, org: model.Group, private: bool) -> dict[str, Any]:
    data = dict(row.data or {})
    if "members" in data and not private:
        data["members"] = [{k: m.get(k, "") for k in ("name", "position", "role")}
                           for m in data["members"]]
    if data.get("target_datasets"):
        pkgs = {p.id: p for p in model.Session.query(model.Package).filter(
            model.Package.id.in_(data["target_datasets"]))}
        data["target_datasets"] = [
            {"id": i, "name": pkgs[i].name, "title": pkgs[i].title or pkgs[i].name}
            for i in data["target_datasets"] if i in pkgs and pkgs[i].state == "active"
            and (private or not pkgs[i].private)]
    out = {
        "id": row.id, "owner_org": row.owner_org, "fiscal_year": row.fiscal_year,
        "kind": row.kind, "data": data, "status": row.status,
        "document_url": _document_link(row.document_url, "governance", row.id, org.name),
        "document_name": row.document_name,
        "created": _iso(row.created), "modified": _iso(row.modified),
    }
    if private:
        names = _user_names({row.created_by, row.modified_by})
        out["created_by"] = names.get(row.created_by)
        out["modified_by"] = names.get(row.modified_by)
    return out


def _governance_row(org_id: str, fy: int, kind: str, lock: bool = False) -> Any:
    q = sa.select(governance_table).where(
        governance_table.c.owner_org == org_id,
        governance_table.c.fiscal_year == fy, governance_table.c.kind == kind)
    if lock:
        q = q.with_for_update()
    return model.Session.execute(q).first()


def _save_governance(context: dict[str, Any], data_dict: dict[str, Any],
                     create_only: bool) -> dict[str, Any]:
    org = _org(_org_ref(data_dict))
    tk.check_access("kpigov_governance_update" if not create_only
                    else "kpigov_governance_create", context, {"owner_org": org.id})
    errors: dict[str, list[str]] = {}
    fy = _collect(errors, _fiscal_year, data_dict, True)
    if fy is not None:
        _collect(errors, refuse_closed, context, fy)
    kind = _collect(errors, _choice, data_dict, "kind", GOVERNANCE_KINDS)
    doc = _collect(errors, _document, data_dict, "document_url")
    if errors:
        raise tk.ValidationError(errors)
    existing = _governance_row(org.id, fy, kind, lock=True)
    if existing is not None and create_only:
        model.Session.rollback()
        raise _error("kind", tk._("This organization already has this record for "
                                  "the fiscal year; update it instead"))
    data = _governance_data(kind, data_dict, org,
                            dict(existing.data or {}) if existing else {}, errors)
    if errors:
        model.Session.rollback()
        raise tk.ValidationError(errors)
    now = dt.datetime.utcnow()
    user_id = _user_id(context)
    values: dict[str, Any] = {"data": data, "modified": now, "modified_by": user_id}
    stored = _document_values(doc)
    if stored is not None:
        values["document_url"], values["document_name"] = stored
    if existing is None:
        new_id = str(uuid.uuid4())
        try:
            model.Session.execute(governance_table.insert().values(
                id=new_id, owner_org=org.id, fiscal_year=fy, kind=kind,
                status="pending", created=now, created_by=user_id, **values))
        except sa.exc.IntegrityError:
            # someone created the same record a moment ago
            model.Session.rollback()
            raise _error("kind", tk._("The record was changed at the same time; "
                                      "please try again"))
    else:
        new_id = existing.id
        changed = (data != (existing.data or {})) or (
            stored is not None and stored != (existing.document_url, existing.document_name))
        if changed:
            # A changed record needs a new decision; old ones stay in the audit.
            values["status"] = "pending"
        model.Session.execute(governance_table.update().where(
            governance_table.c.id == new_id).values(**values))
    model.Session.commit()
    if existing is not None:
        drop_unreferenced(existing.document_url)
    row = model.Session.execute(sa.select(governance_table).where(
        governance_table.c.id == new_id)).first()
    return _governance_dict(row, org, True)


_GOVERNANCE_PARAMS = """
    :param owner_org: the id or name of the organization
    :type owner_org: string
    :param fiscal_year: Buddhist Era fiscal year, e.g. 2568; once its
        evaluation has closed (``ckanext.kpigov.evaluation_close``) only
        evaluators and sysadmins may change its records
    :type fiscal_year: int
    :param kind: ``team`` (working group) or ``plan`` (development plan)
    :type kind: string
    :param members: (team) list of ``{name, position, role, email, phone}``;
        role is one of chair, vice_chair, member, secretary,
        assistant_secretary, advisor; email and phone are optional and shown
        only to members of the organization and evaluators
    :type members: list of dictionaries
    :param order_number: (team) number of the appointment order
    :type order_number: string
    :param order_date: (team) date of the order, YYYY-MM-DD in C.E. or B.E.
    :type order_date: string
    :param summary: (plan) summary of the database development plan
    :type summary: string
    :param target_datasets: (plan) ids or names of the organization's
        datasets the plan names as target databases
    :type target_datasets: list of strings
    :param approval_date: (plan) date the plan was approved
    :type approval_date: string
    :param document_url: a link to the order or plan document
    :type document_url: string
    :param document_upload: the document as a file (PDF, DOCX, XLSX, PNG or
        JPG, at most ``ckanext.kpigov.upload_max_mb`` MB); replaces the link
    :type document_upload: file
    :param document_name: a title for the linked document
    :type document_name: string
    :param clear_document: remove the document
    :type clear_document: bool
"""


def kpigov_governance_create(context: dict[str, Any], data_dict: dict[str, Any]):
    """Create an organization's governance record for a fiscal year.

    Fails if the record (organization, fiscal year, kind) exists; use
    ``kpigov_governance_update`` to change it.
    {params}
    :returns: the record, status ``pending``
    :rtype: dictionary
    """
    return _save_governance(context, data_dict, create_only=True)


def kpigov_governance_update(context: dict[str, Any], data_dict: dict[str, Any]):
    """Create or update an organization's governance record for a fiscal year.

    Fields that are not given keep their stored value. Any change sets the
    status back to ``pending``: the evaluator decides again, and earlier
    decisions stay in the verification history.
    {params}
    :returns: the record
    :rtype: dictionary
    """
    return _save_governance(context, data_dict, create_only=False)


for _fn in (kpigov_governance_create, kpigov_governance_update):
    _fn.__doc__ = (_fn.__doc__ or "").replace("{params}", _GOVERNANCE_PARAMS)


@tk.side_effect_free
def kpigov_governance_show(context: dict[str, Any], data_dict: dict[str, Any]):
    """One governance record of an organization.

    Outsiders get the public summary (no emails, phones or user names).

    :param id: the record id (or the three below)
    :type id: string
    :param owner_org: the id or name of the organization
    :type owner_org: string
    :param fiscal_year: Buddhist Era fiscal year, default the current one
    :type fiscal_year: int
    :param kind: ``team`` or ``plan``
    :type kind: string
    :rtype: dictionary
    """
    ref = data_dict.get("id")
    if ref:
        row = model.Session.execute(sa.select(governance_table).where(
            governance_table.c.id == str(ref))).first()
        if row is None:
            raise tk.ObjectNotFound(tk._("Governance record not found"))
        org = _org(row.owner_org)
    else:
        org = _org(_org_ref(data_dict))
        fy = _fiscal_year(data_dict)
        kind = _choice(data_dict, "kind", GOVERNANCE_KINDS)
        row = _governance_row(org.id, fy, kind)
        if row is None:
            raise tk.ObjectNotFound(tk._("Governance record not found"))
    tk.check_access("kpigov_governance_show", context, {"owner_org": org.id})
    return _governance_dict(row, org, _can_read_private(context, org.id))


@tk.side_effect_free
def kpigov_governance_list(context: dict[str, Any], data_dict: dict[str, Any]):
    """The governance records of an organization, newest fiscal year first.

    :param owner_org: the id or name of the organization
    :type owner_org: string
    :param fiscal_year: only this Buddhist Era fiscal year
    :type fiscal_year: int
    :rtype: list of dictionaries
    """
    org = _org(_org_ref(data_dict))
    tk.check_access("kpigov_governance_list", context, {"owner_org": org.id})
    where = [governance_table.c.owner_org == org.id]
    if data_dict.get("fiscal_year") not in (None, ""):
        where.append(governance_table.c.fiscal_year == _fiscal_year(data_dict))
    rows = model.Session.execute(sa.select(governance_table).where(*where).order_by(
        governance_table.c.fiscal_year.desc(), governance_table.c.kind)).fetchall()
    private = _can_read_private(context, org.id)
    return [_governance_dict(r, org, private) for r in rows]


def kpigov_governance_delete(context: dict[str, Any], data_dict: dict[str, Any]):
    """Delete a governance record (its verification history is kept).

    :param id: the record id
    :type id: string
    """
    row = _row(governance_table, data_dict, tk._("Governance record not found"))
    tk.check_access("kpigov_governance_delete", context, {"owner_org": row.owner_org})
    refuse_closed(context, row.fiscal_year)
    model.Session.execute(governance_table.delete().where(
        governance_table.c.id == row.id))
    model.Session.commit()
    drop_unreferenced(row.document_url)


def _row(table: sa.Table, data_dict: dict[str, Any], missing: str,
         lock: bool = False) -> Any:
    ref = data_dict.get("id")
    if not isinstance(ref, str) or not ref:
        raise _error("id", tk._("Missing value"))
    q = sa.select(table).where(table.c.id == ref)
    if lock:
        q = q.with_for_update()
    row = model.Session.execute(q).first()
    if row is None:
        raise tk.ObjectNotFound(missing)
    return row


# --- stakeholder register -------------------------------------------------

def _stakeholder_values(data_dict: dict[str, Any], stored: Any = None) -> dict[str, Any]:
    """Validated columns; on update, keys not given keep the stored value."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    def given(key: str) -> bool:
        return stored is None or key in data_dict

    if given("role"):
        values["role"] = _collect(errors, _choice, data_dict, "role", STAKEHOLDER_ROLES)
    if given("name"):
        values["name"] = _collect(errors, _text, data_dict, "name", 200, required=True)
    for key, limit in (("position", 200), ("agency", 300)):
        if given(key):
            values[key] = _collect(errors, _text, data_dict, key, limit) or None
    if given("email"):
        values["email"] = _collect(errors, _email, data_dict, "email") or None
    if given("phone"):
        values["phone"] = _collect(errors, _phone, data_dict, "phone") or None
    if errors:
        raise tk.ValidationError(errors)
    return values


def _stakeholder_dict(row: Any, private: bool) -> dict[str, Any]:
    out = {"id": row.id, "owner_org": row.owner_org, "role": row.role,
           "name": row.name, "position": row.position, "agency": row.agency,
           "created": _iso(row.created)}
    if private:
        out["email"] = row.email
        out["phone"] = row.phone
    return out


def kpigov_stakeholder_create(context: dict[str, Any], data_dict: dict[str, Any]):
    """Add a person to the organization's stakeholder register.

    :param owner_org: the id or name of the organization
    :type owner_org: string
    :param role: owner, steward, custodian, producer, user or other
    :type role: string
    :param name: the person's name (public)
    :type name: string
    :param position: their position (public)
    :type position: string
    :param agency: their agency or unit (public)
    :type agency: string
    :param email: email, shown only to members and evaluators
    :type email: string
    :param phone: phone, shown only to members and evaluators
    :type phone: string
    :rtype: dictionary
    """
    org = _org(_org_ref(data_dict))
    tk.check_access("kpigov_stakeholder_create", context, {"owner_org": org.id})
    values = _stakeholder_values(data_dict)
    new_id = str(uuid.uuid4())
    model.Session.execute(stakeholder_table.insert().values(
        id=new_id, owner_org=org.id, created=dt.datetime.utcnow(),
        created_by=_user_id(context), **values))
    model.Session.commit()
    return _stakeholder_dict(_row(stakeholder_table, {"id": new_id}, ""), True)


def kpigov_stakeholder_update(context: dict[str, Any], data_dict: dict[str, Any]):
    """Change an entry of the stakeholder register; keys not given are kept.

    :param id: the entry id
    :type id: string
    :param role: owner, steward, custodian, producer, user or other
    :type role: string
    :param name: name
    :type name: string
    :param position: position
    :type position: string
    :param agency: agency
    :type agency: string
    :param email: email
    :type email: string
    :param phone: phone
    :type phone: string
    :rtype: dictionary
    """
    row = _row(stakeholder_table, data_dict, tk._("Stakeholder not found"))
    tk.check_access("kpigov_stakeholder_update", context, {"owner_org": row.owner_org})
    values = _stakeholder_values(data_dict, row)
    if values:
        model.Session.execute(stakeholder_table.update().where(
            stakeholder_table.c.id == row.id).values(**values))
        model.Session.commit()
    return _stakeholder_dict(_row(stakeholder_table, {"id": row.id}, ""), True)


def kpigov_stakeholder_delete(context: dict[str, Any], data_dict: dict[str, Any]):
    """Remove an entry from the stakeholder register.

    :param id: the entry id
    :type id: string
    """
    row = _row(stakeholder_table, data_dict, tk._("Stakeholder not found"))
    tk.check_access("kpigov_stakeholder_delete", context, {"owner_org": row.owner_org})
    model.Session.execute(stakeholder_table.delete().where(
        stakeholder_table.c.id == row.id))
    model.Session.commit()


@tk.side_effect_free
def kpigov_stakeholder_list(context: dict[str, Any], data_dict: dict[str, Any]):
    """The organization's stakeholder register.

    Emails and phones only for members of the organization and evaluators.

    :param owner_org: the id or name of the organization
    :type owner_org: string
    :rtype: list of dictionaries
    """
    org = _org(_org_ref(data_dict))
    tk.check_access("kpigov_stakeholder_list", context, {"owner_org": org.id})
    rows = model.Session.execute(sa.select(stakeholder_table).where(
        stakeholder_table.c.owner_org == org.id).order_by(
        stakeholder_table.c.role, stakeholder_table.c.name)).fetchall()
    private = _can_read_private(context, org.id)
    return [_stakeholder_dict(r, private) for r in rows]


# --- usage and sharing evidence -------------------------------------------

def _dataset(ref: Any, key: str = "package_id",
             context: Optional[dict[str, Any]] = None) -> model.Package:
    """The active dataset ``ref`` names. With ``context``: a dataset that
    user may not see is "not found", as an unknown one (no oracle)."""
    if not isinstance(ref, str) or not ref:
        raise _error(key, tk._("Missing value"))
    pkg = model.Package.get(ref)
    if pkg is not None and context is not None and pkg.private and not (
            may_see_private(context.get("user") or "", pkg.owner_org)):
        pkg = None
    if pkg is None or pkg.state != "active":
        raise _error(key, tk._("Dataset not found: {name}").format(name=ref[:100]))
    if not pkg.owner_org:
        raise _error(key, tk._("The dataset belongs to no organization"))
    return pkg


def _evidence_values(data_dict: dict[str, Any], stored: Any = None,
                     context: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Validated columns (the document stored last, once all is valid).

    The date sets the fiscal year on creation (it must fall in
    ``fiscal_year`` when that is given) and must stay in the record's
    fiscal year on update; a closed year's evidence is read-only for
    publishers."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    current = dict(stored._mapping) if stored is not None else {}

    def given(key: str) -> bool:
        return stored is None or key in data_dict

    etype = current.get("evidence_type")
    if stored is None:
        etype = _collect(errors, _choice, data_dict, "evidence_type", EVIDENCE_TYPES)
        values["evidence_type"] = etype
    kinds = USAGE_KINDS if etype == "usage" else SHARING_KINDS
    if given("kind") and etype:
        values["kind"] = _collect(errors, _choice, data_dict, "kind", kinds)
    if given("description"):
        values["description"] = _collect(errors, _text, data_dict, "description",
                                         2000, required=True)
    if given("partner"):
        values["partner"] = _collect(errors, _text, data_dict, "partner", 300) or None
    if given("date"):
        day = _collect(errors, _past_date, data_dict, "date", True)
        expected = current.get("fiscal_year")
        if stored is None and data_dict.get("fiscal_year") not in (None, ""):
            expected = _collect(errors, _fiscal_year, data_dict, True)
        if day is not None:
            try:
                fy = fiscal.validate_fiscal_year(fiscal.fiscal_year_of(day))
            except ValueError:
                errors.setdefault("date", []).append(tk._(
                    "The date is outside the fiscal years the portal evaluates"))
            else:
                if expected is not None and fy != expected:
                    first, last = fiscal.fiscal_year_bounds(expected)
                    errors.setdefault("date", []).append(tk._(
                        "The date must fall within fiscal year {fy} ({start} to {end})"
                    ).format(fy=expected, start=first.isoformat(), end=last.isoformat()))
                else:
                    values["fiscal_year"] = fy
                    values["date"] = day
    doc = _collect(errors, _document, data_dict, "url")
    kind = values.get("kind", current.get("kind"))
    partner = values.get("partner", current.get("partner"))
    if etype == "sharing" and kind in PARTNER_REQUIRED and not partner \
            and "partner" not in errors:
        errors["partner"] = [tk._("Name the agency or body the data is exchanged with")]
    year = values.get("fiscal_year", current.get("fiscal_year"))
    if year is not None and context is not None:
        _collect(errors, refuse_closed, context, year, "date")
    if errors:
        raise tk.ValidationError(errors)
    stored_doc = _document_values(doc)
    if stored_doc is not None:
        values["url"], values["document_name"] = stored_doc
    return values


def _evidence_dicts(rows: list[Any], private: bool) -> list[dict[str, Any]]:
    pkg_ids = {r.package_id for r in rows}
    org_ids = {r.owner_org for r in rows}
    pkgs = {p.id: p for p in model.Session.query(model.Package).filter(
        model.Package.id.in_(pkg_ids))} if pkg_ids else {}
    orgs = dict(model.Session.query(model.Group.id, model.Group.name).filter(
        model.Group.id.in_(org_ids)).all()) if org_ids else {}
    names = _user_names({r.recorded_by for r in rows}) if private else {}
    out = []
    for r in rows:
        pkg = pkgs.get(r.package_id)
        item = {
            "id": r.id, "owner_org": r.owner_org, "package_id": r.package_id,
            "package_name": pkg.name if pkg else None,
            "package_title": (pkg.title or pkg.name) if pkg else None,
            "evidence_type": r.evidence_type, "kind": r.kind,
            "description": r.description, "partner": r.partner,
            "date": _iso(r.date), "fiscal_year": r.fiscal_year,
            "url": _document_link(r.url, "evidence", r.id, orgs.get(r.owner_org, r.owner_org)),
            "document_name": r.document_name, "status": r.status,
            "created": _iso(r.created),
        }
        if private:
            item["recorded_by"] = names.get(r.recorded_by)
        out.append(item)
    return out


def kpigov_evidence_create(context: dict[str, Any], data_dict: dict[str, Any]):
    """Record usage evidence (KPI step 4) or a sharing record (step 5).

    :param package_id: the id or name of the dataset
    :type package_id: string
    :param owner_org: optional; if given, the dataset must belong to it
    :type owner_org: string
    :param evidence_type: ``usage`` or ``sharing``
    :type evidence_type: string
    :param kind: usage: operations, decision, planning, public_service,
        report, other; sharing: online_service, api, exchange_bma,
        exchange_external, publication
    :type kind: string
    :param description: what the data was used for / how it is shared
    :type description: string
    :param partner: the agency or body the data is exchanged with
        (required for exchange_bma and exchange_external)
    :type partner: string
    :param date: when, YYYY-MM-DD in C.E. or B.E.; sets the fiscal year,
        which must not be closed (``ckanext.kpigov.evaluation_close``)
    :type date: string
    :param fiscal_year: optional; if given, the date must fall in it
    :type fiscal_year: int
    :param url: a link to the evidence or the service
    :type url: string
    :param document_upload: the evidence as a file (PDF, DOCX, XLSX, PNG, JPG)
    :type document_upload: file
    :returns: the evidence, status ``pending``; ``recorded_by`` is you
    :rtype: dictionary
    """
    ref = data_dict.get("package_id") or data_dict.get("id")
    pkg = _dataset(ref, context=context)
    tk.check_access("kpigov_evidence_create", context,
                    {"owner_org": pkg.owner_org, "package_id": pkg.id})
    org_ref = _org_ref(data_dict)
    if org_ref:
        org = _org(org_ref)
        if pkg.owner_org != org.id:
            raise _error("package_id", tk._(
                "The dataset {name} does not belong to this organization").format(
                name=str(ref)[:100]))
    values = _evidence_values(data_dict, context=context)
    new_id = str(uuid.uuid4())
    model.Session.execute(evidence_table.insert().values(
        id=new_id, owner_org=pkg.owner_org, package_id=pkg.id, status="pending",
        recorded_by=_user_id(context), created=dt.datetime.utcnow(), **values))
    model.Session.commit()
    row = _row(evidence_table, {"id": new_id}, "")
    return _evidence_dicts([row], True)[0]


def kpigov_evidence_update(context: dict[str, Any], data_dict: dict[str, Any]):
    """Change an evidence record; keys not given are kept.

    A change sets the status back to ``pending``. The date stays within the
    record's fiscal year; a closed year's evidence is read-only for
    publishers.

    :param id: the evidence id
    :type id: string
    :param kind: see ``kpigov_evidence_create``
    :type kind: string
    :param description: description
    :type description: string
    :param partner: partner
    :type partner: string
    :param date: date
    :type date: string
    :param url: link
    :type url: string
    :param document_upload: file
    :type document_upload: file
    :rtype: dictionary
    """
    row = _row(evidence_table, data_dict, tk._("Evidence not found"))
    tk.check_access("kpigov_evidence_update", context,
                    {"owner_org": row.owner_org, "package_id": row.package_id})
    values = _evidence_values(data_dict, row, context)
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    if changed:
        changed["status"] = "pending"
        model.Session.execute(evidence_table.update().where(
            evidence_table.c.id == row.id).values(**changed))
        model.Session.commit()
        drop_unreferenced(row.url)
    return _evidence_dicts([_row(evidence_table, {"id": row.id}, "")], True)[0]


def kpigov_evidence_delete(context: dict[str, Any], data_dict: dict[str, Any]):
    """Delete an evidence record (its verification history is kept).

    :param id: the evidence id
    :type id: string
    """
    row = _row(evidence_table, data_dict, tk._("Evidence not found"))
    tk.check_access("kpigov_evidence_delete", context,
                    {"owner_org": row.owner_org, "package_id": row.package_id})
    refuse_closed(context, row.fiscal_year)
    model.Session.execute(evidence_table.delete().where(evidence_table.c.id == row.id))
    model.Session.commit()
    drop_unreferenced(row.url)


@tk.side_effect_free
def kpigov_evidence_list(context: dict[str, Any], data_dict: dict[str, Any]):
    """Usage and sharing evidence of a dataset or of an organization.

    Evidence on private datasets is listed only for members of the
    organization and evaluators.

    :param package_id: the dataset (or)
    :type package_id: string
    :param owner_org: the organization id or name
    :type owner_org: string
    :param evidence_type: ``usage`` or ``sharing``
    :type evidence_type: string
    :param fiscal_year: only this Buddhist Era fiscal year
    :type fiscal_year: int
    :param status: pending, verified or rejected
    :type status: string
    :param limit: at most this many (default 500, max 1000)
    :type limit: int
    :rtype: list of dictionaries
    """
    t = evidence_table
    where = []
    if data_dict.get("package_id"):
        pkg = _dataset(data_dict.get("package_id"), context=context)
        org = _org(pkg.owner_org)
        where.append(t.c.package_id == pkg.id)
    else:
        org = _org(_org_ref(data_dict))
    tk.check_access("kpigov_evidence_list", context, {"owner_org": org.id})
    where.append(t.c.owner_org == org.id)
    private = _can_read_private(context, org.id)
    if not private:
        public_ids = sa.select(model.package_table.c.id).where(
            model.package_table.c.owner_org == org.id,
            model.package_table.c.private == sa.false(),
            model.package_table.c.state == "active")
        where.append(t.c.package_id.in_(public_ids))
    if data_dict.get("evidence_type"):
        where.append(t.c.evidence_type == _choice(data_dict, "evidence_type",
                                                  EVIDENCE_TYPES))
    if data_dict.get("fiscal_year") not in (None, ""):
        where.append(t.c.fiscal_year == _fiscal_year(data_dict))
    if data_dict.get("status"):
        where.append(t.c.status == _choice(data_dict, "status",
                                           ("pending",) + VERIFICATION_DECISIONS))
    limit = _int(data_dict, "limit", 500, 1, MAX_LIST)
    rows = model.Session.execute(sa.select(t).where(*where).order_by(
        t.c.date.desc(), t.c.created.desc()).limit(limit)).fetchall()
    return _evidence_dicts(list(rows), private)


# --- verification ---------------------------------------------------------

_VERIFY_TABLES = {"governance": governance_table, "evidence": evidence_table}


def _snapshot(row: Any) -> dict[str, Any]:
    """What the evaluator saw: the row as JSON-safe values."""
    out = {}
    for key, value in row._mapping.items():
        out[key] = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
    return out


def kpigov_verify(context: dict[str, Any], data_dict: dict[str, Any]):
    """Mark a governance record or an evidence record verified or rejected.

    Evaluators only. The record's status changes and the decision is
    appended to the verification history (who, when, the record before and
    after); earlier decisions are never overwritten. Two evaluators deciding
    at once are serialised by a row lock, and both decisions are kept.

    :param object_type: ``governance`` or ``evidence``
    :type object_type: string
    :param id: the record id
    :type id: string
    :param decision: ``verified`` or ``rejected``
    :type decision: string
    :param comment: the evaluator's comment (required to reject)
    :type comment: string
    :returns: the decision as stored in the history
    :rtype: dictionary
    """
    tk.check_access("kpigov_verify", context, data_dict)
    errors: dict[str, list[str]] = {}
    object_type = _collect(errors, _choice, data_dict, "object_type",
                           tuple(_VERIFY_TABLES))
    decision = _collect(errors, _choice, data_dict, "decision", VERIFICATION_DECISIONS)
    comment = _collect(errors, _text, data_dict, "comment", 2000,
                       required=(decision == "rejected"))
    if errors:
        raise tk.ValidationError(errors)
    table = _VERIFY_TABLES[object_type]
    row = _row(table, data_dict, tk._("Record not found"), lock=True)
    before = _snapshot(row)
    model.Session.execute(table.update().where(table.c.id == row.id).values(
        status=decision))
    after = dict(before, status=decision)
    entry_id = str(uuid.uuid4())
    now = dt.datetime.utcnow()
    user_id = _user_id(context)
    model.Session.execute(verification_table.insert().values(
        id=entry_id, object_type=object_type, object_id=row.id,
        owner_org=row.owner_org, fiscal_year=row.fiscal_year, decision=decision,
        comment=comment or None, before=before, after=after, user_id=user_id, at=now))
    model.Session.commit()
    return {"id": entry_id, "object_type": object_type, "object_id": row.id,
            "owner_org": row.owner_org, "fiscal_year": row.fiscal_year,
            "decision": decision, "comment": comment or None,
            "status_before": before.get("status"), "status_after": decision,
            "user": _user_names({user_id}).get(user_id or ""), "at": now.isoformat()}


@tk.side_effect_free
def kpigov_verification_list(context: dict[str, Any], data_dict: dict[str, Any]):
    """The verification history of an organization or of one record.

    Members of the organization and evaluators only.

    :param owner_org: the organization id or name (or)
    :type owner_org: string
    :param object_id: one record's id (with ``object_type``)
    :type object_id: string
    :param object_type: governance, evidence or step
    :type object_type: string
    :param fiscal_year: only this Buddhist Era fiscal year
    :type fiscal_year: int
    :returns: oldest first, each with decision, comment, user, time and
        the status before and after
    :rtype: list of dictionaries
    """
    t = verification_table
    where = []
    if data_dict.get("object_id"):
        where.append(t.c.object_id == str(data_dict["object_id"]))
        if data_dict.get("object_type"):
            where.append(t.c.object_type == _choice(
                data_dict, "object_type", ("governance", "evidence", "step")))
        first = model.Session.execute(sa.select(t.c.owner_org).where(*where)).first()
        org_id = first.owner_org if first else None
        if org_id is None:
            # no oracle: an unknown id is refused as another agency's is
            tk.check_access("kpigov_verification_list", context, {"owner_org": None})
            return []
        org = _org(org_id)
    else:
        org = _org(_org_ref(data_dict))
    tk.check_access("kpigov_verification_list", context, {"owner_org": org.id})
    where.append(t.c.owner_org == org.id)
    if data_dict.get("fiscal_year") not in (None, ""):
        where.append(t.c.fiscal_year == _fiscal_year(data_dict))
    rows = model.Session.execute(sa.select(t).where(*where).order_by(
        t.c.at, t.c.id)).fetchall()
    names = _user_names({r.user_id for r in rows})
    return [{"id": r.id, "object_type": r.object_type, "object_id": r.object_id,
             "owner_org": r.owner_org, "fiscal_year": r.fiscal_year,
             "decision": r.decision, "comment": r.comment,
             "status_before": (r.before or {}).get("status"),
             "status_after": (r.after or {}).get("status"),
             "before": r.before, "after": r.after,
             "user": names.get(r.user_id), "at": r.at.isoformat()} for r in rows]
