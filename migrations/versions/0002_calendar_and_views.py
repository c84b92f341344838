"""calendar table and the public views repo_latest, repo_daily, repo_weekly

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

The views are the contract for people who query the store with SQL. They use only SQL that SQLite
(3.25+, window functions) and PostgreSQL both run; the calendar table replaces dialect-specific date
arithmetic and series generation.
"""

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CALENDAR_FIRST = date(2000, 1, 1)
CALENDAR_LAST = date(2060, 12, 31)

REPO_LATEST = """
CREATE VIEW repo_latest AS
SELECT
    r.full_name AS repo,
    r.github_id AS github_id,
    s.observed_at AS observed_at,
    s.stars AS stars,
    s.forks AS forks,
    s.watchers AS watchers,
    s.open_issues AS open_issues,
    s.contributors AS contributors,
    s.commits_52w AS commits_52w,
    COALESCE(s.archived, r.archived) AS archived,
    r.primary_language AS primary_language,
    r.description AS description,
    r.created_at AS created_at,
    r.id AS repo_id
FROM repositories r
LEFT JOIN snapshots s
    ON s.repo_id = r.id
    AND s.observed_day = (SELECT MAX(s2.observed_day) FROM snapshots s2 WHERE s2.repo_id = r.id)
WHERE r.tracked
"""

# One row per repository and day, from the first day of known history (reconstructed or observed) to
# the last. Each cumulative value prefers, in order: the observation made that day; the cumulative sum
# of reconstructed additions (when that metric has any); the last observation carried forward.
REPO_DAILY = """
CREATE VIEW repo_daily AS
WITH spans AS (
    SELECT u.repo_id, MIN(u.first_day) AS first_day, MAX(u.last_day) AS last_day
    FROM (
        SELECT repo_id, MIN(day) AS first_day, MAX(day) AS last_day FROM history_daily GROUP BY repo_id
        UNION ALL
        SELECT repo_id, MIN(week_start), MAX(week_start) FROM history_weekly GROUP BY repo_id
        UNION ALL
        SELECT repo_id, MIN(observed_day), MAX(observed_day) FROM snapshots GROUP BY repo_id
    ) u
    GROUP BY u.repo_id
),
kinds AS (
    SELECT repo_id,
        MAX(CASE WHEN metric = 'stars' THEN 1 ELSE 0 END) AS has_stars,
        MAX(CASE WHEN metric = 'forks' THEN 1 ELSE 0 END) AS has_forks,
        MAX(CASE WHEN metric = 'contributors' THEN 1 ELSE 0 END) AS has_contributors
    FROM history_daily
    GROUP BY repo_id
),
adds AS (
    SELECT repo_id, day,
        SUM(CASE WHEN metric = 'stars' THEN value ELSE 0 END) AS stars_added,
        SUM(CASE WHEN metric = 'forks' THEN value ELSE 0 END) AS forks_added,
        SUM(CASE WHEN metric = 'contributors' THEN value ELSE 0 END) AS contributors_added
    FROM history_daily
    GROUP BY repo_id, day
),
grid AS (
    SELECT
        sp.repo_id,
        c.day,
        s.stars AS o_stars,
        s.forks AS o_forks,
        s.contributors AS o_contributors,
        SUM(COALESCE(a.stars_added, 0)) OVER w AS r_stars,
        SUM(COALESCE(a.forks_added, 0)) OVER w AS r_forks,
        SUM(COALESCE(a.contributors_added, 0)) OVER w AS r_contributors,
        COUNT(s.observed_day) OVER w AS obs_group
    FROM spans sp
    JOIN calendar c ON c.day >= sp.first_day AND c.day <= sp.last_day
    LEFT JOIN adds a ON a.repo_id = sp.repo_id AND a.day = c.day
    LEFT JOIN snapshots s ON s.repo_id = sp.repo_id AND s.observed_day = c.day
    WINDOW w AS (PARTITION BY sp.repo_id ORDER BY c.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
carried AS (
    SELECT g.*,
        MAX(g.o_stars) OVER (PARTITION BY g.repo_id, g.obs_group) AS l_stars,
        MAX(g.o_forks) OVER (PARTITION BY g.repo_id, g.obs_group) AS l_forks,
        MAX(g.o_contributors) OVER (PARTITION BY g.repo_id, g.obs_group) AS l_contributors
    FROM grid g
)
SELECT
    r.full_name AS repo,
    x.day AS day,
    COALESCE(x.o_stars, CASE WHEN k.has_stars = 1 THEN x.r_stars END, x.l_stars) AS stars,
    COALESCE(x.o_forks, CASE WHEN k.has_forks = 1 THEN x.r_forks END, x.l_forks) AS forks,
    COALESCE(x.o_contributors, CASE WHEN k.has_contributors = 1 THEN x.r_contributors END,
             x.l_contributors) AS contributors,
    (x.o_stars IS NOT NULL) AS observed,
    r.github_id AS github_id,
    r.id AS repo_id
FROM carried x
JOIN repositories r ON r.id = x.repo_id
LEFT JOIN kinds k ON k.repo_id = x.repo_id
"""

# One row per repository and week (Sunday start): cumulative values at the week's last known day,
# commits from the weekly commit series (NULL where that week's count is unknown).
REPO_WEEKLY = """
CREATE VIEW repo_weekly AS
WITH d AS (
    SELECT rd.repo, rd.day, rd.stars, rd.forks, rd.contributors, rd.observed, rd.github_id, rd.repo_id,
        c.week_start,
        ROW_NUMBER() OVER (PARTITION BY rd.repo_id, c.week_start ORDER BY rd.day DESC) AS rn
    FROM repo_daily rd
    JOIN calendar c ON c.day = rd.day
)
SELECT
    d.repo AS repo,
    d.week_start AS week_start,
    d.stars AS stars,
    d.forks AS forks,
    d.contributors AS contributors,
    hw.value AS commits,
    d.day AS as_of,
    d.observed AS observed,
    d.github_id AS github_id,
    d.repo_id AS repo_id
FROM d
LEFT JOIN history_weekly hw
    ON hw.repo_id = d.repo_id AND hw.metric = 'commits' AND hw.week_start = d.week_start
WHERE d.rn = 1
"""


def _calendar_rows() -> list[dict[str, date]]:
    rows = []
    day = CALENDAR_FIRST
    while day <= CALENDAR_LAST:
        rows.append(
            {
                "day": day,
                "week_start": day - timedelta(days=(day.weekday() + 1) % 7),
                "month_start": day.replace(day=1),
                "quarter_start": date(day.year, 3 * ((day.month - 1) // 3) + 1, 1),
                "year_start": date(day.year, 1, 1),
            }
        )
        day += timedelta(days=1)
    return rows


def upgrade() -> None:
    calendar = sa.table(
        "calendar",
        sa.column("day", sa.Date),
        sa.column("week_start", sa.Date),
        sa.column("month_start", sa.Date),
        sa.column("quarter_start", sa.Date),
        sa.column("year_start", sa.Date),
    )
    op.bulk_insert(calendar, _calendar_rows())
    op.execute(REPO_LATEST)
    op.execute(REPO_DAILY)
    op.execute(REPO_WEEKLY)


def downgrade() -> None:
    op.execute("DROP VIEW repo_weekly")
    op.execute("DROP VIEW repo_daily")
    op.execute("DROP VIEW repo_latest")
    op.execute("DELETE FROM calendar")
