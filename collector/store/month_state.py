"""month_state: each repository's state at the end of each month, dense from its first month of data to
its last, so that a value at a date (a ranking, the carry into a trend's first period) reads one range of
rows for every repository instead of four index probes each (at 10,000 repositories, 40,000 probes).

A month's state is what the reports carry into the next one: the running total of each metric's additions
(history_running) and the latest snapshot (snapshots_monthly) up to its end. It is derived from those two
rollups only and recomputed whenever they change, in the same transaction: refresh_running and
save_snapshot_month (rollups.py) call refresh_month_state from the first month they changed;
rebuild_month_state recomputes it after a bulk load. The reports use a repository's row where one exists for
the month they carry in and probe the rollups where none does (before its data, after its last month of
data, or outside the calendar): a missing row costs time, never a value.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import date

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from collector.domain import month_start, next_month
from collector.store.base import Base
from collector.store.models import RepoRow

# What a month of month_state is read for, from its key alone (an index-only scan).
_MONTH_STATE = [f"{m}_total" for m in ("stars", "forks", "contributors")]
_MONTH_STATE += ["snap_day", "snap_stars", "snap_forks", "snap_contributors"]


class MonthState(Base):
    """Each repository's running totals (NULL before any) and latest snapshot at each month's end, dense
    from its first month of data to its last: a value at a date reads a range of rows (month_state.py)."""

    __tablename__ = "month_state"
    __table_args__ = (
        PrimaryKeyConstraint("month_start", "repo_id", postgresql_include=_MONTH_STATE),  # read by key alone
        Index("ix_month_state_repo_id_month_start", "repo_id", "month_start"),
    )

    month_start: Mapped[date] = mapped_column(Date)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    stars_total: Mapped[int | None] = mapped_column(BigInteger)
    forks_total: Mapped[int | None] = mapped_column(BigInteger)
    contributors_total: Mapped[int | None] = mapped_column(BigInteger)
    snap_day: Mapped[date | None] = mapped_column(Date)
    snap_stars: Mapped[int | None]
    snap_forks: Mapped[int | None]
    snap_contributors: Mapped[int | None]


class SeriesVersion(Base):
    """A number that every change of a repository's report data moves (its rollups: history_running,
    snapshots_monthly, history_weekly_monthly): what was computed from version N holds while it is N."""

    __tablename__ = "series_versions"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


# One statement fills the months from :since of one repository (:repo; all when NULL): per repository, the
# months of the calendar from its first month in either rollup to its last, each with the latest running
# total of each metric and the latest monthly snapshot up to it (index probes on the rollups' keys). With
# :repo known when PostgreSQL plans it, the NULL test folds away.
FILL_SQL = """
INSERT INTO month_state (month_start, repo_id, stars_total, forks_total, contributors_total,
    snap_day, snap_stars, snap_forks, snap_contributors)
SELECT c.month_start, b.repo_id,
    (SELECT t.total FROM history_running t
        WHERE t.repo_id = b.repo_id AND t.metric = 'stars' AND t.month_start <= c.month_start
        ORDER BY t.month_start DESC LIMIT 1),
    (SELECT t.total FROM history_running t
        WHERE t.repo_id = b.repo_id AND t.metric = 'forks' AND t.month_start <= c.month_start
        ORDER BY t.month_start DESC LIMIT 1),
    (SELECT t.total FROM history_running t
        WHERE t.repo_id = b.repo_id AND t.metric = 'contributors' AND t.month_start <= c.month_start
        ORDER BY t.month_start DESC LIMIT 1),
    s.observed_day, s.stars, s.forks, s.contributors
