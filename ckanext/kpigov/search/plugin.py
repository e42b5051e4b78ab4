"""kpigov_pgsearch: CKAN's dataset search served by PostgreSQL, no Solr."""
from __future__ import annotations

import logging

import ckan.plugins as p
from ckan.lib import search
from ckan.lib.search import index as search_index
from ckan.lib.search import query as search_query

from . import model as _model  # noqa: F401  (define the table before any test reflects)
from .backend import PgPackageSearchIndex, PgPackageSearchQuery, install_listeners

log = logging.getLogger(__name__)

# With this plugin there is no Solr by design: CKAN's start-up probe of Solr
# would log a connection traceback on every command. Keep only real errors.
logging.getLogger("ckan.lib.search.common").setLevel(logging.CRITICAL)
logging.getLogger("pysolr").setLevel(logging.CRITICAL)


def install() -> None:
    """Point CKAN's search registries at the PostgreSQL implementations.

    CKAN looks the classes up in these registries (and by the names
    ckan.lib.search exports) on every index and query call, so swapping them
    is enough; nothing else of CKAN is patched. The
    swap stays in place when the plugin object is unloaded (as pytest-ckan
    does between tests) because the documents already live in PostgreSQL.
    """
    search._INDICES["package"] = PgPackageSearchIndex
    search._QUERIES["package"] = PgPackageSearchQuery
    # Some CKAN code instantiates the classes by their exported names
    # (group dataset counts, tag pages, bulk updates): point those too.
    search.PackageSearchIndex = PgPackageSearchIndex  # type: ignore[misc]
    search.PackageSearchQuery = PgPackageSearchQuery  # type: ignore[misc]
    # ... and by their home modules (ckan.lib.search.index.PackageSearchIndex
    # and ckan.lib.search.query.PackageSearchQuery): without this, such code
    # would talk to a Solr that is not there.
    search_index.PackageSearchIndex = PgPackageSearchIndex  # type: ignore[misc]
    search_query.PackageSearchQuery = PgPackageSearchQuery  # type: ignore[misc]
    install_listeners()


class PgSearchPlugin(p.SingletonPlugin):
    p.implements(p.IConfigurable)
    p.implements(p.IConfigDeclaration)

    def declare_config_options(self, declaration, key):  # type: ignore[no-untyped-def]
        declaration.annotate("kpigov_pgsearch")
        declaration.declare_int(key.ckanext.kpigov.search.cache_size, 512).set_description(
            "Searches whose total, page of dataset ids and facet counts each "
            "process keeps (as Solr's query-result and filter caches), reused "
            "until the search index changes. 0 turns the cache off.")
        declaration.declare_bool(key.ckanext.kpigov.search.facet_counts, True).set_description(
            "Serve the total and facet counts of browse-all searches (no q; "
            "filters on state, capacity, dataset type only) from the counts "
            "the database keeps per group of datasets, instead of reading "
            "every visible dataset. false = always aggregate the documents.")

    def configure(self, config):  # type: ignore[no-untyped-def]
        install()
        log.info("kpigov_pgsearch: dataset search served by PostgreSQL")
