"""What the HTTP service reads: the latest observation per repository and the latest run per job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session

from collector.domain import as_utc
from collector.store.models import Run, RunItem

LATEST_METRICS = ("stars", "forks", "watchers", "open_issues", "contributors", "commits_52w")
# The documented view, as users query it (migrations define it).
REPO_LATEST = table("repo_latest", *(column(c) for c in ("repo_id", "repo", "observed_at", *LATEST_METRICS)))


@dataclass(frozen=True)
class Latest:
    """One row of `repo_latest`: a tracked repository's latest observed counters."""

    repo_id: int
    repo: str
    values: dict[str, int | None]  # LATEST_METRICS -> value (None: not observed)
    observed_at: datetime | None


@dataclass(frozen=True)
class JobHealth:
    """A job's latest run, and when one last succeeded."""

    job: str
    last_status: str
    last_duration_seconds: float | None
    last_failed_items: int
    last_success_at: datetime | None


def load_latest(session: Session, repo_id: int | None = None) -> list[Latest]:
    """`repo_latest` (the documented view) for every repository, or one."""
    query = select(REPO_LATEST).order_by(REPO_LATEST.c.repo)
    if repo_id is not None:
        query = query.where(REPO_LATEST.c.repo_id == repo_id)
    rows = session.execute(query)
    return [
        Latest(
            r.repo_id,
            r.repo,
            {m: getattr(r, m) for m in LATEST_METRICS},
            as_utc(r.observed_at) if isinstance(r.observed_at, datetime) else None,
        )
        for r in rows
    ]


def load_job_health(session: Session) -> list[JobHealth]:
    """Per job: its latest finished run (status, duration, repositories that failed) and last success."""
    out = []
    for job in session.scalars(select(Run.job).distinct().order_by(Run.job)):
        last = session.scalars(
            select(Run).where(Run.job == job, Run.finished_at.is_not(None)).order_by(Run.id.desc()).limit(1)
        ).first()
        if last is None or last.finished_at is None:
            continue
        failed = session.scalar(
            select(func.count()).where(RunItem.run_id == last.id, RunItem.status == "error")
        )
        success = session.scalar(select(func.max(Run.finished_at)).where(Run.job == job, Run.status == "ok"))
        duration = (as_utc(last.finished_at) - as_utc(last.started_at)).total_seconds()
        out.append(
            JobHealth(job, last.status, duration, int(failed or 0), as_utc(success) if success else None)
        )
    return out
