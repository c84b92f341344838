"""calendar from 1970: days before 2000 map to weeks and months too, and the rollups count them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

The calendar began in 2000 (0002), so the monthly rollups (history_monthly, history_weekly_monthly),
which map days to months through it, left out what the commit walk dates before 2000 (repositories
converted from older version control keep their first commits' dates): reports then missed those
contributors and commits. Reports cover days from 1970-01-01 (git's and GitHub's clocks start at the Unix
epoch); this adds 1970-1999 and sums the rows already stored for those months. Snapshots are this tool's
own observations, never before 2000.
"""

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRST = date(1970, 1, 1)
BEFORE = date(2000, 1, 1)  # the first day 0002 put in

# No rollup row exists for a month before 2000 yet: the months are whole, so these only add rows.
FILL_DAILY = """
INSERT INTO history_monthly (repo_id, metric, month_start, value)
SELECT h.repo_id, h.metric, c.month_start, SUM(h.value)
FROM history_daily h
JOIN calendar c ON c.day = h.day
WHERE h.day < '2000-01-01'
GROUP BY h.repo_id, h.metric, c.month_start
"""
FILL_WEEKLY = """
INSERT INTO history_weekly_monthly (repo_id, metric, month_start, value)
SELECT w.repo_id, w.metric, c.month_start, SUM(w.value)
FROM history_weekly w
JOIN calendar c ON c.day = w.week_start
WHERE w.week_start < '2000-01-01'
GROUP BY w.repo_id, w.metric, c.month_start
"""


def _calendar_rows() -> list[dict[str, date]]:
    rows = []
    day = FIRST
    while day < BEFORE:
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
    op.execute(FILL_DAILY)
    op.execute(FILL_WEEKLY)


def downgrade() -> None:
    op.execute("DELETE FROM history_weekly_monthly WHERE month_start < '2000-01-01'")
    op.execute("DELETE FROM history_monthly WHERE month_start < '2000-01-01'")
    op.execute("DELETE FROM calendar WHERE day < '2000-01-01'")
