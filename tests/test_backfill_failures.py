"""Failures that belong to one repository: a backfill whose lease is lost mid-repository (it expired and
another daemon claimed it) stops that repository at once; a repository the store refuses fails alone.
Either is recorded with a one-line reason and stays due for the next pass (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import select

from collector.domain import ForkInfo, Holder, RepoName, utc_now
from collector.github.api import GitHubAPI
from collector.github.types import ForkPage
from collector.jobs import backfill
from collector.store import leases
from collector.store.engine import transaction
from collector.store.models import Lease, RepoRow, RunItem
from tests.conftest import Store
from tests.history_fakes import SlowPages, make_repo
from tests.test_history_writers_interleaved import _commits


def test_a_lost_lease_stops_the_repository_which_stays_due(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backfill, "LEASE_TTL", timedelta(seconds=2))  # renewed every 0.5 s
    repo = make_repo(store.sessions)
    # 20 pages of 6 seconds each: the first page write would come 4.8 s after the lease is lost.
    pages = SlowPages(_commits([(d, 0, False, 0) for d in range(0, 140, 7)]), 1, 6.0)
    ours, theirs = Holder("ours.elsewhere", 0, "a"), Holder("theirs.elsewhere", 0, "b")

    async def main() -> tuple[backfill.BackfillOutcome, float]:
        run = asyncio.create_task(
            backfill.run_backfill(store.sessions, cast(GitHubAPI, pages), holder=ours, workers=1)
        )
        await asyncio.sleep(1.2)  # inside the first page
        with transaction(store.sessions) as s:  # time passes: the lease expires, another daemon takes it
            leases.extend(s, "backfill", ours, [repo], timedelta(seconds=-1))
        with transaction(store.sessions) as s:
            assert leases.claim(s, "backfill", theirs, utc_now(), 10) == [repo]
        stolen = time.monotonic()
        outcome = await run
        return outcome, time.monotonic() - stolen

    outcome, took = asyncio.run(main())
    assert took < 3  # stopped by the failed renewal, not after the whole walk
    assert [r.error for r in outcome.failed] == [
        f"the backfill lease on repository {repo} was lost (expired or taken)"
    ]
    with store.sessions() as s:
        lease = s.scalars(select(Lease).where(Lease.job == "backfill", Lease.repo_id == repo)).one()
        item = s.scalars(select(RunItem).where(RunItem.repo_id == repo)).one()
    assert lease.holder == str(theirs) and lease.done_at is None  # still theirs, and not done
    assert item.status == "error" and "lease" in (item.message or "")


class _HugeFork(SlowPages):
    """One repository has a fork whose id PostgreSQL's bigint column refuses (a DataError)."""

    def __init__(self, refused: str) -> None:
        super().__init__(_commits([(d, 0, False, 0) for d in range(0, 30, 7)]), 2, 0.0)
        self.refused = refused

    async def fetch_forks(
        self, name: RepoName, start_url: str | None = None, sort: str = "oldest"
    ) -> AsyncIterator[ForkPage]:
        at = datetime(2020, 2, 1, tzinfo=UTC)
        yield ForkPage((ForkInfo(2**63 if name.full_name == self.refused else 7, at),), None, None)


def test_a_repository_the_store_refuses_fails_alone_and_stays_due(store: Store) -> None:
    if store.backend == "sqlite":
        pytest.skip("SQLite stores any integer: the refusal is PostgreSQL's")
    first, second = make_repo(store.sessions), make_repo(store.sessions)
    with store.sessions() as s:
        names = {i: s.get(RepoRow, i).full_name for i in (first, second)}  # type: ignore[union-attr]
    pages = _HugeFork(names[first])
    holder = Holder("ours.elsewhere", 0, "a")
    cycle = utc_now()
    outcome = asyncio.run(
        backfill.run_backfill(store.sessions, cast(GitHubAPI, pages), holder=holder, cycle_start=cycle)
    )
    assert [r.full_name for r in outcome.failed] == [names[first]]
    (failed,) = outcome.failed
    assert failed.error is not None and "\n" not in failed.error and "NumericValueOutOfRange" in failed.error
    with store.sessions() as s:
        done = dict(s.execute(select(Lease.repo_id, Lease.done_at).where(Lease.job == "backfill")).all())
        items = dict(s.execute(select(RunItem.repo_id, RunItem.status)).all())
    assert done[first] is None and done[second] is not None  # the failed one is due again
    assert items == {first: "error", second: "ok"}
    with transaction(store.sessions) as s:  # another pass of the same cycle takes it again, and only it
        assert leases.claim(s, "backfill", holder, cycle, 10) == [first]
