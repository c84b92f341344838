"""The fixed SQL of the report queries. reports.py fills in the few parts that vary by kind of period,
metrics and dialect (`{name}`) and runs them; nothing from a request is ever put in, values are bound.
"""

from __future__ import annotations

from datetime import date

# The calendar column that starts each kind of period, for grouping days (days themselves need no
# calendar: a single day folds the whole history into one period ending on it, the ranking).
BUCKET_COLUMNS = {
    "day": "day",
    "week": "week_start",
    "month": "month_start",
    "quarter": "quarter_start",
    "year": "year_start",
}

# The first day of each kind of data (all of it, not only up to :until): one index probe each, :never
# where there is none. A metric with any additions at all is reconstructed; the earliest of them all is
# where a repository's data starts.
FIRSTS_SQL = """
SELECT r.id AS repo_id,
    COALESCE((SELECT MIN(h.day) FROM history_daily h
        WHERE h.repo_id = r.id AND h.metric = 'stars'), :never) AS f_stars,
    COALESCE((SELECT MIN(h.day) FROM history_daily h
        WHERE h.repo_id = r.id AND h.metric = 'forks'), :never) AS f_forks,
    COALESCE((SELECT MIN(h.day) FROM history_daily h
        WHERE h.repo_id = r.id AND h.metric = 'contributors'), :never) AS f_contributors,
    COALESCE((SELECT MIN(h.day) FROM history_daily h
        WHERE h.repo_id = r.id AND h.metric = 'commits'), :never) AS f_commits,
    COALESCE((SELECT MIN(w.week_start) FROM history_weekly w
        WHERE w.repo_id = r.id AND w.metric = 'commits'), :never) AS f_weekly,
    COALESCE((SELECT MIN(s.observed_day) FROM snapshots s WHERE s.repo_id = r.id), :never) AS f_observed
FROM repositories r
WHERE r.id {in_ids}
"""

# Additions per repository, metric (by its position in CUMULATIVE_METRICS) and day: the months before
# :first as one row per repository and metric, the running total of the latest of them (history_running;
# the running sums start from it: a ranking over ten years reads one row each); the months from :first
# to :cutoff from the rollup as they are (numpy puts each in its period; grouping a million of them here
# costs seconds), none when no month starts from :first (:months_from, the first month start on or after
# it) to :cutoff (a ranking: the guard spares PostgreSQL a probe per repository of a range it does not see
# is empty);
# the days from :cutoff to :until from history_daily, summed per period (the metric list lets PostgreSQL
# use the primary key for the day range).
ADDITIONS_SQL = """
{running}
UNION ALL
SELECT m.repo_id, {code_m} AS metric, m.month_start AS day, m.value AS value
FROM history_monthly m
WHERE :months_from < :cutoff AND m.repo_id {in_ids} AND m.metric IN ({metrics}) AND m.month_start >= :first
    AND m.month_start < :cutoff
UNION ALL
SELECT h.repo_id, {code_h} AS metric, MIN(h.day) AS day, SUM(h.value) AS value
FROM history_daily h {join_d}
WHERE :cutoff <= :until AND h.repo_id {in_ids} AND h.metric IN ({metrics}) AND h.day >= :cutoff
    AND h.day <= :until
GROUP BY h.repo_id, h.metric{group_d}
"""

# The running total of the latest month before :first and :cutoff, per repository and metric: from
# month_state, one range of rows for the month they end in (:carry), for every repository it has a row of
# that month for; the others (a month before their data or after it) probe history_running, one index probe
# each (on PostgreSQL a lateral subquery per metric, on SQLite a join). {state_totals} is STATE_TOTAL per
# metric asked.
STATE_TOTAL = """
SELECT s.repo_id, {code} AS metric, s.month_start AS day, s.{metric}_total AS value
FROM month_state s
WHERE s.month_start = :carry AND s.repo_id {in_ids} AND s.{metric}_total IS NOT NULL
"""
STATELESS = "NOT EXISTS (SELECT 1 FROM month_state s WHERE s.month_start = :carry AND s.repo_id = {of})"
RUNNING_PG = """
{state_totals}
UNION ALL
SELECT r.id AS repo_id, {code_k} AS metric, l.month_start AS day, l.total AS value
FROM repositories r
CROSS JOIN (VALUES {metric_rows}) AS k(metric)
CROSS JOIN LATERAL (
    SELECT t.month_start, t.total FROM history_running t
    WHERE t.repo_id = r.id AND t.metric = k.metric AND t.month_start < :first AND t.month_start < :cutoff
    ORDER BY t.month_start DESC LIMIT 1
) l
WHERE r.id {in_ids} AND {stateless_r}
"""
RUNNING_SQLITE = """
{state_totals}
UNION ALL
SELECT l.repo_id, {code_l} AS metric, l.month_start AS day, l.total AS value
FROM history_running l
WHERE l.repo_id {in_ids} AND l.metric IN ({metrics}) AND {stateless_l} AND l.month_start = (
    SELECT MAX(t.month_start) FROM history_running t
    WHERE t.repo_id = l.repo_id AND t.metric = l.metric AND t.month_start < :first AND t.month_start < :cutoff
)
"""

