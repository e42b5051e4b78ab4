"""No control character reaches CKAN: every action of the registry and every
web form answers NUL (and other C0 control bytes) with a clear 4xx, never a
500, and stores nothing.

The check is one Flask ``before_request`` (``ckanext.kpigov.logic.guard``)
over the URL, the query string, form fields and a JSON body of every
request, so the actions are enumerated from CKAN's registry and the forms'
fields from the pages themselves: a new action, form or field is covered
without touching this file.
"""
from __future__ import annotations

import html.parser
import re

import pytest
import sqlalchemy as sa

import ckan.logic as logic
import ckan.model as model
import ckan.tests.factories as factories

from ckanext.kpigov.logic import guard

PLUGINS = "activity scheming_datasets datastore kpigov_pgsearch kpigov"
pytestmark = [
    pytest.mark.ckan_config("ckan.plugins", PLUGINS),
    pytest.mark.ckan_config("scheming.dataset_schemas",
                            "ckanext.kpigov.schemas:dataset.yaml"),
    pytest.mark.ckan_config("scheming.presets", "ckanext.scheming:presets.json "
                            "ckanext.kpigov.schemas:presets.yaml"),
    pytest.mark.usefixtures("clean_db", "with_plugins"),
]

MESSAGE = "Must not contain control characters"


def _state():
    tables = [t for t in model.Session.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND "
        # (api_token.last_access moves with every authenticated request)
        "tablename NOT IN ('kpigov_search_facet_delta', 'api_token')")).scalars()]
    out = {t: model.Session.execute(sa.text(
        # (users' last_active moves with every request)
        "SELECT count(*), md5(coalesce(string_agg((to_jsonb(x) - 'last_active')::text, ',' "
        "ORDER BY (to_jsonb(x) - 'last_active')::text), '')) FROM \"%s\" x" % t)).first()
        for t in sorted(tables)}
    model.Session.remove()
    return out


@pytest.fixture
def site():
    sysadmin = factories.SysadminWithToken()
    org = factories.Organization(name="org-a")
    ds = factories.Dataset(name="ds", owner_org=org["id"], maintainer="m",
                           maintainer_email="m@example.org", update_frequency_unit="เดือน",
                           data_category="ข้อมูลสาธารณะ",
                           resources=[{"url": "http://example.org/a.csv"}])
    return {"sysadmin": sysadmin, "headers": {"Authorization": sysadmin["token"]},
            "org": org, "ds": ds}


def _payloads(site):
    """A NUL id; then real ids and a control byte in a string field."""
    return [
        {"id": "x\x00y"},
        {"id": site["org"]["id"], "name": "n\x00", "q": "q\x00"},
        {"id": site["ds"]["id"], "package_id": site["ds"]["id"], "title": "t\x1b[31m"},
        {"id": site["ds"]["id"], "resource_id": site["ds"]["resources"][0]["id"],
         "records": [{"a": "x\x00"}], "fields": [{"id": "a\x00"}]},
    ]


def _call_every_action(app, site):
    logic.get_action("package_show")  # fill the registry
    names = sorted(logic._actions)
    assert len(names) > 150, len(names)
    results = {}
    for name in names:
        for payload in _payloads(site):
            try:
                res = app.post("/api/3/action/" + name, json=payload,
                               headers=site["headers"])
                results[(name, repr(payload))] = (res.status_code, res.json)
            except Exception as err:  # testing mode re-raises a 500's cause
                model.Session.remove()
                results[(name, repr(payload))] = (500, repr(err)[:200])
        res = app.get("/api/3/action/%s?id=%%00" % name, headers=site["headers"])
        results[(name, "GET id=%00")] = (res.status_code, res.json)
    return results


def test_every_action_in_the_registry_refuses_control_characters(app, site, capsys):
    before = _state()
    results = _call_every_action(app, site)
    def refused(key, value):
        name, payload = key
        if name.startswith("datastore_") and "\\x00" not in payload:
            # records are data: only NUL is refused there (what CKAN's
            # DataStore makes of the rest is not this test's concern)
            return True
        return (value[0] == 409 and isinstance(value[1], dict)
                and value[1].get("success") is False
                and MESSAGE in repr(value[1].get("error")))
    bad = {k: v for k, v in results.items() if not refused(k, v)}
    with capsys.disabled():
        print("\ncontrol characters: %d actions, %d requests" % (
            len({k[0] for k in results}), len(results)))
    assert not bad, list(bad.items())[:10]
    assert _state() == before
    # the next request succeeds
    assert app.post("/api/3/action/package_show", json={"id": "ds"}).status_code == 200


def test_without_the_guard_ckan_answers_some_with_a_500(app, site, monkeypatch):
    """The test above can fail: CKAN itself gives 500s for NUL bytes."""
    monkeypatch.setattr(guard, "_request_problems", lambda: {})
    monkeypatch.setattr(guard, "check_action_input", lambda data_dict: None)
    results = _call_every_action(app, site)
    server_errors = sorted({k[0] for k, v in results.items() if v[0] >= 500})
    assert len(server_errors) > 10, server_errors


