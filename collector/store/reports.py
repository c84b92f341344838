"""Read-only queries behind `collector report`: values at period ends, from a few grouped queries.

The numbers follow the `repo_daily` view's precedence, but they are computed per period instead of per
day: for stars and forks the observation made that day, else the cumulative sum of reconstructed additions
when the metric has any, else the last observation carried forward; for contributors the reconstruction
(the commit walk) comes first wherever there is one, on observed days too. The database does what it is
fast at, reading and grouping rows by plain columns: additions, the latest snapshot and commits per
repository and period. Whole months of each come from monthly rollups kept exact by the store's writers
(history_monthly, snapshots_monthly, history_weekly_monthly), so a monthly trend reads about one row per
repository and month of each instead of every day, week and snapshot. The running sums, carry-forward
and precedence are then array operations over a dense repositories x periods grid in numpy: for a
monthly trend of 1,000 repositories over 10 years that is 121,000 cells, far cheaper than joins and
window passes over the same grid in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import ARRAY, BindParameter, Date, Integer, bindparam, select, text
from sqlalchemy.orm import Session

from collector.store.models import RepoRow, SeriesState

CUMULATIVE_METRICS = ("stars", "forks", "contributors")

# Metrics whose reconstruction wins over the observation: GitHub's anon=1 contributor count links only the
# first 500 emails to users, while the walk counts each user or email once (the repo_daily view, 0005).
RECONSTRUCTION_FIRST = ("contributors",)

# The calendar column that starts each kind of period; "day" makes the whole history one period ending
# on a day (the ranking).
BUCKET_COLUMNS = {
    "day": "day",
    "week": "week_start",
    "month": "month_start",
    "quarter": "quarter_start",
    "year": "year_start",
}

# The periods from :first to :until, each with its last day (or :until for a period cut short).
_PERIODS_SQL = """
SELECT c.{bucket} AS period, MAX(c.day) AS as_of
FROM calendar c
WHERE c.day >= :first AND c.day <= :until
GROUP BY c.{bucket}
ORDER BY c.{bucket}
"""

# The first day of each kind of data (all of it, not only up to :until): one index probe each. A metric
# with any additions at all is reconstructed; the earliest of them all is where a repository's data starts.
_FIRSTS_SQL = """
SELECT r.id AS repo_id,
    (SELECT MIN(h.day) FROM history_daily h WHERE h.repo_id = r.id AND h.metric = 'stars') AS f_stars,
    (SELECT MIN(h.day) FROM history_daily h WHERE h.repo_id = r.id AND h.metric = 'forks') AS f_forks,
    (SELECT MIN(h.day) FROM history_daily h
     WHERE h.repo_id = r.id AND h.metric = 'contributors') AS f_contributors,
    (SELECT MIN(h.day) FROM history_daily h WHERE h.repo_id = r.id AND h.metric = 'commits') AS f_commits,
    (SELECT MIN(w.week_start) FROM history_weekly w
     WHERE w.repo_id = r.id AND w.metric = 'commits') AS f_weekly,
    (SELECT MIN(s.observed_day) FROM snapshots s WHERE s.repo_id = r.id) AS f_observed
FROM repositories r
WHERE r.id {in_ids}
"""

# Additions per repository and period: whole months before :cutoff from the monthly rollup, the days from
# :cutoff to :until from history_daily (the metric list lets PostgreSQL use the primary key for the day
# range). Periods before :first are folded into the first one afterwards, so the running sums start from
# the right total.
_ADDITIONS_SQL = """
SELECT m.repo_id, {period_m} AS period,
    COALESCE(SUM(m.value) FILTER (WHERE m.metric = 'stars'), 0) AS stars,
    COALESCE(SUM(m.value) FILTER (WHERE m.metric = 'forks'), 0) AS forks,
    COALESCE(SUM(m.value) FILTER (WHERE m.metric = 'contributors'), 0) AS contributors
