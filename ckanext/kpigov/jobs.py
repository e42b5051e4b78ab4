"""Periodic work run from cron through the CLI: reminders, ledger backfill,
freshness re-indexing."""
from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Any, Callable, Optional

import sqlalchemy as sa
from markupsafe import escape
from sqlalchemy.dialects.postgresql import insert

import ckan.model as model
import ckan.plugins.toolkit as tk

from . import fiscal
from .completeness import stakeholder
from .logic import data
from .model import ledger_table, record_update, reminder_table

log = logging.getLogger(__name__)

__all__ = ["plan_reminders", "send_reminders", "backfill_ledger", "refresh_index"]


# --- reminders --------------------------------------------------------------

def _recipients(pkg: model.Package) -> list[tuple[str, str]]:
    """Stewards named on the dataset, else its maintainer."""
    pkg_dict = dict(pkg.extras or {})
    import json
    people = pkg_dict.get("kpigov_stakeholders")
    if isinstance(people, str):
        try:
            people = json.loads(people)
        except ValueError:
            people = []
    out = [(p.get("name") or "", p["email"])
           for p in stakeholder({"kpigov_stakeholders": people or []}, "steward")
           if p.get("email")]
    if not out and pkg.maintainer_email:
        out = [(pkg.maintainer or "", pkg.maintainer_email)]
    return out


def _org_admins(org_id: str) -> list[tuple[str, str]]:
    rows = (model.Session.query(model.User.fullname, model.User.name,
                                model.User.email)
            .join(model.Member, model.Member.table_id == model.User.id)
            .filter(model.Member.group_id == org_id,
                    model.Member.table_name == "user",
                    model.Member.capacity == "admin",
                    model.Member.state == "active",
                    model.User.state == "active")).all()
    return [(full or name, email) for full, name, email in rows if email]


def plan_reminders(today: Optional[dt.date] = None,
                   days: Optional[int] = None) -> list[dict[str, Any]]:
    """What is due within ``days`` and what became overdue in the last ``days``."""
    today = today or fiscal.bangkok_today()
    days = days if days is not None else tk.config.get("ckanext.kpigov.remind_days")
    years = {fiscal.fiscal_year_of(today),
             fiscal.fiscal_year_of(today - dt.timedelta(days=days + 31))}
    datasets = data.org_datasets()
    plans = []
    for fy in sorted(years):
        results = data.compliance_for(datasets, fy, today)
        for d in datasets:
            for p in results[d.id].periods:
                if p.deadline is None or p.start > today:
                    continue
                left = (p.deadline - today).days
                if p.status == "upcoming" and 0 <= left <= days:
                    kind = "due"
                elif p.status == "missed" and -days <= left < 0:
                    kind = "overdue"
                else:
                    continue
                plans.append({"dataset": d, "period": p.key, "kind": kind,
                              "deadline": p.deadline})
    return plans


def _texts(items: list[dict[str, Any]], digest: bool) -> tuple[str, str, str]:
    site = tk.config.get("ckan.site_title") or "CKAN"
    url = tk.config.get("ckan.site_url") or ""
    lines_th, lines_en, html_items = [], [], []
    for it in items:
        d = it["dataset"]
        link = "%s/dataset/%s" % (url, d.name)
        when_th = fiscal.format_date(it["deadline"], "th")
        when_en = fiscal.format_date(it["deadline"], "en")
        if it["kind"] == "due":
            lines_th.append("- %s: ต้องปรับปรุงข้อมูลงวด %s ภายใน %s\n  %s" % (
                d.title, it["period"], when_th, link))
            lines_en.append("- %s: data for %s is due by %s\n  %s" % (
                d.title, it["period"], when_en, link))
        else:
            lines_th.append("- %s: เลยกำหนดปรับปรุงข้อมูลงวด %s (กำหนด %s)\n  %s" % (
                d.title, it["period"], when_th, link))
            lines_en.append("- %s: data for %s is overdue (was due %s)\n  %s" % (
                d.title, it["period"], when_en, link))
        html_items.append("<li><a href=\"%s\">%s</a> — %s (%s)</li>" % (
            escape(link), escape(d.title), escape(it["period"]),
            escape(when_th + " / " + when_en)))
    if digest:
        subject = "[%s] สรุปชุดข้อมูลที่ถึงกำหนด/เลยกำหนด · Datasets due or overdue" % site
    elif items[0]["kind"] == "due":
        subject = "[%s] ถึงกำหนดปรับปรุงข้อมูล · Data update due: %s" % (
            site, items[0]["dataset"].title)
    else:
        subject = "[%s] เลยกำหนดปรับปรุงข้อมูล · Data update overdue: %s" % (
            site, items[0]["dataset"].title)
    body = ("เรียน ผู้ดูแลข้อมูล\n\n" + "\n".join(lines_th) +
            "\n\n---\n\nDear data steward,\n\n" + "\n".join(lines_en) +
            "\n\n%s\n" % site)
    html = "<ul>%s</ul>" % "".join(html_items)
    return subject, body.replace("\r", ""), html


