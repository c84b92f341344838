"""month_state (each repository's running totals and latest snapshot at each month's end) always equals a
recomputation from the rollups, whichever writer changed them, in whatever order (Hypothesis), on both
backends and with two writers of one repository at once on PostgreSQL; and a ranking or a trend read through
it equals the same read with month_state empty, which probes the rollups instead."""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from collector.domain import Repository, Snapshot, month_start, next_month
from collector.store.engine import transaction
from collector.store.history import rebuild_monthly, save_snapshot
from collector.store.models import HistoryRunning, RepoRow
from collector.store.month_state import MonthState, rebuild_month_state
from collector.store.reports import load_period_grid
from collector.store.repos import save_repository
from collector.store.rollups import rebuild_report_rollups
from tests.conftest import Store
from tests.test_store_report_rollups import _rollups
from tests.test_store_running_totals import START, _as_date, _write

State = dict[tuple[int, date], tuple[object, ...]]
SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _snapshot(s: Session, repo_id: int, day: date, value: int) -> None:
    at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)
    contributors = None if value % 4 == 0 else value // 2
    save_snapshot(
        s,
        repo_id,
        Snapshot(at, stars=value, forks=value // 3, watchers=0, open_issues=0, contributors=contributors),
    )


def _expected(s: Session) -> State:
    """Every month from each repository's first month in either rollup to its last: the latest running
    total of each metric and the latest monthly snapshot up to its end, recomputed here."""
    running: dict[tuple[int, str], list[tuple[date, int]]] = {}
    for r, m, d, t in s.execute(
        select(
            HistoryRunning.repo_id, HistoryRunning.metric, HistoryRunning.month_start, HistoryRunning.total
        )
    ):
        running.setdefault((r, m), []).append((_as_date(d), t))
    snaps: dict[int, list[tuple[date, tuple[object, ...]]]] = {}
    for (r, month), latest in _rollups(s)[1].items():  # each month's latest snapshot
        snaps.setdefault(r, []).append((month, latest))
    months: dict[int, list[date]] = {}
    for (r, _), rows in running.items():
        months.setdefault(r, []).extend(d for d, _ in rows)
    for r, rows in snaps.items():
        months.setdefault(r, []).extend(d for d, _ in rows)
    out: State = {}
    for r, seen in months.items():
        month = min(seen)
        while month <= max(seen):
            totals = tuple(
                max(((d, t) for d, t in running.get((r, m), []) if d <= month), default=(None, None))[1]
                for m in ("stars", "forks", "contributors")
            )
            snap = max(((d, v) for d, v in snaps.get(r, []) if d <= month), default=(None, (None,) * 4))[1]
            out[(r, month)] = (*totals, *snap)
            month = next_month(month)
    return out


def _stored(s: Session) -> State:
    rows = s.execute(select(MonthState)).scalars()
    return {
        (m.repo_id, _as_date(m.month_start)): (
            m.stars_total,
            m.forks_total,
            m.contributors_total,
            None if m.snap_day is None else _as_date(m.snap_day),
            m.snap_stars,
            m.snap_forks,
            m.snap_contributors,
        )
        for m in rows
    }


def _check(s: Session) -> None:
    """Every month between a repository's first and last has its row, and every stored row is right (a row
    past the last month, left by a write that emptied later months, still carries the right state)."""
    expected, stored = _expected(s), _stored(s)
    assert expected.keys() <= stored.keys()
    for key, row in stored.items():
        months = [m for r, m in expected if r == key[0]]
        last = max(months, default=None)
        want = expected.get(key) if last is None or key[1] <= last else expected[(key[0], last)]
        assert row == want, key


def _grids_agree(s: Session, ids: list[int], at: date, today: date) -> None:
    """A ranking at `at` and a monthly trend to it read the same through month_state as without it."""
    reads = [
        ("day", at, at, ("stars", "forks", "contributors"), at == today),
        ("month", month_start(at - timedelta(days=70)), at, ("stars", "forks", "contributors"), at == today),
        ("week", at - timedelta(days=20), at, ("stars",), at == today),
    ]
    with_state = [load_period_grid(s, ids, *read) for read in reads]
    s.execute(delete(MonthState))
    for read, grid in zip(reads, with_state, strict=True):
        probed = load_period_grid(s, ids, *read)
        for metric in ("stars", "forks", "contributors"):
            assert np.array_equal(grid.values[metric], probed.values[metric]), (read, metric)
            assert np.array_equal(grid.missing[metric], probed.missing[metric]), (read, metric)
            assert np.array_equal(grid.sources[metric], probed.sources[metric]), (read, metric)
        assert np.array_equal(grid.has_data, probed.has_data), read
    s.rollback()


write_st = st.tuples(st.integers(0, 7), st.integers(0, 1), st.integers(0, 10_000))


@SETTINGS
@given(writes=st.lists(write_st, min_size=1, max_size=14), at=st.integers(0, 230))
def test_month_state_equals_a_recomputation_whatever_the_order_of_writes(
    store: Store, writes: list[tuple[int, int, int]], at: int
) -> None:
    with transaction(store.sessions) as s:
        s.execute(delete(RepoRow))
        ids = [save_repository(s, Repository(github_id=900 + i, full_name=f"r/m{i}")).id for i in range(2)]
    for step, (kind, which, seed) in enumerate(writes):
        rnd = random.Random(seed)
        with transaction(store.sessions) as s:
            if kind >= 6:  # an observation, on any day (a bulk import writes old ones)
                _snapshot(s, ids[which], START + timedelta(days=rnd.randint(0, 200)), rnd.randint(0, 50))
            else:
                _write(s, rnd, ids[which], kind, step + 1)
        with store.sessions() as s:
            _check(s)
    today = START + timedelta(days=230)
    with store.sessions() as s:
        _grids_agree(s, ids, START + timedelta(days=at), today)
        _grids_agree(s, ids, today, today)
    # A rebuild after a bulk load gives the same rows; deleting a repository takes its rows along.
    with transaction(store.sessions) as s:
        before = _stored(s)
        rebuild_monthly(s)
        rebuild_report_rollups(s)
    with transaction(store.sessions) as s:
        assert _stored(s) == before
        rebuild_month_state(s, [ids[0]])
        assert _stored(s) == before
        s.execute(delete(RepoRow).where(RepoRow.id == ids[0]))
    with store.sessions() as s:
        assert {r for r, _ in _stored(s)} <= {ids[1]}
        _check(s)


def test_a_month_without_writes_between_two_gets_its_row(store: Store) -> None:
    """Observations months apart (a repository collected again after a pause) leave no month without a
    row between them: a ranking in the pause reads the state, not a probe."""
    with transaction(store.sessions) as s:
        repo = save_repository(s, Repository(github_id=950, full_name="r/pause")).id
    with transaction(store.sessions) as s:
        _snapshot(s, repo, date(2020, 1, 15), 10)
    with transaction(store.sessions) as s:
        _snapshot(s, repo, date(2020, 6, 2), 30)
    with store.sessions() as s:
        stored = _stored(s)
        assert sorted(m for _, m in stored) == [date(2020, k, 1) for k in range(1, 7)]
        assert stored[(repo, date(2020, 4, 1))][3:5] == (date(2020, 1, 15), 10)
        _check(s)


def test_two_writers_of_one_repository_at_once_leave_it_exact(store: Store) -> None:
    """A collector saving snapshots and a backfill writing history of the same repository, at the same
    time from two connections: each recomputes under the repository's lock, with the other's rows."""
    if store.backend != "postgresql":
        return  # one writer at a time on SQLite
    with transaction(store.sessions) as s:
        repo = save_repository(s, Repository(github_id=960, full_name="r/two")).id
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(kind: int) -> None:
        rnd = random.Random(kind)
        try:
            start.wait()
            for step in range(25):
                with transaction(store.sessions) as s:
                    if kind:
                        _snapshot(s, repo, START + timedelta(days=rnd.randint(0, 200)), rnd.randint(0, 50))
                    else:
                        _write(s, rnd, repo, step % 3, step + 1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.sessions() as s:
        assert len(_stored(s)) > 3
        _check(s)
