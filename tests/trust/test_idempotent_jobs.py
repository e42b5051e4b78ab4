"""Maintenance commands are idempotent, run as an operator runs them: the
real ``ckan`` command (separate processes, test.ini, the test database), a
real SMTP server. Running one twice — or two at once — changes nothing the
second time: no duplicate snapshot row, no second email, no rewritten index
document, no new reminder row.
"""
from __future__ import annotations

import datetime as dt
import email
import os
import socket
import subprocess
import sys
from email import policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

import ckan.model as model
import ckan.tests.factories as factories
from ckanext.kpigov.model import record_update

_LABELS = pytest.mark.skipif(
    not __import__("ckan.plugins.toolkit", fromlist=["x"]).check_ckan_version(min_version="2.11"),
    reason="CKAN 2.10 activities have no permission labels (and 2.10 records no "
           "activities of private datasets): kpigov filters 2.10's activity lists "
           "by the dataset's current visibility instead (test_leak_sweep)")

pytestmark = pytest.mark.usefixtures("clean_db", "with_plugins")

CKAN = os.path.join(os.path.dirname(sys.executable), "ckan")


class Capture:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        body = msg.get_body(preferencelist=("plain", "html"))
        # (recipients, subject, text): two overlapping runs may each send a
        # digest of the items *they* sent, never the same message twice
        self.messages.append((tuple(envelope.rcpt_tos), str(msg["subject"]),
                              body.get_content() if body is not None else ""))
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Capture()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    yield handler
    controller.stop()


def _env(smtp=None):
    env = dict(os.environ)
    if smtp is not None:
        env["CKAN_SMTP_SERVER"] = "127.0.0.1:%d" % smtp.port
        env["CKAN_SMTP_MAIL_FROM"] = "portal@bangkok.example"
    return env


def _start(args, smtp=None):
    return subprocess.Popen([CKAN, "-c", os.environ.get("CKAN_INI", "test.ini"), "kpigov",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=_env(smtp), text=True)


def _run(args, smtp=None):
    proc = _start(args, smtp)
    out, _err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-2000:]
    return out


def _rows(sql):
    model.Session.remove()
    rows = [tuple(r) for r in model.Session.execute(sa.text(sql))]
    model.Session.remove()
    return sorted(rows, key=repr)


@pytest.fixture
def monthly():
    """A monthly dataset whose last month's data is due (or just overdue)."""
    admin = factories.User(email="admin@agency.example")
    org = factories.Organization(users=[{"name": admin["name"], "capacity": "admin"}])
    ds = factories.Dataset(owner_org=org["id"], maintainer_email="steward@agency.example",
                           extras=[{"key": "update_frequency_unit", "value": "เดือน"}])
    today = dt.date.today()
    long_ago = dt.datetime(today.year - 1, 1, 1)
    model.Package.get(ds["id"]).metadata_created = long_ago
    model.Session.execute(sa.text(
        "UPDATE kpigov_cadence_history SET changed = :w WHERE package_id = :p"),
        {"w": long_ago, "p": ds["id"]})
    # data up to two months ago: last month's is the one due now
    first = today.replace(day=1)
    two_back = (first - dt.timedelta(days=1)).replace(day=1) - dt.timedelta(days=1)
    record_update(ds["id"], "demo", "new_data", source="demo",
                  created=dt.datetime.combine(two_back.replace(day=5), dt.time(9)))
    model.Session.commit()
    return ds


def test_remind_twice_and_twice_at_once_sends_each_email_once(smtp, monthly):
    # two cron runs at the same moment
    procs = [_start(["remind", "--days", "31"], smtp) for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    sent = list(smtp.messages)
    reminders = _rows("SELECT package_id, period_key, kind, recipients FROM kpigov_reminder")
    assert reminders, outs  # the fixture's period is due or just overdue
    assert len(sent) == len(set(sent)), sent  # nobody got the same email twice
    assert {r for to, _s, _b in sent for r in to} == {
        "steward@agency.example", "admin@agency.example"}
    # and a later run sends nothing, stores nothing
    out = _run(["remind", "--days", "31"], smtp)
    assert "0 message(s)" in out, out
    assert smtp.messages == sent
    assert _rows("SELECT package_id, period_key, kind, recipients FROM kpigov_reminder"
                 ) == reminders


def test_snapshot_twice_keeps_one_row_per_org_and_quarter(monthly):
    _run(["snapshot"])
    first = _rows("SELECT id, owner_org, fiscal_year, quarter, rubric_id, rubric_version "
                  "FROM kpigov_snapshot")
    assert first
    procs = [_start(["snapshot"]) for _ in range(2)]  # and two at once
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert _rows("SELECT id, owner_org, fiscal_year, quarter, rubric_id, rubric_version "
                 "FROM kpigov_snapshot") == first


_DOCS = ("SELECT id, name, metadata_modified, permission_labels, fields::text, search_text "
         "FROM kpigov_search_doc")


def test_refresh_index_and_rebuild_twice_change_nothing_the_second_time(monthly):
    # time moved on: the freshness indexed is stale
    model.Session.execute(sa.text(
        "UPDATE kpigov_search_doc SET fields = jsonb_set(fields, '{kpigov_freshness}', "
        "'\"fresh\"') WHERE id = :id"), {"id": monthly["id"]})
    model.Session.commit()
    out = _run(["refresh-index"])
    assert "re-indexed: 1" in out, out
    docs = _rows(_DOCS)
    out = _run(["refresh-index"])
    assert "re-indexed: 0" in out, out
    assert _rows(_DOCS) == docs
    for _ in range(2):
        out = _run(["search-rebuild", "--workers", "1"])
        assert "failed: 0" in out, out
        assert _rows(_DOCS) == docs


@_LABELS
def test_privacy_scrub_twice_changes_nothing_the_second_time(monthly):
    _run(["privacy-scrub"])
    acts = _rows("SELECT id, data, permission_labels FROM activity")
    docs = _rows(_DOCS)
    out = _run(["privacy-scrub"])
    assert "activities scrubbed: 0" in out or "scrubbed: 0" in out, out
    assert _rows("SELECT id, data, permission_labels FROM activity") == acts
    assert _rows(_DOCS) == docs
