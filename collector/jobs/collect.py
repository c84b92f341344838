"""One collection pass: counters and 52-week commits by GraphQL in batches, contributors by conditional
REST (a 304 costs nothing), one snapshot per repository; then its releases and the day's download total
of each release asset (a separate step: its failure is recorded for that repository, the counters stand).

The weekly commit series is the backfill's (its commit walk counts every week); collect reads
/stats/commit_activity, and stores its weeks, only without a token, where GraphQL is not available.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from collector.domain import HistoryPoint, Holder, RepoName, Snapshot, parse_repo_name, utc_now
from collector.github.api import GitHubAPI
from collector.github.errors import Blocked, GitHubError, NotFound, NotReady, TooLarge
from collector.github.types import RepoCounters, WeekActivity
from collector.jobs.outages import describe_failure, ends_the_pass, failure_kind
from collector.jobs.packing import pack_month_values
from collector.jobs.tasks import gather_or_cancel
from collector.logs import event
from collector.store import leases
from collector.store.engine import transaction
from collector.store.history import save_history_weekly, save_snapshot
from collector.store.models import RepoRow
from collector.store.releases import save_releases
from collector.store.repos import mark_gone, save_repository
from collector.store.runs import RunStatus, count_run_items, finish_run, save_run_item, start_run

JOB = "collect"
RELEASES_STEP = "releases"  # run items of the releases step, beside the repository's "collect" item


@dataclass
class RepoResult:
    """The outcome for one repository in a pass."""

    full_name: str
    status: str  # ok | error | not_ready
    message: str | None = None
    error_kind: str | None = None
    step_errors: list[str] = field(default_factory=list)  # a later step (releases) that failed: why


@dataclass
class PassOutcome:
    """What a pass did: per-repository results and the run id."""

    run_id: int
    results: list[RepoResult] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[RepoResult]:
        return [r for r in self.results if r.status == "error"]

    @property
    def steps_failed(self) -> list[RepoResult]:
        """Collected, but a later step failed for it (its releases): the pass is not a full success."""
        return [r for r in self.results if r.step_errors]

    @property
    def incomplete(self) -> list[RepoResult]:
        """Collected, with a value GitHub is still computing (a /stats 202 that lasted): next pass."""
        return [r for r in self.results if r.status == "not_ready"]


@dataclass(frozen=True)
class _Fetched:
    counters: RepoCounters
    contributors: int | None
    contributors_note: str | None
    weeks: list[WeekActivity] | None
    weeks_error: GitHubError | None


async def _fetch_rest_parts(gh: GitHubAPI, counters: RepoCounters) -> _Fetched:
    name = parse_repo_name(counters.repo.full_name)
    contributors: int | None = None
    note: str | None = None
    weeks: list[WeekActivity] | None = None
    weeks_error: GitHubError | None = None

    async def contributors_part() -> None:
        nonlocal contributors, note
        try:
            contributors = await gh.fetch_contributor_count(name)
        except TooLarge as exc:
            note = str(exc)

    async def weeks_part() -> None:
        nonlocal weeks, weeks_error
        try:
            weeks = await gh.fetch_commit_activity(name)
        except NotReady as exc:
            weeks_error = exc

    parts = [contributors_part()]
    if counters.commits_52w is None:  # REST counters (no token): the statistics are the only source
        parts.append(weeks_part())
    await gather_or_cancel(parts)
    return _Fetched(counters, contributors, note, weeks, weeks_error)


def _save(
    session: Session, run_id: int, requested: RepoName, fetched: _Fetched, observed_at: datetime
) -> RepoResult:
    c = fetched.counters
    # A rename shows up here as a new name for the same id: the row follows it, the old name stays an alias.
    row = save_repository(session, c.repo, requested=requested)
    commits_52w = c.commits_52w
    if commits_52w is None and fetched.weeks is not None:
        commits_52w = sum(w.total for w in fetched.weeks)
    save_snapshot(
        session,
        row.id,
        Snapshot(
            observed_at=observed_at,
            stars=c.stars,
            forks=c.forks,
            watchers=c.watchers,
            open_issues=c.open_issues,
            contributors=fetched.contributors,
            commits_52w=commits_52w,
            archived=c.repo.archived,
        ),
        run_id=run_id,
    )
    if fetched.weeks:
        save_history_weekly(
            session,
            row.id,
            [HistoryPoint("commits", w.week_start, w.total, "commit_activity") for w in fetched.weeks],
        )
    if fetched.weeks_error is not None:
        result = RepoResult(row.full_name, "not_ready", str(fetched.weeks_error), fetched.weeks_error.kind)
    else:
        result = RepoResult(row.full_name, "ok", fetched.contributors_note)
    save_run_item(session, run_id, row.id, JOB, result.status, result.error_kind, result.message)
    return result


def _fail(
    sessions: sessionmaker[Session],
    run_id: int,
    holder: Holder,
    repo_id: int,
    full_name: str,
    exc: GitHubError | SQLAlchemyError,
    log: logging.Logger,
) -> RepoResult:
    """Record one repository's failure with a one-line reason and give its lease back undone, so the next
    pass (or a restart) tries it again."""
    reason, kind = describe_failure(exc), failure_kind(exc)
    with transaction(sessions) as s:
        if isinstance(exc, NotFound | Blocked):
            mark_gone(s, repo_id, f"{exc.kind}: {exc}")
        save_run_item(s, run_id, repo_id, JOB, "error", kind, reason)
        leases.release(s, JOB, holder, [repo_id])
    event(log, "repo_failed", logging.WARNING, job=JOB, repo=full_name, kind=kind, error=reason)
    return RepoResult(full_name, "error", reason, kind)


async def run_collect(
    sessions: sessionmaker[Session],
    gh: GitHubAPI,
    *,
    holder: Holder,
    cycle_start: datetime | None = None,
    batch_size: int | None = None,
    logger: logging.Logger | None = None,
    worker: str | None = None,
) -> PassOutcome:
    """Collect every due tracked repository once; other daemons sharing the store take other batches (by
    default as many as one counters query holds). A repository that fails is recorded with its reason and
    stays due (the next pass and a restart try it again); an outage (GitHub or the store unreachable) ends
    the pass, recorded as failed, with the error raised for the caller to wait and retry."""
    log = logger or logging.getLogger("collector.collect")
    cycle = cycle_start or utc_now()
    batch = batch_size or gh.repos_per_counters_query
    with transaction(sessions) as s:
        run_id = start_run(s, JOB, worker or str(holder))
        leases.ensure_leases(s, JOB)
    outcome = PassOutcome(run_id)
    tried: set[int] = set()  # a failed repository is released, not done: this pass does not take it again
    try:
        while True:
            with transaction(sessions) as s:
                ids = leases.claim(s, JOB, holder, cycle, batch, exclude=tried)
                rows = list(s.execute(select(RepoRow.id, RepoRow.full_name).where(RepoRow.id.in_(ids))).all())
            if not ids:
                break
            tried.update(ids)
            try:
                outcome.results.extend(await _collect_batch(sessions, gh, run_id, holder, rows, log))
            except BaseException:
                with transaction(sessions) as s:
                    leases.release(s, JOB, holder, ids)
                raise
    except asyncio.CancelledError:
        outcome.interrupted = True
        with transaction(sessions) as s:
            # The batch in hand when the pass was cancelled saved some repositories too: count the items.
            finish_run(s, run_id, "interrupted", count_run_items(s, run_id))
        raise
    except Exception as exc:
        _record_stopped_pass(sessions, run_id, outcome, exc)
        raise
    with transaction(sessions) as s:
        finish_run(s, run_id, _pass_status(outcome), _summary(outcome))
    await pack_month_values(sessions, log)
    return outcome


def _pass_status(outcome: PassOutcome) -> RunStatus:
    """ok only when nothing failed: a pass with failures (a step's too) is partial, or failed when nothing
    succeeded."""
    if not outcome.failed:
        return RunStatus.PARTIAL if outcome.steps_failed else RunStatus.OK
    return RunStatus.PARTIAL if len(outcome.failed) < len(outcome.results) else RunStatus.FAILED


def _record_stopped_pass(
    sessions: sessionmaker[Session], run_id: int, outcome: PassOutcome, exc: Exception
) -> None:
    """A pass that an outage (or a bug) stopped is stored as failed with its reason, if the store answers;
    if it does not, the next start closes the run as interrupted."""
    try:
        with transaction(sessions) as s:
            finish_run(s, run_id, RunStatus.FAILED, {**_summary(outcome), "error": describe_failure(exc)})
    except SQLAlchemyError:
        pass


def _summary(outcome: PassOutcome) -> dict[str, Any]:
    return {
        "repositories": len(outcome.results),
        "failed": len(outcome.failed),
        "steps_failed": len(outcome.steps_failed),
    }


async def _collect_batch(
    sessions: sessionmaker[Session],
    gh: GitHubAPI,
    run_id: int,
    holder: Holder,
    rows: list[Any],
    log: logging.Logger,
) -> list[RepoResult]:
    names = {row.id: parse_repo_name(row.full_name) for row in rows}
    try:
        counters: dict[str, RepoCounters | GitHubError] = dict(
            await gh.fetch_repo_counters(list(names.values()))
        )
    except GitHubError as exc:
        if ends_the_pass(exc):
            raise
        # The batch's query failed as a whole (not an outage): each of its repositories fails with it.
        counters = {name.key: exc for name in names.values()}
    observed_at = utc_now()

    async def one(repo_id: int, name: RepoName) -> RepoResult:
        got = counters.get(name.key)
        if got is None:
            got = NotFound(f"{name} was not in the answer for its batch")
        try:
            if isinstance(got, GitHubError):
                raise got
            fetched = await _fetch_rest_parts(gh, got)
            with transaction(sessions) as s:
                result = _save(s, run_id, name, fetched, observed_at)
                leases.complete(s, JOB, holder, [repo_id])
        except (GitHubError, SQLAlchemyError) as exc:
            if ends_the_pass(exc):
                raise
            return _fail(sessions, run_id, holder, repo_id, name.full_name, exc, log)
        failed = await _collect_releases(
            sessions, gh, run_id, repo_id, parse_repo_name(result.full_name), log
        )
        if failed is not None:
            result.step_errors.append(f"{RELEASES_STEP}: {failed}")
        if result.status != "ok":
            event(
                log,
                "repo_incomplete",
                logging.WARNING,
                job=JOB,
                repo=result.full_name,
                kind=result.error_kind,
            )
        return result

    return await gather_or_cancel(one(repo_id, name) for repo_id, name in names.items())


# -- the releases step -------------------------------------------------------------------------------


async def _collect_releases(
    sessions: sessionmaker[Session],
    gh: GitHubAPI,
    run_id: int,
    repo_id: int,
    name: RepoName,
    log: logging.Logger,
) -> str | None:
    """Store the repository's releases and today's total of each asset's downloads; returns why that
    failed, if it did. Its counters are saved already: any failure here (an outage too: the next
    repository's counters meet it) is recorded for this repository under the step's name, with a one-line
    reason, and the pass goes on (as partial)."""
    try:
        releases = await gh.fetch_releases(name)
        with transaction(sessions) as s:
            save_releases(s, repo_id, releases, utc_now().date())
        return None
    except (GitHubError, SQLAlchemyError) as exc:
        reason, kind = describe_failure(exc), failure_kind(exc)
        event(log, "releases_failed", logging.WARNING, job=JOB, repo=name.full_name, kind=kind, error=reason)
        try:
            with transaction(sessions) as s:
                save_run_item(s, run_id, repo_id, RELEASES_STEP, "error", kind, reason)
        except SQLAlchemyError:
            pass  # the store is away: the pass meets it at the next repository
        return reason
