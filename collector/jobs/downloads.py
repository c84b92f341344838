"""The downloads job: for each configured package, ask its source for the days we do not hold yet and
again for the last day held, which may have been answered before its data was complete.

Etiquette (pypistats.org asks for it; npm is treated alike): no request when we already hold yesterday
(no source has a newer day), and at most one request a UTC day that brings nothing new, so a source
whose day has not landed yet is asked again tomorrow, not every run. What is missing is asked up to our
yesterday: the answer ends at the source's own latest day, which is all the job stores. A day answered
again takes the source's latest count (`corrected` when it changed).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from collector.domain import Holder, utc_now
from collector.downloads import npm
from collector.downloads.http import DownloadsError, DownloadsHTTP
from collector.downloads.pypistats import fetch_pypi_daily
from collector.jobs.outages import describe_failure
from collector.logs import event, get_logger
from collector.store.engine import transaction
from collector.store.packages import StoredPackage, load_downloads, load_packages, save_downloads, save_fetch
from collector.store.runs import RunStatus, finish_run, start_run

# How many of the last days held are asked again with the next ones. The facts sheet: data lands once a
# day, and npm's latest day is yesterday, or the day before when yesterday's data has not landed (a day not
# landed can come back as 0: https://github.com/npm/registry-issue-archive/issues/382). So a day's count
# may change while it is yesterday and is final from the day after: of an answer only its last day can be
# provisional, and until the next ask it is the last day held. Asking from it costs no request more: npm's
# range starts a day earlier, and PyPI's answer holds its 180 days anyway.
PROVISIONAL_DAYS = 1


@dataclass
class DownloadsOutcome:
    """What one run did: packages asked and skipped, new days stored, failures (package, message) and
    requests sent per source."""

    packages: int = 0
    asked: int = 0
    new_days: int = 0
    corrected: int = 0  # days held whose count the source changed
    failed: list[tuple[str, str]] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        """One line for the CLI."""
        sent = ", ".join(f"{s} {self.requests.get(s, 0)}" for s in ("pypi", "npm"))
        return (
            f"downloads: {self.asked}/{self.packages} packages asked, {self.new_days} new days, "
            f"{self.corrected} corrected, {len(self.failed)} failed; requests: {sent}"
        )


def is_due(package: StoredPackage, now: datetime) -> bool:
    """Whether the package's source may have a day we lack and may be asked now (see the module)."""
    yesterday = now.date() - timedelta(days=1)
    if package.fetched_through is not None and package.fetched_through >= yesterday:
        return False
    asked = package.last_fetched_at
    fruitless = asked is not None and (package.advanced_at is None or package.advanced_at < asked)
    return not (fruitless and asked is not None and asked.date() == now.date())


def ask_from(fetched_through: date | None) -> date:
    """The first day to ask npm for: the last PROVISIONAL_DAYS days held and those after (the whole
    history from 2015-01-10 when nothing is held)."""
    if fetched_through is None:
        return npm.FIRST_DAY
    return max(npm.FIRST_DAY, fetched_through + timedelta(days=1 - PROVISIONAL_DAYS))


async def run_downloads(
    sessions: sessionmaker[Session],
    http: DownloadsHTTP,
    *,
    logger: logging.Logger | None = None,
    worker: str | None = None,
    now: datetime | None = None,
) -> DownloadsOutcome:
    """Fetch the missing days of every due package of the tracked repositories and store them.

    A package whose source fails is recorded with its note and the run goes on; anything else that stops
    the run (the store, a bug) closes it as failed with the reason, if the store answers, and is raised;
    a cancelled run is closed as interrupted. The run is recorded under `worker` (this process by
    default), so a later start can close it if the process dies first; `now` is the clock's."""
    log = logger or get_logger("downloads")
    now = now or utc_now()
    with transaction(sessions) as s:
        packages = load_packages(s)
        run_id = start_run(s, "downloads", worker or str(Holder.for_this_process()))
    due = [p for p in packages if is_due(p, now)]
    outcome = DownloadsOutcome(packages=len(packages), asked=len(due))
    job = _Job(sessions, http, now, outcome, log)
    try:
        for package in due:
            if package.ref.source == "pypi":
                await job.pypi(package)
        await job.npm([p for p in due if p.ref.source == "npm"])
    except asyncio.CancelledError:
        _close_stopped_run(sessions, run_id, RunStatus.INTERRUPTED, _stats(outcome, http))
        raise
    except Exception as exc:
        _close_stopped_run(
            sessions, run_id, RunStatus.FAILED, {**_stats(outcome, http), "error": describe_failure(exc)}
        )
        raise
    outcome.requests = dict(http.requests)
    status = (
        RunStatus.OK if not outcome.failed else RunStatus.PARTIAL if outcome.new_days else RunStatus.FAILED
    )
    with transaction(sessions) as s:
        finish_run(s, run_id, status if due else RunStatus.OK, _stats(outcome, http))
    return outcome


