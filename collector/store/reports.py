"""Read-only queries behind `collector report`: values at period ends, aggregated in the database.

The numbers follow the `repo_daily` view's precedence (the observation made that day, else the cumulative
sum of reconstructed additions when the metric has any, else the last observation carried forward), but
they are computed per period instead of per day: additions are summed per repository and period and then
accumulated with a window, and only the latest snapshot of each period is looked at. Whole months of
additions come from the history_monthly rollup (kept exact by the store's writers), so a monthly trend over
1,000 repositories and 10 years reads a few hundred thousand monthly rows instead of millions of days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Date, Integer, String, bindparam, select, text
from sqlalchemy.orm import Session

from collector.store.models import Repository, SeriesState

# The calendar column that starts each kind of period; "day" makes the whole history one period ending
# on a day (the ranking).
BUCKET_COLUMNS = {
    "day": "day",
    "week": "week_start",
    "month": "month_start",
    "quarter": "quarter_start",
    "year": "year_start",
}

# One query for all periods. :first is the start of the first period: everything before it is folded into
# the first period, so the running sums start from the right total. Snapshots and additions after :until
# are ignored; each period's as_of is its last day, or :until for a period cut short.
_PERIOD_VALUES_SQL = """
WITH periods AS (
    SELECT c.{bucket} AS period, MAX(c.day) AS as_of
    FROM calendar c
    WHERE c.day >= :first AND c.day <= :until
    GROUP BY c.{bucket}
),
firsts AS (
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
    WHERE r.id IN :ids
),
spans AS (
    SELECT u.repo_id, MIN(u.d) AS first_day
    FROM (
        SELECT repo_id, f_stars AS d FROM firsts
        UNION ALL SELECT repo_id, f_forks FROM firsts
        UNION ALL SELECT repo_id, f_contributors FROM firsts
        UNION ALL SELECT repo_id, f_commits FROM firsts
        UNION ALL SELECT repo_id, f_weekly FROM firsts
        UNION ALL SELECT repo_id, f_observed FROM firsts
    ) u
    GROUP BY u.repo_id
),
-- Each MIN above is one index probe; "has any additions of a metric" falls out of them.
kinds AS (
    SELECT f.repo_id, sp.first_day,
        CASE WHEN f.f_stars IS NULL THEN 0 ELSE 1 END AS has_stars,
        CASE WHEN f.f_forks IS NULL THEN 0 ELSE 1 END AS has_forks,
        CASE WHEN f.f_contributors IS NULL THEN 0 ELSE 1 END AS has_contributors
    FROM firsts f
    JOIN spans sp ON sp.repo_id = f.repo_id
),
-- Additions per period: whole months before the cutoff from the monthly rollup, the days from the cutoff
-- on from history_daily (the metric list lets PostgreSQL use the primary key for the day range).
adds AS (
    SELECT y.repo_id, y.period, SUM(y.stars) AS stars, SUM(y.forks) AS forks,
        SUM(y.contributors) AS contributors
    FROM (
        SELECT g.repo_id, CASE WHEN g.period < :first THEN :first ELSE g.period END AS period,
            g.stars, g.forks, g.contributors
        FROM (
            SELECT m.repo_id, {period_m} AS period,
                COALESCE(SUM(m.value) FILTER (WHERE m.metric = 'stars'), 0) AS stars,
                COALESCE(SUM(m.value) FILTER (WHERE m.metric = 'forks'), 0) AS forks,
                COALESCE(SUM(m.value) FILTER (WHERE m.metric = 'contributors'), 0) AS contributors
            FROM history_monthly m {join_m}
            WHERE m.repo_id IN :ids AND m.metric IN ('stars', 'forks', 'contributors')
                AND m.month_start < :cutoff
            GROUP BY {group_m}
            UNION ALL
            SELECT h.repo_id, c.{bucket} AS period,
                COALESCE(SUM(h.value) FILTER (WHERE h.metric = 'stars'), 0) AS stars,
                COALESCE(SUM(h.value) FILTER (WHERE h.metric = 'forks'), 0) AS forks,
                COALESCE(SUM(h.value) FILTER (WHERE h.metric = 'contributors'), 0) AS contributors
            FROM history_daily h
            JOIN calendar c ON c.day = h.day
            WHERE h.repo_id IN :ids AND h.metric IN ('stars', 'forks', 'contributors')
                AND h.day >= :cutoff AND h.day <= :until
            GROUP BY h.repo_id, c.{bucket}
        ) g
    ) y
    GROUP BY y.repo_id, y.period
),
last_obs AS (
    SELECT y.repo_id, y.period, MAX(y.observed_day) AS observed_day
    FROM (
        SELECT g.repo_id, CASE WHEN g.period < :first THEN :first ELSE g.period END AS period, g.observed_day
        FROM (
            SELECT s.repo_id, {period_s} AS period, MAX(s.observed_day) AS observed_day
            FROM snapshots s {join_s}
            WHERE s.repo_id IN :ids AND s.observed_day <= :until
            GROUP BY {group_s}
        ) g
    ) y
    GROUP BY y.repo_id, y.period
),
commits AS (
    SELECT w.repo_id, c.{bucket} AS period, SUM(w.value) AS commits
    FROM history_weekly w
    JOIN calendar c ON c.day = w.week_start
    WHERE w.repo_id IN :ids AND w.metric = 'commits' AND w.week_start >= :first AND w.week_start <= :until
    GROUP BY w.repo_id, c.{bucket}
),
grid AS (
    SELECT k.repo_id, k.first_day, k.has_stars, k.has_forks, k.has_contributors, p.period, p.as_of,
        SUM(COALESCE(a.stars, 0)) OVER w AS r_stars,
        SUM(COALESCE(a.forks, 0)) OVER w AS r_forks,
        SUM(COALESCE(a.contributors, 0)) OVER w AS r_contributors,
        s.observed_day,
        s.stars AS o_stars,
        s.forks AS o_forks,
        s.contributors AS o_contributors,
        COUNT(s.observed_day) OVER w AS obs_group,
        cm.commits
    FROM kinds k
    CROSS JOIN periods p
    LEFT JOIN adds a ON a.repo_id = k.repo_id AND a.period = p.period
    LEFT JOIN last_obs lo ON lo.repo_id = k.repo_id AND lo.period = p.period
    LEFT JOIN snapshots s ON s.repo_id = lo.repo_id AND s.observed_day = lo.observed_day
    LEFT JOIN commits cm ON cm.repo_id = k.repo_id AND cm.period = p.period
    WINDOW w AS (PARTITION BY k.repo_id ORDER BY p.period ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
carried AS (
    SELECT g.*,
        CASE WHEN g.observed_day = g.as_of THEN 1 ELSE 0 END AS observed,
        MAX(g.o_stars) OVER (PARTITION BY g.repo_id, g.obs_group) AS l_stars,
        MAX(g.o_forks) OVER (PARTITION BY g.repo_id, g.obs_group) AS l_forks,
        MAX(g.o_contributors) OVER (PARTITION BY g.repo_id, g.obs_group) AS l_contributors
    FROM grid g
)
SELECT
    x.repo_id, x.period, x.as_of, x.first_day,
    -- PostgreSQL's window sums are NUMERIC (Decimal in Python, slow to convert): cast to BIGINT here.
    CAST(COALESCE(CASE WHEN x.observed = 1 THEN x.o_stars END, CASE WHEN x.has_stars = 1 THEN x.r_stars END,
             x.l_stars) AS BIGINT) AS stars,
    CAST(COALESCE(CASE WHEN x.observed = 1 THEN x.o_forks END, CASE WHEN x.has_forks = 1 THEN x.r_forks END,
             x.l_forks) AS BIGINT) AS forks,
    CAST(COALESCE(CASE WHEN x.observed = 1 THEN x.o_contributors END,
             CASE WHEN x.has_contributors = 1 THEN x.r_contributors END, x.l_contributors) AS BIGINT)
        AS contributors,
    CAST(x.commits AS BIGINT) AS commits,
    CASE WHEN x.observed = 1 THEN 'observed' WHEN x.has_stars = 1 THEN 'reconstructed'
         WHEN x.l_stars IS NOT NULL THEN 'carried' END AS stars_source,
    CASE WHEN x.observed = 1 THEN 'observed' WHEN x.has_forks = 1 THEN 'reconstructed'
         WHEN x.l_forks IS NOT NULL THEN 'carried' END AS forks_source,
    CASE WHEN x.observed = 1 AND x.o_contributors IS NOT NULL THEN 'observed'
         WHEN x.has_contributors = 1 THEN 'reconstructed'
         WHEN x.l_contributors IS NOT NULL THEN 'carried' END AS contributors_source
FROM carried x
ORDER BY x.repo_id, x.period
"""

PERIOD_VALUE_COLUMNS = (
    "repo_id",
    "period",
    "as_of",
    "first_day",
    "stars",
    "forks",
    "contributors",
    "commits",
    "stars_source",
    "forks_source",
    "contributors_source",
)


def _period_values_sql(every: str) -> str:
    column = BUCKET_COLUMNS[every]  # a fixed whitelist: never user text in the SQL
    # Group by plain columns first (the planner estimates those well and hashes them), then fold the
    # periods before :first into the first one over the few grouped rows.
    if every in ("day", "week"):
        # Every rollup month read lies before :first (see _cutoff): one folded group per repository.
        month_parts = {"period_m": "MIN(m.month_start)", "group_m": "m.repo_id", "join_m": ""}
    elif every == "month":
        month_parts = {"period_m": "m.month_start", "group_m": "m.repo_id, m.month_start", "join_m": ""}
    else:
        month_parts = {
            "period_m": f"c.{column}",
            "group_m": f"m.repo_id, c.{column}",
            "join_m": "JOIN calendar c ON c.day = m.month_start",
        }
    if every == "day":
        # One period ending on the day: one group per repository, no calendar lookup.
        parts = {"period_s": "MAX(s.observed_day)", "group_s": "s.repo_id", "join_s": ""}
    else:
        parts = {
            "period_s": f"c.{column}",
            "group_s": f"s.repo_id, c.{column}",
            "join_s": "JOIN calendar c ON c.day = s.observed_day",
        }
    return _PERIOD_VALUES_SQL.format(bucket=column, **parts, **month_parts)


def _cutoff(every: str, first: date, until: date) -> date:
    """The first day that history_daily is read from; the monthly rollup covers the months before it.

    Whole months map to months, quarters and years, so those read the rollup up to the last complete
    month before `until`; a week can straddle two months, so weeks (and a single day) read the rollup only
    for months before `first`, which are folded into the first period anyway.
    """
    if every in ("day", "week"):
        return first.replace(day=1)
    return (until + timedelta(days=1)).replace(day=1)


def load_period_values(
    session: Session, repo_ids: Sequence[int], every: str, first: date, until: date
) -> pd.DataFrame:
    """Values per repository and period from `first` (a period start) to `until`, one row each.

    Stars, forks and contributors are cumulative at each period's `as_of` day, commits are summed over the
    weeks whose Sunday falls in the period (NULL where no week is known), and `*_source` says which rule
    gave each value: observed, reconstructed or carried. `first_day` is the first day of known data.
    """
    if not repo_ids:
        return pd.DataFrame(columns=list(PERIOD_VALUE_COLUMNS))
    stmt = (
        text(_period_values_sql(every))
        .bindparams(
            bindparam("ids", expanding=True, type_=Integer),
            bindparam("first", type_=Date),
            bindparam("until", type_=Date),
            bindparam("cutoff", type_=Date),
        )
        .columns(
            repo_id=Integer,
            period=Date,
            as_of=Date,
            first_day=Date,
            stars=Integer,
            forks=Integer,
            contributors=Integer,
            commits=Integer,
            stars_source=String,
            forks_source=String,
            contributors_source=String,
        )
    )
    if session.get_bind().dialect.name == "postgresql":
        # With the default 4 MB the grouping sorts spill to disk; and the planner's row estimates for the
        # period grid are so high that it JIT-compiles the query, which costs more than running it.
        # SET LOCAL lasts until the end of this read-only transaction.
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        session.execute(text("SET LOCAL jit = off"))
    params = {"ids": list(repo_ids), "first": first, "until": until, "cutoff": _cutoff(every, first, until)}
    rows = session.execute(stmt, params).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(PERIOD_VALUE_COLUMNS)
    data: dict[str, Any] = {}
    for name, values in zip(PERIOD_VALUE_COLUMNS, columns, strict=True):
        if name in ("stars", "forks", "contributors", "commits"):
            data[name] = pd.array(values, dtype="Int64")  # ints and NULLs on both backends
        else:
            data[name] = list(values)
    return pd.DataFrame(data, columns=list(PERIOD_VALUE_COLUMNS))


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
    rows = session.scalars(select(Repository).where(Repository.id.in_(list(repo_ids))))
    return [
        ReportRepo(
            id=r.id,
            full_name=r.full_name,
            created_at=r.created_at,
            archived=r.archived,
            primary_language=r.primary_language,
            description=r.description,
        )
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
