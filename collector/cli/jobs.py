"""The job commands: collect, backfill, sync, status and daemon (registered on the `collector` group)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from collector.config import DEFAULT_GROUP, DEFAULT_GROUP_NAME, Config
from collector.domain import parse_repo_name, utc_now
from collector.errors import CollectorError
from collector.github.client import GitHubClient
from collector.jobs.backfill import run_backfill
from collector.jobs.collect import run_collect
from collector.jobs.daemon import Daemon, DaemonJob
from collector.jobs.plan import plan_backfill, render_plan
from collector.jobs.progress import NullReporter, make_reporter
from collector.logs import get_logger, setup_logging
from collector.store import leases, migrate
from collector.store.engine import transaction
from collector.store.http_cache import StoreCache
from collector.store.repos import find_repo, load_repos, save_tracked_name
from collector.store.runs import interrupt_open_runs, load_repo_status, load_token_budgets

T = TypeVar("T")


# The commands print one `error:` line per failed repository themselves; the log would repeat it.
PRINTED_EVENTS = ("repo_failed", "repo_incomplete", "series_failed")


def cli_logging(app: Any) -> None:
    """Warnings (waits, retries) on stderr for interactive commands; failures are printed as errors."""
    setup_logging(app.settings.log_format, app.settings.secrets(), logging.WARNING, PRINTED_EVENTS)


def _error_line(full_name: str, message: str | None) -> str:
    text = message or "failed"
    return f"error: {text}" if text.startswith(full_name) else f"error: {full_name}: {text}"


def make_holder() -> str:
    """A name for this process in leases and runs: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def make_client(app: Any) -> GitHubClient:
    """The GitHub client every job shares, with validators and budgets kept in the store."""
    client_cfg = app.config.client
    return GitHubClient(
        app.settings,
        cache=StoreCache(app.sessions),
        concurrency=client_cfg.get("concurrency", 4),
        reserve=client_cfg.get("reserve", 50),
        graphql_batch=client_cfg.get("graphql_batch", 50),
        pacer=app.pacer,
    )


def track_config_repos(app: Any, config: Config) -> None:
    """Track every repository named in the config's groups (idempotent)."""
    repos = config.all_repos()
    if repos:
        with transaction(app.sessions) as s:
            for name in repos:
                save_tracked_name(s, name)


def _run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def _usage_line(gh: GitHubClient, seconds: float) -> str:
    snap = gh.stats.snapshot()
    total = snap["requests_total"]
    share = f"{100 * snap['not_modified'] / total:.0f}%" if total else "n/a"
    return (
        f"{total} requests ({snap['rest_charged']} REST charged, "
        f"{snap['not_modified']} answered 304 = {share}), "
        f"{snap['graphql_points']} GraphQL points, {snap['retries']} retries, {seconds:.1f}s"
    )


async def collect_once(app: Any, holder: str, cycle: datetime | None = None) -> tuple[int, int, str]:
    """One collection pass; returns (repositories, failed, usage line)."""
    started = time.monotonic()
    async with make_client(app) as gh:
        outcome = await run_collect(
            app.sessions, gh, holder=holder, cycle_start=cycle, logger=get_logger("collect")
        )
    for failure in outcome.failed:
        click.echo(_error_line(failure.full_name, failure.message), err=True)
    for unfinished in outcome.incomplete:
        click.echo(
            f"note: {unfinished.full_name}: {unfinished.message} (left unknown until the next pass)", err=True
        )
    return len(outcome.results), len(outcome.failed), _usage_line(gh, time.monotonic() - started)


@click.command("collect")
@click.pass_obj
def collect(app: Any) -> None:
    """Collect counters, contributors and 52-week commits of every tracked repository once."""
    cli_logging(app)
    track_config_repos(app, app.config)
    if not load_tracked(app):
        raise CollectorError("no repositories tracked; add some with `collector repos add OWNER/NAME`")
    count, failed, usage = _run(collect_once(app, make_holder()))
    click.echo(f"collected {count - failed}/{count} repositories; {usage}")
    if failed:
        raise SystemExit(1)


def load_tracked(app: Any) -> list[Any]:
    with app.sessions() as s:
        return load_repos(s)


def _parse_since(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value if len(value) > 7 else value + "-01")
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date; expected YYYY-MM or YYYY-MM-DD") from exc


