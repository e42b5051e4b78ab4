"""Honest writes: a request that fails changes nothing and says so.

Faults are real database errors: a trigger that raises inside the write's
transaction, on the search-document table, the ledger or the exemption log.
After each failed request every table (package, resource, activity,
kpigov_*, the search documents) is exactly as before, and the next request
succeeds.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import re

import pytest
import sqlalchemy as sa

import ckan.logic as logic
import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

PLUGINS = "activity scheming_datasets kpigov_pgsearch kpigov"
SCHEMING = [
    pytest.mark.ckan_config("ckan.plugins", PLUGINS),
    pytest.mark.ckan_config("scheming.dataset_schemas",
                            "ckanext.kpigov.schemas:dataset.yaml"),
    pytest.mark.ckan_config("scheming.presets", "ckanext.scheming:presets.json "
                            "ckanext.kpigov.schemas:presets.yaml"),
]
pytestmark = [pytest.mark.usefixtures("clean_db", "with_plugins")]


def _state():
    """Every row of the tables a write may touch (md5 per table)."""
    tables = [t for t in model.Session.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND "
        "(tablename LIKE 'kpigov%%' OR tablename IN ('package', 'resource', "
        "'activity', 'package_extra', 'member'))")).scalars()
        if t not in ("kpigov_search_facet_delta",)]
    out = {}
    for t in sorted(tables):
        out[t] = model.Session.execute(sa.text(
            'SELECT count(*), md5(coalesce(string_agg(x::text, \',\' ORDER BY x::text), \'\')) '
            'FROM "%s" x' % t)).first()
    model.Session.remove()
    return out


@contextlib.contextmanager
def failing(table, when="true"):
    """A trigger on ``table`` that raises while ``when`` holds for the row."""
    fn = "kpigov_test_fail_%s" % table
    with model.meta.engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE OR REPLACE FUNCTION %s() RETURNS trigger AS $$ BEGIN "
            "IF %s THEN RAISE EXCEPTION 'injected fault on %s'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql" % (fn, when, table)))
        conn.execute(sa.text(
            "CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW "
            "EXECUTE FUNCTION %s()" % (fn, table, fn)))
    try:
        yield
    finally:
        model.Session.remove()
        with model.meta.engine.begin() as conn:
            conn.execute(sa.text("DROP TRIGGER IF EXISTS %s ON %s" % (fn, table)))
            conn.execute(sa.text("DROP FUNCTION IF EXISTS %s()" % fn))


@pytest.fixture
def site():
    sysadmin = factories.SysadminWithToken()
    org = factories.Organization(name="org-a")
    ds = factories.Dataset(name="ds", title="เดิม", owner_org=org["id"],
                           extras=[{"key": "update_frequency_unit", "value": "เดือน"}],
                           resources=[{"url": "http://example.org/a.csv"}])
    return {"sysadmin": sysadmin, "headers": {"Authorization": sysadmin["token"]},
            "org": org, "ds": ds}


def _post(app, site, action, **data):
    return app.post("/api/3/action/" + action, json=data, headers=site["headers"])


def test_failed_search_document_write_saves_nothing_and_says_so(app, site):
    before = _state()
    with failing("kpigov_search_doc", "NEW.title_string LIKE 'FAULT%'"):
        res = _post(app, site, "package_patch", id="ds", title="FAULT title")
        assert res.status_code >= 400 and res.json["success"] is False
        assert _state() == before  # no package change, no activity, no ledger row
        # the next request on the same app succeeds
        ok = _post(app, site, "package_patch", id="ds", title="ใหม่")
        assert ok.status_code == 200, ok.body
    assert model.Package.get("ds").title == "ใหม่"


def test_failed_search_document_write_on_resource_create(app, site):
    before = _state()
    with failing("kpigov_search_doc"):
        res = _post(app, site, "resource_create", package_id="ds",
                    url="http://example.org/b.csv")
        assert res.status_code >= 400 and res.json["success"] is False
    assert _state() == before
    assert _post(app, site, "resource_create", package_id="ds",
                 url="http://example.org/b.csv").status_code == 200


@pytest.mark.parametrize("action,data", [
    ("resource_create", {"package_id": "ds", "url": "http://example.org/c.csv"}),
    ("package_patch", {"id": "ds", "resources": [{"url": "http://example.org/d.csv"}]}),
])
def test_failed_ledger_write_saves_nothing(app, site, action, data):
    before = _state()
    with failing("kpigov_ledger"):
        res = _post(app, site, action, **data)
        assert res.status_code >= 400 and res.json["success"] is False
        assert _state() == before
    assert _post(app, site, action, **data).status_code == 200
    assert _state() != before


def test_exemption_decision_and_its_reindex_commit_together(app, site):
    # an exemption in the current fiscal year, requested by the publisher
    today = dt.date.today()
    ex = helpers.call_action(
        "kpigov_exemption_create", context={"user": site["sysadmin"]["name"]},
        package_id="ds", period_start=today.replace(day=1).isoformat(),
        period_end=today.replace(day=28).isoformat(), reason="other", note="system migration")
    before = _state()
    with failing("kpigov_search_doc"):
        res = _post(app, site, "kpigov_exemption_decide", id=ex["id"], decision="approve")
        assert res.status_code >= 400 and res.json["success"] is False
        assert _state() == before  # no decision, no log row
    res = _post(app, site, "kpigov_exemption_decide", id=ex["id"], decision="approve")
    assert res.status_code == 200 and res.json["result"]["status"] == "approved"
    logs = model.Session.execute(sa.text(
        "SELECT count(*) FROM kpigov_exemption_log WHERE exemption_id = :id "
        "AND action = 'approve'"), {"id": ex["id"]}).scalar()
    assert logs == 1  # the failed try left no row behind


def test_a_swallowed_database_error_is_not_reported_as_saved(app, site, monkeypatch):
    """Any observer error that CKAN's notifier swallows (not only ours)
    leaves an aborted transaction: its commit is refused, not silently
    rolled back behind a 200."""
    import ckan.plugins as p

    class Breaks(p.SingletonPlugin):
        def notify(self, entity, operation):
            model.Session.execute(sa.text("SELECT 1/0"))

    from ckan.model.modification import DomainObjectModificationExtension
    original = DomainObjectModificationExtension.notify

    def notify(self, entity, operation):
        original(self, entity, operation)
        try:
            Breaks().notify(entity, operation)
        except Exception:
            pass  # swallowed, as CKAN swallows an observer's error

    monkeypatch.setattr(DomainObjectModificationExtension, "notify", notify)
    before = _state()
    res = _post(app, site, "package_patch", id="ds", title="never saved")
    assert res.status_code >= 400 and res.json["success"] is False
    assert _state() == before
    monkeypatch.undo()
    assert _post(app, site, "package_patch", id="ds", title="saved").status_code == 200


@pytest.mark.ckan_config("ckan.plugins", PLUGINS)
@pytest.mark.ckan_config("scheming.dataset_schemas", "ckanext.kpigov.schemas:dataset.yaml")
@pytest.mark.ckan_config("scheming.presets", "ckanext.scheming:presets.json "
                         "ckanext.kpigov.schemas:presets.yaml")
def test_empty_optional_cadence_interval_is_no_interval(app):
    sysadmin = factories.SysadminWithToken()
    site = {"headers": {"Authorization": sysadmin["token"]},
            "org": factories.Organization()}
    base = {"name": "new-ds", "title": "ชุดข้อมูล", "notes": "คำอธิบาย",
            "owner_org": site["org"]["id"], "maintainer": "x",
            "maintainer_email": "x@example.org", "update_frequency_unit": "เดือน",
            "update_frequency_interval": "", "data_category": "ข้อมูลสาธารณะ"}
    res = _post(app, site, "package_create", **base)
    assert res.status_code == 200, res.body
    assert not res.json["result"].get("update_frequency_interval")
    res = _post(app, site, "package_update", **dict(base, id="new-ds"))
    assert res.status_code == 200, res.body
    res = _post(app, site, "resource_create", package_id="new-ds",
                url="http://example.org/x.csv")
    assert res.status_code == 200, res.body
    # the web form, as a publisher leaves the field empty
    page = app.post("/dataset/edit/new-ds", headers=site["headers"], data=dict(
        base, save="", update_frequency_interval=""), follow_redirects=False)
    assert page.status_code in (200, 302), page.body[:500]
    assert _post(app, site, "package_show", id="new-ds").status_code == 200


def test_bad_flags_and_control_bytes_are_validation_errors(app, site):
    res = _post(app, site, "kpigov_org_score", id="org-a", trend="maybe")
    assert res.status_code == 409 and "trend" in res.json["error"]
    logic.get_action("package_show")
    names = sorted(n for n in logic._actions if n.startswith("kpigov_"))
    assert len(names) > 20
    for name in names:
        for key in ("id", "owner_org", "package_id"):
            res = _post(app, site, name, **{key: "org-a\x00x"})
            assert res.status_code == 409, (name, key, res.status_code, res.body[:300])
    assert _post(app, site, "kpigov_org_score", id="org-a").status_code == 200


def test_stakeholder_form_delete_of_another_organizations_row_is_refused(app, site):
    other_admin = factories.UserWithToken()
    factories.Organization(name="org-b", users=[
        {"name": other_admin["name"], "capacity": "admin"}])
    row = helpers.call_action("kpigov_stakeholder_create",
                              context={"user": site["sysadmin"]["name"]},
                              owner_org="org-a", role="steward", name="ผู้ดูแล")
    before = _state()
    res = app.post("/organization/org-b/governance/stakeholders",
                   headers={"Authorization": other_admin["token"]},
                   data={"delete": "1", "id": row["id"]})
    assert res.status_code in (403, 404), res.status_code
    assert _state() == before


def _token(res):
    return re.search(r'name="_csrf_token" value="([^"]+)"',
                     res.get_data(as_text=True)).group(1)


def _login(client, user, password="RandomPassw0rd"):
    res = client.post("/user/login", data={
        "login": user["name"], "password": password,
        "_csrf_token": _token(client.get("/user/login"))}, follow_redirects=False)
    assert res.status_code == 302, res.status_code


@pytest.mark.parametrize("ignore", ["true", "false"])
def test_governance_forms_need_a_csrf_token_whatever_the_site_sets(app, site, ignore,
                                                                     ckan_config,
                                                                     monkeypatch):
    monkeypatch.setitem(ckan_config, "ckan.csrf_protection.ignore_extensions", ignore)
    editor = factories.User(password="RandomPassw0rd")
    helpers.call_action("organization_member_create",
                        context={"user": site["sysadmin"]["name"]},
                        id="org-a", username=editor["name"], role="editor")
    client = app.test_client()
    _login(client, editor)
    url = "/organization/org-a/governance/stakeholders"
    page = client.get(url)
    assert page.status_code == 200  # logged in as the editor
    before = _state()
    res = client.post(url, data={"role": "steward", "name": "ไม่มีโทเค็น"},
                      follow_redirects=False)
    assert res.status_code == 400, res.status_code
    assert _state() == before
    res = client.post(url, data={"role": "steward", "name": "มีโทเค็น",
                                 "_csrf_token": _token(page)}, follow_redirects=False)
    assert res.status_code == 302, res.get_data(as_text=True)[:300]


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _upload(name):
    import io
    from werkzeug.datastructures import FileStorage
    return FileStorage(stream=io.BytesIO(PDF), filename=name)


def _kpigov_rows(package_id):
    return {t: model.Session.execute(sa.text(
        "SELECT count(*) FROM %s WHERE package_id = :p" % t), {"p": package_id}).scalar()
        for t in ("kpigov_ledger", "kpigov_cadence_history", "kpigov_exemption",
                  "kpigov_reminder", "kpigov_evidence")}


def test_purge_removes_kpigov_rows_and_files_of_the_dataset(site):
    from ckanext.kpigov.logic.governance_actions import document_path
    ctx = {"user": site["sysadmin"]["name"]}
    pid = site["ds"]["id"]
    helpers.call_action("package_patch", context=dict(ctx), id=pid,
                        extras=[{"key": "update_frequency_unit", "value": "สัปดาห์"}])
    today = dt.date.today()
    ex = helpers.call_action("kpigov_exemption_create", context=dict(ctx), package_id=pid,
                             period_start=today.replace(day=1).isoformat(),
                             period_end=today.replace(day=28).isoformat(),
                             reason="other", note="บันทึกของผู้เผยแพร่")
    helpers.call_action("kpigov_exemption_decide", context=dict(ctx), id=ex["id"],
                        decision="approve")
    ev = helpers.call_action("kpigov_evidence_create", context=dict(ctx), package_id=pid,
                             evidence_type="usage", kind="report", description="รายงาน",
                             date=today.isoformat(), document_upload=_upload("e.pdf"))
    stored = model.Session.execute(sa.text(
        "SELECT url FROM kpigov_evidence WHERE id = :i"), {"i": ev["id"]}).scalar()
    path = document_path(stored)
    assert path
    model.Session.execute(sa.text(
        "INSERT INTO kpigov_reminder (package_id, period_key, kind, sent_at) "
        "VALUES (:p, '2026-11', 'overdue', now())"), {"p": pid})
    model.Session.commit()
    assert all(_kpigov_rows(pid).values()), _kpigov_rows(pid)
    helpers.call_action("dataset_purge", context=dict(ctx), id=pid)
    model.Session.remove()
    assert not any(_kpigov_rows(pid).values()), _kpigov_rows(pid)
    assert model.Session.execute(sa.text(
        "SELECT count(*) FROM kpigov_exemption_log WHERE exemption_id = :e"),
        {"e": ex["id"]}).scalar() == 0
    import os
    assert not os.path.exists(path)


def test_purge_refused_changes_nothing(app, site):
    editor = factories.UserWithToken()
    helpers.call_action("organization_member_create",
                        context={"user": site["sysadmin"]["name"]},
                        id="org-a", username=editor["name"], role="admin")
    before = _state()
    res = app.post("/api/3/action/dataset_purge", json={"id": "ds"},
                   headers={"Authorization": editor["token"]})
    assert res.status_code == 403
    assert _state() == before


def test_replaced_and_deleted_documents_leave_the_disk(site):
    import os
    from ckanext.kpigov.logic.governance_actions import document_path
    ctx = {"user": site["sysadmin"]["name"]}

    def team(name):
        return helpers.call_action(
            "kpigov_governance_update", context=dict(ctx), owner_org="org-a",
            fiscal_year=2567, kind="team", order_number="1/2567",
            document_upload=_upload(name))

    def stored():
        return model.Session.execute(sa.text(
            "SELECT document_url FROM kpigov_governance WHERE owner_org = :o"),
            {"o": site["org"]["id"]}).scalar()

    first = team("a.pdf")
    old = document_path(stored())
    assert old and os.path.exists(old)
    team("b.pdf")
    new = document_path(stored())
    assert new and os.path.exists(new) and not os.path.exists(old)
    helpers.call_action("kpigov_governance_delete", context=dict(ctx), id=first["id"])
    assert not os.path.exists(new)


@pytest.mark.skipif(__import__("ckan").__version__.startswith("2.10"),
                    reason="CKAN 2.10's activity plugin writes package activities "
                    "itself (activity_stream_item + commit), not through activity_create")
@pytest.mark.ckan_config("ckan.plugins", "activity kpigov_pgsearch kpigov")
def test_a_failed_activity_write_after_the_commit_is_no_500(app, site):
    """The activity is written after the change committed: when it fails,
    the change is saved and answered as saved, and the next request works."""
    with failing("activity"):
        res = _post(app, site, "package_patch", id="ds", title="บันทึกแล้ว")
        assert res.status_code == 200, res.body
    model.Session.remove()
    assert model.Package.get("ds").title == "บันทึกแล้ว"
    assert _post(app, site, "package_patch", id="ds", title="ต่อไป").status_code == 200
    n = model.Session.execute(sa.text(
        "SELECT count(*) FROM activity WHERE object_id = :id"), {"id": site["ds"]["id"]})
    assert n.scalar() >= 1  # the next change has its activity again


def test_failed_search_document_write_in_a_web_form_edit(app, site):
    before = _state()
    form = {"name": "ds", "title": "FAULT from the form", "notes": "",
            "owner_org": site["org"]["id"], "save": ""}
    with failing("kpigov_search_doc", "NEW.title_string LIKE 'FAULT%'"):
        try:
            res = app.post("/dataset/edit/ds", data=form, headers=site["headers"],
                           follow_redirects=False)
            status = res.status_code
        except Exception:  # testing mode re-raises what would be a 500 page
            status = 500
        assert status != 302  # not "saved"
        assert _state() == before
    res = app.post("/dataset/edit/ds", data=dict(form, title="ผ่านฟอร์ม"),
                   headers=site["headers"], follow_redirects=False)
    assert res.status_code == 302
    assert model.Package.get("ds").title == "ผ่านฟอร์ม"
