"""Releases of repositories, their assets, and one snapshot per UTC day of each asset's running download
total. GitHub keeps no history of `download_count`: these snapshots are the history, from the first
collect on. Drafts never reach the store (the caller leaves them out).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, UniqueConstraint, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from collector.domain import Release
from collector.store.base import Base
from collector.store.columns import among
from collector.store.upsert import upsert


class ReleaseRow(Base):
    """A published release of a repository, by tag."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("repo_id", "tag"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    tag: Mapped[str]
    name: Mapped[str | None]
    published_at: Mapped[datetime | None]
    prerelease: Mapped[bool]


class ReleaseAssetRow(Base):
    """A file attached to a release, by name."""

    __tablename__ = "release_assets"
    __table_args__ = (UniqueConstraint("release_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    name: Mapped[str]


class ReleaseAssetDaily(Base):
    """An asset's running download total as last observed on a UTC day."""

    __tablename__ = "release_asset_daily"
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("release_assets.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    download_count: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True)
class StoredRelease:
    """One row of the `repo_releases` view."""

    repo: str
    tag: str
    name: str | None
    published_at: datetime | None
    prerelease: bool
    downloads: int | None  # the latest totals summed over its assets; None without assets


def save_releases(session: Session, repo_id: int, releases: Sequence[Release], day: date) -> int:
    """Store the releases and today's download total of each of their assets (a later observation on
    the same day replaces the earlier one); returns how many asset totals were written."""
    # One row per key, so that one statement never updates a row twice (GitHub keeps tags and asset names
    # unique; this keeps a malformed answer from failing the whole step).
    releases = list({r.tag: r for r in releases}.values())
    if not releases:
        return 0
    upsert(
        session,
        ReleaseRow.__table__,  # type: ignore[arg-type]
        [
            {
                "repo_id": repo_id,
                "tag": r.tag,
                "name": r.name,
                "published_at": r.published_at,
                "prerelease": r.prerelease,
            }
            for r in releases
        ],
        keys=("repo_id", "tag"),
    )
    release_ids = {
        tag: rid
        for tag, rid in session.execute(
            select(ReleaseRow.tag, ReleaseRow.id).where(ReleaseRow.repo_id == repo_id)
        )
    }
    assets = list(
        {(release_ids[r.tag], a.name): (release_ids[r.tag], a) for r in releases for a in r.assets}.values()
    )
    if not assets:
        return 0
    upsert(
        session,
        ReleaseAssetRow.__table__,  # type: ignore[arg-type]
        [{"release_id": rid, "name": a.name} for rid, a in assets],
        keys=("release_id", "name"),
        update=(),
    )
    asset_ids = {
        (rid, name): aid
        for aid, rid, name in session.execute(
            select(ReleaseAssetRow.id, ReleaseAssetRow.release_id, ReleaseAssetRow.name).where(
                ReleaseAssetRow.release_id.in_(set(release_ids.values()))
            )
        )
    }
    upsert(
        session,
        ReleaseAssetDaily.__table__,  # type: ignore[arg-type]
        [
            {"asset_id": asset_ids[(rid, a.name)], "day": day, "download_count": a.download_count}
            for rid, a in assets
        ],
        keys=("asset_id", "day"),
    )
    return len(assets)


def load_releases(session: Session, repo_id: int) -> list[StoredRelease]:
    """The repository's releases from the `repo_releases` view, newest first (undated ones last)."""
    rows = session.execute(
        text(
            "SELECT repo, tag, name, published_at, prerelease, downloads FROM repo_releases "
            "WHERE repo_id = :r"
        ),
        {"r": repo_id},
    ).all()
    releases = [
        StoredRelease(
            repo=row.repo,
            tag=row.tag,
            name=row.name,
            published_at=_aware(row.published_at),
            prerelease=bool(row.prerelease),
            downloads=None if row.downloads is None else int(row.downloads),
        )
        for row in rows
    ]
    return sorted(releases, key=lambda r: (r.published_at is not None, r.published_at), reverse=True)


def load_release_totals(session: Session, repo_id: int) -> dict[date, int]:
    """Per UTC day on which they were observed, the repository's asset download totals summed."""
    rows = session.execute(
        select(ReleaseAssetDaily.day, func.sum(ReleaseAssetDaily.download_count))
        .join(ReleaseAssetRow, ReleaseAssetRow.id == ReleaseAssetDaily.asset_id)
        .join(ReleaseRow, ReleaseRow.id == ReleaseAssetRow.release_id)
        .where(ReleaseRow.repo_id == repo_id)
        .group_by(ReleaseAssetDaily.day)
    )
    return {day: int(total) for day, total in rows}


def load_release_markers(
    session: Session, repo_ids: Iterable[int], since: date | None = None
) -> dict[int, list[tuple[date, str]]]:
    """Per repository, (publication day, tag) of its releases, oldest first: markers for charts."""
    dialect = session.get_bind().dialect.name
    query = select(ReleaseRow.repo_id, ReleaseRow.published_at, ReleaseRow.tag).where(
        among(ReleaseRow.repo_id, list(repo_ids), dialect), ReleaseRow.published_at.is_not(None)
    )
    markers: dict[int, list[tuple[date, str]]] = {}
    for repo_id, published, tag in session.execute(query):
        assert published is not None
        day = published.date()
        if since is None or day >= since:
            markers.setdefault(repo_id, []).append((day, tag))
    return {k: sorted(v) for k, v in markers.items()}


def _aware(value: datetime | str | None) -> datetime | None:
    """A timestamp from a raw view row (SQLite gives naive text) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
