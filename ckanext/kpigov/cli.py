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


@kpigov.command("check-schema")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--values", default=10, show_default=True,
              help="Unreadable values shown per field.")
def check_schema(as_json: bool, values: int) -> None:
    """Report, per field, how many of the portal's dataset values kpigov can
    interpret for compliance and scores, and which it cannot. Changes nothing:
    run it before enabling kpigov on an existing (thai_gdc) portal."""
    import json as json_mod
    from . import schema_check
    report = schema_check.check(schema_check.portal_rows(), schema_check.schema_fields())
    if as_json:
        click.echo(json_mod.dumps(report, ensure_ascii=False, indent=1))
        return
    click.echo("datasets: %d" % report["datasets"])
    for f in report["fields"]:
        click.echo("%s (%s): %d with a value, %d readable, %d not readable" % (
            f["field"], f["use"], f["with_value"], f["readable"], f["unreadable"]))
        for item in f["unreadable_values"][:values]:
            click.echo("    %r: %d dataset(s)" % (item["value"], item["datasets"]))
    if report["kept_as_is"]:
        click.echo("fields the active schema does not list (kept as is on save):")
        for item in report["kept_as_is"]:
            click.echo("    %s: %d dataset(s)" % (item["field"], item["datasets"]))


@kpigov.command("privacy-scrub")
def privacy_scrub() -> None:
    """Remove personal contacts stored before kpigov's privacy rule: from
    old activities' dataset copies and from the search index (run once after
    upgrading; idempotent)."""
    from . import privacy
    stats = privacy.scrub_existing()
    click.echo("activities read: {activities_read}, scrubbed: {activities_scrubbed}, "
               "relabelled: {activities_relabelled}, "
               "datasets reindexed: {datasets_reindexed}".format(**stats))


@kpigov.command("refresh-index")
def refresh_index() -> None:
    """Re-index datasets whose freshness state changed (run daily from cron)."""
    from . import jobs
    stats = jobs.refresh_index()
    click.echo("datasets: {datasets}, re-indexed: {reindexed}".format(**stats))


@kpigov.command("search-rebuild")
@click.option("--workers", "-w", type=click.IntRange(1, 64), default=None,
              help="Processes (default: the number of CPUs).")
@click.option("--clear", is_flag=True, help="Empty the index first.")
@click.option("-i", "--force", is_flag=True,
              help="Carry on past datasets that fail; list them at the end.")
@click.option("--batch", type=click.IntRange(1, 10000), default=200, show_default=True,
              help="Datasets per worker task (each committed at once).")
def search_rebuild(workers: int | None, clear: bool, force: bool, batch: int) -> None:
    """Rebuild the kpigov_pgsearch index with several processes
    (what `ckan search-index rebuild` does, in parallel)."""
    import os
    import time
    import ckan.model as model
    from ckan.lib import search
    from .search.backend import PgPackageSearchIndex
    if not isinstance(search.index_for(model.Package), PgPackageSearchIndex):
        raise click.UsageError("search-rebuild needs the kpigov_pgsearch plugin; "
                               "with Solr use `ckan search-index rebuild`.")
    from .search.rebuild import rebuild_parallel
    workers = workers or os.cpu_count() or 1
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        click.echo("\rindexed %d/%d" % (done, total), nl=False)
    try:
        stats = rebuild_parallel(workers, clear=clear, force=force, batch=batch,
                                 progress=progress)
    except Exception as e:  # noqa: BLE001 - a clear message, not a traceback
        raise click.ClickException("rebuild stopped: %r (use --force to carry on)" % e)
    click.echo("")
    for pid, error in stats["failed"]:
        click.echo("failed: %s %s" % (pid, error))
    click.echo("datasets: %d, indexed: %d, failed: %d, documents: %d, "
               "%d workers, %.1f s" % (
                   stats["datasets"], stats["indexed"], len(stats["failed"]),
                   stats["documents"], workers, time.perf_counter() - started))


# --- KPI scoring (issue 5) -------------------------------------------------

def _score_scope(fy: int | None, orgs: tuple[str, ...]) -> tuple[int, list]:
    """The fiscal year (default the current one) and the organizations
    (default all active ones); unknown names stop with a message."""
    import ckan.model as model
    import sqlalchemy as sa
    from . import fiscal
    year = fy or fiscal.current_fiscal_year()
    try:
        fiscal.validate_fiscal_year(year)
    except ValueError as exc:
        raise click.UsageError(str(exc))
    if orgs:
        found = []
        for ref in orgs:
            org = model.Group.get(ref)
            if org is None or not org.is_organization or org.state != "active":
                raise click.UsageError("organization not found: %s" % ref)
            found.append(org)
        return year, found
    return year, model.Session.query(model.Group).filter(
        model.Group.is_organization == sa.true(), model.Group.state == "active"
    ).order_by(model.Group.name).all()