def _selected_ids(app: Any, names: tuple[str, ...]) -> list[int] | None:
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
    app: Any, holder: str, since: date | None, ids: list[int] | None, show_progress: bool
) -> tuple[int, int, str]:
    """Backfill the given (or all due) repositories; returns (repositories, failed, usage line)."""
    started = time.monotonic()
    reporter = make_reporter() if show_progress else NullReporter()
    try:
        async with make_client(app) as gh:
            outcome = await run_backfill(
                app.sessions,
                gh,
                holder=holder,
                repo_ids=ids,
                since=since,
                reporter=reporter,
                logger=get_logger("backfill"),
            )
    finally:
        reporter.close()
    for failure in outcome.failed:
        click.echo(_error_line(failure.full_name, failure.error), err=True)
    return len(outcome.results), len(outcome.failed), _usage_line(gh, time.monotonic() - started)


@click.command("backfill")
@click.option(
    "--since", "since_text", metavar="YYYY-MM[-DD]", help="Rebuild from this date (default: creation)."
)
@click.option(
    "--plan", "plan_only", is_flag=True, help="Print the requests and time it will cost; fetch nothing else."
)
@click.argument("names", nargs=-1, metavar="[OWNER/NAME...]")
@click.pass_obj
def backfill(app: Any, since_text: str | None, plan_only: bool, names: tuple[str, ...]) -> None:
    """Rebuild stars, forks, weekly commits and contributors history (resumable, incremental)."""
    cli_logging(app)
    since = _parse_since(since_text)
    track_config_repos(app, app.config)
    ids = _selected_ids(app, names)
    if plan_only:

        async def plan() -> str:
            async with make_client(app) as gh:
                return render_plan(await plan_backfill(app.sessions, gh, ids, since))

        click.echo(_run(plan()))
        return
    count, failed, usage = _run(backfill_once(app, make_holder(), since, ids, show_progress=True))
    click.echo(f"backfilled {count - failed}/{count} repositories; {usage}")
    if failed:
        raise SystemExit(1)


@click.command("sync")
@click.pass_obj
def sync(app: Any) -> None:
    """Upgrade the store, then collect and backfill every tracked repository (the main job)."""
    cli_logging(app)
    before, after = migrate.upgrade(app.engine)
    if before != after:
        click.echo(f"store upgraded from revision {before or 'none'} to {after}")
    track_config_repos(app, app.config)
    if not load_tracked(app) and not app.config.groups:
        with transaction(app.sessions) as s:
            for text in DEFAULT_GROUP:
                save_tracked_name(s, parse_repo_name(text))
        click.echo(
            f"nothing tracked and no groups configured: tracking the default group {DEFAULT_GROUP_NAME} "
            f"({len(DEFAULT_GROUP)} repositories from the 2017 article)"
        )
    holder = make_holder()
    count, failed, usage = _run(collect_once(app, holder))
    click.echo(f"collected {count - failed}/{count} repositories; {usage}")
    b_count, b_failed, b_usage = _run(
        backfill_once(app, holder, None, None, show_progress=sys.stdout.isatty())
    )
    click.echo(f"backfilled {b_count - b_failed}/{b_count} repositories; {b_usage}")
    if failed or b_failed:
        raise SystemExit(1)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "-"


def _number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def render_gap(observed: int | None, rebuilt: int | None) -> str:
    """GitHub's count and how far the rebuilt history ends from it (same thing counted): `41,628 / -12`."""
    if observed is None:
        return "-"
    if rebuilt is None:
        return f"{observed:,} / -"
    diff = rebuilt - observed
    return f"{observed:,} / {'0' if diff == 0 else f'{diff:+,d}'}"


def render_versus(observed: int | None, ours: int | None, counted: str) -> str:
    """GitHub's count beside ours where the two count different sets: `75,012 / 72,100 direct`."""
    if observed is None and ours is None:
        return "-"
    return f"{_number(observed)} / {'-' if ours is None else f'{ours:,} {counted}'}"


