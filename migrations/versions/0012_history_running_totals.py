"""history_running: each daily series summed up to the end of each of its months, so that a value at a
date (a ranking, the first period of a trend) reads one row per repository instead of every month before it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

The store functions that write history_daily recompute it with history_monthly in the same transaction;
this migration fills it once from history_monthly as it stands.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILL = """
INSERT INTO history_running (repo_id, metric, month_start, total)
SELECT m.repo_id, m.metric, m.month_start,
    SUM(m.value) OVER (PARTITION BY m.repo_id, m.metric ORDER BY m.month_start)
FROM history_monthly m
"""


def upgrade() -> None:
    op.create_table(
        "history_running",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("month_start", sa.Date(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_history_running_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repo_id", "metric", "month_start", name=op.f("pk_history_running")),
    )
    op.execute(FILL)


def downgrade() -> None:
    op.drop_table("history_running")
