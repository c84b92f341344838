"""The job commands: collect, backfill and sync (the main job); the daemon is in cli/daemon.py."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from datetime import date

import click
from sqlalchemy.exc import IntegrityError

from collector.app import App
from collector.cli.common import cli_logging, pass_app, run
from collector.cli.discover import discover_all, rule_groups_exist
from collector.cli.packages import (
    collect_downloads,
    downloads_once,
    packages_exist,
    report_downloads,
    save_config_packages,
)
from collector.config import DEFAULT_GROUP, DEFAULT_GROUP_NAME
from collector.domain import RepoName, parse_repo_name
from collector.errors import CollectorError
from collector.github.api import GitHubAPI
from collector.jobs.backfill import run_backfill
from collector.jobs.collect import run_collect
from collector.jobs.plan import plan_backfill, render_plan
from collector.jobs.progress import NullReporter, make_reporter
from collector.logs import get_logger
from collector.store import migrate
from collector.store.engine import transaction
from collector.store.repos import any_tracked, find_repo, save_tracked_name


def _error_line(full_name: str, message: str | None) -> str:
    text = message or "failed"
    return f"error: {text}" if text.startswith(full_name) else f"error: {full_name}: {text}"


def _track_names(app: App, names: Iterable[RepoName]) -> None:
    """Track `names` in one transaction. Daemons that start together track the same config names at the
    same moment: the one that loses the race meets the other's rows (IntegrityError) and, asked again,
    finds them."""
    names = list(names)
    for attempt in (1, 2):
        try:
            with transaction(app.sessions) as s:
                for name in names:
                    save_tracked_name(s, name)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def track_config_repos(app: App) -> None:
    """Track every repository named in the config's groups (idempotent)."""
    names = app.config.all_repos()
    if names:
        _track_names(app, names)


def _usage_line(api: GitHubAPI, seconds: float) -> str:
    snap = api.stats.snapshot()
    total = snap["requests_total"]
    share = f"{100 * snap['not_modified'] / total:.0f}%" if total else "n/a"
    return (
        f"{total} requests ({snap['rest_charged']} REST charged, "
        f"{snap['not_modified']} answered 304 = {share}), "
        f"{snap['graphql_points']} GraphQL points, {snap['retries']} retries, {seconds:.1f}s"
    )


async def collect_once(app: App) -> tuple[int, int, str]:
    """One collection pass; returns (repositories, failed, usage line)."""
    started = time.monotonic()
    async with app.github() as api:
        outcome = await run_collect(app.sessions, api, holder=app.holder, logger=get_logger("collect"))
    for failure in outcome.failed:
        click.echo(_error_line(failure.full_name, failure.message), err=True)
    for partly in outcome.steps_failed:
        for reason in partly.step_errors:  # its counters are saved; this step is tried again next pass
            click.echo(_error_line(partly.full_name, reason), err=True)
    for unfinished in outcome.incomplete:
        click.echo(
            f"note: {unfinished.full_name}: {unfinished.message} (left unknown until the next pass)", err=True
        )
    # A repository whose releases failed counts as failed here too: the command's exit code says so.
    failed = len({r.full_name for r in [*outcome.failed, *outcome.steps_failed]})
    return len(outcome.results), failed, _usage_line(api, time.monotonic() - started)


@click.command("collect")
@click.option("--downloads", is_flag=True, help="Fetch the packages' daily downloads instead (PyPI, npm).")
@pass_app
def collect(app: App, downloads: bool) -> None:
    """Collect counters, contributors and 52-week commits of every tracked repository once."""
    if downloads:
        return collect_downloads(app)
    cli_logging(app)
    track_config_repos(app)
    with app.sessions() as s:
        if not any_tracked(s):
            raise CollectorError("no repositories tracked; add some with `collector repos add OWNER/NAME`")
    count, failed, usage = run(collect_once(app))
    click.echo(f"collected {count - failed}/{count} repositories; {usage}")
    if failed:
        raise SystemExit(1)


def _parse_since(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value if len(value) > 7 else value + "-01")
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date; expected YYYY-MM or YYYY-MM-DD") from exc


