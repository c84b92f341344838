"""Monthly report grids from month_values where it holds them: the months a repository's current row covers
come from it, the rest (a month not over yet, a repository whose row is missing or stale) are computed live,
and the pieces put together are the grid the live computation gives for the whole span (a test compares
them). `Live` is load_period_grid's live computation (reports.py), passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from collector.domain import month_start, next_month
from collector.store.models import HistoryWeekly
from collector.store.month_state import MonthState, SeriesVersion
from collector.store.month_values import (
    MONTH,
    MonthValues,
    Packed,
    PackedRows,
    before_data,
    load_month_values,
    month_number,
    save_month_values,
)
from collector.store.report_grid import (
    CUMULATIVE_METRICS,
    GRID_METRICS,
    IntArray,
    PeriodGrid,
    compute_period_bounds,
)

Live = Callable[[Session, Sequence[int], str, date, date, Sequence[str], bool], PeriodGrid]
INT32 = 2**31 - 1  # MONTH's values are 32-bit: GitHub's largest counts are below a million


def _last_whole_month(first: date, until: date) -> date | None:
    """The last month of [first, until] that ends inside it (whole), or None."""
    last = (
        month_start(until)
        if (until + timedelta(days=1)).day == 1
        else month_start(month_start(until) - timedelta(days=1))
    )
    return last if last >= month_start(first) else None


def load_month_grid(
    session: Session,
    live: Live,
    ids: Sequence[int],
    span: tuple[date, date],
    metrics: Sequence[str],
    through_today: bool,
) -> PeriodGrid:
    """The monthly grid of `ids` (sorted, unique) from `first` to `until`, from month_values where it can."""
    first, until = span
    whole = _last_whole_month(first, until)
    if whole is None:
        return live(session, ids, "month", first, until, metrics, through_today)
    rows = load_month_values(session, ids, month_number(first), month_number(whole))
    # Rows that reach the last whole month (one may begin after it: no data by then, known all the same).
    usable = np.flatnonzero(month_number(whole) < rows.ends)
    if not len(usable):
        return live(session, ids, "month", first, until, metrics, through_today)
    mine = rows.repo_ids[usable]
    starts, ends = compute_period_bounds("month", first, until)
    periods, served = len(starts), month_number(whole) - month_number(first) + 1
    grid = PeriodGrid.unknown(np.array(ids, dtype=np.int64), starts, ends)
    position = np.searchsorted(grid.repo_ids, mine)
    others = [int(i) for i in np.setdiff1d(grid.repo_ids, mine)]
    if others:
        computed = live(session, others, "month", first, until, metrics, through_today)
        _put(grid, np.searchsorted(grid.repo_ids, others), computed, 0)
    if served < periods:  # the month of `until`, not over: live for these too
        tail = live(session, sorted(mine.tolist()), "month", next_month(whole), until, metrics, through_today)
        _put(grid, np.searchsorted(grid.repo_ids, tail.repo_ids), tail, served)
    _put_packed(grid, position, rows, usable, month_number(first), served, metrics)
    return grid


def _put(grid: PeriodGrid, rows: npt.ArrayLike, part: PeriodGrid, column: int) -> None:
    """Copy `part` (its rows by id, in the order of `rows`) into `grid` from period `column` on."""
    at = np.asarray(rows, dtype=np.int64)
    span = slice(column, column + len(part.starts))
    grid.has_data[at, span] = part.has_data
    for metric in GRID_METRICS:
        grid.values[metric][at, span] = part.values[metric]
        grid.missing[metric][at, span] = part.missing[metric]
        if metric in grid.sources:
            grid.sources[metric][at, span] = part.sources[metric]


def _put_packed(
    grid: PeriodGrid,
    at: IntArray,
    rows: PackedRows,
    usable: IntArray,
    first: int,
    served: int,
    metrics: Sequence[str],
) -> None:
    """Copy the first `served` months from month number `first` of the `usable` rows into grid rows `at`,
    a month before a row's first as before_data gives it, all at once; metrics not asked stay unknown, as
    the live computation leaves them."""
    offsets = first - rows.first_months[usable]  # a row's month index of `first` (negative: before it)
    index = offsets[:, np.newaxis] + np.arange(served)[np.newaxis, :]  # rows x periods
    early = index < 0
    records = rows.records if len(rows.records) else np.zeros(1, dtype=rows.records.dtype)
    picked = records[np.minimum(rows.bases[usable][:, np.newaxis] + np.maximum(index, 0), len(records) - 1)]
    values, missing, sources = before_data(rows.rebuilt[usable])
    grid.has_data[at, :served] = picked["has_data"].astype(bool) & ~early
    for k, metric in enumerate(GRID_METRICS):
        if metric not in metrics:
            continue
        grid.values[metric][at, :served] = np.where(early, values[:, k, np.newaxis], picked["values"][..., k])
        known = picked["missing"][..., k].astype(bool)
        grid.missing[metric][at, :served] = np.where(early, missing[:, k, np.newaxis], known)
        if metric in grid.sources:
            codes = np.where(early, sources[:, k, np.newaxis], picked["sources"][..., k])
            grid.sources[metric][at, :served] = codes


def pack_month_values(session: Session, live: Live, ids: Sequence[int], today: date) -> int:
    """Compute and store the month_values rows of `ids` up to the last month before today's, with the
    versions their data has in this transaction (run it in a snapshot: REPEATABLE READ on PostgreSQL).
    Returns how many rows it stored."""
    through = month_start(today) - timedelta(days=1)
    version = select(SeriesVersion.repo_id, SeriesVersion.version).where(SeriesVersion.repo_id.in_(ids))
    versions = {repo_id: number for repo_id, number in session.execute(version)}
    firsts = [
        session.scalar(select(func.min(MonthState.month_start)).where(MonthState.repo_id.in_(ids))),
        session.scalar(select(func.min(HistoryWeekly.week_start)).where(HistoryWeekly.repo_id.in_(ids))),
    ]
    known = [d for d in firsts if d is not None]
    if not known or month_start(min(known)) > through:
        return 0
    first = month_start(min(known))
    grid = live(session, sorted(set(ids)), "month", first, through, GRID_METRICS, False)
    rebuilt = _rebuilt(session, ids)
    rows: dict[int, tuple[int, Packed]] = {}
    for row, repo_id in enumerate(grid.repo_ids.tolist()):
        begun = np.flatnonzero(grid.has_data[row])
        if not len(begun):
            continue
        k = int(begun[0])
        if any(np.abs(grid.values[m][row, k:]).max(initial=0) > INT32 for m in GRID_METRICS):
            continue  # a value past the payload's 32 bits: its months are computed live
        records = np.zeros(len(grid.starts) - k, dtype=MONTH)
        for position, metric in enumerate(GRID_METRICS):
            records["values"][:, position] = grid.values[metric][row, k:]
            records["missing"][:, position] = grid.missing[metric][row, k:]
            if metric in grid.sources:
                records["sources"][:, position] = grid.sources[metric][row, k:]
        records["has_data"] = grid.has_data[row, k:]
        flags = rebuilt.get(repo_id, dict.fromkeys(CUMULATIVE_METRICS, False))
        rows[repo_id] = (versions.get(repo_id, 0), Packed(grid.starts[k], records, flags))
    save_month_values(session, rows)
    return len(rows)


def _rebuilt(session: Session, ids: Sequence[int]) -> dict[int, dict[str, bool]]:
    """Per repository, whether each cumulative metric has additions at all: its running total in its last
    month_state row is known (running totals, once begun, carry to every later month)."""
    last = (
        select(MonthState.repo_id, func.max(MonthState.month_start).label("month"))
        .where(MonthState.repo_id.in_(ids))
        .group_by(MonthState.repo_id)
        .subquery()
    )
    s = MonthState
    stmt = select(s.repo_id, s.stars_total, s.forks_total, s.contributors_total).join(
        last, (last.c.repo_id == s.repo_id) & (last.c.month == s.month_start)
    )
    return {
        repo_id: {m: total is not None for m, total in zip(CUMULATIVE_METRICS, totals, strict=True)}
        for repo_id, *totals in session.execute(stmt)
    }


PACK_LOCK = 0x6D76  # the advisory lock of the one packer at a time ("mv")


def refresh_month_values(sessions: sessionmaker[Session], live: Live, today: date, batch: int = 2000) -> int:
    """Pack month_values for every repository whose row is missing, stale or short of the last month before
    today's, `batch` repositories per transaction, each in one snapshot of the store (REPEATABLE READ on
    PostgreSQL, where one worker packs at a time and the others skip). Returns how many rows it stored."""
    through = month_start(today) - timedelta(days=1)
    with sessions() as s:
        versions = {r: v for r, v in s.execute(select(SeriesVersion.repo_id, SeriesVersion.version))}
        v = MonthValues
        rows = s.execute(select(v.repo_id, v.version, v.first_month_no + v.months)).all()
    current = {
        repo_id
        for repo_id, version, after in rows
        if versions.get(repo_id) == version and month_number(through) < after
    }
    due = sorted(set(versions) - current)
    stored = 0
    for k in range(0, len(due), batch):
        with sessions() as s:
            if s.get_bind().dialect.name == "postgresql":
                s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                if not s.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PACK_LOCK}):
                    return stored  # another worker is packing
            stored += pack_month_values(s, live, due[k : k + batch], today)
            s.commit()
    return stored
