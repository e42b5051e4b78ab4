"""`ckan kpigov ...` commands."""
from __future__ import annotations

import click

__all__ = ["kpigov"]


@click.group(short_help="ckanext-kpigov: governance, compliance and KPI 5.2")
def kpigov() -> None:
    """Data governance, update ledger and KPI 5.2 scoring."""


@kpigov.command("seed-demo")
@click.option("--seed", default=2567, show_default=True,
              help="Random seed: the same seed gives the same portal.")
@click.option("--datasets", default=60, show_default=True,
              help="Number of datasets to create.")
def seed_demo(seed: int, datasets: int) -> None:
    """Load Bangkok demo agencies, datasets and 14+ months of update history.

    Idempotent: agencies and datasets that exist are left as they are.
    """
    from . import demo
    summary = demo.load(seed=seed, n_datasets=datasets)
    for key, value in summary.items():
        click.echo("%s: %s" % (key, value))


@kpigov.command("remind")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send nothing.")
@click.option("--days", type=int, default=None,
              help="Look-ahead in days (default: ckanext.kpigov.remind_days).")
def remind(dry_run: bool, days: int | None) -> None:
    """Email stewards about data due soon or just overdue (run daily from cron)."""
    from . import jobs
    sent = jobs.send_reminders(days=days, dry_run=dry_run)
    for item in sent:
        prefix = "WOULD SEND" if dry_run else "sent"
        if "digest" in item:
            click.echo("%s digest (%d datasets) to %s" % (
                prefix, item["count"], ", ".join(item["to"])))
        else:
            click.echo("%s %s reminder for %s %s to %s" % (
                prefix, item["kind"], item["dataset"], item["period"],
                ", ".join(item["to"]) or "(no address)"))
    click.echo("%d message(s)" % len(sent))


@kpigov.group("ledger")
def ledger_group() -> None:
    """The update ledger."""


@ledger_group.command("backfill")
def ledger_backfill() -> None:
    """Build ledger entries from the activity stream (idempotent)."""
    from . import jobs
    stats = jobs.backfill_ledger()
    click.echo("datasets: {datasets}, activities read: {activities}, "
               "updates inferred: {inferred}, already there: {skipped}".format(**stats))


@kpigov.command("refresh-index")
def refresh_index() -> None:
    """Re-index datasets whose freshness state changed (run daily from cron)."""
    from . import jobs
    stats = jobs.refresh_index()
    click.echo("datasets: {datasets}, re-indexed: {reindexed}".format(**stats))
