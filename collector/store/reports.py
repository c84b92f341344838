"""Read-only queries behind `collector report`: values at period ends, aggregated in the database.

The numbers follow the `repo_daily` view's precedence (the observation made that day, else the cumulative
sum of reconstructed additions when the metric has any, else the last observation carried forward), but
they are computed per period instead of per day: additions are summed per repository and period and then
accumulated with a window, and only the latest snapshot of each period is looked at. That keeps a monthly
trend over 1,000 repositories and 10 years at a few hundred thousand grouped rows instead of millions of
days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
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
spans AS (
    SELECT u.repo_id, MIN(u.d) AS first_day
    FROM (
        SELECT r.id AS repo_id,
            (SELECT MIN(h.day) FROM history_daily h WHERE h.repo_id = r.id AND h.metric = 'stars') AS d
        FROM repositories r WHERE r.id IN :ids
        UNION ALL
        SELECT r.id, (SELECT MIN(h.day) FROM history_daily h WHERE h.repo_id = r.id AND h.metric = 'forks')
        FROM repositories r WHERE r.id IN :ids
        UNION ALL
        SELECT r.id,
            (SELECT MIN(h.day) FROM history_daily h WHERE h.repo_id = r.id AND h.metric = 'contributors')
        FROM repositories r WHERE r.id IN :ids
        UNION ALL
        SELECT r.id, (SELECT MIN(h.day) FROM history_daily h WHERE h.repo_id = r.id AND h.metric = 'commits')
        FROM repositories r WHERE r.id IN :ids
        UNION ALL
        SELECT r.id,
            (SELECT MIN(w.week_start) FROM history_weekly w WHERE w.repo_id = r.id AND w.metric = 'commits')
        FROM repositories r WHERE r.id IN :ids
        UNION ALL
        SELECT r.id, (SELECT MIN(s.observed_day) FROM snapshots s WHERE s.repo_id = r.id)
        FROM repositories r WHERE r.id IN :ids
    ) u
    GROUP BY u.repo_id
),
kinds AS (
    SELECT r.id AS repo_id, sp.first_day,
        CASE WHEN EXISTS (SELECT 1 FROM history_daily h WHERE h.repo_id = r.id AND h.metric = 'stars')
            THEN 1 ELSE 0 END AS has_stars,
        CASE WHEN EXISTS (SELECT 1 FROM history_daily h WHERE h.repo_id = r.id AND h.metric = 'forks')
            THEN 1 ELSE 0 END AS has_forks,
        CASE WHEN EXISTS (SELECT 1 FROM history_daily h WHERE h.repo_id = r.id AND h.metric = 'contributors')
            THEN 1 ELSE 0 END AS has_contributors
    FROM repositories r
    JOIN spans sp ON sp.repo_id = r.id
    WHERE r.id IN :ids
),
adds AS (
    SELECT x.repo_id, x.period,
        SUM(CASE WHEN x.metric = 'stars' THEN x.value ELSE 0 END) AS stars,
        SUM(CASE WHEN x.metric = 'forks' THEN x.value ELSE 0 END) AS forks,
        SUM(CASE WHEN x.metric = 'contributors' THEN x.value ELSE 0 END) AS contributors
    FROM (
        SELECT h.repo_id, h.metric, h.value,
            CASE WHEN h.day < :first THEN :first ELSE {bucket_of_h} END AS period
        FROM history_daily h {join_h}
        WHERE h.repo_id IN :ids AND h.day <= :until
    ) x
    GROUP BY x.repo_id, x.period
),
last_obs AS (
    SELECT x.repo_id, x.period, MAX(x.observed_day) AS observed_day
    FROM (
        SELECT s.repo_id, s.observed_day,
            CASE WHEN s.observed_day < :first THEN :first ELSE {bucket_of_s} END AS period
        FROM snapshots s {join_s}
        WHERE s.repo_id IN :ids AND s.observed_day <= :until
    ) x
    GROUP BY x.repo_id, x.period
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
    COALESCE(CASE WHEN x.observed = 1 THEN x.o_stars END, CASE WHEN x.has_stars = 1 THEN x.r_stars END,
             x.l_stars) AS stars,
    COALESCE(CASE WHEN x.observed = 1 THEN x.o_forks END, CASE WHEN x.has_forks = 1 THEN x.r_forks END,
             x.l_forks) AS forks,
    COALESCE(CASE WHEN x.observed = 1 THEN x.o_contributors END,
             CASE WHEN x.has_contributors = 1 THEN x.r_contributors END, x.l_contributors) AS contributors,
    x.commits,
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
    if every == "day":
        # One period ending on the day: no calendar lookup needed, every row before it folds in.
        bucket_h, join_h, bucket_s, join_s = "h.day", "", "s.observed_day", ""
    else:
        bucket_h, join_h = f"c.{column}", "JOIN calendar c ON c.day = h.day"
        bucket_s, join_s = f"c.{column}", "JOIN calendar c ON c.day = s.observed_day"
    return _PERIOD_VALUES_SQL.format(
        bucket=column, bucket_of_h=bucket_h, join_h=join_h, bucket_of_s=bucket_s, join_s=join_s
    )


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
    rows = session.execute(stmt, {"ids": list(repo_ids), "first": first, "until": until}).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(PERIOD_VALUE_COLUMNS)
    data: dict[str, Any] = {}
    for name, values in zip(PERIOD_VALUE_COLUMNS, columns, strict=True):
        if name in ("stars", "forks", "contributors", "commits"):
            # PostgreSQL window sums come back as Decimal: one nullable integer type on both backends.
            data[name] = pd.array([None if v is None else int(v) for v in values], dtype="Int64")
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
