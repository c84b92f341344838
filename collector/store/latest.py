"""What the HTTP service reads: the latest observation per repository and the latest run per task."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session

from collector.domain import as_utc
from collector.store.models import Run, RunItem

# downloads_30d: the packages' downloads over the 30 days ending on their latest known day (issue 21).
LATEST_METRICS = ("stars", "forks", "watchers", "open_issues", "contributors", "commits_52w", "downloads_30d")
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
    """A task's latest finished run (None: it has not finished one) and when a run of it last ended ok."""

    task: str  # the job name in `runs`: collect, backfill, discover, report:NAME
    last_status: str | None
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


def load_latest_page(session: Session, offset: int, limit: int) -> tuple[list[Latest], int]:
    """`limit` rows of `repo_latest` by name from `offset`, and how many rows it has (an API page)."""
    total = session.scalar(select(func.count()).select_from(REPO_LATEST)) or 0
    query = (
        select(REPO_LATEST).order_by(REPO_LATEST.c.repo, REPO_LATEST.c.repo_id).offset(offset).limit(limit)
    )
    return [_latest(r) for r in session.execute(query)], int(total)


def _latest(r: Any) -> Latest:
    observed = as_utc(r.observed_at) if isinstance(r.observed_at, datetime) else None
    return Latest(r.repo_id, r.repo, {m: getattr(r, m) for m in LATEST_METRICS}, observed)


def load_job_health(session: Session, tasks: Iterable[str] = ()) -> list[JobHealth]:
    """Per task (each of `tasks`, and every job in `runs`): its latest finished run (status, duration,
    repositories that failed) and its last success; four queries whatever the number of tasks."""
    latest_ids = (
        select(func.max(Run.id)).where(Run.finished_at.is_not(None)).group_by(Run.job).scalar_subquery()
    )
    last = {r.job: r for r in session.scalars(select(Run).where(Run.id.in_(latest_ids)))}
    failed = {
        run_id: count
        for run_id, count in session.execute(
            select(RunItem.run_id, func.count())
            .where(RunItem.run_id.in_(latest_ids), RunItem.status == "error")
            .group_by(RunItem.run_id)
        )
    }
    succeeded = {
        job: at
        for job, at in session.execute(
            select(Run.job, func.max(Run.finished_at)).where(Run.status == "ok").group_by(Run.job)
        )
    }
    known = set(session.scalars(select(Run.job).distinct()))
    out = []
    for task in sorted(known.union(tasks)):
        run = last.get(task)
        success = succeeded.get(task)
        out.append(
            JobHealth(
                task,
                run.status if run else None,
                (as_utc(run.finished_at) - as_utc(run.started_at)).total_seconds()
                if run and run.finished_at
                else None,
                int(failed.get(run.id, 0)) if run else 0,
                as_utc(success) if success else None,
            )
        )
    return out
