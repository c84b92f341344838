"""alert_firings: what each [alerts.NAME] rule fired, and whether its webhook has taken it

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

One row per alert, metric, rule, repository and occurrence (the milestone value, or the ISO week of a
weekly or rank rule), written before delivery: a restart never fires the same alert twice, and a delivery
that failed (delivered_at still NULL) is retried at the next evaluation. The webhook URL is a secret and
is never stored; last_error holds only a short reason such as "HTTP 500".
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_firings",
        sa.Column("alert", sa.String(length=100), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("occurrence", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("previous", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_alert_firings_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "alert", "metric", "rule", "repo_id", "occurrence", name=op.f("pk_alert_firings")
        ),
    )
    with op.batch_alter_table("alert_firings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_firings_fired_at"), ["fired_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_firings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_firings_fired_at"))
    op.drop_table("alert_firings")
