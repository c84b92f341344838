"""Job runs and per-repository outcomes, and what `collector status` reads back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from collector.domain import utc_now
from collector.store.checkpoints import SeriesStatus, load_checkpoints
from collector.store.models import (
    ContributorIdentity,
    Fork,
    HistoryDaily,
    HistoryWeekly,
    RepoRow,
    RepoSnapshot,
    Run,
    RunItem,
    TokenBudget,
)
from collector.store.upsert import upsert


class RunStatus(StrEnum):
    """How a run stands or ended, stored as these strings in runs.status."""

    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"  # some repositories failed
    FAILED = "failed"  # every repository failed
    INTERRUPTED = "interrupted"  # stopped, or its process lost the store, before the end


class ItemStatus(StrEnum):
    """One repository's outcome in a run, stored as these strings in run_items.status."""

    OK = "ok"
    ERROR = "error"
    NOT_READY = "not_ready"  # a value GitHub was still computing: the next pass takes it


def start_run(session: Session, job: str, worker: str | None = None) -> int:
    """Record the start of a job run; returns its id."""
    run = Run(job=job, started_at=utc_now(), status=RunStatus.RUNNING.value, worker=worker)
    session.add(run)
    session.flush()
    return run.id


def finish_run(session: Session, run_id: int, status: str, stats: dict[str, Any] | None = None) -> None:
    """Record the end of a run with its status (a RunStatus) and counters."""
    run = session.get(Run, run_id)
    if run is not None:
        run.finished_at = utc_now()
        run.status = str(status)
        run.stats = json.dumps(stats, default=str, sort_keys=True) if stats else None


