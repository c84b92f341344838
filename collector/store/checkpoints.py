"""Backfill state: checkpoints per repository and series, and the rows each series rebuilds from."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from collector.domain import ForkInfo, ForkScale, HistoryPoint, compute_scaled_additions, utc_now
from collector.store.history import lock_series, refresh_monthly, write_daily_rows
from collector.store.models import ContributorIdentity, Fork, HistoryDaily, RepoSnapshot, SeriesState
from collector.store.upsert import upsert


class SeriesStatus(StrEnum):
    """Where a series stands, stored as these strings in series_state.status."""

    PARTIAL = "partial"  # a walk is under way: its cursor and detail say where
    COMPLETE = "complete"
    UNAVAILABLE = "unavailable"  # the server cannot give the series; detail says why


@dataclass(frozen=True)
class Checkpoint:
    """Where a series stands for one repository.

    `detail` is the series' own text: each series decodes it once, into its own progress type, where it
    loads the checkpoint (the store does not know their shapes).
    """

    status: SeriesStatus
    cursor: str | None
    covered_from: date | None
    covered_to: date | None
    detail: str | None
    stamp: datetime | None = None  # when it was stored: with the rest, what `hold_checkpoint` compares


class CheckpointMoved(Exception):
    """Another worker stored the series' checkpoint since this one loaded it."""


