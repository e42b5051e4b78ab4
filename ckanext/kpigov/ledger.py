"""Capture data updates into kpigov_ledger, in the same transaction.

A SQLAlchemy ``before_flush`` listener sees every Resource that is created or
whose file/URL changes, whatever the path (web form, package_create/update/
patch, resource_create/update/patch, CLI). Metadata-only edits create no
entry. The nature (new data / correction / metadata only) is what the
publisher declared in ``kpigov_update_nature`` for this change; it is not
kept on the resource, so each change is declared afresh.
"""
from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
import secrets
from typing import Any, Iterator, Optional
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from sqlalchemy.orm import attributes

import ckan.model as model
import ckan.plugins as p

from .model import NATURES, ledger_table, record_update

log = logging.getLogger(__name__)

NATURE_FIELD = "kpigov_update_nature"

__all__ = ["install", "current_user_id", "request_source", "record_cadence",
           "note_upload", "normalize_url", "hash_stream", "seen_keys",
           "hash_stored_uploads",
           "dataset_field", "index_fields", "label_facets", "freshness_labels"]


def current_user_id() -> Optional[str]:
    try:
        from flask import has_request_context
        import ckan.plugins.toolkit as tk
        if has_request_context() and tk.current_user and \
                getattr(tk.current_user, "id", None):
            return tk.current_user.id  # type: ignore[no-any-return]
    except Exception:  # pragma: no cover - no app context (CLI)
        return None
    return None


def request_source() -> str:
    try:
        from flask import has_request_context, request
        if has_request_context():
            return "api" if request.path.startswith(("/api/", "/th/api", "/en/api")) \
                else "web"
    except Exception:  # pragma: no cover
        pass
    return "cli"


def _changed(obj: Any, attr: str) -> bool:
    hist = attributes.get_history(obj, attr)
    return bool(hist.added) and list(hist.added) != list(hist.deleted or [])


def _take_nature(res: model.Resource, default: str) -> str:
    declared = _pop_extra(res, NATURE_FIELD)
    return declared if declared in NATURES else default


def _pop_extra(res: model.Resource, key: str) -> Any:
    extras = dict(res.extras or {})
    if key not in extras:
        return None
    value = extras.pop(key)
    res.extras = extras  # transient: never stored on the resource
    return value


# --- what a resource holds: its content key ---------------------------------
#
# An upload is its file's sha256; a link its normalised URL. A change is new
# data only when the dataset's ledger has never seen that key (a re-upload
# of the same bytes, a cosmetic URL edit or a re-sent resource is not).

TOKEN_FIELD = "kpigov_upload_token"
_UPLOADS = "kpigov_uploads"
_CHUNK = 1 << 20
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


def hash_stream(stream: Any) -> tuple[str, int]:
    """sha256 and size of a file object, read from its start and rewound
    to where it was (CKAN's uploader still reads it after us)."""
    try:
        pos = stream.tell()
    except (OSError, AttributeError):
        pos = 0
    digest, size = hashlib.sha256(), 0
    try:
        stream.seek(0)
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            digest.update(chunk)
            size += len(chunk)
    finally:
        stream.seek(pos)
    return digest.hexdigest(), size


def hash_file(path: str) -> tuple[str, int]:
    with open(path, "rb") as f:
        return hash_stream(f)


