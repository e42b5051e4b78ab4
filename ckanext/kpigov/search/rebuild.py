"""A full reindex in several processes (``ckan kpigov search-rebuild``).

CKAN's ``search-index rebuild`` indexes one dataset after another in one
process; nearly all of its time per dataset is CKAN's own ``package_show``
and the show-schema validation of the search document, which is CPU work.
This spreads the datasets over worker processes, each doing exactly what
``rebuild`` does for its share (``package_show`` with ``use_cache`` off,
then the index's ``update_dict``), committing every batch. Unlike CKAN's
``search-index rebuild-fast`` no database connection crosses the fork: the
parent empties its pool first, so every worker opens its own.
"""
from __future__ import annotations

import logging
import multiprocessing
from typing import Any, Callable, Optional

import sqlalchemy as sa

import ckan.logic as logic
import ckan.model as model
from ckan.common import config
from ckan.lib import search

from .. import ledger
from . import bulk

log = logging.getLogger(__name__)

__all__ = ["rebuild_parallel"]


def _package_ids() -> list[str]:
    q = model.Session.query(model.Package.id)
    if config.get("ckan.search.remove_deleted_packages"):
        q = q.filter(model.Package.state != "deleted")
    return [r[0] for r in q.order_by(model.Package.id)]


def _shown(ids: list[str]) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """package_show's dicts for a batch in one go, or none when one of the
    datasets fails: each is then shown on its own, which finds and reports
    the failing one."""
    try:
        return bulk.package_show_many(ids)
    except Exception as e:  # noqa: BLE001 - the per-dataset path reports it
        log.info("Batch of %d datasets shown one by one: %r", len(ids), e)
        model.Session.rollback()
        return [], {}


def _index_batch(job: tuple[list[str], bool]) -> tuple[int, list[tuple[str, str]]]:
    """Index one batch in this process and commit it: (indexed, failures)."""
    from .backend import PgPackageSearchIndex, write_rows
    ids, force = job
    index = search.index_for(model.Package)
    assert isinstance(index, PgPackageSearchIndex)
    rows, failed = [], []
    try:
        # read and build every document first (nothing written yet, so a
        # failed dataset is rolled back alone), then one upsert per batch;
        # ``pkgs`` keeps the batch's packages in the session
        pkgs, shown = _shown(ids)
        with ledger.prefetched_for_index(ids):
            for pid in ids:
                try:
                    pkg_dict = shown.get(pid) or logic.get_action("package_show")(
                        dict(bulk.REINDEX_CONTEXT), {"id": pid})
                    doc = index._build_doc(pkg_dict)
                    if doc is not None:
                        rows.append(index.row(doc))
                except Exception as e:  # noqa: BLE001 - as CKAN's rebuild --force
                    if not force:
                        raise
                    model.Session.rollback()
                    log.error("Error while indexing dataset %s: %r", pid, e)
                    failed.append((pid, repr(e)))
        del pkgs
        write_rows(rows)
        model.Session.commit()
    finally:
        model.Session.remove()
    return len(rows), failed


def rebuild_parallel(workers: int, clear: bool = False, force: bool = False,
                     batch: int = 200,
                     progress: Optional[Callable[[int, int], None]] = None,
                     ) -> dict[str, Any]:
    """Reindex every dataset with ``workers`` processes. Returns the counts
    and the datasets that failed (only with ``force``; otherwise the first
    failure stops the rebuild and is raised)."""
    ids = _package_ids()
    if clear:
        search.index_for(model.Package).clear()
    model.Session.commit()
    batches = [(ids[i:i + batch], force) for i in range(0, len(ids), batch)]
    total, done, failed = len(ids), 0, []
    if workers <= 1 or len(batches) <= 1:
        for job in batches:
            n, bad = _index_batch(job)
            done, failed = done + n, failed + bad
            if progress:
                progress(done + len(failed), total)
    else:
        # every worker starts with an empty pool: opens its own connections
        model.Session.remove()
        model.meta.engine.dispose()
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(min(workers, len(batches))) as pool:
            for n, bad in pool.imap_unordered(_index_batch, batches):
                done, failed = done + n, failed + bad
                if progress:
                    progress(done + len(failed), total)
    # each worker's commits folded facet counts, but a fold is skipped
    # while another runs: fold what is left
    from .backend import index_written
    index_written()
    # as autovacuum would soon: planner statistics and the visibility map
    # of the rewritten table (searches right after a rebuild plan well)
    with model.meta.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT") as conn:
        for table in ("kpigov_search_doc", "kpigov_search_facet"):
            conn.execute(sa.text("VACUUM ANALYZE %s" % table))
    indexed = model.Session.execute(sa.text(
        "SELECT count(*) FROM kpigov_search_doc")).scalar()
    return {"datasets": total, "indexed": done, "failed": failed,
            "documents": indexed}