# Snapshots: the latest of each month from the snapshots_monthly rollup (whole months from :first to
# :cutoff), the latest month before :first (carried into the first period) and the latest from :cutoff
# to :until ({recent}). Where several rows fall into one period, the latest wins (in numpy). Contributors
# can be unknown: a value (0 for none) and a known flag keep the rows free of NULLs.
LAST_SNAPSHOTS_SQL = """
SELECT m.repo_id, m.observed_day, m.stars, m.forks, COALESCE(m.contributors, 0) AS contributors,
    (m.contributors IS NOT NULL) AS contributors_known
FROM snapshots_monthly m
WHERE :months_from < :cutoff AND m.repo_id {in_ids} AND m.month_start >= :first AND m.month_start < :cutoff
UNION ALL
{before}
UNION ALL
{recent}
"""

# The latest row of `table` in a range, per repository: one index probe each. PostgreSQL gets it as a
# lateral subquery (given the join below, it hashes the whole table instead); SQLite as that join.
LATEST_PG = """
SELECT l.repo_id, l.observed_day, l.stars, l.forks, COALESCE(l.contributors, 0) AS contributors,
    (l.contributors IS NOT NULL) AS contributors_known
FROM repositories r
CROSS JOIN LATERAL (
    SELECT t.repo_id, t.observed_day, t.stars, t.forks, t.contributors FROM {table} t
    WHERE t.repo_id = r.id AND {where} ORDER BY t.{key} DESC LIMIT 1
) l
WHERE {in_ids}
"""
LATEST_SQLITE = """
SELECT l.repo_id, l.observed_day, l.stars, l.forks, COALESCE(l.contributors, 0) AS contributors,
    (l.contributors IS NOT NULL) AS contributors_known
FROM repositories r
JOIN {table} l ON l.repo_id = r.id AND l.{key} = (
    SELECT MAX(t.{key}) FROM {table} t WHERE t.repo_id = r.id AND {where}
)
WHERE {in_ids}
"""
BEFORE = ("snapshots_monthly", "month_start", "t.month_start < :first AND t.month_start < :cutoff")
RECENT = ("snapshots", "observed_day", "t.observed_day >= :cutoff AND t.observed_day <= :until")
WHOLE = ":cutoff <= :until AND "  # none of the days from :cutoff: PostgreSQL skips the part outright
# The snapshot carried in from the months up to :carry: month_state's, for the repositories it has a row
# of that month for, else the latest monthly one ({before_probe}: BEFORE, for the others).
STATE_SNAPSHOT = """
SELECT s.repo_id, s.snap_day AS observed_day, s.snap_stars AS stars, s.snap_forks AS forks,
    COALESCE(s.snap_contributors, 0) AS contributors, (s.snap_contributors IS NOT NULL) AS contributors_known
FROM month_state s
WHERE s.month_start = :carry AND s.repo_id {in_ids} AND s.snap_day IS NOT NULL
UNION ALL
{before_probe}
"""
# A single period needs only each repository's latest snapshot up to its end: the one carried in, and
# those from the month after :carry (:after) to its end, of which numpy keeps the latest. Read as one range
# of days, not a probe per repository: PostgreSQL reads it from ix_snapshots_observed_day alone.
LATEST_SNAPSHOT_SQL = """
{before}
UNION ALL
SELECT s.repo_id, s.observed_day, s.stars, s.forks, COALESCE(s.contributors, 0) AS contributors,
    (s.contributors IS NOT NULL) AS contributors_known
FROM snapshots s
WHERE :after <= :until AND s.repo_id {in_ids} AND s.observed_day >= :after AND s.observed_day <= :until
"""

# Every snapshot from :cutoff to :until (at most one a day): each day of a day grid is its own period.
RECENT_DAILY_SNAPSHOTS_SQL = """
SELECT s.repo_id, s.observed_day, s.stars, s.forks, COALESCE(s.contributors, 0) AS contributors,
    (s.contributors IS NOT NULL) AS contributors_known
FROM snapshots s
WHERE :cutoff <= :until AND s.repo_id {in_ids} AND s.observed_day >= :cutoff AND s.observed_day <= :until
"""

# The latest snapshot of each week from :cutoff to :until.
RECENT_WEEKLY_SNAPSHOTS_SQL = """
SELECT s.repo_id, s.observed_day, s.stars, s.forks, COALESCE(s.contributors, 0) AS contributors,
    (s.contributors IS NOT NULL) AS contributors_known
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

# Commits per repository and week (its Sunday) or month of weeks: whole months from :first to :cutoff
# from the history_weekly_monthly rollup, the weeks from :cutoff on from history_weekly; numpy adds up
# those that fall into one period. Weeks before :first are not part of any period.
COMMITS_SQL = """
SELECT m.repo_id, m.month_start AS day, m.value AS commits
FROM history_weekly_monthly m
WHERE :months_from < :cutoff AND m.repo_id {in_ids} AND m.metric = 'commits' AND m.month_start >= :first
    AND m.month_start < :cutoff
UNION ALL
SELECT w.repo_id, w.week_start AS day, w.value AS commits
FROM history_weekly w
WHERE :cutoff <= :until AND w.repo_id {in_ids} AND w.metric = 'commits' AND w.week_start >= :first
    AND w.week_start >= :cutoff
    AND w.week_start <= :until
"""

NEVER = date(9999, 12, 31)  # stands for "no such day" in query results, which carry no NULLs
