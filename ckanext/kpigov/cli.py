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
