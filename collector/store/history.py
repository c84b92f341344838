"""Saving observations and reconstructed history.

history_monthly holds the sums of history_daily per calendar month for the reports. Every function that
writes history_daily (here and in checkpoints.py) recomputes the months it touched, and the running totals
from the first of them (history_running, rollups.py), in the same transaction,
under a per-(repository, metric) lock on PostgreSQL so that two writers of one series cannot each sum
without the other's rows. SQLite has one writer at a time anyway.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta

from sqlalchemy import ColumnElement, delete, func, insert, select, text
from sqlalchemy.orm import Session

from collector.domain import HistoryPoint, Snapshot, as_utc, month_start, next_month
from collector.store.models import Calendar, HistoryDaily, HistoryMonthly, HistoryWeekly, RepoSnapshot
from collector.store.month_state import lock_repository
from collector.store.rollups import (
    rebuild_running,
    refresh_running,
    refresh_weekly_months,
    save_snapshot_month,
)
from collector.store.upsert import upsert


def save_snapshot(session: Session, repo_id: int, snap: Snapshot, run_id: int | None = None) -> None:
    """Store an observation; a later one on the same UTC day replaces the earlier (one row per day)."""
    observed_at = as_utc(snap.observed_at)
    upsert(
        session,
        RepoSnapshot.__table__,  # type: ignore[arg-type]
        [
            {
                "repo_id": repo_id,
                "observed_day": observed_at.date(),
                "observed_at": observed_at,
                "stars": snap.stars,
                "forks": snap.forks,
                "watchers": snap.watchers,
                "open_issues": snap.open_issues,
                "contributors": snap.contributors,
                "commits_52w": snap.commits_52w,
                "archived": snap.archived,
                "run_id": run_id,
            }
        ],
        keys=["repo_id", "observed_day"],
    )
    save_snapshot_month(session, repo_id, observed_at.date(), snap.stars, snap.forks, snap.contributors)


def save_history_daily(session: Session, repo_id: int, points: Iterable[HistoryPoint]) -> int:
    """Upsert daily additions (and their months in history_monthly); returns the number of rows written."""
    items = list(points)
    spans: dict[str, tuple[date, date]] = {}
    for p in items:
        lo, hi = spans.get(p.metric, (p.day, p.day))
        spans[p.metric] = (min(lo, p.day), max(hi, p.day))
    lock_series(session, repo_id, spans)
    write_daily_rows(session, repo_id, items)
    for metric, (first, last) in sorted(spans.items()):
        refresh_monthly(session, repo_id, metric, first, last)
    return len(items)


def write_daily_rows(session: Session, repo_id: int, points: Sequence[HistoryPoint]) -> None:
    """Upsert daily rows only; the caller holds the series lock and refreshes the months afterwards."""
    rows = [
        {"repo_id": repo_id, "metric": p.metric, "day": p.day, "value": p.value, "source": p.source}
        for p in points
    ]
    upsert(session, HistoryDaily.__table__, rows, keys=["repo_id", "metric", "day"])  # type: ignore[arg-type]


def lock_series(session: Session, repo_id: int, metrics: Iterable[str]) -> None:
    """On PostgreSQL, lock each (repository, metric) series until the transaction ends, in sorted order,
    after the repository's own lock (lock_repository): every writer takes that one first, so that the
    version and month_state rows it moves later never wait on a series lock of a writer waiting on them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    lock_repository(session, repo_id)
    for metric in sorted(set(metrics)):
        session.execute(
            text("SELECT pg_advisory_xact_lock(:repo, :metric)"),
            {"repo": repo_id, "metric": zlib.crc32(metric.encode()) & 0x7FFFFFFF},
        )


def refresh_monthly(
    session: Session, repo_id: int, metric: str, first: date | None = None, last: date | None = None
) -> None:
    """Recompute history_monthly for the months overlapping [first, last] (all months when None)."""
    months = [HistoryMonthly.repo_id == repo_id, HistoryMonthly.metric == metric]
    days = [HistoryDaily.repo_id == repo_id, HistoryDaily.metric == metric]
    if first is not None:
        months.append(HistoryMonthly.month_start >= month_start(first))
        days.append(HistoryDaily.day >= month_start(first))
    if last is not None:
        months.append(HistoryMonthly.month_start <= month_start(last))
        days.append(HistoryDaily.day < next_month(last))
    session.execute(delete(HistoryMonthly).where(*months))
    _insert_month_sums(session, days)
    refresh_running(session, repo_id, metric, first)


