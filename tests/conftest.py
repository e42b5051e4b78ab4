"""Shared fixtures: CKAN's own, with clean_db extended to kpigov's migrations."""
from __future__ import annotations

import os

import pytest

import ckan.model as model
import ckanext.activity
import ckanext.kpigov


def upgrade(plugin: str, package=ckanext.kpigov) -> None:
    """Apply a plugin's alembic migrations, as `ckan db upgrade -p` does."""
    ini = os.path.join(os.path.dirname(package.__file__), "migration",
                       plugin, "alembic.ini")
    if not os.path.exists(ini):
        return  # e.g. CKAN 2.10 keeps the activity table in core
    original = model.repo._alembic_ini
    model.repo._alembic_ini = ini
    try:
        model.repo.upgrade_db("head")
    finally:
        model.repo._alembic_ini = original


@pytest.fixture
def clean_db(reset_db):
    # The first reset drops every table (ours too) and CKAN re-creates only
    # its core tables: put ours back the way a portal does.
    reset_db()
    upgrade("activity", ckanext.activity)
    upgrade("kpigov_pgsearch")
    upgrade("kpigov")
