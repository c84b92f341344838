"""Saving observations and reconstructed history."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from collector.domain import HistoryPoint, Snapshot, as_utc
from collector.store.models import HistoryDaily, HistoryWeekly, RepoSnapshot
from collector.store.upsert import upsert


def save_snapshot(session: Session, repo_id: int, snap: Snapshot, run_id: int | None = None) -> None:
    """Store an observation; a later one on the same UTC day replaces the earlier (one row per day)."""
    observed_at = as_utc(snap.observed_at)
    upsert(
        session,
        RepoSnapshot.__table__,  # type: ignore[arg-type]
        [
            {
                "repo_id": repo_id,
                "observed_day": observed_at.date(),
                "observed_at": observed_at,
                "stars": snap.stars,
                "forks": snap.forks,
                "watchers": snap.watchers,
                "open_issues": snap.open_issues,
                "contributors": snap.contributors,
                "commits_52w": snap.commits_52w,
                "archived": snap.archived,
                "run_id": run_id,
            }
        ],
        keys=["repo_id", "observed_day"],
    )


def save_history_daily(session: Session, repo_id: int, points: Iterable[HistoryPoint]) -> int:
    """Upsert daily additions; returns the number of rows written."""
    rows = [
        {"repo_id": repo_id, "metric": p.metric, "day": p.day, "value": p.value, "source": p.source}
        for p in points
    ]
    upsert(session, HistoryDaily.__table__, rows, keys=["repo_id", "metric", "day"])  # type: ignore[arg-type]
    return len(rows)


def save_history_weekly(session: Session, repo_id: int, points: Iterable[HistoryPoint]) -> int:
    """Upsert weekly values (`day` is the week's Sunday); returns the number of rows written."""
    rows = [
        {"repo_id": repo_id, "metric": p.metric, "week_start": p.day, "value": p.value, "source": p.source}
        for p in points
    ]
    upsert(session, HistoryWeekly.__table__, rows, keys=["repo_id", "metric", "week_start"])  # type: ignore[arg-type]
    return len(rows)
