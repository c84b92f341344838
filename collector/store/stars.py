"""What the star-history backfill checks its stored series against."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collector.store.models import HistoryDaily, RepoSnapshot


def load_star_total(session: Session, repo_id: int) -> int:
    """Stars in the stored daily history (additions of every day): the rebuilt count today."""
    total = session.scalar(
        select(func.coalesce(func.sum(HistoryDaily.value), 0)).where(
            HistoryDaily.repo_id == repo_id, HistoryDaily.metric == "stars"
        )
    )
    return int(total or 0)


def load_observed_stars(session: Session, repo_id: int) -> int | None:
    """The stars of the latest observation, or None when the repository was never observed."""
    return session.scalar(
        select(RepoSnapshot.stars)
        .where(RepoSnapshot.repo_id == repo_id)
        .order_by(RepoSnapshot.observed_day.desc())
        .limit(1)
    )