def _stats(outcome: DownloadsOutcome, http: DownloadsHTTP) -> dict[str, Any]:
    return {
        "asked": outcome.asked,
        "new_days": outcome.new_days,
        "corrected": outcome.corrected,
        "failed": len(outcome.failed),
        **http.requests,
    }


def _close_stopped_run(
    sessions: sessionmaker[Session], run_id: int, status: RunStatus, stats: dict[str, Any]
) -> None:
    """Close a run that stopped early, if the store answers; if it does not, the run stays open under its
    worker until a later start closes it as interrupted."""
    try:
        with transaction(sessions) as s:
            finish_run(s, run_id, status, stats)
    except SQLAlchemyError:
        pass


@dataclass
class _Job:
    sessions: sessionmaker[Session]
    http: DownloadsHTTP
    now: datetime
    outcome: DownloadsOutcome
    log: logging.Logger

    @property
    def yesterday(self) -> date:
        return self.now.date() - timedelta(days=1)

    def save(self, package: StoredPackage, days: dict[date, int] | None, error: str | None = None) -> None:
        """Store the days the package lacks and those whose count the source changed, and the fetch."""
        with transaction(self.sessions) as s:
            held = load_downloads(s, package.id, since=min(days)) if days else {}
            changed = {d: n for d, n in (days or {}).items() if held.get(d) != n}
            save_downloads(s, package.id, changed)
            save_fetch(s, package.id, self.now, error)
        corrected = sum(d in held for d in changed)
        self.outcome.new_days += len(changed) - corrected
        self.outcome.corrected += corrected
        if error:
            self.outcome.failed.append((f"{package.repo} {package.ref}", error))
            event(self.log, "downloads_failed", logging.WARNING, package=str(package.ref), error=error)

    async def pypi(self, package: StoredPackage) -> None:
        try:
            days = await fetch_pypi_daily(self.http, package.ref.name)
        except DownloadsError as exc:
            self.save(package, None, str(exc))
            return
        self.save(package, days)

    async def npm(self, packages: Sequence[StoredPackage]) -> None:
        """Scoped names one by one; unscoped ones that start on the same day in bulk when that takes
        fewer requests. A name listed by several repositories is asked once and stored for each."""
        scoped: dict[tuple[date, str], list[StoredPackage]] = defaultdict(list)
        by_start: dict[date, dict[str, list[StoredPackage]]] = defaultdict(lambda: defaultdict(list))
        for p in packages:
            start = ask_from(p.fetched_through)
            if p.ref.scoped:
                scoped[(start, p.ref.name)].append(p)
            else:
                by_start[start][p.ref.name].append(p)
        for (start, _), rows in scoped.items():
            await self.npm_one(rows, start)
        for start, by_name in by_start.items():
            names = list(by_name)
            single = len(npm.chunks(start, self.yesterday, bulk=False)) * len(names)
            bulk = len(npm.chunks(start, self.yesterday, bulk=True)) * -(-len(names) // npm.BULK_NAMES)
            if single <= bulk:
                parts = [[name] for name in names]
            else:
                parts = [names[i : i + npm.BULK_NAMES] for i in range(0, len(names), npm.BULK_NAMES)]
            for part in parts:
                if len(part) >= 2:
                    await self.npm_bulk({name: by_name[name] for name in part}, start)
                else:  # a bulk request needs two names: a last slice of one is asked alone
                    await self.npm_one(by_name[part[0]], start)

    def save_all(
        self, rows: Sequence[StoredPackage], days: dict[date, int], error: str | None = None
    ) -> None:
        for p in rows:
            self.save(p, days, error)

    async def npm_one(self, rows: Sequence[StoredPackage], start: date) -> None:
        """One name (the rows of every repository listing it), range by range."""
        name = rows[0].ref.name
        days: dict[date, int] = {}
        try:
            for first, last in npm.chunks(start, self.yesterday, bulk=False):
                days.update(await npm.fetch_npm_range(self.http, name, first, last))
        except DownloadsError as exc:
            self.save_all(rows, days, str(exc))  # the ranges that came are kept: the next run goes on
            return
        self.save_all(rows, days)

    async def npm_bulk(self, by_name: dict[str, list[StoredPackage]], start: date) -> None:
        """Two to 128 distinct unscoped names (with the rows listing each) in bulk, range by range."""
        days: dict[str, dict[date, int]] = {name: {} for name in by_name}
        unknown: set[str] = set()
        try:
            for first, last in npm.chunks(start, self.yesterday, bulk=True):
                answer = await npm.fetch_npm_bulk(self.http, list(days), first, last)
                for name, got in answer.items():
                    if got is None:
                        unknown.add(name)
                    else:
                        days[name].update(got)
        except DownloadsError as exc:
            for name, rows in by_name.items():
                self.save_all(rows, days[name], str(exc))
            return
        for name, rows in by_name.items():
            missing = f"npm:{name}: npm does not know this package; check the name"
            self.save_all(rows, days[name], missing if name in unknown else None)
