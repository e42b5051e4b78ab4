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


class _Fixtures:
    @pytest.fixture
    def clean_db(self, reset_db):  # type: ignore[no-untyped-def]
        import ckanext.activity
        import ckanext.kpigov

        reset_db()
        _upgrade("activity", ckanext.activity)
        _upgrade("kpigov_pgsearch", ckanext.kpigov)
        _upgrade("kpigov", ckanext.kpigov)


def pytest_configure(config):  # type: ignore[no-untyped-def]
    # ``-p`` plugins are registered before the entry-point plugins (CKAN's
    # pytest_ckan), and for a fixture name the last registered definition
    # wins: register ours now, after CKAN's, so that it overrides.
    config.pluginmanager.register(_Fixtures(), "kpigov_peer_fixtures")
