"""The daemon: APScheduler 3 runs collection, backfill and report jobs until SIGTERM or SIGINT.

Jobs never overlap themselves (max_instances=1) and coalesce missed runs. Interval schedules are
anchored at a fixed epoch so that several daemons sharing one PostgreSQL agree on the cycle, and the
work of a cycle is split through leases (collector.store.leases). A signal cancels the running jobs:
every write is a transaction, so a cancelled job leaves nothing half-written, and its leases go back.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from collector.config import Schedule, cron_trigger
from collector.jobs.outages import STORE_OUTAGES, describe_failure, is_outage
from collector.logs import event

EPOCH = datetime(2000, 1, 2, tzinfo=UTC)  # a Sunday; interval cycles count from here
SHUTDOWN_GRACE = 8.0  # seconds a cancelled job gets to roll back and release its leases


def make_trigger(schedule: Schedule) -> IntervalTrigger | CronTrigger:
    """The APScheduler trigger for a schedule, in UTC."""
    if schedule.interval_seconds:
        return IntervalTrigger(seconds=schedule.interval_seconds, start_date=EPOCH, timezone=UTC)
    assert schedule.cron is not None
    trigger: CronTrigger = cron_trigger(schedule.cron)
    return trigger


def cycle_start(schedule: Schedule, now: datetime) -> datetime:
    """When the cycle containing `now` began: the latest fire time of the schedule at or before `now`."""
    if schedule.interval_seconds:
        step = schedule.interval_seconds
        elapsed = int((now - EPOCH).total_seconds())
        return EPOCH + timedelta(seconds=elapsed - elapsed % step)
    trigger = make_trigger(schedule)
    for window in (
        timedelta(hours=1),
        timedelta(days=1),
        timedelta(days=8),
        timedelta(days=32),
        timedelta(days=367),
    ):
        fire = trigger.get_next_fire_time(None, now - window)
        if fire is None or fire > now:
            continue
        while True:
            following = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
            if following is None or following > now:
                return fire  # type: ignore[no-any-return]
            fire = following
    return now


JobBody = Callable[[datetime], Awaitable[Any]]


class _AsEvent(logging.Handler):
    """Re-logs a library's records as one `collector` event each (name = the library's logger)."""

    def __init__(self, log: logging.Logger, name: str) -> None:
        super().__init__()
        self.log = log
        self.source = name

    def emit(self, record: logging.LogRecord) -> None:
        fields: dict[str, Any] = {"message": record.getMessage()}
        if record.exc_info and record.exc_info[1] is not None:
            fields["error"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        event(self.log, self.source, record.levelno, **fields)


@dataclass
class DaemonJob:
    """A named job, its schedule and its body (called with the cycle start)."""

    name: str
    schedule: Schedule
    body: JobBody
    run_at_start: bool = False


class Daemon:
    """Schedules jobs and runs them until a signal; survives store and API outages."""

    def __init__(self, jobs: list[DaemonJob], logger: logging.Logger, max_backoff: float = 60.0) -> None:
        self.jobs = jobs
        self.log = logger
        self.max_backoff = max_backoff
        self.stopping = asyncio.Event()
        self.running: set[asyncio.Task[Any]] = set()
        self.store_down = False
        self.github_down = False
        self.scheduler: AsyncIOScheduler | None = None

    async def _run_job(self, job: DaemonJob) -> None:
        """One scheduled run: retried with backoff while the store or GitHub is unreachable, until it
        succeeds; any other failure ends this run with one line (the next scheduled run tries again)."""
        task = asyncio.current_task()
        assert task is not None
        self.running.add(task)
        delay = 1.0
        try:
            while not self.stopping.is_set():
                cycle = cycle_start(job.schedule, datetime.now(UTC))
                event(self.log, "job_started", job=job.name, cycle=cycle.isoformat())
                try:
                    result = await job.body(cycle)
                except Exception as exc:
                    if not is_outage(exc):
                        raise
                    self._outage(job, exc)
                    await asyncio.sleep(delay)
                    delay = min(self.max_backoff, delay * 2)
                    continue
                self._recovered(job)
                done = result if isinstance(result, dict) else {}
                # A pass with failures is not a success: it says so at warning level.
                level = logging.WARNING if done.get("failed") else logging.INFO
                event(self.log, "job_finished", level, job=job.name, **done)
                return
        except asyncio.CancelledError:
            # Only our own shutdown cancels a job: it ends here, so APScheduler does not report it as a
            # failure with a multi-line traceback.
            event(self.log, "job_cancelled", job=job.name)
        except Exception as exc:  # a bug or a refused value must not kill the daemon, nor be retried blindly
            event(self.log, "job_failed", logging.ERROR, job=job.name, error=describe_failure(exc))
        finally:
            self.running.discard(task)

    def _outage(self, job: DaemonJob, exc: Exception) -> None:
        """Log an outage once, in words: the first failed pass names the cause at warning level or above."""
        if isinstance(exc, STORE_OUTAGES):
            if not self.store_down:
                self.store_down = True
                event(self.log, "store_unreachable", logging.ERROR, job=job.name, error=describe_failure(exc))
        elif not self.github_down:
            self.github_down = True
            event(self.log, "github_unreachable", logging.WARNING, job=job.name, error=describe_failure(exc))

    def _recovered(self, job: DaemonJob) -> None:
        if self.store_down:
            self.store_down = False
            event(self.log, "store_recovered", job=job.name)
        if self.github_down:
            self.github_down = False
            event(self.log, "github_recovered", job=job.name)

    def stop(self) -> None:
        """Ask the daemon to stop (signal handler)."""
        if not self.stopping.is_set():
            event(self.log, "stopping", running=len(self.running))
            self.stopping.set()

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit code (0 on a clean stop)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        # APScheduler's and asyncio's own warnings (skipped runs, stray task errors) would otherwise reach
        # stderr through logging's last-resort handler, unformatted and with multi-line tracebacks.
        for name in ("apscheduler", "asyncio"):
            other = logging.getLogger(name)
            other.handlers = [_AsEvent(self.log, name)]
            other.setLevel(logging.WARNING)
            other.propagate = False
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 24 * 3600},
        )
        self.scheduler = scheduler
        now = datetime.now(UTC)
        for job in self.jobs:
            # Without next_run_time the trigger decides; passing None would add the job paused.
            first: dict[str, Any] = {"next_run_time": now} if job.run_at_start else {}
            scheduler.add_job(
                self._run_job, make_trigger(job.schedule), args=[job], id=job.name, name=job.name, **first
            )
            event(self.log, "scheduled", job=job.name, schedule=job.schedule.describe())
        scheduler.start()
        event(self.log, "daemon_started", jobs=",".join(j.name for j in self.jobs))
        await self.stopping.wait()
        scheduler.shutdown(wait=False)
        tasks = list(self.running)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        event(self.log, "daemon_stopped")
        return 0