def note_upload(resource: dict[str, Any]) -> None:
    """Hash the file in ``resource["upload"]`` (if any) and leave a token the
    flush listener redeems. Called from IUploader and IResourceController
    before CKAN's uploader takes the stream; a token sent by a client is
    never in the session's table, so it is worthless."""
    try:
        from ckan.lib.uploader import ALLOWED_UPLOAD_TYPES
    except ImportError:  # CKAN 2.12: file-keeper uploads take werkzeug's type
        from werkzeug.datastructures import FileStorage
        ALLOWED_UPLOAD_TYPES = (FileStorage,)
    upload = resource.get("upload")
    uploads = model.Session.info.setdefault(_UPLOADS, {})
    if resource.get(TOKEN_FIELD) in uploads:
        return  # already hashed on this path
    resource.pop(TOKEN_FIELD, None)
    if not isinstance(upload, ALLOWED_UPLOAD_TYPES) or not getattr(
            upload, "filename", None):
        return
    stream = getattr(upload, "stream", None) or getattr(upload, "file", None)
    if stream is None:
        return
    try:
        sha, size = hash_stream(stream)
    except (OSError, ValueError):  # pragma: no cover - unreadable stream
        log.warning("kpigov: could not hash the upload %r", upload.filename)
        return
    token = secrets.token_hex(16)
    uploads[token] = (sha, size)
    resource[TOKEN_FIELD] = token


def _take_upload(res: model.Resource) -> Optional[tuple[str, int]]:
    token = _pop_extra(res, TOKEN_FIELD)
    if not token:
        return None
    return model.Session.info.get(_UPLOADS, {}).pop(str(token), None)


