"""The job commands: collect, backfill, sync (the main job) and daemon."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Sized
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from collector.alerts.evaluate import run_alerts
from collector.app import App
from collector.cli.common import cli_logging, pass_app, run
from collector.cli.discover import discover_all, rule_groups_exist
from collector.cli.packages import (
    collect_downloads,
    downloads_daemon_job,
    downloads_once,
    packages_exist,
    report_downloads,
    save_config_packages,
)
from collector.cli.serve import serving
from collector.config import DEFAULT_GROUP, DEFAULT_GROUP_NAME, ReportJob, Schedule
from collector.domain import Holder, parse_repo_name, utc_now
from collector.errors import CollectorError
from collector.github.api import GitHubAPI
from collector.jobs.backfill import run_backfill
from collector.jobs.collect import run_collect
from collector.jobs.daemon import Daemon, DaemonJob, cycle_start, make_trigger
from collector.jobs.discover import run_discover, save_config_rules
from collector.jobs.outages import describe_failure, is_outage
from collector.jobs.plan import plan_backfill, render_plan
from collector.jobs.progress import NullReporter, make_reporter
from collector.logs import event, get_logger, setup_logging
from collector.reports.output import run_report_job
from collector.store import leases, migrate
from collector.store.engine import transaction
from collector.store.repos import any_tracked, find_repo, save_tracked_name
from collector.store.runs import RunStatus, finish_run, interrupt_open_runs, start_run


def _error_line(full_name: str, message: str | None) -> str:
    text = message or "failed"
    return f"error: {text}" if text.startswith(full_name) else f"error: {full_name}: {text}"


def track_config_repos(app: App) -> None:
    """Track every repository named in the config's groups (idempotent)."""
    names = app.config.all_repos()
    if names:
        with transaction(app.sessions) as s:
            for name in names:
                save_tracked_name(s, name)


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
    for unfinished in outcome.incomplete:
        click.echo(
            f"note: {unfinished.full_name}: {unfinished.message} (left unknown until the next pass)", err=True
        )
    return len(outcome.results), len(outcome.failed), _usage_line(api, time.monotonic() - started)


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


# Seconds before a singleton job's next fire at which its cluster lock lapses (clock differences between
# daemons are far smaller), so that the next cycle's run can go to any daemon.
SINGLETON_MARGIN = 60.0

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
    with transaction(app.sessions) as s:
        for text in DEFAULT_GROUP:
            save_tracked_name(s, parse_repo_name(text))
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


def _brief(api: GitHubAPI) -> dict[str, Any]:
    snap = api.stats.snapshot()
    return {k: snap[k] for k in ("requests_total", "not_modified", "rest_charged", "graphql_points")}


class _Outcome(Protocol):
    @property
    def results(self) -> Sized: ...
    @property
    def failed(self) -> Sized: ...


class _Runner(Protocol):
    """run_collect and run_backfill, as the daemon calls them."""

    def __call__(
        self,
        sessions: sessionmaker[Session],
        gh: GitHubAPI,
        *,
        holder: Holder,
        cycle_start: datetime | None = None,
        logger: logging.Logger | None = None,
    ) -> Awaitable[_Outcome]: ...


