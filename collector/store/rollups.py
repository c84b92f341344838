"""Monthly rollups of weekly series and snapshots, so that trend reports read months instead of all rows,
and running totals of the daily series, so that a value at a date reads one row instead of every month.

history_weekly_monthly holds the sums of history_weekly per month of the weeks' Sundays and
snapshots_monthly each month's latest snapshot. save_history_weekly and save_snapshot keep them exact in
the same transaction, as history_monthly is kept for history_daily; rebuild_report_rollups recomputes them
after a bulk load that bypassed those functions. history_running holds, for each month of
history_monthly, the sum of the series up to that month's end: refresh_monthly and rebuild_monthly
(history.py) recompute it with the months, so it is exact whenever they are. Every change of
history_running or snapshots_monthly recomputes month_state (month_state.py) from the month it changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from collector.domain import month_start, next_month
from collector.store.models import (
    Calendar,
    HistoryMonthly,
    HistoryRunning,
    HistoryWeekly,
    HistoryWeeklyMonthly,
    RepoSnapshot,
    SnapshotMonthly,
)
from collector.store.month_state import bump_version, rebuild_month_state, refresh_month_state


def save_snapshot_month(
    session: Session, repo_id: int, observed_day: date, stars: int, forks: int, contributors: int | None
) -> None:
    """Make a just-saved snapshot its month's latest, unless a later day of that month is stored already."""
    values: dict[str, Any] = {
        "repo_id": repo_id,
        "month_start": month_start(observed_day),
        "observed_day": observed_day,
        "stars": stars,
        "forks": forks,
        "contributors": contributors,
    }
    dialect = session.get_bind().dialect.name
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SnapshotMonthly).values(values)
    # Snapshots are only ever added or replaced (per day), never removed but with their repository, so
    # keeping the latest day is exact; the WHERE makes concurrent writers agree whatever their order.
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["repo_id", "month_start"],
            set_={c: stmt.excluded[c] for c in ("observed_day", "stars", "forks", "contributors")},
            where=SnapshotMonthly.observed_day <= stmt.excluded.observed_day,
        )
    )
    refresh_month_state(session, repo_id, observed_day)


def refresh_weekly_months(session: Session, repo_id: int, metric: str, first: date, last: date) -> None:
    """Recompute history_weekly_monthly for the months of the weeks from `first` to `last`."""
    session.execute(
        delete(HistoryWeeklyMonthly).where(
            HistoryWeeklyMonthly.repo_id == repo_id,
            HistoryWeeklyMonthly.metric == metric,
            HistoryWeeklyMonthly.month_start >= month_start(first),
            HistoryWeeklyMonthly.month_start <= month_start(last),
        )
    )
    bump_version(session, repo_id)
    _insert_weekly_sums(
        session,
        [
            HistoryWeekly.repo_id == repo_id,
            HistoryWeekly.metric == metric,
            HistoryWeekly.week_start >= month_start(first),
            HistoryWeekly.week_start < next_month(last),
        ],
    )