@click.command("status")
@click.pass_obj
def status(app: Any) -> None:
    """Per repository: last success, last error, history coverage and gaps; per token: budget left."""
    with app.sessions() as s:
        rows = load_repo_status(s)
        budgets = load_token_budgets(s)
    console = Console(width=max(100, Console().width))
    table = Table(title="repositories")
    # GitHub's numbers first, then ours: the gap for stars (both count stargazers); for forks the direct
    # forks listed (GitHub counts the whole network), for contributors the identities the commit walk
    # found (GitHub's anon=1 count links only the first 500 emails to users).
    for col in (
        "repo",
        "last success",
        "last error",
        "history",
        "stars obs/gap",
        "forks obs/listed",
        "contrib. obs/walk",
        "series",
    ):
        table.add_column(col)
    for r in rows:
        history = f"{r.history_from} .. {r.history_to}" if r.history_from else "none"
        table.add_row(
            r.full_name + (f" (gone: {r.gone_reason})" if r.gone_reason else ""),
            _when(r.last_success),
            f"{_when(r.last_error)} {r.last_error_message or ''}".strip() if r.last_error else "-",
            history,
            render_gap(r.observed_stars, r.reconstructed_stars),
            render_versus(r.observed_forks, r.direct_forks, "direct"),
            render_versus(r.observed_contributors, r.walked_contributors, "walked"),
            ", ".join(f"{k}: {v}" for k, v in sorted(r.series.items())) or "-",
        )
    console.print(table)
    if not rows:
        console.print("no repositories tracked")
    tokens = Table(title="tokens (by position in GITHUB_TOKEN, or GitHub App installation)")
    for col in ("token", "resource", "remaining", "limit", "resets at (UTC)"):
        tokens.add_column(col)
    for b in budgets:
        tokens.add_row(b.label, b.resource, str(b.remaining), str(b.limit), _when(b.reset_at))
    console.print(tokens if budgets else "no token budgets seen yet")


@click.command("daemon")
@click.pass_obj
def daemon(app: Any) -> None:
    """Run collection, backfill and report jobs on their schedules until SIGTERM or SIGINT."""
    log = setup_logging(app.settings.log_format, app.settings.secrets())
    holder = make_holder()
    config: Config = app.config

    def close_leftovers(job: str) -> None:
        # A job never overlaps itself in this process, so whatever it still holds at its start was left
        # by an attempt that lost the store mid-run: without this, its leases would block those
        # repositories until they expire and its run would stay "running" for ever.
        with transaction(app.sessions) as s:
            leases.release_all(s, job, holder)
            interrupt_open_runs(s, job, holder)

    async def collect_job(cycle: datetime) -> dict[str, Any]:
        close_leftovers("collect")
        track_config_repos(app, config)
        async with make_client(app) as gh:
            outcome = await run_collect(app.sessions, gh, holder=holder, cycle_start=cycle, logger=log)
        return {"repositories": len(outcome.results), "failed": len(outcome.failed), **_brief(gh)}

    async def backfill_job(cycle: datetime) -> dict[str, Any]:
        close_leftovers("backfill")
        async with make_client(app) as gh:
            outcome = await run_backfill(app.sessions, gh, holder=holder, cycle_start=cycle, logger=log)
        return {"repositories": len(outcome.results), "failed": len(outcome.failed), **_brief(gh)}

    jobs = [
        DaemonJob("collect", config.schedules["collect"], collect_job, run_at_start=True),
        DaemonJob("backfill", config.schedules["backfill"], backfill_job),
    ]
    jobs.extend(_report_jobs(app, config))
    raise SystemExit(asyncio.run(Daemon(jobs, log).run()))


def _brief(gh: GitHubClient) -> dict[str, Any]:
    snap = gh.stats.snapshot()
    return {k: snap[k] for k in ("requests_total", "not_modified", "rest_charged", "graphql_points")}


def _report_jobs(app: Any, config: Config) -> list[DaemonJob]:
    jobs = []
    for job in config.reports.values():
        if job.schedule is None:
            continue

        def body(cycle: datetime, job: Any = job) -> Awaitable[dict[str, Any]]:
            return _write_report(app, job, cycle)

        jobs.append(DaemonJob(f"report:{job.name}", job.schedule, body))
    return jobs


async def _write_report(app: Any, job: Any, cycle: datetime) -> dict[str, Any]:
    from collector.reports.command import run_report_job

    path = await asyncio.to_thread(run_report_job, app, job, utc_now().date())
    return {"output": str(path)}


def register(group: click.Group) -> None:
    """Add the job commands to the `collector` group."""
    for command in (collect, backfill, sync, status, daemon):
        group.add_command(command)
