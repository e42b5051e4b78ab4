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
    import datetime as dt
    from ckanext.kpigov.model import record_update
    import ckan.model as model
    public = factories.Dataset(owner_org=org["id"], extras=extras)
    private = [factories.Dataset(owner_org=org["id"], private=True, extras=extras)
               for _ in range(3)]
    now = dt.datetime.utcnow()
    record_update(public["id"], "upload", "new_data", source="test",
                  created=now - dt.timedelta(days=3))
    record_update(private[0]["id"], "upload", "new_data", source="test", created=now)
    model.Session.commit()
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
        assert "public_datasets" not in summary and "public_last_update" not in summary
        # the date of the latest update is the public datasets' latest
        assert summary["last_update"] and summary["last_update"] < (
            now - dt.timedelta(days=2)).isoformat()
        assert " 4" not in json.dumps([c.get("total") for c in checks])
        listed = app.post("/api/3/action/kpigov_score_list", json={},
                          headers=headers)
        rows = [r for r in listed.json["result"]["organizations"]
                if r["organization"]["name"] == "org-a"]
        assert [r["datasets"] for r in rows] == [1]
        assert rows[0]["last_update"] == summary["last_update"]
    full = app.post("/api/3/action/kpigov_org_score", json={"id": "org-a"},
                    headers={"Authorization": member["token"]}).json["result"]
    assert full["visibility"] == "full" and full["datasets"] == 4
    assert full["last_update"] > summary["last_update"]
    catalog = [c for s in full["steps"] for c in s["checks"] if c["type"] == "data_catalog"]
    assert catalog[0]["total"] == 4
