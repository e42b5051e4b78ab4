"""kpigov_pgsearch: CKAN's dataset search served by PostgreSQL, no Solr."""
from __future__ import annotations

import logging

import ckan.plugins as p
from ckan.lib import search

from .backend import PgPackageSearchIndex, PgPackageSearchQuery

log = logging.getLogger(__name__)


def install() -> None:
    """Point CKAN's search registries at the PostgreSQL implementations.

    CKAN looks the classes up in these registries on every index and query
    call, so swapping them is enough; nothing else of CKAN is patched. The
    swap stays in place when the plugin object is unloaded (as pytest-ckan
    does between tests) because the documents already live in PostgreSQL.
    """
    search._INDICES["package"] = PgPackageSearchIndex
    search._QUERIES["package"] = PgPackageSearchQuery


class PgSearchPlugin(p.SingletonPlugin):
    p.implements(p.IConfigurable)

    def configure(self, config):  # type: ignore[no-untyped-def]
        install()
        log.info("kpigov_pgsearch: dataset search served by PostgreSQL")
