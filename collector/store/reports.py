"""Read-only queries behind `collector report`: values at period ends, from a few plain queries.

The numbers follow the `repo_daily` view's precedence, but they are computed per period instead of per
day: for stars and forks the observation made that day, else the cumulative sum of reconstructed additions
when the metric has any, else the last observation carried forward; for contributors the reconstruction
(the commit walk) comes first wherever there is one, on observed days too. The database does what it is
fast at, reading rows by plain columns: additions, the latest snapshot and commits per repository and
period. Whole months of each come from monthly rollups kept exact by the store's writers (history_monthly,
snapshots_monthly, history_weekly_monthly), so a monthly trend reads about one row per repository and
month of each instead of every day, week and snapshot; the rows come as numpy columns (columns.py). The
running sums, carry-forward and precedence are then array operations over a dense repositories x periods
grid (report_grid.py): for a monthly trend of 10,000 repositories over 10 years that is 1.2 million cells,
far cheaper than joins and window passes over the same grid in SQL. A single period (a ranking, or the
latest values that pick a report's top N) reads one row or two per repository and metric: the running
total before it (history_running) and its own days. The SQL is in report_sql.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from collector.domain import month_start, next_month
from collector.store import report_months
from collector.store import report_sql as sql
from collector.store.columns import Column, among, fetch_columns
from collector.store.models import RepoRow, SeriesState
from collector.store.report_grid import (
    CUMULATIVE_METRICS,
    GRID_METRICS,
    PERIOD_VALUE_COLUMNS,
    BoolArray,
    Cells,
    IntArray,
    PeriodGrid,
    compute_commits,
    compute_cumulative,
    compute_period_bounds,
)
from collector.store.report_months import load_month_grid


def _report_sql(
    template: str,
    every: str,
    dialect: str,
    metrics: Sequence[str] = CUMULATIVE_METRICS,
    one_day: bool = False,
) -> str:
    """One of the fixed report queries: only BUCKET_COLUMNS values and CUMULATIVE_METRICS names are put in.
    `one_day`: the grid is a single day (a ranking), which everything before it folds into."""
    known = [m for m in CUMULATIVE_METRICS if m in metrics]
    codes = " ".join(f"WHEN '{m}' THEN {k}" for k, m in enumerate(CUMULATIVE_METRICS))
    parts = {
        # PostgreSQL takes the ids as one array (typed: an int8[] would cost it its hashed lookup).
        "in_ids": "= ANY(CAST(:ids AS INTEGER[]))" if dialect == "postgresql" else "IN :ids",
        "metrics": ", ".join(f"'{m}'" for m in known) or "NULL",
        "code_m": f"CASE m.metric {codes} END",
        "code_h": f"CASE h.metric {codes} END",
        "code_k": f"CASE k.metric {codes} END",
        "code_l": f"CASE l.metric {codes} END",
        "metric_rows": ", ".join(f"('{m}')" for m in known) or "(NULL)",
        # Only weeks need the calendar to group days: a single day (the ranking) takes all the days read,
        # several days are each a period, and the days read for a month, quarter or year (from :cutoff, a
        # month start, to :until, before the next: _cutoff) all fall in its last period. Days outside the
        # calendar table (1970 to 2060) are grouped one by one; numpy puts them in periods.
        "join_d": "LEFT JOIN calendar c ON c.day = h.day" if every == "week" else "",
        "group_d": f", COALESCE(c.{sql.BUCKET_COLUMNS[every]}, h.day)"
        if every == "week"
        else (", h.day" if every == "day" and not one_day else ""),
    }
    parts["state_totals"] = (
        "\nUNION ALL\n".join(
            sql.STATE_TOTAL.format(code=k, metric=m, in_ids=parts["in_ids"])
            for k, m in enumerate(CUMULATIVE_METRICS)
            if m in known
        )
        or sql.STATE_TOTAL.format(code=0, metric="stars", in_ids=parts["in_ids"]) + " AND 1 = 0"
    )
    parts["stateless_r"] = sql.STATELESS.format(of="r.id")
    parts["stateless_l"] = sql.STATELESS.format(of="l.repo_id")
    running = sql.RUNNING_PG if dialect == "postgresql" else sql.RUNNING_SQLITE
    parts["running"] = running.format(**parts)
    latest = sql.LATEST_PG if dialect == "postgresql" else sql.LATEST_SQLITE
    stateless = "r.id " + parts["in_ids"] + " AND " + parts["stateless_r"]
    for part, (table, key, where) in (("before", sql.BEFORE), ("recent", sql.RECENT)):
        in_ids = stateless if part == "before" else sql.WHOLE + "r.id " + parts["in_ids"]
        parts[part] = latest.format(table=table, key=key, where=where, in_ids=in_ids)
    parts["before"] = sql.STATE_SNAPSHOT.format(in_ids=parts["in_ids"], before_probe=parts["before"])
    if every == "week":
        parts["recent"] = sql.RECENT_WEEKLY_SNAPSHOTS_SQL.format(**parts)
    elif every == "day" and not one_day:
        parts["recent"] = sql.RECENT_DAILY_SNAPSHOTS_SQL.format(**parts)
    return template.format(**parts)


def _cutoff(every: str, first: date, until: date, through_today: bool) -> date:
    """The first day that history_daily is read from; the monthly rollup covers the months before it.

    Whole months map to months, quarters and years, so those read the rollup up to the last complete
    month before `until`, or its own month when nothing can follow `until` in it (`through_today`: it is
    today); weeks and days are parts of months, so they read the rollup only for months before `first`,
    which are folded into the first period anyway; a single day through today reads its month from the
    rollup too (whatever the rollup holds of it is up to that day).
    """
    if every == "week" or (every == "day" and first < until):
        return first.replace(day=1)
    if through_today:
        return (until.replace(day=1) + timedelta(days=32)).replace(day=1)
    if every == "day":
        return first.replace(day=1)
    return (until + timedelta(days=1)).replace(day=1)


class _Queries:
    """The report queries for one kind of period, with the parameters of one load."""

    def __init__(
        self,
        session: Session,
        repo_ids: Sequence[int],
        every: str,
        span: tuple[date, date],
        through_today: bool,
    ) -> None:
        self.session, self.every, self.dialect = session, every, session.get_bind().dialect.name
        first, until = span
        self.through_today, self.one_day = through_today, every == "day" and first >= until
        cutoff = _cutoff(every, first, until, through_today)
        # The month whose end state is carried into the first period: the last before :first and :cutoff.
        carry = month_start(min(first, cutoff) - timedelta(days=1))
        self.params = {
            "ids": list(repo_ids),
            "first": first,
            "until": until,
            "cutoff": cutoff,
            "carry": carry,
            "months_from": first if first.day == 1 else next_month(first),
            "after": next_month(carry),
            "never": sql.NEVER,
        }

    def run(
        self,
        template: str,
        *kinds: str,
        metrics: Sequence[str] = CUMULATIVE_METRICS,
        ids: Sequence[int] | None = None,
    ) -> list[Column]:
        """One query's columns as arrays ("int", "date" as ordinals, or "bool"), for `ids` if given."""
        query = _report_sql(template, self.every, self.dialect, metrics, self.one_day)
        params = self.params if ids is None else {**self.params, "ids": list(ids)}
        return fetch_columns(self.session, query, params, kinds)