def rebuild_monthly(session: Session, repo_ids: Sequence[int] | None = None) -> None:
    """Recompute history_monthly from scratch (all repositories when None), e.g. after a bulk load."""
    if repo_ids is None:
        session.execute(delete(HistoryMonthly))
        _insert_month_sums(session, [])
    else:
        ids = list(repo_ids)
        session.execute(delete(HistoryMonthly).where(HistoryMonthly.repo_id.in_(ids)))
        _insert_month_sums(session, [HistoryDaily.repo_id.in_(ids)])
    rebuild_running(session, repo_ids)


def _insert_month_sums(session: Session, conditions: Sequence[ColumnElement[bool]]) -> None:
    # The calendar maps days to months on both backends (it spans 2000-2060, GitHub's whole life).
    sums = (
        select(HistoryDaily.repo_id, HistoryDaily.metric, Calendar.month_start, func.sum(HistoryDaily.value))
        .join(Calendar, Calendar.day == HistoryDaily.day)
        .where(*conditions)
        .group_by(HistoryDaily.repo_id, HistoryDaily.metric, Calendar.month_start)
    )
    session.execute(insert(HistoryMonthly).from_select(["repo_id", "metric", "month_start", "value"], sums))


def save_history_weekly(session: Session, repo_id: int, points: Iterable[HistoryPoint]) -> int:
    """Upsert weekly values (`day` is the week's Sunday) and their months; returns the number of rows."""
    items = list(points)
    spans: dict[str, tuple[date, date]] = {}
    for p in items:
        lo, hi = spans.get(p.metric, (p.day, p.day))
        spans[p.metric] = (min(lo, p.day), max(hi, p.day))
    # Weekly series get their own lock keys: a weekly and a daily series of one metric are two series.
    lock_series(session, repo_id, [f"weekly {metric}" for metric in spans])
    _write_weekly_rows(session, repo_id, items)
    for metric, (first, last) in sorted(spans.items()):
        refresh_weekly_months(session, repo_id, metric, first, last)
    return len(items)


def _write_weekly_rows(session: Session, repo_id: int, points: Sequence[HistoryPoint]) -> None:
    rows = [
        {"repo_id": repo_id, "metric": p.metric, "week_start": p.day, "value": p.value, "source": p.source}
        for p in points
    ]
    upsert(session, HistoryWeekly.__table__, rows, keys=["repo_id", "metric", "week_start"])  # type: ignore[arg-type]


def add_history_weekly(
    session: Session,
    repo_id: int,
    metric: str,
    source: str,
    counts: Mapping[date, int],
    reset_from: date | None = None,
) -> None:
    """Add `counts` (week start -> count) to the stored weekly values, a missing week counting from 0; with
    `reset_from`, the weeks from that one on are dropped first. For a series counted a page at a time:
    write each page in the transaction of the checkpoint that says it was counted."""
    lock_series(session, repo_id, [f"weekly {metric}"])
    series = [HistoryWeekly.repo_id == repo_id, HistoryWeekly.metric == metric]
    weeks = sorted(counts)
    first, last = (weeks[0], weeks[-1]) if weeks else (None, None)
    if reset_from is not None:
        dropped = series + [HistoryWeekly.week_start >= reset_from]
        stored_last = session.scalar(select(func.max(HistoryWeekly.week_start)).where(*dropped))
        session.execute(delete(HistoryWeekly).where(*dropped))
        first = min(d for d in (first, reset_from) if d is not None)
        last = max(d for d in (last, stored_last, reset_from) if d is not None)
    if first is None or last is None:
        return
    found = session.execute(
        select(HistoryWeekly.week_start, HistoryWeekly.value).where(
            *series, HistoryWeekly.week_start.in_(weeks)
        )
    )
    stored = {week: value for week, value in found}
    points = [HistoryPoint(metric, w, stored.get(w, 0) + counts[w], source) for w in weeks]
    _write_weekly_rows(session, repo_id, points)
    refresh_weekly_months(session, repo_id, metric, first, last)


def fill_history_weekly(
    session: Session, repo_id: int, metric: str, source: str, first: date, last: date
) -> None:
    """Store 0 for each week from `first` to `last` (Sundays) that has no value: no row means unknown."""
    lock_series(session, repo_id, [f"weekly {metric}"])
    stored = set(
        session.scalars(
            select(HistoryWeekly.week_start).where(
                HistoryWeekly.repo_id == repo_id,
                HistoryWeekly.metric == metric,
                HistoryWeekly.week_start >= first,
                HistoryWeekly.week_start <= last,
            )
        )
    )
    missing = [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    points = [HistoryPoint(metric, w, 0, source) for w in missing if w not in stored]
    if points:
        _write_weekly_rows(session, repo_id, points)
        refresh_weekly_months(session, repo_id, metric, points[0].day, points[-1].day)