FROM (
    SELECT u.repo_id, MIN(u.month_start) AS first_month, MAX(u.month_start) AS last_month
    FROM (
        SELECT t.repo_id, t.month_start FROM history_running t WHERE :repo IS NULL OR t.repo_id = :repo
        UNION ALL
        SELECT m.repo_id, m.month_start FROM snapshots_monthly m WHERE :repo IS NULL OR m.repo_id = :repo
    ) u
    GROUP BY u.repo_id
) b
JOIN calendar c ON c.day >= b.first_month AND c.day <= b.last_month AND c.day >= :since
    AND c.day = c.month_start
LEFT JOIN snapshots_monthly s ON s.repo_id = b.repo_id AND s.month_start = (
    SELECT MAX(x.month_start) FROM snapshots_monthly x
    WHERE x.repo_id = b.repo_id AND x.month_start <= c.month_start
)
"""
EVER = date(1, 1, 1)
# The advisory lock of a repository's month_state (the second key; lock_series uses CRC-32s of series
# names, which "month_state" is not).
LOCK_KEY = zlib.crc32(b"month_state") & 0x7FFFFFFF


def _fill(session: Session, repo_id: int | None, since: date) -> None:
    """Insert the months from `since` of one repository (all when None)."""
    stmt = text(FILL_SQL).bindparams(bindparam("repo", type_=Integer), bindparam("since", type_=Date))
    session.execute(stmt, {"repo": repo_id, "since": since})


def lock_repository(session: Session, repo_id: int) -> None:
    """On PostgreSQL, the repository's write lock until the transaction ends (again: at no cost). Writers
    of its history take it before their series locks (lock_series); a snapshot, before month_state."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:repo, :key)"), {"repo": repo_id, "key": LOCK_KEY})


def bump_version(session: Session, repo_id: int) -> None:
    """Move the repository's version, in the transaction that changes its data (1 when it had none)."""
    dialect = session.get_bind().dialect.name
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SeriesVersion).values(
        repo_id=repo_id, version=1
    )
    session.execute(
        stmt.on_conflict_do_update(index_elements=["repo_id"], set_={"version": SeriesVersion.version + 1})
    )


def bump_versions(session: Session, repo_ids: Sequence[int] | None = None) -> None:
    """Move the versions of many repositories (all when None), e.g. after a bulk load."""
    moved = update(SeriesVersion).values(version=SeriesVersion.version + 1)
    unversioned = select(RepoRow.id, 1).where(~RepoRow.id.in_(select(SeriesVersion.repo_id)))
    if repo_ids is not None:
        moved = moved.where(SeriesVersion.repo_id.in_(list(repo_ids)))
        unversioned = unversioned.where(RepoRow.id.in_(list(repo_ids)))
    session.execute(moved)
    session.execute(insert(SeriesVersion).from_select(["repo_id", "version"], unversioned))


def refresh_month_state(session: Session, repo_id: int, first: date | None = None) -> None:
    """Recompute a repository's month_state from `first`'s month on (all of it when None), and any months
    missing between its last stored one and that month, after a change of its rollups from `first` on.

    On PostgreSQL, under the repository's lock (lock_repository) until the transaction ends: a writer of
    snapshots and a writer of history each recompute with the other's rows committed, never both at once."""
    lock_repository(session, repo_id)
    last = session.scalar(select(func.max(MonthState.month_start)).where(MonthState.repo_id == repo_id))
    since = EVER
    if first is not None and last is not None:
        since = min(month_start(first), next_month(last))
    session.execute(delete(MonthState).where(MonthState.repo_id == repo_id, MonthState.month_start >= since))
    _fill(session, repo_id, since)
    bump_version(session, repo_id)


def rebuild_month_state(session: Session, repo_ids: Sequence[int] | None = None) -> None:
    """Recompute month_state from the rollups (all repositories when None), e.g. after a bulk load."""
    bump_versions(session, repo_ids)
    if repo_ids is None:
        session.execute(delete(MonthState))
        _fill(session, None, EVER)
        return
    ids = list(repo_ids)
    session.execute(delete(MonthState).where(MonthState.repo_id.in_(ids)))
    for repo_id in ids:
        _fill(session, repo_id, EVER)