def load_checkpoint(session: Session, repo_id: int, series: str) -> Checkpoint | None:
    """The stored checkpoint, or None when the series was never started."""
    row = session.scalars(
        select(SeriesState)
        .where(SeriesState.repo_id == repo_id, SeriesState.series == series)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        return None
    return _checkpoint(row)


def hold_checkpoint(session: Session, repo_id: int, series: str, loaded: Checkpoint | None) -> None:
    """Lock the series' checkpoint until the transaction ends and raise CheckpointMoved unless it is still
    `loaded` (None: never stored): a page is applied only where it follows the stored cursor, so two
    workers of one series never count a page twice. Call first in each page's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        lock_series(session, repo_id, [f"checkpoint {series}"])  # also when the row does not exist yet
    else:  # a write takes SQLite's one write lock at once, before the checkpoint is read
        session.execute(
            update(SeriesState)
            .where(SeriesState.repo_id == repo_id, SeriesState.series == series)
            .values(status=SeriesState.status)
        )
    if load_checkpoint(session, repo_id, series) != loaded:
        raise CheckpointMoved(
            f"another process advanced the {series} backfill of repository {repo_id}; "
            "it resumes from there on the next run"
        )


def load_checkpoints(session: Session, repo_id: int) -> dict[str, Checkpoint]:
    """Every stored checkpoint of the repository, by series."""
    rows = session.scalars(select(SeriesState).where(SeriesState.repo_id == repo_id))
    return {row.series: _checkpoint(row) for row in rows}


def _checkpoint(row: SeriesState) -> Checkpoint:
    status = SeriesStatus(row.status)
    return Checkpoint(status, row.cursor, row.covered_from, row.covered_to, row.detail, row.updated_at)


def save_checkpoint(session: Session, repo_id: int, series: str, cp: Checkpoint) -> Checkpoint:
    """Store a checkpoint; commit it in the same transaction as the data it covers. Returns it as stored
    (what the next page's `hold_checkpoint` expects)."""
    stored = replace(cp, stamp=utc_now())
    upsert(
        session,
        SeriesState.__table__,  # type: ignore[arg-type]
        [
            {
                "repo_id": repo_id,
                "series": series,
                "status": cp.status.value,
                "cursor": cp.cursor,
                "covered_from": cp.covered_from,
                "covered_to": cp.covered_to,
                "detail": cp.detail,
                "updated_at": stored.stamp,
            }
        ],
        keys=["repo_id", "series"],
    )
    return stored


def load_daily(session: Session, repo_id: int, metric: str, first: date, last: date) -> dict[date, int]:
    """Stored additions of `metric` per day in [first, last] (days without a row are absent)."""
    rows = session.execute(
        select(HistoryDaily.day, HistoryDaily.value).where(
            HistoryDaily.repo_id == repo_id,
            HistoryDaily.metric == metric,
            HistoryDaily.day >= first,
            HistoryDaily.day <= last,
        )
    ).all()
    return {r.day: r.value for r in rows}


def replace_daily(
    session: Session, repo_id: int, metric: str, first: date, last: date, values: dict[date, int], source: str
) -> None:
    """Make the stored days in [first, last] exactly `values` (zeros are not stored)."""
    lock_series(session, repo_id, [metric])
    session.execute(
        delete(HistoryDaily).where(
            HistoryDaily.repo_id == repo_id,
            HistoryDaily.metric == metric,
            HistoryDaily.day >= first,
            HistoryDaily.day <= last,
        )
    )
    write_daily_rows(
        session, repo_id, [HistoryPoint(metric, d, v, source) for d, v in sorted(values.items()) if v]
    )
    refresh_monthly(session, repo_id, metric, min([first, *values]), max([last, *values]))


def add_daily(session: Session, repo_id: int, metric: str, counts: dict[date, int], source: str) -> None:
    """Add counts to the stored days (used where pages arrive as events, committed with their cursor)."""
    if not counts:
        return
    lock_series(session, repo_id, [metric])
    stored = load_daily(session, repo_id, metric, min(counts), max(counts))
    for day, n in counts.items():
        if day in stored:
            session.execute(
                update(HistoryDaily)
                .where(
                    HistoryDaily.repo_id == repo_id, HistoryDaily.metric == metric, HistoryDaily.day == day
                )
                .values(value=HistoryDaily.value + n)
            )
    write_daily_rows(
        session,
        repo_id,
        [HistoryPoint(metric, d, n, source) for d, n in sorted(counts.items()) if d not in stored],
    )
    refresh_monthly(session, repo_id, metric, min(counts), max(counts))


def known_fork_ids(session: Session, repo_id: int, ids: Sequence[int]) -> set[int]:
    """Which of `ids` are already stored as forks of the repository."""
    if not ids:
        return set()
    rows = session.scalars(
        select(Fork.fork_github_id).where(Fork.repo_id == repo_id, Fork.fork_github_id.in_(ids))
    )
    return set(rows)


def save_forks(session: Session, repo_id: int, forks: Iterable[ForkInfo]) -> None:
    """Store forks with their creation time; rebuild_fork_days turns them into daily counts."""
    items = list(forks)
    if not items:
        return
    upsert(
        session,
        Fork.__table__,  # type: ignore[arg-type]
        [{"repo_id": repo_id, "fork_github_id": f.github_id, "created_at": f.created_at} for f in items],
        keys=["repo_id", "fork_github_id"],
    )


def rebuild_fork_days(session: Session, repo_id: int) -> ForkScale:
    """Rewrite the daily fork counts from the stored forks, scaled to the latest observed fork count.

    GitHub's forkCount counts the whole fork network, the forks listing only direct forks. GitHub's
    number is the one people compare, so the direct series is scaled by observed / direct-up-to-then:
    it ends at the observation and has no jump on the first observed day. This is the only writer of
    the 'forks' history.
    """
    created = session.scalars(select(Fork.created_at).where(Fork.repo_id == repo_id)).all()
    latest = session.execute(
        select(RepoSnapshot.forks, RepoSnapshot.observed_at)
        .where(RepoSnapshot.repo_id == repo_id)
        .order_by(RepoSnapshot.observed_day.desc())
        .limit(1)
    ).first()
    daily = dict(Counter(c.astimezone(UTC).date() for c in created))
    if latest is None or latest.forks is None:
        scale = ForkScale(observed=None, direct=len(created), factor=1.0)
    else:
        direct = sum(1 for c in created if c <= latest.observed_at)
        by_end_of_day = sum(1 for c in created if c.astimezone(UTC).date() <= latest.observed_at.date())
        if direct <= latest.forks <= by_end_of_day:
            # Forks made later on the observed day explain the difference: nothing to scale.
            scale = ForkScale(latest.forks, direct, 1.0)
        else:
            scale = ForkScale(latest.forks, direct, latest.forks / direct if direct else 1.0)
            if direct:
                daily = compute_scaled_additions(daily, latest.forks, direct)
    _rewrite_series(session, repo_id, "forks", daily, "forks_listing")
    return scale


def count_forks(session: Session, repo_id: int) -> int:
    """How many forks are stored for the repository."""
    return session.scalar(select(func.count()).select_from(Fork).where(Fork.repo_id == repo_id)) or 0


def save_identities(session: Session, repo_id: int, first_seen: dict[str, datetime]) -> None:
    """Merge author identities with the earliest commit time seen for each."""
    if not first_seen:
        return
    stored = dict(
        session.execute(
            select(ContributorIdentity.identity, ContributorIdentity.first_commit_at).where(
                ContributorIdentity.repo_id == repo_id, ContributorIdentity.identity.in_(list(first_seen))
            )
        ).all()
    )
    rows = [
        {"repo_id": repo_id, "identity": ident, "first_commit_at": min(at, stored.get(ident, at))}
        for ident, at in first_seen.items()
        if ident not in stored or at < stored[ident]
    ]
    upsert(session, ContributorIdentity.__table__, rows, keys=["repo_id", "identity"])  # type: ignore[arg-type]


def rebuild_contributor_days(session: Session, repo_id: int) -> int:
    """Recompute new contributors per day from the identities; returns the contributor total."""
    firsts = session.scalars(
        select(ContributorIdentity.first_commit_at).where(ContributorIdentity.repo_id == repo_id)
    ).all()
    counts = Counter(f.astimezone(UTC).date() for f in firsts)
    _rewrite_series(session, repo_id, "contributors", dict(counts), "commit_walk")
    return len(firsts)


def _rewrite_series(session: Session, repo_id: int, metric: str, daily: dict[date, int], source: str) -> None:
    """Replace every stored day of `metric` with `daily` (and its monthly rollup)."""
    lock_series(session, repo_id, [metric])
    session.execute(
        delete(HistoryDaily).where(HistoryDaily.repo_id == repo_id, HistoryDaily.metric == metric)
    )
    write_daily_rows(session, repo_id, [HistoryPoint(metric, d, n, source) for d, n in sorted(daily.items())])
    refresh_monthly(session, repo_id, metric)
