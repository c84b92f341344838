"""`collector daemon`: the scheduled jobs (collect, backfill, discover, downloads, reports) and the HTTP
service, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sized
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from collector.alerts.evaluate import run_alerts
from collector.app import App
from collector.cli.common import pass_app
from collector.cli.discover import rule_groups_exist
from collector.cli.jobs import track_config_repos, track_default_group_if_idle
from collector.cli.packages import (
    downloads_daemon_job,
)
from collector.cli.serve import serving
from collector.config import DEFAULT_GROUP, DEFAULT_GROUP_NAME, ReportJob, Schedule
from collector.domain import Holder, utc_now
from collector.errors import CollectorError
from collector.github.api import GitHubAPI
from collector.jobs.backfill import run_backfill
from collector.jobs.collect import run_collect
from collector.jobs.daemon import Daemon, DaemonJob, cycle_start, make_trigger
from collector.jobs.discover import run_discover, save_config_rules
from collector.jobs.outages import describe_failure, is_outage
from collector.logs import event, get_logger, setup_logging
from collector.reports.output import run_report_job
from collector.store import leases
from collector.store.engine import transaction
from collector.store.runs import RunStatus, finish_run, interrupt_open_runs, start_run

# Seconds before a singleton job's next fire at which its cluster lock lapses (clock differences between
# daemons are far smaller), so that the next cycle's run can go to any daemon.
SINGLETON_MARGIN = 60.0


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
        done = {"repositories": len(outcome.results), "failed": len(outcome.failed), **_brief(api)}
        steps_failed = len(getattr(outcome, "steps_failed", ()))  # collect's releases step
        if steps_failed:  # a pass whose releases failed somewhere is not a success either
            done |= {"steps_failed": steps_failed, "failed": len(outcome.failed) + steps_failed}
        return done

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