def normalize_url(url: Optional[str]) -> str:
    """A URL as the ledger compares it: no fragment, no empty query, scheme
    and host in lower case, no default port. Not a URL: stripped text."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    if not parts.scheme or not parts.netloc:
        return text
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = "[%s]" % host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = "%s:%d" % (host, port)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = "%s@%s" % (userinfo, host) if userinfo else host
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _is_link(res: model.Resource) -> bool:
    return res.url_type in (None, "") and bool((res.url or "").strip())


def _history_ids(package_id: str, target: Any) -> list[str]:
    """The dataset and the deleted datasets whose history it continues
    (``kpigov_dataset_life``), read on ``target``."""
    from .life import dataset_life_table as life_t
    ids = [package_id]
    while len(ids) < 50:
        before = target.execute(sa.select(life_t.c.predecessor_id).where(
            life_t.c.package_id == ids[-1])).scalar()
        if not before or before in ids:
            break
        ids.append(before)
    return ids


def seen_keys(package_id: str, connection: Any = None) -> tuple[set[str], set[str]]:
    """(hashes, normalised link URLs) of every entry of the dataset and of
    the deleted datasets it continues, withdrawn ones included."""
    t = ledger_table
    target = connection if connection is not None else model.Session
    hashes, urls = set(), set()
    for sha, kind, url, key in target.execute(sa.select(
            t.c.sha256, t.c.kind, t.c.detail["url"].astext,
            t.c.detail["url_key"].astext).where(
                t.c.package_id.in_(_history_ids(package_id, target)))):
        if sha:
            hashes.add(sha)
        if key:
            urls.add(key)
        elif kind in ("resource_create", "url_change", "backfill") and url:
            urls.add(normalize_url(url))
    return hashes, urls


def _before_flush(session: Any, flush_context: Any, instances: Any) -> None:
    if not p.plugin_loaded("kpigov"):
        return
    pending: list[dict[str, Any]] = []
    for obj in list(session.new):
        if isinstance(obj, model.Resource):
            nature = _take_nature(obj, "new_data")
            upload = _take_upload(obj)
            if obj.state not in (None, "active"):
                continue
            if upload is not None:
                pending.append({"res": obj, "kind": "upload", "nature": nature,
                                "sha256": upload[0], "size": upload[1], "new": True})
            elif _is_link(obj):
                pending.append({"res": obj, "kind": "resource_create", "new": True,
                                "nature": nature, "url_key": normalize_url(obj.url)})
            # an upload resource without a file sent (a re-sent resource),
            # an empty URL, a DataStore table before its rows: no data yet
    for obj in list(session.dirty):
        if not isinstance(obj, model.Resource) or obj in session.new:
            continue
        nature = _take_nature(obj, "new_data")
        upload = _take_upload(obj)
        if obj.state != "active":
            if obj.state == "deleted" and _changed(obj, "state"):
                pending.append({"res": obj, "kind": "resource_delete"})
            continue
        if upload is not None:
            pending.append({"res": obj, "kind": "upload", "nature": nature,
                            "sha256": upload[0], "size": upload[1]})
        elif _is_link(obj) and (_changed(obj, "url") or _changed(obj, "url_type")):
            old = attributes.get_history(obj, "url").deleted
            key = normalize_url(obj.url)
            if not old or normalize_url(old[0]) != key or _changed(obj, "url_type"):
                pending.append({"res": obj, "kind": "url_change", "nature": nature,
                                "url_key": key})
        # anything else (last_modified, description, an upload's file name
        # without a file, ...) is metadata: no entry
    if pending:
        session.info.setdefault("kpigov_pending", []).extend(pending)


def _period_now(package_id: str, conn: Any) -> tuple[datetime.date, datetime.date]:
    """The dataset's current period (its cadence; a calendar month when it
    has no fixed cadence), Bangkok dates."""
    from . import cadence as cadence_mod
    from . import compat, fiscal
    today = fiscal.bangkok_today()
    pt = model.package_table
    row = conn.execute(sa.select(*(compat.extra_column(k) for k in (
        "update_frequency_unit", "update_frequency_interval"))).select_from(pt)
        .where(pt.c.id == package_id)).first()
    try:
        cad = cadence_mod.parse_cadence(row[0], row[1]) if row and row[0] else None
        if cad is not None:
            period = cadence_mod.period_containing(cad, today)
            return period.start, period.end
    except ValueError:
        pass
    return fiscal.month_bounds(today.year, today.month)


def _period_entries(res: model.Resource, package_id: str, conn: Any) -> list[Any]:
    """The resource's counting entries made in the dataset's current period:
    rows of (id, sha256, url_key)."""
    from . import fiscal
    t = ledger_table
    start, end = _period_now(package_id, conn)
    rows = conn.execute(sa.select(t.c.id, t.c.created, t.c.sha256,
                                  t.c.detail["url_key"].astext).where(
        t.c.resource_id == res.id, t.c.withdrawn.is_(None),
        t.c.nature.in_(("new_data", "correction")))).fetchall()
    return [(r[0], r[2], r[3]) for r in rows if start <= fiscal.local_date(r[1]) <= end]


def _mark_withdrawn(ids: list[str], res: model.Resource, package_id: str, conn: Any,
                    user_id: Optional[str], source: str, kind: str,
                    detail: dict[str, Any]) -> None:
    """Entries that no longer count (kept for audit), and one metadata entry
    saying why."""
    now = datetime.datetime.utcnow()
    conn.execute(ledger_table.update().where(ledger_table.c.id.in_(ids))
                 .values(withdrawn=now))
    record_update(package_id, kind, "metadata", resource_id=res.id,
                  user_id=user_id, source=source, created=now,
                  detail=dict(detail, withdrawn=ids), connection=conn)


def _withdraw(res: model.Resource, package_id: str, kept: set[str], conn: Any,
              user_id: Optional[str], source: str) -> None:
    """A resource deleted in the period its entries were made in: those
    entries no longer count (kept for audit, with the deletion's entry)."""
    current = _period_entries(res, package_id, conn)
    if not current or any(sha in kept or key in kept for _id, sha, key in current):
        # nothing this period, or its content lives on in another resource
        # written in the same change (package_update re-sending resources)
        return
    _mark_withdrawn([r[0] for r in current], res, package_id, conn, user_id, source,
                    "resource_delete", {})


def _withdraw_superseded(res: model.Resource, package_id: str, key: str, conn: Any,
                         user_id: Optional[str], source: str, kind: str) -> None:
    """A resource whose content goes back to content the dataset already
    had (A -> B -> A, a junk upload then the original file): the entries of
    this period for content it no longer holds no longer count."""
    ids = [i for i, sha, url_key in _period_entries(res, package_id, conn)
           if key not in (sha, url_key)]
    if ids:
        _mark_withdrawn(ids, res, package_id, conn, user_id, source, kind,
                        {"reverted": True})


def _after_flush(session: Any, flush_context: Any) -> None:
    # Written after the flush (ids assigned) on the flush's own connection:
    # same transaction as the change, so both land or neither does.
    pending = session.info.pop("kpigov_pending", None)
    if not pending:
        return
    user_id = current_user_id()
    source = request_source()
    conn = session.connection()
    seen: dict[str, tuple[set[str], set[str]]] = {}
    written: dict[str, set[str]] = {}
    deletes = []
    for item in pending:
        res = item["res"]
        package_id = res.package_id or (res.package.id if res.package else None)
        if not package_id or not res.id:
            continue
        if item["kind"] == "resource_delete":
            deletes.append((res, package_id))
            continue
        if package_id not in seen:
            seen[package_id] = seen_keys(package_id, conn)
        hashes, urls = seen[package_id]
        sha, key = item.get("sha256"), item.get("url_key")
        written.setdefault(package_id, set()).add(sha or key)
        if (sha and sha in hashes) or (key and key in urls):
            # content the dataset already had: not an update; and what this
            # period recorded for the content it replaced no longer counts
            if not item.get("new"):
                _withdraw_superseded(res, package_id, sha or key, conn,
                                     user_id, source, item["kind"])
            continue
        detail = {"url": (res.url or "")[:500], "format": res.format or ""}
        if key:
            detail["url_key"] = key[:500]
            urls.add(key)
        if sha:
            hashes.add(sha)
        record_update(package_id, item["kind"], item["nature"],
                      resource_id=res.id, user_id=user_id, source=source,
                      sha256=sha, size=item.get("size"),
                      detail=detail, connection=conn)
    for res, package_id in deletes:
        _withdraw(res, package_id, written.get(package_id, set()), conn,
                  user_id, source)


def _after_rollback(session: Any, *args: Any) -> None:
    session.info.pop("kpigov_pending", None)


def hash_stored_uploads(connection: Any, storage_path: Optional[str]) -> int:
    """Give the latest upload entry of each resource the hash and size of the
    file in storage (entries made before hashes were recorded). Returns how
    many entries were hashed."""
    import os
    if not storage_path:
        return 0
    # the columns as of the migration that adds the hashes (not the model's)
    t = sa.table("kpigov_ledger", sa.column("id"), sa.column("resource_id"),
                 sa.column("kind"), sa.column("created"), sa.column("sha256"),
                 sa.column("size"))
    latest = sa.select(t.c.resource_id, sa.func.max(t.c.created).label("at")).where(
        t.c.kind == "upload", t.c.resource_id.isnot(None)).group_by(
        t.c.resource_id).subquery()
    rows = connection.execute(sa.select(t.c.id, t.c.resource_id).join(
        latest, sa.and_(latest.c.resource_id == t.c.resource_id,
                        latest.c.at == t.c.created)).where(
        t.c.kind == "upload", t.c.sha256.is_(None))).fetchall()
    done = 0
    for entry_id, rid in rows:
        path = os.path.join(storage_path, "resources", rid[0:3], rid[3:6], rid[6:])
        if not os.path.isfile(path):
            continue
        sha, size = hash_file(path)
        connection.execute(t.update().where(t.c.id == entry_id).values(
            sha256=sha, size=size))
        done += 1
    return done


def install() -> None:
    """Register the listeners once (plugins may be loaded many times)."""
    for name, fn in (("before_flush", _before_flush),
                     ("after_flush", _after_flush),
                     ("after_soft_rollback", _after_rollback)):
        if not sa.event.contains(model.Session, name, fn):
            sa.event.listen(model.Session, name, fn)


def dataset_field(pkg_dict: dict[str, Any], name: str) -> Any:
    """A field from a dataset dict, top level (scheming) or in extras."""
    if pkg_dict.get(name) not in (None, ""):
        return pkg_dict[name]
    for extra in pkg_dict.get("extras") or []:
        if extra.get("key") == name:
            return extra.get("value")
    return None


def record_cadence(pkg_dict: dict[str, Any]) -> bool:
    """Log the dataset's declared cadence if it differs from the last logged.

    Called from after_dataset_create/update, i.e. inside the transaction of
    the change. Returns True when a history row was written.
    """
    from .model import cadence_history_table as t
    unit = dataset_field(pkg_dict, "update_frequency_unit") or None
    raw_interval = dataset_field(pkg_dict, "update_frequency_interval")
    try:
        interval: Optional[int] = int(str(raw_interval)) if raw_interval not in (
            None, "") else None
    except ValueError:
        interval = None
    if interval is not None and not 0 < interval < 100_000:
        interval = None  # not a readable interval (kept as written on the dataset)
    last = model.Session.execute(
        sa.select(t.c.unit_to, t.c.interval_to)
        .where(t.c.package_id == pkg_dict["id"])
        .order_by(t.c.changed.desc(), t.c.id.desc()).limit(1)).first()
    if last is None and unit is None:
        return False
    if last is not None and (last[0], last[1]) == (unit, interval):
        return False
    model.Session.execute(t.insert().values(
        id=model.types.make_uuid(), package_id=pkg_dict["id"],
        user_id=current_user_id(), changed=datetime.datetime.utcnow(),
        unit_from=last[0] if last else None,
        interval_from=last[1] if last else None,
        unit_to=unit, interval_to=interval))
    return True


def freshness_labels() -> dict[str, str]:
    import ckan.plugins.toolkit as tk
    return {"fresh": tk._("Fresh"), "due": tk._("Due"), "overdue": tk._("Overdue"),
            "delinquent": tk._("Delinquent"),
            "not_applicable": tk._("No fixed cadence")}


_PREFETCHED = "kpigov_index_prefetched"


@contextlib.contextmanager
def prefetched_for_index(ids: list[str]) -> Iterator[None]:
    """A reindex batch: read the latest update of all ``ids`` in one query
    for :func:`index_fields` instead of one query per dataset."""
    from .logic import data
    model.Session.info[_PREFETCHED] = (set(ids), data.last_updates(ids))
    try:
        yield
    finally:
        model.Session.info.pop(_PREFETCHED, None)


def index_fields(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    """Freshness and cadence in the search document (Solr or kpigov_pgsearch).

    Plain string fields: Solr's dynamic ``*`` string field and our backend
    both index them, so ``fq=kpigov_freshness:overdue`` and the facet work
    with either. Freshness moves with time: ``ckan kpigov refresh-index``
    (cron) re-indexes the datasets whose state changed.
    """
    from .logic import data
    unit = dataset_field(pkg_dict, "update_frequency_unit")
    interval = dataset_field(pkg_dict, "update_frequency_interval")
    known = model.Session.info.get(_PREFETCHED)
    if known is not None and pkg_dict["id"] in known[0]:
        last = known[1].get(pkg_dict["id"])
    else:
        last = data.last_updates([pkg_dict["id"]]).get(pkg_dict["id"])
    pkg_dict["kpigov_freshness"] = data.freshness_of(unit, interval, last)
    if last is not None:
        pkg_dict["kpigov_last_update"] = last.isoformat() + "Z"
    cad = data.cadence_or_none(unit, interval)
    if cad is not None:
        pkg_dict["kpigov_cadence"] = cad.key
    return pkg_dict


def label_facets(search_results: dict[str, Any]) -> dict[str, Any]:
    """Readable facet labels, and the live freshness of each result."""
    from .logic import data
    results = [r for r in search_results.get("results") or []
               if isinstance(r, dict) and r.get("id")]
    if results:
        last = data.last_updates([r["id"] for r in results])
        for r in results:
            r["kpigov_freshness"] = data.freshness_of(
                dataset_field(r, "update_frequency_unit"),
                dataset_field(r, "update_frequency_interval"), last.get(r["id"]))
    facet = (search_results.get("search_facets") or {}).get("kpigov_freshness")
    if facet:
        labels = freshness_labels()
        for item in facet.get("items", []):
            item["display_name"] = labels.get(item["name"], item["name"])
    return search_results