FROM history_monthly m {join_m}
WHERE m.repo_id {in_ids} AND m.metric IN ('stars', 'forks', 'contributors') AND m.month_start < :cutoff
GROUP BY {group_m}
UNION ALL
SELECT h.repo_id, {period_d} AS period,
    COALESCE(SUM(h.value) FILTER (WHERE h.metric = 'stars'), 0) AS stars,
    COALESCE(SUM(h.value) FILTER (WHERE h.metric = 'forks'), 0) AS forks,
    COALESCE(SUM(h.value) FILTER (WHERE h.metric = 'contributors'), 0) AS contributors
FROM history_daily h {join_d}
WHERE h.repo_id {in_ids} AND h.metric IN ('stars', 'forks', 'contributors')
    AND h.day >= :cutoff AND h.day <= :until
GROUP BY {group_d}
"""

# Snapshots: the latest of each month from the snapshots_monthly rollup (whole months from :first to
# :cutoff), the latest month before :first (carried into the first period), and the latest from :cutoff
# to :until ({recent}). Where several rows fall into one period, the latest wins (in numpy).
_LAST_SNAPSHOTS_SQL = """
SELECT m.repo_id, m.observed_day, m.stars, m.forks, m.contributors
FROM snapshots_monthly m
WHERE m.repo_id {in_ids} AND m.month_start >= :first AND m.month_start < :cutoff
UNION ALL
SELECT m.repo_id, m.observed_day, m.stars, m.forks, m.contributors
FROM repositories r
JOIN snapshots_monthly m ON m.repo_id = r.id AND m.month_start = (
    SELECT MAX(t.month_start) FROM snapshots_monthly t
    WHERE t.repo_id = r.id AND t.month_start < :first AND t.month_start < :cutoff
)
WHERE r.id {in_ids}
UNION ALL
{recent}
"""

# The latest snapshot from :cutoff to :until per repository: one index probe each (one period).
_RECENT_SNAPSHOT_SQL = """
SELECT s.repo_id, s.observed_day, s.stars, s.forks, s.contributors
FROM repositories r
JOIN snapshots s ON s.repo_id = r.id AND s.observed_day = (
    SELECT MAX(t.observed_day) FROM snapshots t
    WHERE t.repo_id = r.id AND t.observed_day >= :cutoff AND t.observed_day <= :until
)
WHERE r.id {in_ids}
"""

# The latest snapshot of each week from :cutoff to :until.
_RECENT_WEEKLY_SNAPSHOTS_SQL = """
SELECT s.repo_id, s.observed_day, s.stars, s.forks, s.contributors
FROM snapshots s
JOIN (
    SELECT t.repo_id, MAX(t.observed_day) AS observed_day
    FROM snapshots t
    JOIN calendar c ON c.day = t.observed_day
    WHERE t.repo_id {in_ids} AND t.observed_day >= :cutoff AND t.observed_day <= :until
    GROUP BY t.repo_id, c.week_start
) g ON g.repo_id = s.repo_id AND g.observed_day = s.observed_day
WHERE s.repo_id {in_ids} AND s.observed_day >= :cutoff AND s.observed_day <= :until
"""

# Commits per repository and period (the weeks whose Sunday falls in it): whole months from the
# history_weekly_monthly rollup, the weeks from :cutoff on from history_weekly. A quarter or year can get
# a row from each part; they are added up in numpy.
_COMMITS_SQL = """
SELECT m.repo_id, {period_cm} AS period, {commits_cm} AS commits
FROM history_weekly_monthly m {join_cm}
WHERE m.repo_id {in_ids} AND m.metric = 'commits' AND m.month_start >= :first AND m.month_start < :cutoff
{group_cm}
UNION ALL
SELECT w.repo_id, c.{bucket} AS period, SUM(w.value) AS commits
FROM history_weekly w
JOIN calendar c ON c.day = w.week_start
WHERE w.repo_id {in_ids} AND w.metric = 'commits' AND w.week_start >= :first AND w.week_start >= :cutoff
    AND w.week_start <= :until
