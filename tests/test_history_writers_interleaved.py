"""Two workers on one series, their pages interleaved, duplicated, killed and replayed in any order
(Hypothesis), store the same commit walk and star history as one worker's run (SQLite and PostgreSQL).

A page is applied only where it follows the stored checkpoint: the worker that finds the checkpoint moved
stops (CheckpointMoved) and a fresh one resumes from the stored cursor, as the next run would.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from collector.github.types import CommitInfo, StarWeek
from collector.jobs.commit_history import backfill_commit_walk
from collector.jobs.star_history import backfill_stars
from collector.store.checkpoints import CheckpointMoved
from tests.conftest import Store
from tests.history_fakes import (
    CREATED,
    TODAY,
    FakePages,
    Step,
    context,
    make_repo,
    run_to_end,
    step,
    stored_series,
)

DAYS = (TODAY - CREATED).days

commit_st = st.builds(
    lambda day, minute, merge, author: (day, minute, merge, author),
    st.integers(0, DAYS),
    st.integers(0, 24 * 60 - 1),
    st.booleans(),
    st.integers(0, 4),
)
week_st = st.lists(st.integers(0, 3), min_size=7, max_size=7)
# 0/1: worker 0/1 writes its next page; 2/3: worker 0/1 is killed and started again.
schedule_st = st.lists(st.sampled_from([0, 1, 0, 1, 0, 1, 2, 3]), min_size=2, max_size=30)
ALTERNATE = [0, 1] * 8


def _commits(raw: list[tuple[int, int, bool, int]]) -> list[CommitInfo]:
    out = []
    for i, (day, minute, merge, author) in enumerate(raw):
        at = datetime.combine(CREATED + timedelta(days=day), time(0), tzinfo=UTC) + timedelta(minutes=minute)
        out.append(
            CommitInfo(f"c{i}", at - timedelta(hours=1), f"e:a{author}@example.com", at, 2 if merge else 1)
        )
    return out


def _weeks(raw: list[list[int]]) -> list[StarWeek]:
    return [StarWeek(CREATED + timedelta(weeks=i), sum(days), tuple(days)) for i, days in enumerate(raw)]


def _interleave(start: Callable[[], Step], schedule: list[int]) -> None:
    """Two workers of one series, driven page by page by `schedule`, then each run to its end."""
    workers = [start(), start()]
    try:
        for action in schedule:
            w = action % 2
            if action >= 2:  # killed between two pages, then started again: it resumes from the checkpoint
                workers[w].close()
                workers[w] = start()
                continue
            try:
                if step(workers[w]):
                    workers[w] = start()  # finished: a later run of the same worker replays the series
            except CheckpointMoved:
                workers[w] = start()  # superseded: started again, it follows the stored checkpoint
    finally:
        for coro in workers:
            coro.close()
    run_to_end(start)
    run_to_end(start)


SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(raw=st.lists(commit_st, max_size=25), per_page=st.integers(1, 4), schedule=schedule_st)
@example(raw=[(d, 0, False, d % 3) for d in range(0, DAYS, 10)], per_page=2, schedule=ALTERNATE)
def test_commit_walk_pages_of_two_workers_count_once(
    store: Store, raw: list[tuple[int, int, bool, int]], per_page: int, schedule: list[int]
) -> None:
    pages = FakePages(_commits(raw), [], per_page)
    solo, shared = make_repo(store.sessions), make_repo(store.sessions)
    run_to_end(lambda: backfill_commit_walk(context(store.sessions, solo, pages)))
    _interleave(lambda: backfill_commit_walk(context(store.sessions, shared, pages)), schedule)
    expected = stored_series(store.sessions, solo)
    assert sum(v for m, _, v in expected["weekly"] if m == "commits") == sum(1 for r in raw if not r[2])
    assert stored_series(store.sessions, shared) == expected


@SETTINGS
@given(raw=st.lists(week_st, min_size=1, max_size=20), per_page=st.integers(1, 4), schedule=schedule_st)
@example(raw=[[1, 0, 2, 0, 0, 1, 0]] * 9, per_page=2, schedule=ALTERNATE)
def test_star_history_pages_of_two_workers_count_once(
    store: Store, raw: list[list[int]], per_page: int, schedule: list[int]
) -> None:
    pages = FakePages([], _weeks(raw), per_page)
    solo, shared = make_repo(store.sessions), make_repo(store.sessions)
    run_to_end(lambda: backfill_stars(context(store.sessions, solo, pages)))
    _interleave(lambda: backfill_stars(context(store.sessions, shared, pages)), schedule)
    expected = stored_series(store.sessions, solo)
    assert sum(v for m, _, v, _ in expected["daily"] if m == "stars") == sum(map(sum, raw))
    assert stored_series(store.sessions, shared) == expected


def test_a_superseded_worker_writes_nothing(store: Store) -> None:
    """The worker whose checkpoint moved under it fails on its next page, and its page is not stored."""
    commits = _commits([(d, 0, False, d % 3) for d in range(0, DAYS, 9)])
    pages = FakePages(commits, [], 2)
    repo = make_repo(store.sessions)
    a = backfill_commit_walk(context(store.sessions, repo, pages))
    b = backfill_commit_walk(context(store.sessions, repo, pages))
    assert not step(a) and not step(b)  # both loaded the same (empty) checkpoint
    assert not step(a)  # a writes page 1
    before = stored_series(store.sessions, repo)
    with pytest.raises(CheckpointMoved):
        step(b)  # b's page 1 does not follow the stored checkpoint any more
    assert stored_series(store.sessions, repo) == before
    a.close()
