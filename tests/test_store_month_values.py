"""month_values (each repository's monthly report values, packed) gives exactly the grid the live
computation gives, for any span, metrics and mix of packed, stale and unpacked repositories (Hypothesis), on
both backends; a write makes a repository's row stale in its own transaction, and packing again brings it
back; packing takes only what is missing or stale."""

from __future__ import annotations

import random
import threading
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from collector.domain import HistoryPoint, Repository
from collector.store.columns import unpack_bytea_array
from collector.store.engine import make_engine, transaction
from collector.store.history import save_history_daily, save_history_weekly
from collector.store.month_values import MonthValues
from collector.store.report_grid import PeriodGrid
from collector.store.reports import load_period_grid, refresh_month_values
from collector.store.repos import save_repository
from tests.conftest import Store
from tests.test_store_month_state import _snapshot
from tests.test_store_running_totals import START, _write

TODAY = START + timedelta(days=230)
SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
METRIC_SETS = [("stars", "forks", "contributors", "commits"), ("stars",), ("contributors", "commits")]


def _fill(store: Store, writes: list[tuple[int, int, int]]) -> list[int]:
    with transaction(store.sessions) as s:
        s.execute(delete(MonthValues))
        ids = [save_repository(s, Repository(github_id=700 + i, full_name=f"r/v{i}")).id for i in range(3)]
    for step, (kind, which, seed) in enumerate(writes):
        _one_write(store, kind, ids[which], seed, step)
    return ids


def _one_write(store: Store, kind: int, repo_id: int, seed: int, step: int) -> None:
    rnd = random.Random(seed)
    with transaction(store.sessions) as s:
        if kind == 6:
            _snapshot(s, repo_id, START + timedelta(days=rnd.randint(0, 220)), rnd.randint(0, 50))
        elif kind == 7:
            sunday = START - timedelta(days=(START.weekday() + 1) % 7)
            weeks = [sunday + timedelta(weeks=rnd.randint(0, 30)) for _ in range(4)]
            points = {w: HistoryPoint("commits", w, rnd.randint(0, 9), "t") for w in weeks}
            save_history_weekly(s, repo_id, list(points.values()))
        else:
            _write(s, rnd, repo_id, kind, step + 1)


def _assert_same(packed: PeriodGrid, live: PeriodGrid, what: object) -> None:
    assert packed.starts == live.starts and packed.ends == live.ends, what
    assert np.array_equal(packed.repo_ids, live.repo_ids), what
    assert np.array_equal(packed.has_data, live.has_data), what
    for metric, values in live.values.items():
        assert np.array_equal(packed.missing[metric], live.missing[metric]), (what, metric)
        known = ~live.missing[metric]
        assert np.array_equal(packed.values[metric][known], values[known]), (what, metric)
    for metric, codes in live.sources.items():
        assert np.array_equal(packed.sources[metric], codes), (what, metric)


def _reads(s: Session, ids: list[int], spans: list[tuple[int, int, int]]) -> list[PeriodGrid]:
    out = []
    for first_days, length, metric_set in spans:
        first = (START + timedelta(days=first_days)).replace(day=1)
        until = min(first + timedelta(days=length), TODAY)
        out.append(load_period_grid(s, ids, "month", first, until, METRIC_SETS[metric_set], until == TODAY))
    return out


def _compare(store: Store, ids: list[int], spans: list[tuple[int, int, int]]) -> None:
    """Each read as it is now (some rows packed) equals the same read with no rows at all."""
    with store.sessions() as s:
        now = _reads(s, ids, spans)
        s.execute(delete(MonthValues))
        live = _reads(s, ids, spans)
        s.rollback()
    for k, (a, b) in enumerate(zip(now, live, strict=True)):
        _assert_same(a, b, spans[k])


write_st = st.tuples(st.integers(0, 7), st.integers(0, 2), st.integers(0, 10_000))
span_st = st.tuples(st.integers(-60, 240), st.integers(0, 300), st.integers(0, 2))