GROUP BY w.repo_id, c.{bucket}
"""

PERIOD_VALUE_COLUMNS = (
    *("repo_id", "period", "as_of", "first_day", *CUMULATIVE_METRICS, "commits"),
    *(f"{metric}_source" for metric in CUMULATIVE_METRICS),
)

_DAY_PARAMS = ("first", "until", "cutoff")
_IntArray = npt.NDArray[np.int64]
_BoolArray = npt.NDArray[np.bool_]


def _report_sql(template: str, every: str, dialect: str) -> str:
    """One of the fixed report queries for a kind of period: only BUCKET_COLUMNS values are put in."""
    column = BUCKET_COLUMNS[every]
    # PostgreSQL takes the ids as one array: a thousand separate parameters in each of several places
    # cost more to send and parse than some of the queries take to run.
    parts = {"bucket": column, "in_ids": "= ANY(:ids)" if dialect == "postgresql" else "IN :ids"}
    if every in ("day", "week"):
        # Every rollup month read lies before :first (see _cutoff): one folded group per repository.
        parts |= {"period_m": "MIN(m.month_start)", "group_m": "m.repo_id", "join_m": ""}
    elif every == "month":
        parts |= {"period_m": "m.month_start", "group_m": "m.repo_id, m.month_start", "join_m": ""}
    else:
        parts |= {
            "period_m": f"c.{column}",
            "group_m": f"m.repo_id, c.{column}",
            "join_m": "JOIN calendar c ON c.day = m.month_start",
        }
    if every in ("quarter", "year"):
        parts |= {
            "period_cm": f"c.{column}",
            "commits_cm": "SUM(m.value)",
            "join_cm": "JOIN calendar c ON c.day = m.month_start",
            "group_cm": f"GROUP BY m.repo_id, c.{column}",
        }
    else:  # rollup rows are months already (none are read for days and weeks)
        parts |= {"period_cm": "m.month_start", "commits_cm": "m.value", "join_cm": "", "group_cm": ""}
    recent = _RECENT_WEEKLY_SNAPSHOTS_SQL if every == "week" else _RECENT_SNAPSHOT_SQL
    parts["recent"] = recent.format(**parts)
    if every == "day":
        # One period ending on the day: one group per repository, no calendar lookup.
        parts |= {"period_d": "MIN(h.day)", "group_d": "h.repo_id", "join_d": ""}
    else:
        parts |= {
            "period_d": f"c.{column}",
            "group_d": f"h.repo_id, c.{column}",
            "join_d": "JOIN calendar c ON c.day = h.day",
        }
    return template.format(**parts)


def _cutoff(every: str, first: date, until: date) -> date:
    """The first day that history_daily is read from; the monthly rollup covers the months before it.

    Whole months map to months, quarters and years, so those read the rollup up to the last complete
    month before `until`; a week can straddle two months, so weeks (and a single day) read the rollup only
    for months before `first`, which are folded into the first period anyway.
    """
    if every in ("day", "week"):
        return first.replace(day=1)
    return (until + timedelta(days=1)).replace(day=1)


def _ordinals(days: Sequence[date]) -> _IntArray:
    return np.array([d.toordinal() for d in days], dtype=np.int64)


class _Grid:
    """Cells of a dense repositories x periods grid, and where rows from the database fall in it."""

    def __init__(self, repo_ids: _IntArray, starts: _IntArray) -> None:
        self.repo_ids, self.starts = repo_ids, starts
        self.shape = (len(repo_ids), len(starts))
        self.size = len(repo_ids) * len(starts)

    def cells(self, repo_ids: Sequence[int], days: _IntArray) -> _IntArray:
        """The cell of each (repository, day): the period containing the day; days before the first fold
        into it."""
        rows = np.searchsorted(self.repo_ids, np.asarray(repo_ids, dtype=np.int64))
        columns = np.maximum(np.searchsorted(self.starts, days, side="right") - 1, 0)
        return rows * len(self.starts) + columns


class _Queries:
    """The report queries for one kind of period, with the parameters of one load."""

    def __init__(
        self, session: Session, repo_ids: Sequence[int], every: str, first: date, until: date
    ) -> None:
        self.session, self.every, self.dialect = session, every, session.get_bind().dialect.name
        cutoff = _cutoff(every, first, until)
        self.params = {"ids": list(repo_ids), "first": first, "until": until, "cutoff": cutoff}
        self.ids: BindParameter[Any]
        if self.dialect == "postgresql":
            self.ids = bindparam("ids", type_=ARRAY(Integer))
        else:
            self.ids = bindparam("ids", expanding=True, type_=Integer)

    def run(self, template: str, **columns: Any) -> list[list[Any]]:
        """One query's rows, as a list per column (typed by `columns`)."""
        stmt = text(_report_sql(template, self.every, self.dialect))
        stmt = stmt.bindparams(*(bindparam(k, type_=Date) for k in _DAY_PARAMS if f":{k}" in stmt.text))
        if ":ids" in stmt.text:
            stmt = stmt.bindparams(self.ids)
        rows = self.session.execute(stmt.columns(**columns), self.params).all()
        return [[row[i] for row in rows] for i in range(len(columns))]  # much faster than zip(*rows)


