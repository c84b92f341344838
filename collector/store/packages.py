"""Packages of repositories (PyPI, npm), their daily downloads, and what we hold of each series.

A day a source never gave us has no row (the views show NULL, never 0). Downloads are kept after the
source forgets them: nothing here deletes a day except removing the package itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from collector.domain import utc_now
from collector.downloads.refs import PackageRef
from collector.store.models import Package, PackageDownloadsDaily, PackageSync, RepoRow
from collector.store.upsert import upsert


@dataclass(frozen=True)
class StoredPackage:
    """A package of a tracked repository with the state of its series."""

    id: int
    repo_id: int
    repo: str
    ref: PackageRef
    origin: str  # config | cli
    added_at: datetime
    known_from: date | None  # first day held
    fetched_through: date | None  # last day held
    last_fetched_at: datetime | None  # when its source was last asked
    advanced_at: datetime | None  # when its source last gave a new day
    note: str | None  # why the last fetch failed, or None


@dataclass(frozen=True)
class RepoDownloadsDay:
    """One row of `repo_downloads_daily`."""

    day: date
    downloads: int
    packages: int


def _is(repo_id: int, ref: PackageRef) -> tuple[ColumnElement[bool], ...]:
    return (Package.repo_id == repo_id, Package.source == ref.source, Package.name == ref.name)


def save_package(session: Session, repo_id: int, ref: PackageRef, origin: str) -> tuple[int, bool]:
    """Record that the repository has this package; returns its id and whether it is new."""
    existing = session.scalar(
        select(Package.id).where(
            Package.repo_id == repo_id, Package.source == ref.source, Package.name == ref.name
        )
    )
    if existing is not None:
        return existing, False
    row = Package(repo_id=repo_id, source=ref.source, name=ref.name, origin=origin, added_at=utc_now())
    session.add(row)
    session.flush()
    return row.id, True


def delete_package(session: Session, repo_id: int, ref: PackageRef) -> bool:
    """Forget the package and the downloads held for it; False when it was not there."""
    result = session.execute(
        delete(Package).where(
            Package.repo_id == repo_id, Package.source == ref.source, Package.name == ref.name
        )
    )
    # SQLite cascades only with foreign keys on; delete the children explicitly so both backends agree.
    session.execute(
        delete(PackageDownloadsDaily).where(~PackageDownloadsDaily.package_id.in_(select(Package.id)))
    )
    session.execute(delete(PackageSync).where(~PackageSync.package_id.in_(select(Package.id))))
    return bool(getattr(result, "rowcount", 0))


def load_packages(session: Session, repo_ids: Iterable[int] | None = None) -> list[StoredPackage]:
    """Packages of tracked repositories (or of `repo_ids`), by repository and package."""
    query = (
        select(Package, RepoRow.full_name, PackageSync)
        .join(RepoRow, RepoRow.id == Package.repo_id)
        .outerjoin(PackageSync, PackageSync.package_id == Package.id)
        .order_by(func.lower(RepoRow.full_name), Package.source, Package.name)
    )
    if repo_ids is None:
        query = query.where(RepoRow.tracked)
    else:
        query = query.where(Package.repo_id.in_(list(repo_ids)))
    out = []
    for pkg, repo, sync in session.execute(query):
        out.append(
            StoredPackage(
                id=pkg.id,
                repo_id=pkg.repo_id,
                repo=repo,
                ref=PackageRef(pkg.source, pkg.name),
                origin=pkg.origin,
                added_at=pkg.added_at,
                known_from=sync.known_from if sync else None,
                fetched_through=sync.fetched_through if sync else None,
                last_fetched_at=sync.last_fetched_at if sync else None,
                advanced_at=sync.advanced_at if sync else None,
                note=sync.note if sync else None,
            )
        )
    return out


def save_downloads(session: Session, package_id: int, days: Mapping[date, int]) -> None:
    """Store the package's downloads per day (a day given again takes the source's latest count)."""
    rows = [{"package_id": package_id, "day": d, "downloads": n} for d, n in sorted(days.items())]
    upsert(session, PackageDownloadsDaily.__table__, rows, keys=("package_id", "day"))  # type: ignore[arg-type]


def save_fetch(session: Session, package_id: int, fetched_at: datetime, note: str | None = None) -> None:
    """Record that the package's source was asked at `fetched_at` (with `note` if it failed); the span
    held is recomputed from the stored days, and `advanced_at` moves when that span grew."""
    first, last = session.execute(
        select(func.min(PackageDownloadsDaily.day), func.max(PackageDownloadsDaily.day)).where(
            PackageDownloadsDaily.package_id == package_id
        )
    ).one()
    sync = session.get(PackageSync, package_id)
    if sync is None:
        sync = PackageSync(package_id=package_id)
        session.add(sync)
    if last is not None and (sync.fetched_through is None or last > sync.fetched_through):
        sync.advanced_at = fetched_at
    sync.known_from, sync.fetched_through = first, last
    sync.last_fetched_at = fetched_at
    sync.note = note
    session.flush()


def load_downloads(session: Session, package_id: int, since: date | None = None) -> dict[date, int]:
    """The package's downloads per day held (from `since` on, if given), oldest first."""
    query = select(PackageDownloadsDaily.day, PackageDownloadsDaily.downloads).where(
        PackageDownloadsDaily.package_id == package_id
    )
    if since is not None:
        query = query.where(PackageDownloadsDaily.day >= since)
    rows = session.execute(query.order_by(PackageDownloadsDaily.day))
    return {day: downloads for day, downloads in rows}


def load_repo_downloads(session: Session, repo_id: int) -> list[RepoDownloadsDay]:
    """The repository's downloads per day summed over its packages (days no package gave are absent)."""
    query = (
        select(
            PackageDownloadsDaily.day,
            func.sum(PackageDownloadsDaily.downloads),
            func.count(),
        )
        .join(Package, Package.id == PackageDownloadsDaily.package_id)
        .where(Package.repo_id == repo_id)
        .group_by(PackageDownloadsDaily.day)
        .order_by(PackageDownloadsDaily.day)
    )
    return [RepoDownloadsDay(day, int(total), int(n)) for day, total, n in session.execute(query)]