def _with_request(fn):  # type: ignore[no-untyped-def]
    """Translations and helpers need a request context (English, as CLI)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        app = click.get_current_context().meta.get("flask_app")
        if app is None:
            return fn(*args, **kwargs)
        with app.test_request_context():
            return fn(*args, **kwargs)
    return wrapper


def _scoring_errors(fn):  # type: ignore[no-untyped-def]
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        from . import scoring
        from .rubric import RubricError
        try:
            return fn(*args, **kwargs)
        except (scoring.ScoreInputError, RubricError) as exc:
            raise click.ClickException(str(exc))
    return wrapper


_fy_option = click.option("--fy", type=int, default=None,
                          help="Buddhist Era fiscal year (default: the current one).")
_org_option = click.option("--org", "orgs", multiple=True,
                           help="Organization name or id (repeatable; default: all).")


@kpigov.command("score")
@_fy_option
@click.option("--quarter", type=click.IntRange(1, 4), default=None,
              help="Score as at the end of this quarter (default: the year to date).")
@_org_option
@click.option("--rubric", default=None, help="Rubric id (default: the year's).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_with_request
@_scoring_errors
def score_cmd(fy: int | None, quarter: int | None, orgs: tuple[str, ...],
              rubric: str | None, as_json: bool) -> None:
    """Compute the KPI 5.2 score of organizations (nothing is stored)."""
    import json as _json
    import time
    from . import scoring
    year, found = _score_scope(fy, orgs)
    started = time.perf_counter()
    results = scoring.score_orgs(found, year, quarter, rubric)
    took = time.perf_counter() - started
    if as_json:
        click.echo(_json.dumps([scoring.present(r, "full") for r in results.values()],
                               ensure_ascii=False, indent=1, default=str))
        return
    for org in found:
        r = results[org.id]
        steps = "".join("✓" if s["met"] else "·" for s in r["steps"])
        click.echo("%-40s %7.3f%%  points %-8s weighted %6.3f  %s%s" % (
            org.name[:40], r["performance"], r["points"] if r["points"] is not None else "-",
            r["weighted_score"], steps, "  (provisional)" if r["provisional"] else ""))
    first = next(iter(results.values()), None)
    if first:
        click.echo("rubric %s (version %s); %d organization(s) in %.2f s" % (
            first["rubric"]["id"], first["rubric"]["version"], len(results), took))


@kpigov.command("snapshot")
@_fy_option
@click.option("--quarter", type=click.IntRange(1, 4), default=None,
              help="Quarter to freeze (default: the current quarter of the year).")
@_org_option
@click.option("--rubric", default=None, help="Rubric id (default: the year's).")
@_with_request
@_scoring_errors
def snapshot_cmd(fy: int | None, quarter: int | None, orgs: tuple[str, ...],
                 rubric: str | None) -> None:
    """Freeze quarter scores (one transaction; re-running replaces them)."""
    from . import scoring
    year, found = _score_scope(fy, orgs)
    q = quarter or scoring.current_quarter(year)
    results = scoring.snapshot(found, year, q, rubric)
    first = next(iter(results.values()), None)
    click.echo("snapshot FY %s Q%s: %d organization(s)%s" % (
        year, q, len(results), ", rubric %s (version %s)" % (
            first["rubric"]["id"], first["rubric"]["version"]) if first else ""))


@kpigov.command("export")
@_fy_option
@click.option("--quarter", type=click.IntRange(1, 4), default=None)
@click.option("--org", "org", default=None,
              help="One organization's form (default: every organization).")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "json"]),
              default="xlsx", show_default=True)
@click.option("--kind", default=None, help="Only organizations of this kind.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: the export's own name).")
@_with_request
@_scoring_errors
def export_cmd(fy: int | None, quarter: int | None, org: str | None, fmt: str,
               kind: str | None, output: str | None) -> None:
    """Write the evaluation form (Thai headers, rubric id and version stamped)."""
    import ckan.plugins.toolkit as tk
    from .logic.score_actions import org_score, score_rows
    from .views_score import org_file, overview_file
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
    if org:
        year, found = _score_scope(fy, (org,))
        body, _mime, name = org_file(org_score(found[0], year, quarter, site_user), fmt)
    else:
        year, _all = _score_scope(fy, ())
        try:
            data = score_rows(year, quarter, site_user, kind)
        except tk.ValidationError as exc:
            raise click.ClickException(str(exc.error_dict))
        body, _mime, name = overview_file(data, fmt)
    path = output or name
    with open(path, "wb") as out:
        out.write(body)
    click.echo("wrote %s (%d bytes)" % (path, len(body)))


@kpigov.group("rubric")
def rubric_group() -> None:
    """KPI rubrics."""


@rubric_group.command("check")
@click.argument("files", nargs=-1, type=click.Path())
def rubric_check(files: tuple[str, ...]) -> None:
    """Validate rubric files (default: every configured rubric and override).

    Prints one line per file; exits 1 on the first invalid one, naming the
    file, the key and the problem.
    """
    from . import scoring
    from .rubric import RubricError, load_rubric
    try:
        if files:
            for path in files:
                r = load_rubric(path)
                click.echo("ok %s: %s (version %s, %d steps)" % (
                    path, r.id, r.version, len(r.steps)))
        else:
            for rid, r in sorted(scoring.check_rubrics().items()):
                click.echo("ok %s: %s (version %s, %d steps)" % (
                    r.source, rid, r.version, len(r.steps)))
    except RubricError as exc:
        click.echo("error: %s" % exc, err=True)
        raise SystemExit(1)