def interrupt_open_runs(session: Session, job: str, worker: str) -> int:
    """Close the runs of `job` by `worker` still marked running (their process lost the store mid-run)."""
    result = session.execute(
        update(Run)
        .where(Run.job == job, Run.worker == worker, Run.status == RunStatus.RUNNING.value)
        .values(status=RunStatus.INTERRUPTED.value, finished_at=utc_now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def save_run_item(
    session: Session,
    run_id: int,
    repo_id: int,
    job: str,
    status: str,
    error_kind: str | None = None,
    message: str | None = None,
) -> None:
    """Record the outcome (an ItemStatus) of one unit of work (idempotent per run, repository and job)."""
    upsert(
        session,
        RunItem.__table__,  # type: ignore[arg-type]
        [
            {
                "run_id": run_id,
                "repo_id": repo_id,
                "job": job,
                "status": str(status),
                "error_kind": error_kind,
                "message": message,
                "finished_at": utc_now(),
            }
        ],
        keys=["run_id", "repo_id", "job"],
    )


def count_run_items(session: Session, run_id: int) -> dict[str, int]:
    """The outcomes a run recorded so far: repositories done, and how many of them did not end ok."""
    done, failed = session.execute(
        select(func.count(), func.count().filter(RunItem.status != ItemStatus.OK.value)).where(
            RunItem.run_id == run_id
        )
    ).one()
    return {"repositories": int(done), "failed": int(failed)}


@dataclass(frozen=True)
class RepoStatus:
    """What `collector status` shows for one repository."""

    full_name: str
    last_success: datetime | None
    last_error: datetime | None
    last_error_message: str | None
    observed_at: datetime | None
    observed_stars: int | None
    observed_forks: int | None  # GitHub's forkCount: the whole fork network
    observed_contributors: int | None  # GitHub's anon=1 count
    history_from: date | None
    history_to: date | None
    reconstructed_stars: int | None
    direct_forks: int | None  # forks the backfill listed (direct forks only); None before it ran
    walked_contributors: int | None  # author identities the commit walk found; None before it ran
    series: dict[str, str]  # series -> status (and detail)
    gone_reason: str | None


def load_repo_status(session: Session) -> list[RepoStatus]:
    """Per tracked repository: last success and error, latest observation, history coverage and gaps."""
    repos = session.scalars(select(RepoRow).where(RepoRow.tracked.is_(True)).order_by(RepoRow.name_key))
    return [_repo_status(session, repo) for repo in repos]


def _repo_status(session: Session, repo: RepoRow) -> RepoStatus:
    """One repository's line of `collector status`."""
    last_ok = session.scalar(
        select(func.max(RunItem.finished_at)).where(
            RunItem.repo_id == repo.id, RunItem.status == ItemStatus.OK.value
        )
    )
    last_err = session.execute(
        select(RunItem.finished_at, RunItem.job, RunItem.message)
        .where(RunItem.repo_id == repo.id, RunItem.status != ItemStatus.OK.value)
        .order_by(RunItem.finished_at.desc())
        .limit(1)
    ).first()
    snap = session.scalar(
        select(RepoSnapshot).where(RepoSnapshot.repo_id == repo.id).order_by(RepoSnapshot.observed_day.desc())
    )
    stars = session.scalar(
        select(func.sum(HistoryDaily.value)).where(
            HistoryDaily.repo_id == repo.id, HistoryDaily.metric == "stars"
        )
    )
    history_from, history_to = _history_span(session, repo.id)
    checkpoints = load_checkpoints(session, repo.id)
    ran = {series for series, cp in checkpoints.items() if cp.status is not SeriesStatus.UNAVAILABLE}
    listed, walked = _count(session, Fork, repo.id), _count(session, ContributorIdentity, repo.id)
    return RepoStatus(
        full_name=repo.full_name,
        last_success=last_ok,
        last_error=last_err[0] if last_err else None,
        last_error_message=f"{last_err[1]}: {last_err[2]}" if last_err else None,
        observed_at=snap.observed_at if snap else None,
        observed_stars=snap.stars if snap else None,
        observed_forks=snap.forks if snap else None,
        observed_contributors=snap.contributors if snap else None,
        history_from=history_from,
        history_to=history_to,
        reconstructed_stars=_int(stars),
        direct_forks=listed if listed or "forks" in ran else None,
        walked_contributors=walked if walked or "contributors" in ran else None,
        series={
            series: cp.status + (f" ({cp.detail})" if cp.detail else "") for series, cp in checkpoints.items()
        },
        gone_reason=repo.gone_reason,
    )


def _history_span(session: Session, repo_id: int) -> tuple[date | None, date | None]:
    """The first and last day of stored history (weekly commits may start before any daily row)."""
    first_day, last_day = session.execute(
        select(func.min(HistoryDaily.day), func.max(HistoryDaily.day)).where(HistoryDaily.repo_id == repo_id)
    ).one()
    first_week = session.scalar(
        select(func.min(HistoryWeekly.week_start)).where(HistoryWeekly.repo_id == repo_id)
    )
    starts = [d for d in (first_day, first_week) if d is not None]
    return (min(starts) if starts else None), last_day


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _count(session: Session, model: type[Fork] | type[ContributorIdentity], repo_id: int) -> int:
    return session.scalar(select(func.count()).select_from(model).where(model.repo_id == repo_id)) or 0


@dataclass(frozen=True)
class BudgetStatus:
    """The last budget seen for one token (by position) or App installation, and resource."""

    position: int
    resource: str
    limit: int
    remaining: int
    reset_at: datetime
    installation: int | None = None

    @property
    def label(self) -> str:
        """`#2` for GITHUB_TOKEN's second token, `installation 5550001` for an App's installation."""
        return f"#{self.position}" if self.installation is None else f"installation {self.installation}"


def load_token_budgets(session: Session) -> list[BudgetStatus]:
    """Budgets per token position (or App installation) and resource, as last seen in response headers."""
    rows = session.scalars(select(TokenBudget).order_by(TokenBudget.position, TokenBudget.token_key))
    return [
        BudgetStatus(r.position, r.resource, r.limit, r.remaining, r.reset_at, _installation(r.token_key))
        for r in sorted(rows, key=lambda r: (r.position, r.token_key, r.resource))
    ]


def _installation(token_key: str) -> int | None:
    # App installations are stored under "installation:<id>" (their tokens change hourly).
    prefix, _, number = token_key.partition(":")
    return int(number) if prefix == "installation" and number.isdigit() else None
