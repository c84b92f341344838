"""leases.generation (a fencing token incremented by each claim) and job_locks (cluster-wide locks for
jobs one daemon runs at a time)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

A backfill's page writes check in their own transaction that the worker still holds the generation it
claimed, so a worker that lost its lease cannot write; lease times come from the database's clock.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("generation", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "job_locks",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_locks")),
    )


def downgrade() -> None:
    op.drop_table("job_locks")
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.drop_column("generation")