class _DaemonJobs:
    """The daemon's job bodies, on one App."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.log = get_logger()

    def close_leftovers(self, job: str) -> None:
        # A job never overlaps itself in this process, so whatever it still holds at its start was left
        # by an attempt that lost the store mid-run: without this, its leases would block those
        # repositories until they expire and its run would stay "running" for ever.
        with transaction(self.app.sessions) as s:
            leases.release_all(s, job, self.app.holder)
            interrupt_open_runs(s, job, str(self.app.holder))

    async def _pass(self, runner: _Runner, cycle: datetime) -> dict[str, Any]:
        """One pass of `runner` (run_collect or run_backfill) with a new client; what it did, for the log."""
        async with self.app.github() as api:
            try:
                outcome = await runner(
                    self.app.sessions, api, holder=self.app.holder, cycle_start=cycle, logger=self.log
                )
            finally:
                self.app.telemetry.record(api.stats)
        return {"repositories": len(outcome.results), "failed": len(outcome.failed), **_brief(api)}

    def _cycle_by_store(self, job: str) -> datetime:
        """The cycle by the database's clock, not this host's: daemons whose clocks differ agree on which
        cycle a unit was done in, so a host running ahead does not redo what the others finished."""
        with self.app.sessions() as s:
            now = leases.database_now(s)
        return cycle_start(self.app.config.schedules[job], now)

    async def collect(self, cycle: datetime) -> dict[str, Any]:
        self.close_leftovers("collect")
        track_config_repos(self.app)
        done = await self._pass(run_collect, self._cycle_by_store("collect"))
        # Alerts (issue 13): after the collect; their failures are logged as events, never raised.
        return {**done, **await run_alerts(self.app.sessions, self.app.config.alerts, self.log)}

    async def backfill(self, cycle: datetime) -> dict[str, Any]:
        self.close_leftovers("backfill")
        return await self._pass(run_backfill, self._cycle_by_store("backfill"))

    def _first_in_cluster(self, name: str, schedule: Schedule) -> bool:
        """Whether this daemon runs `name` this cycle: one daemon of those sharing the store does (the
        lock lasts until shortly before the next fire, by the database's clock, so it moves on to another
        daemon if this one is gone by then)."""
        now = datetime.now(UTC)
        following = make_trigger(schedule).get_next_fire_time(None, now + timedelta(seconds=1))
        until_next = (following - now).total_seconds() if following else 3600.0
        ttl = timedelta(seconds=max(until_next - SINGLETON_MARGIN, min(until_next, SINGLETON_MARGIN) / 2))
        with transaction(self.app.sessions) as s:
            return leases.try_singleton(s, name, self.app.holder, ttl)

    async def discover(self, cycle: datetime) -> dict[str, Any]:
        """Re-evaluate the rule groups; new members are collected at once (backfilled on schedule)."""
        if not self._first_in_cluster("discover", self.app.config.schedules["discover"]):
            return {"skipped": "another daemon discovers this cycle"}
        save_config_rules(self.app.sessions, self.app.config.rules)
        async with self.app.github() as api:
            try:
                outcomes = await run_discover(self.app.sessions, api, self.app.config.groups, logger=self.log)
            finally:
                self.app.telemetry.record(api.stats)
        joined = sum(o.joined for o in outcomes)
        done = {"groups": len(outcomes), "joined": joined, "failed": sum(1 for o in outcomes if o.error)}
        if joined:
            done["collected"] = (await self.collect(cycle))["repositories"]
        return done

    def report(self, job: ReportJob) -> DaemonJob:
        name = f"report:{job.name}"

        async def body(cycle: datetime) -> dict[str, Any]:
            assert job.schedule is not None
            if not self._first_in_cluster(name, job.schedule):
                return {"skipped": "another daemon writes this report this cycle"}
            # Recorded in `runs` like every job, so a report that cannot be written shows in `collector
            # status` and /metrics, not only in the log.
            with transaction(self.app.sessions) as s:
                run_id = start_run(s, name, str(self.app.holder))
            args = (self.app.sessions, self.app.config, job, utc_now().date())
            try:
                output = await asyncio.to_thread(run_report_job, *args)
            except asyncio.CancelledError:
                with transaction(self.app.sessions) as s:
                    finish_run(s, run_id, RunStatus.INTERRUPTED)
                raise
            except Exception as exc:
                if not is_outage(exc):
                    with transaction(self.app.sessions) as s:
                        finish_run(s, run_id, RunStatus.FAILED, {"error": describe_failure(exc)})
                raise
            with transaction(self.app.sessions) as s:
                finish_run(s, run_id, RunStatus.OK, {"output": str(output)})
            return {"output": str(output)}

        assert job.schedule is not None
        return DaemonJob(name, job.schedule, body)


def _rule_groups_or_unknown(app: App) -> bool:
    try:
        return rule_groups_exist(app)
    except (CollectorError, SQLAlchemyError):
        return True  # the store is down at start: schedule discovery; with no groups it does nothing


@click.command("daemon")
@click.option(
    "--listen", metavar="HOST:PORT", help="Serve HTTP here (default: [server] listen, 127.0.0.1:8080)."
)
@pass_app
def daemon(app: App, listen: str | None) -> None:
    """Run collection, backfill and report jobs on their schedules until SIGTERM or SIGINT, and serve the
    HTTP endpoints (health, metrics, badges, charts) meanwhile."""
    log = setup_logging(app.settings.log_format, app.secrets())
    try:
        if track_default_group_if_idle(app):
            event(log, "default_group", group=DEFAULT_GROUP_NAME, repositories=len(DEFAULT_GROUP))
    except (CollectorError, SQLAlchemyError) as exc:  # the store is down: the jobs retry and say so
        event(log, "default_group_skipped", logging.WARNING, reason=str(exc).splitlines()[0])
    bodies = _DaemonJobs(app)
    schedules = app.config.schedules
    jobs: list[DaemonJob] = [
        DaemonJob("collect", schedules["collect"], bodies.collect, run_at_start=True),
        DaemonJob("backfill", schedules["backfill"], bodies.backfill),
    ]
    if _rule_groups_or_unknown(app):
        jobs.append(DaemonJob("discover", schedules["discover"], bodies.discover, run_at_start=True))
    jobs.extend(bodies.report(job) for job in app.config.reports.values() if job.schedule is not None)
    downloads = downloads_daemon_job(app, bodies._first_in_cluster)  # issue 21: once a day, per cluster
    jobs.extend([downloads] if downloads else [])

    async def run() -> int:
        async with serving(app, listen):  # uvicorn in the daemon's loop, stopped after the jobs
            return await Daemon(jobs, log).run()

    raise SystemExit(asyncio.run(run()))
