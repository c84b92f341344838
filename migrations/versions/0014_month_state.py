"""month_state: each repository's running totals and latest snapshot at the end of each month, dense from
its first month of data to its last, keyed month first, so that a value at a date reads one range of rows;
and indexes of history_daily and snapshots by day, for the days of that date's month

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

The store's writers of history_running and snapshots_monthly recompute it in the same transaction
(collector/store/month_state.py); this migration fills it once from those rollups as they stand.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILL = """
INSERT INTO month_state (month_start, repo_id, stars_total, forks_total, contributors_total,
    snap_day, snap_stars, snap_forks, snap_contributors)
SELECT c.month_start, b.repo_id,
    (SELECT t.total FROM history_running t
        WHERE t.repo_id = b.repo_id AND t.metric = 'stars' AND t.month_start <= c.month_start
        ORDER BY t.month_start DESC LIMIT 1),
    (SELECT t.total FROM history_running t
        WHERE t.repo_id = b.repo_id AND t.metric = 'forks' AND t.month_start <= c.month_start
        ORDER BY t.month_start DESC LIMIT 1),
    (SELECT t.total FROM history_running t
        WHERE t.repo_id = b.repo_id AND t.metric = 'contributors' AND t.month_start <= c.month_start
        ORDER BY t.month_start DESC LIMIT 1),
    s.observed_day, s.stars, s.forks, s.contributors
FROM (
    SELECT u.repo_id, MIN(u.month_start) AS first_month, MAX(u.month_start) AS last_month
    FROM (
        SELECT t.repo_id, t.month_start FROM history_running t
        UNION ALL
        SELECT m.repo_id, m.month_start FROM snapshots_monthly m
    ) u
    GROUP BY u.repo_id
) b
JOIN calendar c ON c.day >= b.first_month AND c.day <= b.last_month AND c.day = c.month_start
LEFT JOIN snapshots_monthly s ON s.repo_id = b.repo_id AND s.month_start = (
    SELECT MAX(x.month_start) FROM snapshots_monthly x
    WHERE x.repo_id = b.repo_id AND x.month_start <= c.month_start
)
"""


def upgrade() -> None:
    op.create_table(
        "month_state",
        sa.Column("month_start", sa.Date(), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("stars_total", sa.BigInteger(), nullable=True),
        sa.Column("forks_total", sa.BigInteger(), nullable=True),
        sa.Column("contributors_total", sa.BigInteger(), nullable=True),
        sa.Column("snap_day", sa.Date(), nullable=True),
        sa.Column("snap_stars", sa.Integer(), nullable=True),
        sa.Column("snap_forks", sa.Integer(), nullable=True),
        sa.Column("snap_contributors", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_month_state_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        # A month's rows are read from the key alone (an index-only scan), not from rows spread over the
        # table in the order they were written.
        sa.PrimaryKeyConstraint(
            "month_start",
            "repo_id",
            name=op.f("pk_month_state"),
            postgresql_include=[
                *("stars_total", "forks_total", "contributors_total"),
                *("snap_day", "snap_stars", "snap_forks", "snap_contributors"),
            ],
        ),
    )
    op.create_index("ix_month_state_repo_id_month_start", "month_state", ["repo_id", "month_start"])
    op.execute(FILL)
    # Day ranges of every repository at once: the days of a value's month up to its date.
    op.create_index(
        "ix_history_daily_day", "history_daily", ["day"], postgresql_include=["repo_id", "metric", "value"]
    )
    op.create_index(
        "ix_snapshots_observed_day",
        "snapshots",
        ["observed_day"],
        postgresql_include=["repo_id", "stars", "forks", "contributors"],
    )


def downgrade() -> None:
    op.drop_index("ix_snapshots_observed_day", table_name="snapshots")
    op.drop_index("ix_history_daily_day", table_name="history_daily")
    op.drop_index("ix_month_state_repo_id_month_start", table_name="month_state")
    op.drop_table("month_state")
