"""releases: each repository's published releases, their assets, and one snapshot per UTC day of each
asset's running download total; the view repo_releases

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

GitHub keeps only the running total of each release asset's downloads, never its history: the daily
snapshots here are the history, from the first collect on. The reader role (whoever may read
repo_latest) may read the new view.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from collector.store.grants import load_grants, save_grants

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# downloads: each asset's latest snapshot, summed over the release's assets (NULL without assets).
REPO_RELEASES = """
CREATE VIEW repo_releases AS
SELECT
    r.full_name AS repo,
    rel.tag AS tag,
    rel.name AS name,
    rel.published_at AS published_at,
    rel.prerelease AS prerelease,
    (
        SELECT SUM(d.download_count)
        FROM release_assets a
        JOIN release_asset_daily d ON d.asset_id = a.id
        WHERE a.release_id = rel.id
        AND d.day = (SELECT MAX(d2.day) FROM release_asset_daily d2 WHERE d2.asset_id = a.id)
    ) AS downloads,
    r.id AS repo_id
FROM releases rel
JOIN repositories r ON r.id = rel.repo_id
"""


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("prerelease", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_releases_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
        sa.UniqueConstraint("repo_id", "tag", name=op.f("uq_releases_repo_id_tag")),
    )
    op.create_table(
        "release_assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_release_assets_release_id_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_assets")),
        sa.UniqueConstraint("release_id", "name", name=op.f("uq_release_assets_release_id_name")),
    )
    op.create_table(
        "release_asset_daily",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("download_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["release_assets.id"],
            name=op.f("fk_release_asset_daily_asset_id_release_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", "day", name=op.f("pk_release_asset_daily")),
    )
    op.execute(REPO_RELEASES)
    bind = op.get_bind()
    save_grants(bind, "repo_releases", load_grants(bind, "repo_latest"))


def downgrade() -> None:
    op.execute("DROP VIEW repo_releases")
    op.drop_table("release_asset_daily")
    op.drop_table("release_assets")
    op.drop_table("releases")