def load_period_values(
    session: Session, repo_ids: Sequence[int], every: str, first: date, until: date
) -> pd.DataFrame:
    """Values per repository and period from `first` (a period start) to `until`, one row each.

    Stars, forks and contributors are cumulative at each period's `as_of` day, commits are summed over the
    weeks whose Sunday falls in the period (NULL where no week is known), and `*_source` says which rule
    gave each value: observed, reconstructed or carried. `first_day` is the first day of known data.
    Rows come ordered by repository id, then period.
    """
    if not repo_ids:
        return pd.DataFrame(columns=list(PERIOD_VALUE_COLUMNS))
    if session.get_bind().dialect.name == "postgresql":
        # With the default 4 MB the grouping spills to disk; and the planner's row estimates are high
        # enough for it to JIT-compile the queries, which costs more than running them.
        # SET LOCAL lasts until the end of this read-only transaction.
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        session.execute(text("SET LOCAL jit = off"))
    queries = _Queries(session, repo_ids, every, first, until)
    period_starts, period_ends = queries.run(_PERIODS_SQL, period=Date, as_of=Date)
    firsts = ("f_stars", "f_forks", "f_contributors", "f_commits", "f_weekly", "f_observed")
    repos = queries.run(_FIRSTS_SQL, repo_id=Integer, **dict.fromkeys(firsts, Date))
    order = np.argsort(np.asarray(repos[0], dtype=np.int64), kind="stable")
    repos = [[column[i] for i in order] for column in repos]
    grid = _Grid(np.asarray(repos[0], dtype=np.int64), _ordinals(period_starts))
    n_repos, n_periods = grid.shape
    first_days = [
        min((d for d in known if d is not None), default=None) for known in zip(*repos[1:], strict=True)
    ]
    data: dict[str, Any] = {
        "repo_id": np.repeat(grid.repo_ids, n_periods),
        "period": np.tile(np.array(period_starts, dtype=object), n_repos),
        "as_of": np.tile(np.array(period_ends, dtype=object), n_repos),
        "first_day": np.repeat(np.array(first_days, dtype=object), n_periods),
    }
    reconstructed = {
        metric: np.repeat(np.array([d is not None for d in repos[k]], dtype=bool), n_periods)
        for k, metric in enumerate(CUMULATIVE_METRICS, 1)
    }
    data |= _cumulative_columns(queries, grid, _ordinals(period_ends), reconstructed)
    commits = queries.run(_COMMITS_SQL, repo_id=Integer, period=Date, commits=Integer)
    cells = grid.cells(commits[0], _ordinals(commits[1]))
    weekly = np.zeros(grid.size, dtype=np.int64)
    np.add.at(weekly, cells, np.asarray(commits[2], dtype=np.int64))
    missing = np.ones(grid.size, dtype=bool)
    missing[cells] = False
    data["commits"] = pd.arrays.IntegerArray(weekly, missing)
    return pd.DataFrame(data, columns=list(PERIOD_VALUE_COLUMNS))


