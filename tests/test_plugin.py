import pytest
import sqlalchemy as sa

import ckan.model as model
import ckan.plugins as p
from ckan.lib import search


@pytest.mark.usefixtures("with_plugins")
def test_plugins_load():
    assert p.plugin_loaded("kpigov")
    assert p.plugin_loaded("kpigov_pgsearch")


@pytest.mark.usefixtures("with_plugins")
def test_search_registries_point_at_postgres():
    from ckanext.kpigov.search.backend import (
        PgPackageSearchIndex, PgPackageSearchQuery)
    assert isinstance(search.index_for(model.Package), PgPackageSearchIndex)
    assert isinstance(search.query_for(model.Package), PgPackageSearchQuery)


@pytest.mark.usefixtures("clean_db")
def test_migrations_create_the_tables():
    inspector = sa.inspect(model.Session.get_bind())
    for table in ("kpigov_search_doc", "kpigov_ledger", "kpigov_cadence_history",
                  "kpigov_alembic_version", "kpigov_pgsearch_alembic_version"):
        assert inspector.has_table(table), table
