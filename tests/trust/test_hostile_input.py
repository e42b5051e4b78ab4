"""Property-based hostile input: generated payloads against every kpigov
action and against package_create/update with the governance fields.

Invariant: a 4xx with a message, or success; never a 500, and a refused
request leaves every kpigov table, dataset and resource as it was.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ckan.logic as logic
import ckan.model as model
import ckan.tests.factories as factories

EXAMPLES_PER_ACTION = 30

NASTY_TEXT = st.one_of(
    st.text(max_size=50),
    st.sampled_from([
        "", " ", "\x00", "\x1b[31m", "ผู้สูงอายุ", "ก\u0e31\u0e49\u0e49\u0e49",  # stacked marks
        "a\u200bb", "\u202eevil", "\ufeff", "<script>alert(1)</script>",
        "=HYPERLINK(\"http://x\")", "'; DROP TABLE package; --", "2567-02-30",
        "2024-02-29", "2023-02-29", "9999-12-31", "0000-00-00", "-1", "1e309",
        "NaN", "null", "true", "../../etc/passwd", "%s%s%n", "\ud800" if False else "x",
    ]),
    st.text(min_size=5000, max_size=5000, alphabet="ก"),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=2**63),
                    st.floats(allow_nan=False, allow_infinity=False), NASTY_TEXT)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
DEEP = st.integers(min_value=50, max_value=200).map(
    lambda n: eval("[" * n + "]" * n))  # deeply nested JSON

PARAMS = ["id", "package_id", "owner_org", "organization_id", "fiscal_year",
          "quarter", "period_start", "period_end", "reason", "note", "decision",
          "comment", "expires_at", "limit", "offset", "nature", "status", "kind",
          "rubric", "performance", "steps", "weight", "step", "object_type",
          "object_id", "data", "members", "summary", "name", "email", "role",
          "description", "date", "url", "partner", "evidence_type"]


def _counts():
    tables = [t for t in model.Session.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND "
        "(tablename LIKE 'kpigov%' OR tablename IN ('package', 'resource', "
        "'member', 'package_extra'))")).scalars()]
    return {t: model.Session.execute(sa.text('SELECT count(*) FROM "%s"' % t)).scalar()
            for t in tables if t != "kpigov_search_doc"}


def payloads(real_ids):
    keys = st.sampled_from(PARAMS)
    values = st.one_of(JSON_VALUES, DEEP, st.sampled_from(real_ids))
    return st.dictionaries(keys, values, max_size=6)


@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_every_kpigov_action_survives_generated_payloads(app):
    sysadmin = factories.SysadminWithToken()
    org = factories.Organization()
    ds = factories.Dataset(owner_org=org["id"], resources=[{"url": "http://x/a.csv"}])
    real_ids = [org["id"], org["name"], ds["id"], ds["name"], "2568", 2568, 1]
    logic.get_action("package_show")  # make sure the registry is built
    names = sorted(n for n in logic._actions if n.startswith("kpigov_"))
    assert len(names) >= 6, names
    headers = {"Authorization": sysadmin["token"]}
    report = {}

    for name in names:
        statuses: dict[int, int] = {}

        @settings(max_examples=EXAMPLES_PER_ACTION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(payload=payloads(real_ids))
        def run(payload):
            model.Session.remove()
            before = _counts()
            res = app.post("/api/3/action/%s" % name, json=payload, headers=headers)
            statuses[res.status_code] = statuses.get(res.status_code, 0) + 1
            assert res.status_code < 500, (name, payload, res.body[:500])
            body = res.json
            if res.status_code >= 400:
                assert body["success"] is False and body["error"]
                model.Session.remove()
                assert _counts() == before, (name, payload)

        run()
        report[name] = statuses
    print("hostile payloads per action:", report)


GOVERNANCE_FIELDS = ["update_frequency_unit", "update_frequency_interval",
                     "data_category", "data_classification", "kpigov_stakeholders",
                     "kpigov_target_fy", "kpigov_target_kind", "kpigov_target_rationale",
                     "first_year_of_data", "maintainer_email", "notes", "title",
                     "tag_string", "kpigov_personal_data"]


@pytest.mark.ckan_config("ckan.plugins", "kpigov_pgsearch kpigov scheming_datasets")
@pytest.mark.ckan_config("scheming.dataset_schemas", "ckanext.kpigov.schemas:dataset.yaml")
@pytest.mark.ckan_config("scheming.presets",
                         "ckanext.scheming:presets.json ckanext.kpigov.schemas:presets.yaml")
@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_package_create_and_update_with_hostile_governance_fields(app):
    sysadmin = factories.SysadminWithToken()
    org = factories.Organization()
    headers = {"Authorization": sysadmin["token"]}
    base = {"name": "target", "title": "ชุดข้อมูล", "notes": "คำอธิบาย",
            "owner_org": org["id"], "maintainer": "x",
            "maintainer_email": "x@example.org", "update_frequency_unit": "เดือน",
            "data_category": "ข้อมูลสาธารณะ"}
    res = app.post("/api/3/action/package_create", json=base, headers=headers)
    assert res.status_code == 200

    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(field=st.sampled_from(GOVERNANCE_FIELDS), value=st.one_of(JSON_VALUES, DEEP),
           action=st.sampled_from(["package_create", "package_patch"]))
    def run(field, value, action):
        model.Session.remove()
        before = _counts()
        data = dict(base, **{field: value})
        if action == "package_create":
            data["name"] = "gen-%d" % (abs(hash(repr(value))) % 10**9)
        else:
            data = {"id": "target", field: value}
        res = app.post("/api/3/action/%s" % action, json=data, headers=headers)
        assert res.status_code < 500, (action, field, value, res.body[:500])
        if res.status_code >= 400:
            model.Session.remove()
            assert _counts() == before

    run()


# --- the grid: every documented parameter, every optional schema field -------

EMPTYISH = ["", None, "\x00", "a\x00b", "maybe", "-1", [], {}, " "]


def _documented_params(action):
    import re
    doc = getattr(action, "__doc__", "") or ""
    return sorted(set(re.findall(r":param (\w+):", doc)))


@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_every_documented_parameter_of_every_kpigov_action_with_empty_null_nul(app):
    """Enumerated from the action registry and each action's docstring: a
    new action or parameter is covered without touching this test."""
    sysadmin = factories.SysadminWithToken()
    org = factories.Organization()
    ds = factories.Dataset(owner_org=org["id"], resources=[{"url": "http://x/a.csv"}])
    headers = {"Authorization": sysadmin["token"]}
    logic.get_action("package_show")
    names = sorted(n for n in logic._actions if n.startswith("kpigov_"))
    cases = {}
    for name in names:
        params = _documented_params(logic._actions[name]) or ["id"]
        cases[name] = 0
        for param in params:
            for value in EMPTYISH:
                # the other identifying parameters are real, so the bad one
                # is the one that is judged
                payload = {"id": org["id"], "owner_org": org["id"],
                           "package_id": ds["id"]}
                payload[param] = value
                model.Session.remove()
                before = _counts()
                res = app.post("/api/3/action/%s" % name, json=payload, headers=headers)
                cases[name] += 1
                assert res.status_code < 500, (name, param, value, res.body[:400])
                if res.status_code >= 400:
                    assert res.json["success"] is False and res.json["error"]
                    model.Session.remove()
                    assert _counts() == before, (name, param, value)
        # the next request succeeds
        assert app.post("/api/3/action/kpigov_rubric_list", json={},
                        headers=headers).status_code == 200
    print("\nempty/null/NUL/flag grid, cases per action:", cases)
    assert sum(cases.values()) > 500


def _schema_fields():
    from ckanext.scheming.helpers import scheming_get_dataset_schema
    schema = scheming_get_dataset_schema("dataset")
    return ([f["field_name"] for f in schema["dataset_fields"] if not f.get("required")],
            [f["field_name"] for f in schema["resource_fields"] if not f.get("required")])


@pytest.mark.ckan_config("ckan.plugins", "kpigov_pgsearch kpigov scheming_datasets")
@pytest.mark.ckan_config("scheming.dataset_schemas", "ckanext.kpigov.schemas:dataset.yaml")
@pytest.mark.ckan_config("scheming.presets",
                         "ckanext.scheming:presets.json ckanext.kpigov.schemas:presets.yaml")
@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_every_optional_schema_field_left_empty_null_or_nul(app):
    """Every optional dataset and resource field of the schema (enumerated),
    sent empty, null, with a NUL byte or an unknown flag, through
    package_create, package_patch and resource_create: never a 500, a
    refused write stores nothing, and the next request succeeds."""
    sysadmin = factories.SysadminWithToken()
    org = factories.Organization()
    headers = {"Authorization": sysadmin["token"]}
    base = {"name": "target", "title": "ชุดข้อมูล", "notes": "คำอธิบาย",
            "owner_org": org["id"], "maintainer": "x",
            "maintainer_email": "x@example.org", "update_frequency_unit": "เดือน",
            "data_category": "ข้อมูลสาธารณะ"}
    assert app.post("/api/3/action/package_create", json=base,
                    headers=headers).status_code == 200
    dataset_fields, resource_fields = _schema_fields()
    assert len(dataset_fields) > 15 and resource_fields
    counted = 0
    for i, (action, field, value) in enumerate(
            [(a, f, v) for f in dataset_fields for a in ("package_create", "package_patch")
             for v in ("", None, "a\x00b", "maybe")] +
            [("resource_create", f, v) for f in resource_fields
             for v in ("", None, "a\x00b", "maybe")]):
        if action == "package_create":
            data = dict(base, name="gen-%d" % i)
            data[field] = value
        elif action == "package_patch":
            data = {"id": "target", field: value}
        else:
            data = {"package_id": "target", "url": "http://x/%d.csv" % i, field: value}
        model.Session.remove()
        before = _counts()
        res = app.post("/api/3/action/" + action, json=data, headers=headers)
        counted += 1
        assert res.status_code < 500, (action, field, value, res.body[:400])
        if res.status_code >= 400:
            model.Session.remove()
            assert _counts() == before, (action, field, value)
            assert res.json["success"] is False and res.json["error"]
        # the stored dataset still reads back, and the next write works
        assert app.post("/api/3/action/package_show", json={"id": "target"},
                        headers=headers).status_code == 200
    assert app.post("/api/3/action/package_patch", json={"id": "target", "title": "ok"},
                    headers=headers).status_code == 200
    print("\noptional schema fields: %d dataset, %d resource, %d requests" % (
        len(dataset_fields), len(resource_fields), counted))


@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_every_kpigov_page_with_hostile_query_parameters(app):
    """Every GET route of kpigov's blueprints (enumerated from the URL map)
    with hostile values in the query parameters the pages read."""
    sysadmin = factories.SysadminWithToken()
    org = factories.Organization(name="org-a")
    factories.Dataset(owner_org=org["id"])
    headers = {"Authorization": sysadmin["token"]}
    rules = [r for r in app.flask_app.url_map.iter_rules()
             if r.endpoint.startswith("kpigov") and "GET" in (r.methods or ())]
    assert len(rules) >= 8
    cases = 0
    for rule in rules:
        values = {}
        for arg in rule.arguments:
            conv = rule._converters.get(arg)
            values[arg] = sorted(conv.items)[0] if getattr(conv, "items", None) else (
                "org-a" if arg == "id" else "x")
        url = rule.build(values, append_unknown=False)[1]
        for param in ("fy", "fiscal_year", "quarter", "rubric", "kind", "q", "page",
                      "sort", "lang", "format"):
            for value in ("", "\x00", "maybe", "-1", "99999999999999999999", "2567\x00"):
                res = app.get(url, query_string={param: value}, headers=headers)
                cases += 1
                assert res.status_code < 500, (url, param, value)
    assert app.get("/organization/org-a/compliance", headers=headers).status_code == 200
    print("\nkpigov pages: %d routes, %d hostile requests" % (len(rules), cases))
