"""`ckan kpigov privacy-scrub` as an operator runs it (test.ini's plugins)."""
import json

import pytest
import sqlalchemy as sa

import ckan.model as model
import ckan.tests.factories as factories
from ckan.cli.cli import ckan as ckan_cli

EMAIL = "leakmark-cli-4r5t@bma.example"


@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_privacy_scrub_command_cleans_the_index_and_is_idempotent(cli):
    people = json.dumps([{"role": "steward", "name": "ผู้ดูแล", "email": EMAIL}])
    ds = factories.Dataset(extras=[{"key": "kpigov_stakeholders", "value": people}])
    # a document as the old code wrote it: the contact in the stored dicts
    # and the free text
    model.Session.execute(sa.text(
        "UPDATE kpigov_search_doc SET data_dict = :d, search_text = search_text || :e "
        "WHERE id = :id"), {"d": json.dumps({"id": ds["id"], "extras": [
            {"key": "kpigov_stakeholders", "value": people}]}), "e": " " + EMAIL,
                           "id": ds["id"]})
    model.Session.commit()
    for _ in range(2):
        out = cli.invoke(ckan_cli, ["kpigov", "privacy-scrub"])
        assert out.exit_code == 0, out.output
        assert "datasets reindexed: 1" in out.output
        row = model.Session.execute(sa.text(
            "SELECT data_dict || validated_data_dict || search_text || fields::text "
            "FROM kpigov_search_doc WHERE id = :id"), {"id": ds["id"]}).scalar()
        assert EMAIL not in row
        model.Session.remove()
