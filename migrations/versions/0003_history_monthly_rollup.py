"""history_monthly: daily additions summed per calendar month, so trend reports read months, not days

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

The store functions that write history_daily recompute the months they touch in the same transaction;
this migration fills the table once from the rows already stored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILL = """
INSERT INTO history_monthly (repo_id, metric, month_start, value)
SELECT h.repo_id, h.metric, c.month_start, SUM(h.value)
FROM history_daily h
JOIN calendar c ON c.day = h.day
GROUP BY h.repo_id, h.metric, c.month_start
"""


def upgrade() -> None:
    op.create_table(
        "history_monthly",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("month_start", sa.Date(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_history_monthly_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repo_id", "metric", "month_start", name=op.f("pk_history_monthly")),
    )
    op.execute(FILL)


def downgrade() -> None:
    op.drop_table("history_monthly")
