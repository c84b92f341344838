"""A page source for the history writers' store tests, and a driver that interleaves workers page by page.

The fake serves fixed pages (the commit walk's and the star history's) and pauses before each page; the
driver resumes one worker's coroutine at a time, so a test decides exactly which worker writes which page
when: no event loop, no timing.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from collector.domain import RepoName, Repository, parse_repo_name
from collector.github.api import GitHubAPI
from collector.github.types import CommitInfo, CommitPage, ForkPage, StarHistoryPage, StarWeek
from collector.jobs.progress import NullReporter
from collector.jobs.series import SeriesContext
from collector.store.engine import transaction
from collector.store.leases import LeaseToken
from collector.store.models import HistoryDaily, HistoryMonthly, HistoryWeekly
from collector.store.repos import save_repository

CREATED = date(2020, 1, 5)
TODAY = date(2020, 6, 3)
_ids = itertools.count(10_000)


class _Pause:
    """Awaiting this hands control back to the driver."""

    def __await__(self) -> Generator[None, None, None]:
        yield


class FakePages:
    """The commit walk's and the star history's pages of one repository, newest first."""

    def __init__(self, commits: Sequence[CommitInfo], weeks: Sequence[StarWeek], per_page: int) -> None:
        self.commits = sorted(commits, key=lambda c: c.committed_at, reverse=True)
        self.weeks = sorted(weeks, key=lambda w: w.week_start, reverse=True)
        self.per_page = per_page

    async def fetch_commits(
        self, name: RepoName, after: str | None = None, since: datetime | None = None
    ) -> AsyncIterator[CommitPage]:
        shown = [c for c in self.commits if since is None or c.committed_at >= since]
        start = int(after) if after else 0
        for i in range(start, max(len(shown), 1), self.per_page):
            await _Pause()
            end = i + self.per_page
            yield CommitPage(tuple(shown[i:end]), str(end), end < len(shown))

    async def fetch_star_history(
        self, name: RepoName, start_url: str | None = None
    ) -> AsyncIterator[StarHistoryPage]:
        start = int(start_url.rpartition("=")[2]) if start_url else 0
        for i in range(start, max(len(self.weeks), 1), self.per_page):
            await _Pause()
            end = i + self.per_page
            yield StarHistoryPage(
                tuple(self.weeks[i:end]), f"star?page={end}" if end < len(self.weeks) else None, None
            )

    async def fetch_star_count(self, name: RepoName) -> int:
        return sum(w.total for w in self.weeks)

    async def fetch_forks(
        self, name: RepoName, start_url: str | None = None, sort: str = "oldest"
    ) -> AsyncIterator[ForkPage]:
        await _Pause()
        yield ForkPage((), None, None)


class SlowPages(FakePages):
    """FakePages that take `delay` seconds per commit page (for tests under a real event loop)."""

    def __init__(self, commits: Sequence[CommitInfo], per_page: int, delay: float) -> None:
        super().__init__(commits, [], per_page)
        self.delay = delay

    async def fetch_commits(
        self, name: RepoName, after: str | None = None, since: datetime | None = None
    ) -> AsyncIterator[CommitPage]:
        async for page in super().fetch_commits(name, after, since):
            await asyncio.sleep(self.delay)
            yield page


def make_repo(sessions: sessionmaker[Session]) -> int:
    """A tracked repository created on CREATED; returns its id."""
    gid = next(_ids)
    created = datetime.combine(CREATED, time(9), tzinfo=UTC)
    with transaction(sessions) as s:
        repo = Repository(github_id=gid, full_name=f"prop/r{gid}", created_at=created)
        return save_repository(s, repo, tracked=True).id


def context(
    sessions: sessionmaker[Session], repo_id: int, pages: FakePages, lease: LeaseToken | None = None
) -> SeriesContext:
    """A backfill context for `repo_id` reading `pages`."""
    gh = cast(GitHubAPI, pages)
    log = logging.getLogger("tests.history")
    name = parse_repo_name(f"prop/r{repo_id}")
    return SeriesContext(sessions, gh, repo_id, name, CREATED, TODAY, NullReporter(), log, CREATED, lease)


Step = Coroutine[Any, Any, str]


def step(coro: Step) -> bool:
    """Run `coro` to its next pause; True when it has finished (its exceptions propagate)."""
    try:
        coro.send(None)
    except StopIteration:
        return True
    return False


def run_to_end(start: Callable[[], Step], retries: int = 50) -> None:
    """Run a fresh worker to its end, starting again (from the stored checkpoint) when it was superseded."""
    from collector.store.checkpoints import CheckpointMoved

    for _ in range(retries):
        coro = start()
        try:
            while not step(coro):
                pass
            return
        except CheckpointMoved:
            continue
    raise AssertionError("the worker never finished")


def stored_series(sessions: sessionmaker[Session], repo_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every history row of the repository, without its id (to compare two repositories)."""
    with sessions() as s:
        daily = s.execute(
            select(HistoryDaily.metric, HistoryDaily.day, HistoryDaily.value, HistoryDaily.source)
            .where(HistoryDaily.repo_id == repo_id)
            .order_by(HistoryDaily.metric, HistoryDaily.day)
        ).all()
        weekly = s.execute(
            select(HistoryWeekly.metric, HistoryWeekly.week_start, HistoryWeekly.value)
            .where(HistoryWeekly.repo_id == repo_id)
            .order_by(HistoryWeekly.metric, HistoryWeekly.week_start)
        ).all()
        monthly = s.execute(
            select(HistoryMonthly.metric, HistoryMonthly.month_start, HistoryMonthly.value)
            .where(HistoryMonthly.repo_id == repo_id)
            .order_by(HistoryMonthly.metric, HistoryMonthly.month_start)
        ).all()
    return {
        "daily": [tuple(r) for r in daily],
        "weekly": [tuple(r) for r in weekly],
        "monthly": [tuple(r) for r in monthly],
    }