def _cumulative_columns(
    queries: _Queries, grid: _Grid, ends: _IntArray, reconstructed: dict[str, _BoolArray]
) -> dict[str, Any]:
    """Each cumulative metric's value and source in each cell, by the precedence of the repo_daily view."""
    adds = queries.run(
        _ADDITIONS_SQL, repo_id=Integer, period=Date, **dict.fromkeys(CUMULATIVE_METRICS, Integer)
    )
    add_cells = grid.cells(adds[0], _ordinals(adds[1]))
    snaps = queries.run(
        _LAST_SNAPSHOTS_SQL, repo_id=Integer, observed_day=Date, **dict.fromkeys(CUMULATIVE_METRICS, Integer)
    )
    own, carried, observed = _place_snapshots(grid, snaps[0], _ordinals(snaps[1]), ends)
    columns: dict[str, Any] = {}
    for k, metric in enumerate(CUMULATIVE_METRICS, 2):
        # Running sums of additions: fold them into cells, then accumulate along each repository's row.
        sums = np.zeros(grid.size, dtype=np.int64)
        np.add.at(sums, add_cells, np.asarray(adds[k], dtype=np.int64))
        running = sums.reshape(grid.shape).cumsum(axis=1).ravel()
        # Row -1 indexes an extra, unknown snapshot at the end of each array: no special cases for "none".
        known = np.array([v is not None for v in snaps[k]] + [False], dtype=bool)
        latest = np.array([v or 0 for v in snaps[k]] + [0], dtype=np.int64)
        from_snapshot = observed & known[own]
        if metric in RECONSTRUCTION_FIRST:
            from_snapshot &= ~reconstructed[metric]
        last_known = known[carried]
        values = np.where(from_snapshot | ~reconstructed[metric], latest[carried], running)
        missing = ~(from_snapshot | reconstructed[metric] | last_known)
        source = np.full(grid.size, None, dtype=object)  # by precedence: later assignments win
        source[last_known] = "carried"
        source[reconstructed[metric]] = "reconstructed"
        source[from_snapshot] = "observed"
        columns[metric], columns[f"{metric}_source"] = pd.arrays.IntegerArray(values, missing), source
    return columns


def _place_snapshots(
    grid: _Grid, repo_ids: Sequence[int], days: _IntArray, ends: _IntArray
) -> tuple[_IntArray, _IntArray, _BoolArray]:
    """Per cell, the row of its own latest snapshot and of the one carried forward into it (-1: none), and
    whether its own was taken on the period's last day (`ends`)."""
    cells = grid.cells(repo_ids, days)
    by_cell = np.lexsort((days, cells))  # of the rows folded into one cell, the latest wins
    latest = by_cell[np.append(cells[by_cell][1:] != cells[by_cell][:-1], True)] if len(cells) else by_cell
    own = np.full(grid.size, -1, dtype=np.int64)
    own[cells[latest]] = latest
    n_repos, n_periods = grid.shape
    position = np.where(own >= 0, np.tile(np.arange(n_periods), n_repos), -1).reshape(grid.shape)
    position = np.maximum.accumulate(position, axis=1)
    carried = np.take_along_axis(own.reshape(grid.shape), np.maximum(position, 0), axis=1).ravel()
    carried[position.ravel() < 0] = -1
    observed = np.append(days, -1)[own] == np.tile(ends, n_repos)  # row -1 never matches a day
    return own, carried, observed


@dataclass(frozen=True)
class ReportRepo:
    """What a report shows about a repository besides its numbers."""

    id: int
    full_name: str
    created_at: datetime | None
    archived: bool
    primary_language: str | None
    description: str | None


def load_report_repos(session: Session, repo_ids: Sequence[int]) -> list[ReportRepo]:
    """Name, creation time, language, archived flag and description of the given repositories."""
    rows = session.scalars(select(RepoRow).where(RepoRow.id.in_(list(repo_ids))))
    return [
        ReportRepo(r.id, r.full_name, r.created_at, r.archived, r.primary_language, r.description)
        for r in rows
    ]


def load_unavailable(session: Session, repo_ids: Sequence[int]) -> dict[tuple[int, str], str]:
    """Series the backfill marked unavailable: (repo id, series) -> why."""
    rows = session.execute(
        select(SeriesState.repo_id, SeriesState.series, SeriesState.detail).where(
            SeriesState.repo_id.in_(list(repo_ids)), SeriesState.status == "unavailable"
        )
    )
    return {(repo_id, series): detail or "unavailable" for repo_id, series, detail in rows}