def load_period_grid(
    session: Session,
    repo_ids: Sequence[int],
    every: str,
    first: date,
    until: date,
    metrics: Sequence[str] = GRID_METRICS,
    through_today: bool = False,
) -> PeriodGrid:
    """Values per repository and period from `first` (a period start) to `until`, as a dense grid.

    Stars, forks and contributors are cumulative at each period's `as_of` day, commits are summed over the
    weeks whose Sunday falls in the period (unknown where no week is known), and the sources say which rule
    gave each value: observed, reconstructed or carried. Repositories come by id. Only `metrics` are read;
    the others come out unknown (ranking a group by one metric reads that one). `through_today` says that
    `until` is today, so that the store holds nothing after it: its month is read from the rollups whole.
    """
    ids = sorted(set(repo_ids))
    if not ids:  # no query: the empty grid of these periods (a group with no member stored, no top rows)
        return PeriodGrid.unknown(np.zeros(0, dtype=np.int64), *compute_period_bounds(every, first, until))
    if every == "month":  # whole months from month_values where it holds them current
        return load_month_grid(session, _load_live, ids, (first, until), metrics, through_today)
    return _load_live(session, ids, every, first, until, metrics, through_today)


def refresh_month_values(sessions: sessionmaker[Session], today: date) -> int:
    """Pack the month_values rows that are missing or stale (report_months.refresh_month_values)."""
    return report_months.refresh_month_values(sessions, _load_live, today)


def _load_live(
    session: Session,
    repo_ids: Sequence[int],
    every: str,
    first: date,
    until: date,
    metrics: Sequence[str],
    through_today: bool,
) -> PeriodGrid:
    """load_period_grid computed from the rollups and the days, for any `every`."""
    if session.get_bind().dialect.name == "postgresql":
        # With the default 4 MB the grouping of days (weekly trends) spills to disk (JIT is off for every
        # connection: make_engine). SET LOCAL lasts until the end of this read-only transaction.
        session.execute(text("SET LOCAL work_mem = '256MB'"))
    ids = np.array(sorted(set(repo_ids)), dtype=np.int64)
    queries = _Queries(session, ids.tolist(), every, (first, until), through_today)
    starts, ends = compute_period_bounds(every, first, until)
    cells = Cells(ids, starts)
    cumulative = [m for m in CUMULATIVE_METRICS if m in metrics]
    adds = queries.run(sql.ADDITIONS_SQL, "int", "int", "date", "int", metrics=cumulative)
    template = sql.LATEST_SNAPSHOT_SQL if len(starts) == 1 else sql.LAST_SNAPSHOTS_SQL
    snaps = queries.run(template, "int", "date", "int", "int", "int", "bool") if cumulative else None
    commits = queries.run(sql.COMMITS_SQL, "int", "date", "int") if "commits" in metrics else None
    seen = [(adds[0], adds[2]), *((rows[0], rows[1]) for rows in (snaps, commits) if rows is not None)]
    reconstructed, first_day = _firsts(queries, ids, ends, adds, seen, cumulative)
    values, missing, sources = compute_cumulative(cells, cumulative, adds, snaps, ends, reconstructed)
    if commits is not None:
        values["commits"], missing["commits"] = compute_commits(cells, *commits)
    else:
        values["commits"] = np.zeros(cells.shape, dtype=np.int64)
        missing["commits"] = np.ones(cells.shape, dtype=bool)
    return PeriodGrid(
        repo_ids=ids,
        starts=tuple(date.fromordinal(d) for d in starts.tolist()),
        ends=tuple(date.fromordinal(d) for d in ends.tolist()),
        has_data=ends[np.newaxis, :] >= first_day[:, np.newaxis],
        values=values,
        missing=missing,
        sources=sources,
    )