@SETTINGS
@given(
    writes=st.lists(write_st, min_size=1, max_size=12),
    later=st.lists(write_st, max_size=3),
    spans=st.lists(span_st, min_size=1, max_size=4),
)
def test_packed_months_equal_the_live_computation(
    store: Store,
    writes: list[tuple[int, int, int]],
    later: list[tuple[int, int, int]],
    spans: list[tuple[int, int, int]],
) -> None:
    ids = _fill(store, writes)
    refresh_month_values(store.sessions, TODAY)
    with store.sessions() as s:
        packed = s.scalar(select(func.count()).select_from(MonthValues))
    assert packed is not None and packed >= 1
    _compare(store, ids, spans)
    for step, (kind, which, seed) in enumerate(later):  # stale rows: left out, never read
        _one_write(store, kind, ids[which], seed, 100 + step)
    _compare(store, ids, spans)
    refresh_month_values(store.sessions, TODAY)
    _compare(store, ids, spans)


def test_packing_takes_what_is_missing_or_stale_and_reads_use_it(store: Store) -> None:
    ids = _fill(store, [(k % 8, k % 3, k) for k in range(16)])
    assert refresh_month_values(store.sessions, TODAY) == 3
    assert refresh_month_values(store.sessions, TODAY) == 0  # all current
    _one_write(store, 6, ids[1], 5, 99)  # one repository's data changes: its row alone is stale
    assert refresh_month_values(store.sessions, TODAY) == 1
    # A month later there is one more whole month to hold: every row is short of it.
    assert refresh_month_values(store.sessions, TODAY + timedelta(days=31)) == 3
    with store.sessions() as s:
        grid = load_period_grid(s, ids, "month", date(2016, 11, 1), TODAY, ("stars",), True)
    assert grid.has_data.any()
    _compare(store, ids, [(-30, 400, 0), (0, 60, 1), (45, 10, 2)])


def test_a_value_past_32_bits_is_not_packed_and_reads_stay_exact(store: Store) -> None:
    ids = _fill(store, [(6, 0, 1), (6, 1, 2)])
    days = [START + timedelta(days=3), START + timedelta(days=40)]  # two months: only the sum passes 32 bits
    with transaction(store.sessions) as s:
        save_history_daily(s, ids[1], [HistoryPoint("stars", d, 2_000_000_000, "t") for d in days])
    assert refresh_month_values(store.sessions, TODAY) == 1  # ids[0] only
    with store.sessions() as s:
        grid = load_period_grid(s, ids, "month", START.replace(day=1), TODAY, ("stars",), True)
    assert grid.values["stars"][1, 1] == 4_000_000_000
    _compare(store, ids, [(-30, 400, 0)])


def test_two_workers_packing_at_once_store_each_row_once_and_reads_stay_exact(store: Store) -> None:
    """Two daemons end their passes together, one with its clock a month ahead: on PostgreSQL one packs and
    the other skips (or finds nothing due), neither fails, and every row read is still the live value."""
    if store.backend != "postgresql":
        return  # one writer at a time on SQLite
    ids = _fill(store, [(k % 8, k % 3, k) for k in range(16)])
    start = threading.Barrier(2)
    stored: list[int] = []
    errors: list[BaseException] = []

    def run(today: date) -> None:
        try:
            start.wait()
            stored.append(refresh_month_values(store.sessions, today))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in (TODAY, TODAY + timedelta(days=31))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert 3 <= sum(stored) <= 6  # each repository packed once by each worker at most
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(MonthValues)) == 3
    _compare(store, ids, [(-30, 400, 0), (0, 60, 1), (45, 10, 2)])


def test_a_bytea_array_from_postgresql_unpacks_to_its_elements_and_checks_their_lengths(pg_url: str) -> None:
    """month_values' read on PostgreSQL: array_send of payloads (empty ones among them) is cut back into the
    payloads' bytes; lengths other than the array's own are refused, even when they add up the same."""
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            sent = conn.execute(
                text(
                    "SELECT array_send(array_agg(p ORDER BY k))"
                    " FROM (VALUES (1, '\\x0102'::bytea), (2, ''::bytea), (3, '\\x03'::bytea)) AS v(k, p)"
                )
            ).scalar_one()
            none = conn.execute(
                text("SELECT array_send(array_agg(p)) FROM (SELECT ''::bytea AS p LIMIT 0) q")
            )
            assert unpack_bytea_array(none.scalar_one(), []) == b""
    finally:
        engine.dispose()
    assert unpack_bytea_array(sent, [2, 0, 1]) == b"\x01\x02\x03"
    for wrong in ([1, 1, 1], [1, 2, 0], [2, 1]):
        with pytest.raises(ValueError, match="bytea array"):
            unpack_bytea_array(sent, wrong)
