"""package downloads: packages per repository (PyPI, npm), their daily downloads and fetch state, the view
repo_downloads_daily, and repo_latest.downloads_30d

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

pypistats.org keeps 180 days of daily PyPI downloads and npm's API keeps counts from 2015-01-10; a store
that fetches every day keeps them longer. A day a source never gave us has no row, so the views show
NULL for it, never 0. repo_latest is recreated with the new column last, every existing column kept,
and on PostgreSQL with the grants it had (the reader role's SELECT), as 0008 does for its view.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from collector.store.grants import load_grants, save_grants

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0002's definition, kept to restore it on downgrade.
REPO_LATEST_0002 = """
CREATE VIEW repo_latest AS
SELECT
    r.full_name AS repo,
    r.github_id AS github_id,
    s.observed_at AS observed_at,
    s.stars AS stars,
    s.forks AS forks,
    s.watchers AS watchers,
    s.open_issues AS open_issues,
    s.contributors AS contributors,
    s.commits_52w AS commits_52w,
    COALESCE(s.archived, r.archived) AS archived,
    r.primary_language AS primary_language,
    r.description AS description,
    r.created_at AS created_at,
    r.id AS repo_id
FROM repositories r
LEFT JOIN snapshots s
    ON s.repo_id = r.id
    AND s.observed_day = (SELECT MAX(s2.observed_day) FROM snapshots s2 WHERE s2.repo_id = r.id)
WHERE r.tracked
"""

# downloads_30d: the sum over the 30 days ending on the repository's latest day with downloads (days a
# source never gave are left out, not counted as 0); NULL without packages or data. The calendar table
# finds the window's first day without dialect-specific date arithmetic.
REPO_LATEST_0011 = """
CREATE VIEW repo_latest AS
SELECT
    r.full_name AS repo,
    r.github_id AS github_id,
    s.observed_at AS observed_at,
    s.stars AS stars,
    s.forks AS forks,
    s.watchers AS watchers,
    s.open_issues AS open_issues,
    s.contributors AS contributors,
    s.commits_52w AS commits_52w,
    COALESCE(s.archived, r.archived) AS archived,
    r.primary_language AS primary_language,
    r.description AS description,
    r.created_at AS created_at,
    r.id AS repo_id,
    (
        SELECT SUM(d.downloads)
        FROM package_downloads_daily d
        JOIN packages p ON p.id = d.package_id
        WHERE p.repo_id = r.id
        AND d.day >= (
            SELECT c.day FROM calendar c
            WHERE c.day <= (
                SELECT MAX(d2.day) FROM package_downloads_daily d2
                JOIN packages p2 ON p2.id = d2.package_id
                WHERE p2.repo_id = r.id
            )
            ORDER BY c.day DESC LIMIT 1 OFFSET 29
        )
    ) AS downloads_30d
FROM repositories r
LEFT JOIN snapshots s
    ON s.repo_id = r.id
    AND s.observed_day = (SELECT MAX(s2.observed_day) FROM snapshots s2 WHERE s2.repo_id = r.id)
WHERE r.tracked
"""

# One row per repository and day on which at least one of its packages has a count: the sum, and how
# many packages gave one that day.
REPO_DOWNLOADS_DAILY = """
CREATE VIEW repo_downloads_daily AS
SELECT
    r.full_name AS repo,
    d.day AS day,
    SUM(d.downloads) AS downloads,
    COUNT(*) AS packages,
    r.id AS repo_id
FROM package_downloads_daily d
JOIN packages p ON p.id = d.package_id
JOIN repositories r ON r.id = p.repo_id
GROUP BY r.id, r.full_name, d.day
"""


def upgrade() -> None:
    op.create_table(
        "packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_packages_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packages")),
        sa.UniqueConstraint("repo_id", "source", "name", name=op.f("uq_packages_repo_id_source_name")),
    )
    op.create_table(
        "package_downloads_daily",
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_package_downloads_daily_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("package_id", "day", name=op.f("pk_package_downloads_daily")),
    )
    op.create_table(
        "package_sync",
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("known_from", sa.Date(), nullable=True),
        sa.Column("fetched_through", sa.Date(), nullable=True),
        sa.Column("last_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("advanced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_package_sync_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("package_id", name=op.f("pk_package_sync")),
    )
    bind = op.get_bind()
    grants = load_grants(bind, "repo_latest")
    op.execute("DROP VIEW repo_latest")
    op.execute(REPO_LATEST_0011)
    op.execute(REPO_DOWNLOADS_DAILY)
    # Whoever may read repo_latest (the reader role) may read the new public view too.
    for view in ("repo_latest", "repo_downloads_daily"):
        save_grants(bind, view, grants)


def downgrade() -> None:
    op.execute("DROP VIEW repo_downloads_daily")
    bind = op.get_bind()
    grants = load_grants(bind, "repo_latest")
    op.execute("DROP VIEW repo_latest")
    op.execute(REPO_LATEST_0002)
    save_grants(bind, "repo_latest", grants)
    op.drop_table("package_sync")
    op.drop_table("package_downloads_daily")
    op.drop_table("packages")