def _firsts(
    queries: _Queries,
    ids: IntArray,
    ends: IntArray,
    adds: Sequence[IntArray],
    seen: Sequence[Sequence[IntArray]],
    metrics: Sequence[str],
) -> tuple[dict[str, BoolArray], IntArray]:
    """Per repository, whether it has additions of each metric at all, and its first day of known data.

    Index probes answer both (six per repository), but the rows read mostly tell already: a repository
    with a row (`seen`: repository ids and days of each kind read) by the end of the first period has
    data in every period, and has additions of each metric it has rows of; when nothing can follow the
    last day (through today) it has none of the others either. Only the rest are probed: ranking
    thousands of repositories by their latest value probes few or none, a trend those that began later.
    """
    never = sql.NEVER.toordinal()
    early = np.zeros(len(ids), dtype=bool)
    for repos, days in seen:
        early[np.searchsorted(ids, repos[days <= ends[0]])] = True
    reconstructed = {metric: np.zeros(len(ids), dtype=bool) for metric in CUMULATIVE_METRICS}
    known = early.copy()
    for k, metric in enumerate(CUMULATIVE_METRICS):
        if metric in metrics:
            reconstructed[metric] = np.isin(ids, adds[0][adds[1] == k])
            if not queries.through_today:  # additions may follow the last day: rows of it settle it
                known &= reconstructed[metric]
    first_day = np.where(known, ends[0], never)
    firsts = queries.run(sql.FIRSTS_SQL, "int", *["date"] * 6, ids=ids[~known].tolist())
    rows = np.searchsorted(ids, firsts[0])
    for k, metric in enumerate(CUMULATIVE_METRICS, 1):
        reconstructed[metric][rows] = firsts[k] != never
    if len(rows):
        first_day[rows] = np.min(np.stack(firsts[1:]), axis=0)
    return reconstructed, first_day


def load_period_values(
    session: Session, repo_ids: Sequence[int], every: str, first: date, until: date
) -> pd.DataFrame:
    """`load_period_grid` as a tidy table: one row per repository and period (PERIOD_VALUE_COLUMNS), by
    repository id, then period; `has_data` says whether the repository had any known data by then."""
    if not repo_ids:
        return pd.DataFrame(columns=list(PERIOD_VALUE_COLUMNS))
    return load_period_grid(session, repo_ids, every, first, until).frame()


class ReportRepo(NamedTuple):
    """What a report shows about a repository besides its numbers. A named tuple: a ranking reads ten
    thousand of them, which build three times faster than frozen dataclasses."""

    id: int
    full_name: str
    created_at: datetime | None
    archived: bool
    primary_language: str | None
    description: str | None

    def shown_as(self) -> tuple[str, date | None]:
        """Its name and creation day, as a report's grid labels it (ShownGrid.of)."""
        return self.full_name, self.created_at.date() if self.created_at else None


def load_report_repos(session: Session, repo_ids: Sequence[int]) -> list[ReportRepo]:
    """Name, creation time, language, archived flag and description of the given repositories."""
    columns = (RepoRow.id, RepoRow.full_name, RepoRow.created_at, RepoRow.archived, RepoRow.primary_language)
    stmt = select(*columns, RepoRow.description).where(
        among(RepoRow.id, repo_ids, session.get_bind().dialect.name)
    )
    # Through the session's connection: plain rows, without the ORM's per-row work.
    return list(map(ReportRepo._make, session.connection().execute(stmt).all()))


def load_tracked_ids(session: Session) -> list[int]:
    """The ids of the tracked repositories, by name."""
    stmt = select(RepoRow.id).where(RepoRow.tracked.is_(True)).order_by(RepoRow.name_key)
    return list(session.connection().execute(stmt).scalars().all())  # no ORM work per row


def load_unavailable(session: Session, repo_ids: Sequence[int]) -> dict[tuple[int, str], str]:
    """Series the backfill marked unavailable: (repo id, series) -> why."""
    rows = session.execute(
        select(SeriesState.repo_id, SeriesState.series, SeriesState.detail).where(
            among(SeriesState.repo_id, repo_ids, session.get_bind().dialect.name),
            SeriesState.status == "unavailable",
        )
    )
    return {(repo_id, series): detail or "unavailable" for repo_id, series, detail in rows}
