"""Parallel writers against the real PostgreSQL while compliance is recomputed.

8 processes each change their own resources' URLs hundreds of times; the
test process recomputes the organization's compliance meanwhile. Every
update must appear exactly once in the ledger, every recompute must see a
consistent state (the ledger only grows; each resource's entries match its
changes), and nothing deadlocks.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import time

import pytest
import sqlalchemy as sa

import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckanext.kpigov.model import ledger_table

import _writer

WRITERS = 8
ROUNDS = 40          # per resource
RESOURCES = 5        # per writer  -> 8 x 200 = 1,600 updates


def _ini() -> str:
    return os.path.abspath(os.environ.get("CKAN_INI", "test.ini"))


@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_parallel_writers_every_update_once():
    org = factories.Organization()
    groups = []
    for w in range(WRITERS):
        ds = factories.Dataset(owner_org=org["id"], extras=[
            {"key": "update_frequency_unit", "value": "วัน"}],
            resources=[{"url": "http://example.com/start-%d-%d.csv" % (w, r)}
                       for r in range(RESOURCES)])
        groups.append([r["id"] for r in ds["resources"]])
    model.Session.commit()
    base = model.Session.execute(sa.select(sa.func.count()).select_from(
        ledger_table)).scalar()
    assert base == WRITERS * RESOURCES

    ctx = mp.get_context("spawn")
    with ctx.Pool(WRITERS) as pool:
        jobs = [pool.apply_async(_writer.run, (_ini(), ids, ROUNDS, "w%d" % i))
                for i, ids in enumerate(groups)]
        seen = []
        recomputes = 0
        while not all(j.ready() for j in jobs):
            model.Session.rollback()  # a fresh snapshot each time
            result = helpers.call_action("kpigov_org_compliance", id=org["id"])
            count = model.Session.execute(sa.select(sa.func.count()).select_from(
                ledger_table)).scalar()
            assert len(result["datasets"]) == WRITERS
            seen.append(count)
            recomputes += 1
            time.sleep(0.05)
        done = [j.get(timeout=600) for j in jobs]

    assert done == [RESOURCES * ROUNDS] * WRITERS
    assert seen == sorted(seen), "a recompute saw the ledger shrink"
    model.Session.rollback()
    rows = model.Session.execute(sa.select(
        ledger_table.c.resource_id, sa.func.count()).group_by(
        ledger_table.c.resource_id)).fetchall()
    per_resource = dict(rows)
    assert len(per_resource) == WRITERS * RESOURCES
    # one entry for the creation, one per URL change: exactly once each
    assert set(per_resource.values()) == {1 + ROUNDS}
    assert recomputes > 0
