"""history_weekly_monthly and snapshots_monthly: weekly sums and latest snapshots per month, for reports

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

A monthly trend reads one row per repository and month from these instead of grouping every weekly row
and every snapshot. save_history_weekly and save_snapshot keep them exact in the same transaction; this
migration fills them once from the rows already stored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILL_WEEKLY = """
INSERT INTO history_weekly_monthly (repo_id, metric, month_start, value)
SELECT w.repo_id, w.metric, c.month_start, SUM(w.value)
FROM history_weekly w
JOIN calendar c ON c.day = w.week_start
GROUP BY w.repo_id, w.metric, c.month_start
"""

FILL_SNAPSHOTS = """
INSERT INTO snapshots_monthly (repo_id, month_start, observed_day, stars, forks, contributors)
SELECT s.repo_id, g.month_start, s.observed_day, s.stars, s.forks, s.contributors
FROM snapshots s
JOIN (
    SELECT t.repo_id, c.month_start, MAX(t.observed_day) AS observed_day
    FROM snapshots t
    JOIN calendar c ON c.day = t.observed_day
    GROUP BY t.repo_id, c.month_start
) g ON g.repo_id = s.repo_id AND g.observed_day = s.observed_day
"""


def upgrade() -> None:
    op.create_table(
        "history_weekly_monthly",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("month_start", sa.Date(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_history_weekly_monthly_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repo_id", "metric", "month_start", name=op.f("pk_history_weekly_monthly")),
    )
    op.create_table(
        "snapshots_monthly",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("month_start", sa.Date(), nullable=False),
        sa.Column("observed_day", sa.Date(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("forks", sa.Integer(), nullable=False),
        sa.Column("contributors", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_snapshots_monthly_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repo_id", "month_start", name=op.f("pk_snapshots_monthly")),
    )
    op.execute(FILL_WEEKLY)
    op.execute(FILL_SNAPSHOTS)


def downgrade() -> None:
    op.drop_table("snapshots_monthly")
    op.drop_table("history_weekly_monthly")
