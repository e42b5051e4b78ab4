"""pytest plugin for dev/peer-check: run CKAN's own search tests on pgsearch.

Loaded with ``-p ckanext.kpigov.search.pytest_peer`` when pytest collects
test files from the installed CKAN (whose directories hold no conftest that
would know about kpigov). It overrides ``clean_db`` the way tests/conftest.py
does: CKAN's own fixture drops every table on its first run and re-creates
only the core ones, which would leave ``kpigov_search_doc`` missing.
"""
from __future__ import annotations

import os

import pytest


def _upgrade(plugin: str, package) -> None:  # type: ignore[no-untyped-def]
    import ckan.model as model
    ini = os.path.join(os.path.dirname(package.__file__), "migration",
                       plugin, "alembic.ini")
    original = model.repo._alembic_ini
    model.repo._alembic_ini = ini
    try:
        model.repo.upgrade_db("head")
    finally:
        model.repo._alembic_ini = original


def _reset_db() -> None:
    """CKAN's reset, then the plugin tables back, as a portal has them."""
    import ckan.tests.helpers as test_helpers
    import ckanext.activity
    import ckanext.kpigov

    test_helpers.reset_db()
    _upgrade("activity", ckanext.activity)
    _upgrade("kpigov_pgsearch", ckanext.kpigov)
    _upgrade("kpigov", ckanext.kpigov)


class _Fixtures:
    # ``reset_db`` is the callable behind clean_db, non_clean_db (reset once
    # per session) and the tests that reset by hand: override it, and
    # clean_db with it, so that every path re-creates our tables.
    @pytest.fixture(scope="session")
    def reset_db(self):  # type: ignore[no-untyped-def]
        from ckan.tests import factories
        factories.fake.unique.clear()
        return _reset_db

    @pytest.fixture
    def clean_db(self, reset_db):  # type: ignore[no-untyped-def]
        reset_db()


def pytest_configure(config):  # type: ignore[no-untyped-def]
    # ``-p`` plugins are registered before the entry-point plugins (CKAN's
    # pytest_ckan), and for a fixture name the last registered definition
    # wins: register ours now, after CKAN's, so that it overrides.
    config.pluginmanager.register(_Fixtures(), "kpigov_peer_fixtures")


# Settings of CKAN's own test-core.ini that its search tests rely on and that
# our test.ini does not carry (it is the portal's, not CKAN's).
CKAN_TEST_CORE_SETTINGS = {
    "ckan.extra_resource_fields": ["alt_url"],
}


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):  # type: ignore[no-untyped-def]
    # After pytest_ckan has loaded test.ini and taken its snapshot of the
    # config (restored before every test): add the settings to both.
    import ckan.model as model
    from ckan.common import config
    from ckan.tests.pytest_ckan import ckan_setup

    config.update(CKAN_TEST_CORE_SETTINGS)
    ckan_setup._config = config.copy()
    model.Resource.extra_columns = None
