"""Job runs and per-repository outcomes, and what `collector status` reads back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from collector.domain import utc_now
from collector.store.models import (
    ContributorIdentity,
    Fork,
    HistoryDaily,
    HistoryWeekly,
    Repository,
    RepoSnapshot,
    Run,
    RunItem,
    SeriesState,
    TokenBudget,
)
from collector.store.upsert import upsert


def start_run(session: Session, job: str, worker: str | None = None) -> int:
    """Record the start of a job run; returns its id."""
    run = Run(job=job, started_at=utc_now(), status="running", worker=worker)
    session.add(run)
    session.flush()
    return run.id


def finish_run(session: Session, run_id: int, status: str, stats: dict[str, Any] | None = None) -> None:
    """Record the end of a run with its status (ok, partial, failed, interrupted) and counters."""
    run = session.get(Run, run_id)
    if run is not None:
        run.finished_at = utc_now()
        run.status = status
        run.stats = json.dumps(stats, default=str, sort_keys=True) if stats else None


def interrupt_open_runs(session: Session, job: str, worker: str) -> int:
    """Close the runs of `job` by `worker` still marked running (their process lost the store mid-run)."""
    result = session.execute(
        update(Run)
        .where(Run.job == job, Run.worker == worker, Run.status == "running")
        .values(status="interrupted", finished_at=utc_now())
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
    """Record the outcome of one unit of work (idempotent per run, repository and job)."""
    upsert(
        session,
        RunItem.__table__,  # type: ignore[arg-type]
        [
            {
                "run_id": run_id,
                "repo_id": repo_id,
                "job": job,
                "status": status,
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
        select(func.count(), func.count().filter(RunItem.status != "ok")).where(RunItem.run_id == run_id)
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
    repos = session.scalars(
        select(Repository).where(Repository.tracked.is_(True)).order_by(Repository.name_key)
    )
    out = []
    for repo in repos:
        last_ok = session.scalar(
            select(func.max(RunItem.finished_at)).where(RunItem.repo_id == repo.id, RunItem.status == "ok")
        )
        last_err = session.execute(
            select(RunItem.finished_at, RunItem.job, RunItem.message)
            .where(RunItem.repo_id == repo.id, RunItem.status != "ok")
            .order_by(RunItem.finished_at.desc())
            .limit(1)
        ).first()
        snap = session.scalar(
            select(RepoSnapshot)
            .where(RepoSnapshot.repo_id == repo.id)
            .order_by(RepoSnapshot.observed_day.desc())
        )
        sums = dict(
            session.execute(
                select(HistoryDaily.metric, func.sum(HistoryDaily.value))
                .where(HistoryDaily.repo_id == repo.id)
                .group_by(HistoryDaily.metric)
            ).all()
        )
        span = session.execute(
            select(func.min(HistoryDaily.day), func.max(HistoryDaily.day)).where(
                HistoryDaily.repo_id == repo.id
            )
        ).one()
        wspan = session.execute(
            select(func.min(HistoryWeekly.week_start)).where(HistoryWeekly.repo_id == repo.id)
        ).scalar()
        starts = [d for d in (span[0], wspan) if d is not None]
        states = list(session.scalars(select(SeriesState).where(SeriesState.repo_id == repo.id)))
        series = {s.series: s.status + (f" ({s.detail})" if s.detail else "") for s in states}
        ran = {s.series for s in states if s.status != "unavailable"}
        listed = _count(session, Fork, repo.id)
        walked = _count(session, ContributorIdentity, repo.id)
        out.append(
            RepoStatus(
                full_name=repo.full_name,
                last_success=last_ok,
                last_error=last_err[0] if last_err else None,
                last_error_message=f"{last_err[1]}: {last_err[2]}" if last_err else None,
                observed_at=snap.observed_at if snap else None,
                observed_stars=snap.stars if snap else None,
                observed_forks=snap.forks if snap else None,
                observed_contributors=snap.contributors if snap else None,
                history_from=min(starts) if starts else None,
                history_to=span[1],
                reconstructed_stars=_int(sums.get("stars")),
                direct_forks=listed if listed or "forks" in ran else None,
                walked_contributors=walked if walked or "contributors" in ran else None,
                series=series,
                gone_reason=repo.gone_reason,
            )
        )
    return out


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


def load_last_runs(session: Session, limit: int = 5) -> list[Run]:
    """The most recent runs, newest first."""
    return list(session.scalars(select(Run).order_by(Run.started_at.desc()).limit(limit)))