def rebuild_report_rollups(session: Session, repo_ids: Sequence[int] | None = None) -> None:
    """Recompute both rollups from scratch (all repositories when None), e.g. after a bulk load."""
    weekly: list[ColumnElement[bool]] = []
    snapshots: list[ColumnElement[bool]] = []
    if repo_ids is None:
        session.execute(delete(HistoryWeeklyMonthly))
        session.execute(delete(SnapshotMonthly))
    else:
        ids = list(repo_ids)
        session.execute(delete(HistoryWeeklyMonthly).where(HistoryWeeklyMonthly.repo_id.in_(ids)))
        session.execute(delete(SnapshotMonthly).where(SnapshotMonthly.repo_id.in_(ids)))
        weekly, snapshots = [HistoryWeekly.repo_id.in_(ids)], [RepoSnapshot.repo_id.in_(ids)]
    _insert_weekly_sums(session, weekly)
    latest = (
        select(RepoSnapshot.repo_id, Calendar.month_start, func.max(RepoSnapshot.observed_day).label("day"))
        .join(Calendar, Calendar.day == RepoSnapshot.observed_day)
        .where(*snapshots)
        .group_by(RepoSnapshot.repo_id, Calendar.month_start)
        .subquery()
    )
    rows = select(
        RepoSnapshot.repo_id,
        latest.c.month_start,
        RepoSnapshot.observed_day,
        RepoSnapshot.stars,
        RepoSnapshot.forks,
        RepoSnapshot.contributors,
    ).join(latest, (latest.c.repo_id == RepoSnapshot.repo_id) & (latest.c.day == RepoSnapshot.observed_day))
    columns = ["repo_id", "month_start", "observed_day", "stars", "forks", "contributors"]
    session.execute(insert(SnapshotMonthly).from_select(columns, rows))
    rebuild_month_state(session, repo_ids)


def _insert_weekly_sums(session: Session, conditions: Sequence[ColumnElement[bool]]) -> None:
    sums = (
        select(
            HistoryWeekly.repo_id, HistoryWeekly.metric, Calendar.month_start, func.sum(HistoryWeekly.value)
        )
        .join(Calendar, Calendar.day == HistoryWeekly.week_start)
        .where(*conditions)
        .group_by(HistoryWeekly.repo_id, HistoryWeekly.metric, Calendar.month_start)
    )
    columns = ["repo_id", "metric", "month_start", "value"]
    session.execute(insert(HistoryWeeklyMonthly).from_select(columns, sums))


def refresh_running(session: Session, repo_id: int, metric: str, first: date | None = None) -> None:
    """Recompute history_running of one series from history_monthly, for the months from `first`'s on
    (all when None): a change in one month moves the totals of every later one."""
    since = [] if first is None else [HistoryMonthly.month_start >= month_start(first)]
    session.execute(
        delete(HistoryRunning).where(
            HistoryRunning.repo_id == repo_id,
            HistoryRunning.metric == metric,
            *([] if first is None else [HistoryRunning.month_start >= month_start(first)]),
        )
    )
    # The total before `first`: the latest stored one (kept exact with the months before it).
    latest = (
        select(HistoryRunning.total)
        .where(HistoryRunning.repo_id == repo_id, HistoryRunning.metric == metric)
        .order_by(HistoryRunning.month_start.desc())
        .limit(1)
        .scalar_subquery()
    )
    base = func.coalesce(latest, 0)
    _insert_running(
        session, [HistoryMonthly.repo_id == repo_id, HistoryMonthly.metric == metric, *since], base
    )
    refresh_month_state(session, repo_id, first)


def rebuild_running(session: Session, repo_ids: Sequence[int] | None = None) -> None:
    """Recompute history_running from history_monthly (all repositories when None)."""
    if repo_ids is None:
        session.execute(delete(HistoryRunning))
        _insert_running(session, [], None)
    else:
        ids = list(repo_ids)
        session.execute(delete(HistoryRunning).where(HistoryRunning.repo_id.in_(ids)))
        _insert_running(session, [HistoryMonthly.repo_id.in_(ids)], None)
    rebuild_month_state(session, repo_ids)


def _insert_running(
    session: Session, conditions: Sequence[ColumnElement[bool]], base: ColumnElement[Any] | None
) -> None:
    total: ColumnElement[Any] = func.sum(HistoryMonthly.value).over(
        partition_by=(HistoryMonthly.repo_id, HistoryMonthly.metric), order_by=HistoryMonthly.month_start
    )
    if base is not None:
        total = total + base
    rows = select(HistoryMonthly.repo_id, HistoryMonthly.metric, HistoryMonthly.month_start, total).where(
        *conditions
    )
    columns = ["repo_id", "metric", "month_start", "total"]
    session.execute(insert(HistoryRunning).from_select(columns, rows))
