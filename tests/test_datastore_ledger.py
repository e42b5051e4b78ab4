"""DataStore upserts are recorded in the ledger (datastore plugin on)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckanext.kpigov.model import ledger_table

pytestmark = [
    pytest.mark.ckan_config("ckan.plugins", "kpigov_pgsearch datastore kpigov"),
    pytest.mark.usefixtures("clean_db", "with_plugins"),
]


def _entries(resource_id):
    return [tuple(r) for r in model.Session.execute(sa.select(
        ledger_table.c.kind, ledger_table.c.nature).where(
        ledger_table.c.resource_id == resource_id).order_by(ledger_table.c.created))]


def test_datastore_create_and_upsert_are_updates():
    sysadmin = factories.Sysadmin()
    ctx = {"user": sysadmin["name"]}
    res = factories.Resource(url="http://example.com/api")
    helpers.call_action("datastore_create", context=dict(ctx), resource_id=res["id"],
                        force=True, fields=[{"id": "district"}, {"id": "n", "type": "int"}],
                        records=[{"district": "ปทุมวัน", "n": 1}], primary_key="district")
    helpers.call_action("datastore_upsert", context=dict(ctx), resource_id=res["id"],
                        force=True, method="upsert", kpigov_update_nature="correction",
                        records=[{"district": "ปทุมวัน", "n": 2}])
    # a refused upsert records nothing
    with pytest.raises(Exception):
        helpers.call_action("datastore_upsert", context=dict(ctx), resource_id=res["id"],
                            force=True, method="upsert", records=[{"n": "not a number"}])
    model.Session.rollback()
    assert _entries(res["id"]) == [("resource_create", "new_data"),
                                   ("datastore_upsert", "new_data"),
                                   ("datastore_upsert", "correction")]