def _selected_ids(app: App, names: tuple[str, ...]) -> list[int] | None:
    if not names:
        return None
    ids, errors = [], []
    with app.sessions() as s:
        for text in names:
            try:
                row = find_repo(s, parse_repo_name(text))
            except CollectorError as exc:
                errors.append(str(exc))
                continue
            if row is None:
                errors.append(f"{text} is not tracked; add it with `collector repos add {text}`")
            else:
                ids.append(row.id)
    if errors:
        raise CollectorError("; ".join(errors))
    return ids


async def backfill_once(
    app: App, since: date | None, ids: list[int] | None, show_progress: bool
) -> tuple[int, int, str]:
    """Backfill the given (or all due) repositories; returns (repositories, failed, usage line)."""
    started = time.monotonic()
    reporter = make_reporter() if show_progress else NullReporter()
    try:
        async with app.github() as api:
            outcome = await run_backfill(
                app.sessions,
                api,
                holder=app.holder,
                repo_ids=ids,
                since=since,
                reporter=reporter,
                logger=get_logger("backfill"),
            )
    finally:
        reporter.close()
    for failure in outcome.failed:
        click.echo(_error_line(failure.full_name, failure.error), err=True)
    return len(outcome.results), len(outcome.failed), _usage_line(api, time.monotonic() - started)


async def _plan(app: App, ids: list[int] | None, since: date | None) -> str:
    async with app.github() as api:
        return render_plan(await plan_backfill(app.sessions, api, ids, since))


@click.command("backfill")
@click.option(
    "--since", "since_text", metavar="YYYY-MM[-DD]", help="Rebuild from this date (default: creation)."
)
@click.option(
    "--plan", "plan_only", is_flag=True, help="Print the requests and time it will cost; fetch nothing else."
)
@click.argument("names", nargs=-1, metavar="[OWNER/NAME...]")
@pass_app
def backfill(app: App, since_text: str | None, plan_only: bool, names: tuple[str, ...]) -> None:
    """Rebuild stars, forks, weekly commits and contributors history (resumable, incremental)."""
    cli_logging(app)
    since = _parse_since(since_text)
    track_config_repos(app)
    ids = _selected_ids(app, names)
    if plan_only:
        click.echo(run(_plan(app, ids, since)))
        return
    count, failed, usage = run(backfill_once(app, since, ids, show_progress=True))
    click.echo(f"backfilled {count - failed}/{count} repositories; {usage}")
    if failed:
        raise SystemExit(1)


DEFAULT_GROUP_NOTE = (
    f"nothing tracked and no groups configured: tracking the default group {DEFAULT_GROUP_NAME} "
    f"({len(DEFAULT_GROUP)} repositories from the 2017 article)"
)


def track_default_group_if_idle(app: App) -> bool:
    """With nothing tracked and no groups in the config, track the 2017 article's frameworks (sync and
    the daemon both: a first `docker compose up` without a config collects something)."""
    with app.sessions() as s:
        if any_tracked(s) or app.config.groups:
            return False
    _track_names(app, (parse_repo_name(text) for text in DEFAULT_GROUP))
    return True


@click.command("sync")
@pass_app
def sync(app: App) -> None:
    """Upgrade the store, discover rule groups, then collect and backfill every tracked repository (the
    main job)."""
    cli_logging(app)
    before, after = migrate.upgrade(app.engine)
    if before != after:
        click.echo(f"store upgraded from revision {before or 'none'} to {after}")
    track_config_repos(app)
    save_config_packages(app)  # [packages] names repositories to track too
    discover_failed = rule_groups_exist(app) and any(o.error for o in discover_all(app))
    if track_default_group_if_idle(app):
        click.echo(DEFAULT_GROUP_NOTE)
    count, failed, usage = run(collect_once(app))
    click.echo(f"collected {count - failed}/{count} repositories; {usage}")
    b_count, b_failed, b_usage = run(backfill_once(app, None, None, show_progress=sys.stdout.isatty()))
    click.echo(f"backfilled {b_count - b_failed}/{b_count} repositories; {b_usage}")
    downloads = run(downloads_once(app)) if packages_exist(app) else None
    if downloads is not None:
        report_downloads(downloads)
    if failed or b_failed or discover_failed or (downloads and downloads.failed):
        raise SystemExit(1)