def test_datastore_records_may_hold_other_control_characters(app, site):
    """DataStore rows are data: only NUL (PostgreSQL cannot store it) is
    refused there."""
    res_id = site["ds"]["resources"][0]["id"]
    ok = app.post("/api/3/action/datastore_create", headers=site["headers"], json={
        "resource_id": res_id, "force": True, "fields": [{"id": "a", "type": "text"}],
        "records": [{"a": "tab\tesc\x1b bell\x07"}]})
    assert ok.status_code == 200, ok.body[:300]
    nul = app.post("/api/3/action/datastore_upsert", headers=site["headers"], json={
        "resource_id": res_id, "force": True, "method": "insert",
        "records": [{"a": "x\x00"}]})
    assert nul.status_code == 409


# --- the web forms ------------------------------------------------------------

class _Form(html.parser.HTMLParser):
    """The fields of the page's POST forms, with the values they show."""

    def __init__(self):
        super().__init__()
        self.forms, self._form, self._text, self._select = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._form = {"action": a.get("action"), "fields": []}
            self.forms.append(self._form)
        if self._form is None or not a.get("name"):
            return
        if tag == "button" or tag == "input" and (a.get("type") or "").lower() == "submit":
            # the first submit button, as a browser sends the one clicked
            if (a.get("type") or "submit").lower() == "submit" and not self._form.get("button"):
                self._form["button"] = True
                self._form["fields"].append([a["name"], a.get("value") or ""])
            return
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form["fields"].append([a["name"], a.get("value") or ""])
        elif tag == "textarea":
            self._text = [a["name"], ""]
            self._form["fields"].append(self._text)
        elif tag == "select":
            self._select = [a["name"], None]
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            if self._select[1] is None or "selected" in a:
                self._select[1] = a.get("value") or ""

    def handle_data(self, data):
        if self._text is not None:
            self._text[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._text = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None


def _forms(app, url, headers):
    res = app.get(url, headers=headers)
    assert res.status_code == 200, url
    parser = _Form()
    parser.feed(res.get_data(as_text=True))
    return [f for f in parser.forms if any(n != "_csrf_token" for n, _v in f["fields"])]


HOSTILE = {"nul": "a\x00b", "escape": "\x1b[2J", "huge": "ก" * 100_000}


def _grid(app, url, headers, failures):
    """Each field of each POST form on the page, one at a time: NUL and
    other control bytes (refused, nothing stored), 100 kB of text and a
    field sent twice (a list: wrong type) — never a 500."""
    cases = 0
    for form in _forms(app, url, headers):
        target = form["action"] or url
        fields = [(n, v or "") for n, v in form["fields"]]
        names = sorted({n for n, _v in fields if n != "_csrf_token"})
        for name in names:
            for label, value in list(HOSTILE.items()) + [("twice", None)]:
                data = [(n, v) for n, v in fields if n != name or label == "twice"]
                if label == "twice":
                    data.append((name, "x"))
                else:
                    data.append((name, value))
                # a fresh token: the page is read again, as a browser does
                token = [v for n, v in _forms(app, url, headers)[0]["fields"]
                         if n == "_csrf_token"]
                data = [(n, v) for n, v in data if n != "_csrf_token"] + [
                    ("_csrf_token", t) for t in token[:1]]
                before = _state() if label in ("nul", "escape") else None
                body = "&".join("%s=%s" % (_q(n), _q(v)) for n, v in data)
                cases += 1
                try:
                    res = app.post(target, data=body, headers=dict(
                        headers, **{"Content-Type": "application/x-www-form-urlencoded"}),
                        follow_redirects=False)
                except Exception as err:  # testing mode re-raises a 500's cause
                    model.Session.remove()
                    failures.append((url, name, label, repr(err)[:120]))
                    continue
                if res.status_code >= 500:
                    failures.append((url, name, label, res.status_code))
                    continue
                if before is not None:
                    assert res.status_code == 400, (url, name, label, res.status_code)
                    assert MESSAGE in res.get_data(as_text=True)
                    assert _state() == before, (url, name, label)
        assert app.get(url, headers=headers).status_code == 200
    return cases


def _q(text):
    from urllib.parse import quote
    return quote(text, safe="")


def test_hostile_grid_on_the_dataset_form_and_governance_forms(app, site, capsys):
    headers = site["headers"]
    pages = ["/dataset/new", "/dataset/edit/ds",
             "/dataset/ds/resource/new"] + [
        "/organization/org-a/governance/" + tab
        for tab in ("team", "plan", "stakeholders", "evidence")]
    counted, failures = {}, []
    for url in pages:
        counted[url] = _grid(app, url, headers, failures)
    with capsys.disabled():
        print("\nform grid: %r" % counted)
    assert not failures, failures
    assert all(counted.values()), counted
    assert sum(counted.values()) > 100


def test_a_nul_in_a_url_part_is_a_400_page(app, site):
    for url in ("/dataset/%00", "/dataset/edit/ds%00", "/organization/org-a%00/governance",
                "/dataset/ds/resource/%00", "/dataset/?q=%00", "/user/%00"):
        res = app.get(url, headers=site["headers"])
        assert res.status_code == 400, (url, res.status_code)
    assert re.search(r"control characters", app.get("/dataset/%00").get_data(as_text=True))