def send_reminders(today: Optional[dt.date] = None, days: Optional[int] = None,
                   dry_run: bool = False,
                   send: Optional[Callable[..., None]] = None) -> list[dict[str, Any]]:
    """Email each reminder once per dataset, period and kind; a digest per org.

    The (dataset, period, kind) row is inserted first with ON CONFLICT DO
    NOTHING: only the run that inserted it sends, so two overlapping cron
    runs never send twice. A failed send removes the row for a retry.
    """
    from ckan.lib import mailer
    send = send or mailer.mail_recipient
    sent: list[dict[str, Any]] = []
    per_org: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for plan in plan_reminders(today, days):
        d = plan["dataset"]
        pkg = model.Package.get(d.id)
        if pkg is None:
            continue
        to = _recipients(pkg)
        if dry_run:
            sent.append({"to": [e for _n, e in to], "dataset": d.name,
                         "period": plan["period"], "kind": plan["kind"]})
            if d.owner_org:
                per_org[d.owner_org].append(plan)
            continue
        inserted = model.Session.execute(insert(reminder_table).values(
            package_id=d.id, period_key=plan["period"], kind=plan["kind"],
            sent_at=dt.datetime.utcnow(),
            recipients=",".join(e for _n, e in to)).on_conflict_do_nothing()
        ).rowcount
        model.Session.commit()
        if not inserted:
            continue
        subject, body, html = _texts([plan], digest=False)
        try:
            for name, email in to:
                send(name, email, subject, body, body_html=html)
        except Exception as e:  # SMTP down: retry next run
            log.error("reminder for %s not sent: %s", d.name, e)
            model.Session.execute(reminder_table.delete().where(sa.and_(
                reminder_table.c.package_id == d.id,
                reminder_table.c.period_key == plan["period"],
                reminder_table.c.kind == plan["kind"])))
            model.Session.commit()
            continue
        sent.append({"to": [e for _n, e in to], "dataset": d.name,
                     "period": plan["period"], "kind": plan["kind"]})
        if d.owner_org:
            per_org[d.owner_org].append(plan)
    for org_id, items in per_org.items():
        admins = _org_admins(org_id)
        subject, body, html = _texts(items, digest=True)
        for name, email in admins:
            if dry_run:
                sent.append({"to": [email], "digest": org_id, "count": len(items)})
                continue
            try:
                send(name, email, subject, body, body_html=html)
                sent.append({"to": [email], "digest": org_id, "count": len(items)})
            except Exception as e:
                log.error("digest for %s not sent: %s", org_id, e)
    return sent


# --- ledger backfill from the activity stream -----------------------------

def backfill_ledger() -> dict[str, int]:
    """Infer past data updates from the activity stream (idempotent).

    Compares consecutive snapshots of each dataset in its activities: a new
    resource id is a resource_create, a changed URL a url_change, a changed
    last_modified of an upload an upload. Entries carry the activity's
    timestamp and id; existing ones are skipped.
    """
    try:
        from ckanext.activity.model import Activity
    except ImportError:  # pragma: no cover
        raise tk.ValidationError({"activity": ["The activity plugin is needed"]})
    # two runs at once take turns: the second sees the first one's entries
    # (a lock held by a connection of its own, released whatever happens)
    with model.meta.engine.connect() as lock:
        lock.execute(sa.text("SELECT pg_advisory_lock(hashtext('kpigov_backfill'))"))
        try:
            return _backfill(Activity)
        finally:
            model.Session.rollback()
            lock.execute(sa.text("SELECT pg_advisory_unlock(hashtext('kpigov_backfill'))"))


