"""With ckanext.kpigov.public_kpi_summary on, the public summary counts only
public datasets: private ones show in no count an outsider reads."""
import json

import pytest

import ckan.tests.factories as factories

from ckanext.kpigov.scoring import _PRIVATE_COUNT_UNITS


@pytest.mark.ckan_config("ckanext.kpigov.public_kpi_summary", "true")
@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_public_summary_counts_leave_out_private_datasets(app):
    member = factories.UserWithToken()
    org = factories.Organization(name="org-a", users=[
        {"name": member["name"], "capacity": "member"}])
    extras = [{"key": "update_frequency_unit", "value": "เดือน"}]
    factories.Dataset(owner_org=org["id"], extras=extras)
    for _ in range(3):
        factories.Dataset(owner_org=org["id"], private=True, extras=extras)
    outsider = factories.UserWithToken()
    for headers in ({}, {"Authorization": outsider["token"]}):
        res = app.post("/api/3/action/kpigov_org_score", json={"id": "org-a"},
                       headers=headers)
        summary = res.json["result"]
        assert summary["visibility"] == "summary"
        assert summary["datasets"] == 1
        checks = [c for s in summary["steps"] for c in s["checks"]]
        counted = [c for c in checks if c["unit"] in _PRIVATE_COUNT_UNITS]
        assert counted and all(c["done"] is None and c["total"] is None for c in counted)
        assert "public_datasets" not in summary
        assert " 4" not in json.dumps([c.get("total") for c in checks])
        listed = app.post("/api/3/action/kpigov_score_list", json={},
                          headers=headers)
        rows = [r for r in listed.json["result"]["organizations"]
                if r["organization"]["name"] == "org-a"]
        assert [r["datasets"] for r in rows] == [1]
    full = app.post("/api/3/action/kpigov_org_score", json={"id": "org-a"},
                    headers={"Authorization": member["token"]}).json["result"]
    assert full["visibility"] == "full" and full["datasets"] == 4
    catalog = [c for s in full["steps"] for c in s["checks"] if c["type"] == "data_catalog"]
    assert catalog[0]["total"] == 4
