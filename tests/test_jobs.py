"""Reminders against a real SMTP server, ledger backfill, freshness refresh."""
from __future__ import annotations

import datetime as dt
import email
import socket
from email import policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from freezegun import freeze_time

import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckanext.kpigov import jobs
from ckanext.kpigov.model import ledger_table, record_update

pytestmark = pytest.mark.usefixtures("clean_db", "with_plugins")


class Capture:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, msg))
        return "250 OK"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(ckan_config, monkeypatch):
    port = _free_port()
    handler = Capture()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(ckan_config, "smtp.server", "127.0.0.1:%d" % port)
    monkeypatch.setitem(ckan_config, "smtp.mail_from", "portal@bangkok.example")
    yield handler
    controller.stop()


def _body(msg):
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content()


@pytest.fixture
def datasets():
    admin = factories.User(email="admin@agency.example")
    org = factories.Organization(users=[{"name": admin["name"], "capacity": "admin"}])
    steward = [{"key": "update_frequency_unit", "value": "เดือน"}]
    due = factories.Dataset(name="due-ds", title="ข้อมูล <b>ขยะ</b>", owner_org=org["id"],
                            maintainer_email="steward@agency.example", extras=steward)
    for ds in (due,):
        pkg = model.Package.get(ds["id"])
        pkg.metadata_created = dt.datetime(2024, 9, 1)
        model.Session.execute(sa.text(
            "UPDATE kpigov_cadence_history SET changed = :w WHERE package_id = :p"),
            {"w": dt.datetime(2024, 9, 1), "p": ds["id"]})
    record_update(due["id"], "demo", "new_data", source="demo",
                  created=dt.datetime(2024, 10, 5))
    model.Session.commit()
    return due


@freeze_time("2024-12-12")
def test_due_and_overdue_reminders_sent_once(smtp, datasets):
    # Nov 2024 is due by 15 Dec (within 7 days); nothing else is missed yet
    sent = jobs.send_reminders(days=7)
    kinds = sorted((s.get("kind"), s.get("period")) for s in sent if "kind" in s)
    assert kinds == [("due", "2024-11")]
    rcpts = sorted(r for to, _m in smtp.messages for r in to)
    assert rcpts == ["admin@agency.example", "steward@agency.example"]
    steward_msg = [m for to, m in smtp.messages if to == ["steward@agency.example"]][0]
    body = _body(steward_msg)
    assert "15 ธ.ค. 2567" in body and "15 Dec 2024" in body
    html = steward_msg.get_body(preferencelist=("html",)).get_content()
    assert "&lt;b&gt;" in html and "<b>ขยะ" not in html
    # a second run sends nothing
    assert jobs.send_reminders(days=7) == []
    assert len(smtp.messages) == 2


@freeze_time("2024-12-18")
def test_just_overdue_reminder_and_dry_run(smtp, datasets):
    planned = jobs.send_reminders(days=7, dry_run=True)
    assert ("overdue", "2024-11") in [(p.get("kind"), p.get("period")) for p in planned]
    assert smtp.messages == []  # dry run sends nothing
    sent = jobs.send_reminders(days=7)
    assert ("overdue", "2024-11") in [(s.get("kind"), s.get("period")) for s in sent]
    assert any("Data update overdue" in m["subject"] for _t, m in smtp.messages)


@pytest.mark.ckan_config("ckan.plugins", "kpigov_pgsearch kpigov activity")
def test_backfill_from_activity_is_idempotent():
    user = factories.User()
    ds = factories.Dataset(user=user, resources=[{"url": "http://x/a.csv"}])
    helpers.call_action("resource_patch", context={"user": user["name"]},
                        id=ds["resources"][0]["id"], url="http://x/b.csv")
    model.Session.execute(ledger_table.delete())  # a portal installing late
    model.Session.commit()
    first = jobs.backfill_ledger()
    assert first["inferred"] == 2
    rows = model.Session.execute(sa.select(ledger_table.c.kind, ledger_table.c.source)
                                 .order_by(ledger_table.c.created)).fetchall()
    assert [tuple(r) for r in rows] == [("resource_create", "backfill"),
                                        ("url_change", "backfill")]
    again = jobs.backfill_ledger()
    assert again["inferred"] == 0 and again["skipped"] == 2
    # the ledger survives the activity stream being purged
    model.Session.execute(sa.text("DELETE FROM activity"))
    model.Session.commit()
    assert model.Session.execute(sa.select(sa.func.count()).select_from(
        ledger_table)).scalar() == 2


def test_refresh_index_updates_stale_freshness():
    ds = factories.Dataset(extras=[{"key": "update_frequency_unit", "value": "เดือน"}])
    found = helpers.call_action("package_search", fq="kpigov_freshness:delinquent")
    assert found["count"] == 1
    record_update(ds["id"], "demo", "new_data", source="demo")
    model.Session.commit()
    stats = jobs.refresh_index()
    assert stats["reindexed"] == 1
    assert helpers.call_action("package_search", fq="kpigov_freshness:fresh")["count"] == 1
    assert jobs.refresh_index()["reindexed"] == 0


@pytest.mark.ckan_config("ckan.plugins", "kpigov_pgsearch kpigov activity")
def test_backfill_never_duplicates_what_the_live_ledger_recorded():
    """The live ledger already holds each change with the nature the
    publisher declared (here: metadata); backfill infers none of them again,
    run once, twice, or twice at the same time."""
    import threading
    user = factories.User()
    ds = factories.Dataset(user=user, resources=[{"url": "http://x/a.csv"}])
    helpers.call_action("resource_patch", context={"user": user["name"]},
                        id=ds["resources"][0]["id"], url="http://x/b.csv",
                        kpigov_update_nature="metadata")

    def ledger():
        model.Session.remove()
        return sorted(tuple(r) for r in model.Session.execute(sa.select(
            ledger_table.c.kind, ledger_table.c.nature, ledger_table.c.source)))

    before = ledger()
    assert ("url_change", "metadata", "cli") in before or any(
        r[1] == "metadata" for r in before), before
    assert jobs.backfill_ledger()["inferred"] == 0
    assert ledger() == before
    results = []

    def run():
        results.append(jobs.backfill_ledger())
        model.Session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r["inferred"] for r in results] == [0, 0]
    assert ledger() == before
