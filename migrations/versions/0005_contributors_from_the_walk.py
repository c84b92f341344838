"""repo_daily: contributors come from the commit walk wherever there is one, observed days included

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

GitHub's anon=1 contributor count links only the first 500 author emails to users and counts later ones
once per email; the commit walk counts each user id once, else each email, which is what we call a
contributor. Preferring the observation on observed days made the series jump there. Stars and forks
keep the observation first (the rebuilt fork series is scaled to GitHub's network count when written).
repo_weekly reads repo_daily, so it is dropped and recreated around it, with the same definition.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One row per repository and day, from the first day of known history (reconstructed or observed) to
# the last. Contributors: the cumulative sum of reconstructed additions wherever the repository has any
# (the walk), else the observation made that day, else the last observation carried forward. Stars and
# forks: the observation made that day; the cumulative sum of reconstructed additions (when that metric
# has any); the last observation carried forward.
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
    CASE WHEN k.has_contributors = 1 THEN x.r_contributors
         ELSE COALESCE(x.o_contributors, x.l_contributors) END AS contributors,
    (x.o_stars IS NOT NULL) AS observed,
    r.github_id AS github_id,
    r.id AS repo_id
FROM carried x
JOIN repositories r ON r.id = x.repo_id
LEFT JOIN kinds k ON k.repo_id = x.repo_id
"""

# repo_weekly as created by 0002 (it has to be recreated after repo_daily, unchanged).
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


# repo_daily as created by 0002, for the downgrade: the observation first for every metric.
REPO_DAILY_0002 = """
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


def upgrade() -> None:
    op.execute("DROP VIEW repo_weekly")
    op.execute("DROP VIEW repo_daily")
    op.execute(REPO_DAILY)
    op.execute(REPO_WEEKLY)


def downgrade() -> None:
    op.execute("DROP VIEW repo_weekly")
    op.execute("DROP VIEW repo_daily")
    op.execute(REPO_DAILY_0002)
    op.execute(REPO_WEEKLY)
