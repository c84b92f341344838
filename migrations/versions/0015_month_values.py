"""series_versions and month_values: each repository's monthly report values packed in one row, used while
the version of its data they were computed from is current

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

Every writer of a repository's report data moves its version (collector/store/month_state.py); the jobs
pack the rows after they write (collector/store/report_months.py). Every repository starts at version 1
with no row: the next collect or backfill packs them, and until then reports compute every month.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _repository_key(table: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f(f"fk_{table}_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repo_id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "series_versions",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        *_repository_key("series_versions"),
    )
    op.create_table(
        "month_values",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("first_month_no", sa.Integer(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("rebuilt", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        *_repository_key("month_values"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Uncompressed, so that reading some months of every row reads only their part of each.
        op.execute("ALTER TABLE month_values ALTER COLUMN payload SET STORAGE EXTERNAL")
    op.execute("INSERT INTO series_versions (repo_id, version) SELECT id, 1 FROM repositories")


def downgrade() -> None:
    op.drop_table("month_values")
    op.drop_table("series_versions")
