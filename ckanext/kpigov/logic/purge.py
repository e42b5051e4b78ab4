"""``dataset_purge`` removes kpigov's rows about the dataset too.

CKAN's purge deletes the dataset's own rows (extras, resources, tags,
members); a purge that left kpigov's ledger, cadence history, exemptions
with their log and notes, reminders and evidence behind would keep data
about a dataset that no longer exists. They are deleted in the purge's own
transaction (all or nothing), and the evidence documents nobody refers to
any more are removed from disk after it committed.
"""
from __future__ import annotations

from typing import Any, Callable

import sqlalchemy as sa

import ckan.model as model
import ckan.plugins.toolkit as tk

from ..life import dataset_life_table
from ..model import (cadence_history_table, evidence_table, exemption_log_table,
                     exemption_table, ledger_table, reminder_table)

__all__ = ["dataset_purge"]


@tk.chained_action
def dataset_purge(up: Callable[..., Any], context: dict[str, Any],
                  data_dict: dict[str, Any]) -> Any:
    tk.check_access("dataset_purge", dict(context), data_dict)
    ref = data_dict.get("id")
    pkg = model.Package.get(ref) if isinstance(ref, str) and ref else None
    if pkg is None:
        return up(context, data_dict)
    pid = pkg.id
    files = [r[0] for r in model.Session.execute(
        sa.select(evidence_table.c.url).where(evidence_table.c.package_id == pid))]
    exemptions = sa.select(exemption_table.c.id).where(exemption_table.c.package_id == pid)
    try:
        model.Session.execute(exemption_log_table.delete().where(
            exemption_log_table.c.exemption_id.in_(exemptions)))
        for table in (exemption_table, ledger_table, cadence_history_table,
                      reminder_table, evidence_table, dataset_life_table):
            model.Session.execute(table.delete().where(table.c.package_id == pid))
        model.Session.execute(dataset_life_table.update().where(
            dataset_life_table.c.predecessor_id == pid).values(predecessor_id=None))
        result = up(context, data_dict)  # commits ours with CKAN's
    except Exception:
        model.Session.rollback()
        raise
    from .governance_actions import drop_unreferenced
    drop_unreferenced(*files)
    return result