# A change the live ledger already recorded (with the nature the publisher
# declared) is not inferred again: its entry is within this many seconds of
# the activity that shows it.
_SAME_CHANGE = 300


def _backfill(Activity: Any) -> dict[str, int]:
    seen = {(r[0], r[1]) for r in model.Session.execute(sa.select(
        ledger_table.c.detail["activity_id"].astext, ledger_table.c.resource_id)
        .where(ledger_table.c.source == "backfill"))}
    stats = {"datasets": 0, "activities": 0, "inferred": 0, "skipped": 0}
    pkg_ids = [r[0] for r in model.Session.query(model.Package.id).filter(
        model.Package.type == "dataset")]
    for pid in pkg_ids:
        stats["datasets"] += 1
        previous: dict[str, dict[str, Any]] = {}
        recorded: dict[str, list[dt.datetime]] = {}
        for rid, created in model.Session.execute(sa.select(
                ledger_table.c.resource_id, ledger_table.c.created).where(
                ledger_table.c.package_id == pid, ledger_table.c.source != "backfill")):
            recorded.setdefault(rid, []).append(created)
        acts = (model.Session.query(Activity)
                .filter(Activity.object_id == pid,
                        Activity.activity_type.in_(["new package", "changed package"]))
                .order_by(Activity.timestamp)).all()
        for act in acts:
            stats["activities"] += 1
            pkg = (act.data or {}).get("package") or {}
            current = {r["id"]: r for r in pkg.get("resources") or [] if r.get("id")}
            for rid, res in current.items():
                old = previous.get(rid)
                if old is None:
                    kind = "upload" if res.get("url_type") == "upload" else "resource_create"
                elif old.get("url") != res.get("url"):
                    kind = "upload" if res.get("url_type") == "upload" else "url_change"
                elif res.get("url_type") == "upload" and \
                        old.get("last_modified") != res.get("last_modified"):
                    kind = "upload"
                else:
                    continue
                if (act.id, rid) in seen or any(
                        abs((when - act.timestamp).total_seconds()) <= _SAME_CHANGE
                        for when in recorded.get(rid, ())):
                    stats["skipped"] += 1
                    continue
                record_update(pid, kind, "new_data", resource_id=rid,
                              user_id=act.user_id, source="backfill",
                              created=act.timestamp,
                              detail={"activity_id": act.id,
                                      "url": (res.get("url") or "")[:500]})
                seen.add((act.id, rid))
                stats["inferred"] += 1
            previous = current
        model.Session.commit()
    return stats


# --- freshness in the search index -------------------------------------------

def refresh_index() -> dict[str, int]:
    """Re-index datasets whose freshness moved on with time.

    With kpigov_pgsearch the indexed state is compared; with Solr every
    dataset with a fixed cadence is re-indexed.
    """
    from ckan.lib import search
    datasets = data.org_datasets()
    last = data.last_updates([d.id for d in datasets])
    indexed: dict[str, tuple[Optional[str], Optional[str]]] = {}
    pg = search.index_for(model.Package).__class__.__name__ == "PgPackageSearchIndex"
    if pg:
        # the stored document and the field searches filter on: both current
        indexed = {r[0]: (r[1], r[2]) for r in model.Session.execute(sa.text(
            "SELECT id, doc->>'kpigov_freshness', CASE jsonb_typeof(fields->'kpigov_freshness') "
            "WHEN 'array' THEN fields->'kpigov_freshness'->>0 "
            "ELSE fields->>'kpigov_freshness' END "
            "FROM kpigov_search_doc")).fetchall()}
    stale = []
    for d in datasets:
        state = data.freshness_of(d.unit, d.interval, last.get(d.id))
        if not pg:
            if state != "not_applicable":
                stale.append(d.id)
        else:
            doc_state, field_state = indexed.get(d.id, (None, None))
            if doc_state != state or field_state not in (None, state):
                stale.append(d.id)
    if stale:
        search.rebuild(package_ids=stale, defer_commit=True)
        search.commit()
    return {"datasets": len(datasets), "reindexed": len(stale)}

