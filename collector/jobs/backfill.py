"""History backfill: stars, forks, weekly commits and contributors since a repository's creation.

Each series commits its checkpoint in the same transaction as the rows a page produced, so a process
killed at any point resumes where it stopped and ends with the same rows as an uninterrupted run.
Reruns are incremental: star history (jobs/star_history.py) updates the newest weeks and re-validates
the rest when its total disagrees with GitHub's count; forks page newest first until a known fork; the
commit walk (jobs/commit_history.py), which gives both weekly commits and contributors, only covers the
weeks since the last walk's newest commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from collector.domain import Holder, parse_repo_name, utc_now
from collector.github.api import GitHubAPI
from collector.github.errors import GitHubError, NotFound
from collector.jobs.commit_history import backfill_commit_walk
from collector.jobs.outages import describe_failure, ends_the_pass, failure_kind, is_outage
from collector.jobs.packing import pack_month_values
from collector.jobs.progress import NullReporter, Reporter
from collector.jobs.series import SeriesContext
from collector.jobs.star_history import backfill_stars
from collector.jobs.tasks import gather_or_cancel
from collector.logs import event
from collector.store import leases
from collector.store.checkpoints import (
    Checkpoint,
    CheckpointMoved,
    SeriesStatus,
    known_fork_ids,
    load_checkpoint,
    rebuild_fork_days,
    save_checkpoint,
    save_forks,
)
from collector.store.engine import transaction
from collector.store.leases import LeaseLost
from collector.store.models import RepoRow
from collector.store.repos import mark_gone, save_repository
from collector.store.runs import ItemStatus, RunStatus, finish_run, save_run_item, start_run

JOB = "backfill"
SERIES = ("stars", "forks", "commits", "contributors")
LEASE_TTL = timedelta(minutes=10)  # renewed every 2.5 minutes while a repository is worked on


@dataclass
class RepoBackfill:
    """The outcome of backfilling one repository."""

    full_name: str
    series: dict[str, str] = field(default_factory=dict)  # series -> complete | unavailable: why | error: why
    error: str | None = None


@dataclass
class BackfillOutcome:
    """All repositories' outcomes and the run id."""

    run_id: int
    results: list[RepoBackfill] = field(default_factory=list)

    @property
    def failed(self) -> list[RepoBackfill]:
        return [r for r in self.results if r.error]


async def backfill_forks(ctx: SeriesContext) -> str:
    """Forks with their creation time: oldest first (resumable), later runs newest first until a known one."""
    with ctx.sessions() as s:
        cp = load_checkpoint(s, ctx.repo_id, "forks")
    ctx.reporter.start(ctx.name.full_name, "forks", None)
    if cp is not None and cp.status is SeriesStatus.COMPLETE:
        async for page in ctx.gh.fetch_forks(ctx.name, sort="newest"):
            with ctx.write(None) as s:  # forks are keyed by id: a page saved twice changes nothing
                known = known_fork_ids(s, ctx.repo_id, [f.github_id for f in page.forks])
                new = [f for f in page.forks if f.github_id not in known]
                save_forks(s, ctx.repo_id, new)
            ctx.reporter.advance(ctx.name.full_name, "forks")
            if len(new) < len(page.forks):
                break
    else:
        cursor = cp.cursor if cp is not None else None
        async for page in ctx.gh.fetch_forks(ctx.name, start_url=cursor, sort="oldest"):
            with ctx.write("forks", cp) as s:
                save_forks(s, ctx.repo_id, page.forks)
                checkpoint = Checkpoint(SeriesStatus.PARTIAL, page.next_url, None, None, None)
                cp = save_checkpoint(s, ctx.repo_id, "forks", checkpoint)
            ctx.reporter.advance(ctx.name.full_name, "forks")
    with ctx.write("forks", cp) as s:
        # The listing has direct forks only, GitHub's count the whole network: the daily series is the
        # direct forks scaled to the latest observation (every run: a new observation moves the factor).
        scale = rebuild_fork_days(s, ctx.repo_id)
        checkpoint = Checkpoint(SeriesStatus.COMPLETE, None, None, ctx.today, None)
        save_checkpoint(s, ctx.repo_id, "forks", checkpoint)
    if scale.observed is not None and scale.observed != scale.direct:
        ctx.log.info(
            "%s: %d forks in GitHub's network, %d direct forks listed; history scaled by %.4f",
            ctx.name,
            scale.observed,
            scale.direct,
            scale.factor,
        )
    ctx.reporter.done(ctx.name.full_name, "forks", "complete")
    return "complete"


# Each step and the series it gives: one commit walk gives both weekly commits and contributors.
_STEPS: dict[tuple[str, ...], Callable[[SeriesContext], Awaitable[str]]] = {
    ("stars",): backfill_stars,
    ("forks",): backfill_forks,
    ("commits", "contributors"): backfill_commit_walk,
}


async def backfill_repo(
    sessions: sessionmaker[Session],
    gh: GitHubAPI,
    repo_id: int,
    *,
    since: date | None = None,
    today: date | None = None,
    reporter: Reporter | None = None,
    logger: logging.Logger | None = None,
    series: Sequence[str] = SERIES,
    lease: leases.LeaseToken | None = None,
) -> RepoBackfill:
    """Backfill every series of one repository; a failing series does not stop the others. With `lease`,
    every write first checks that the lease is still held (LeaseLost otherwise)."""
    repo_id, full_name, created = await _resolve(sessions, gh, repo_id)
    first_day = created.astimezone(UTC).date() if created else date(2008, 1, 1)
    ctx = SeriesContext(
        sessions,
        gh,
        repo_id,
        parse_repo_name(full_name),
        max(first_day, since) if since else first_day,
        today or utc_now().date(),
        reporter or NullReporter(),
        logger or logging.getLogger("collector.backfill"),
        first_day,
        lease,
    )
    result = RepoBackfill(full_name)
    # The series are independent; running them together keeps the client's connections busy.
    steps = [keys for keys in _STEPS if set(keys) & set(series)]
    await gather_or_cancel(_backfill_series(ctx, keys, result) for keys in steps)
    return result


async def _resolve(
    sessions: sessionmaker[Session], gh: GitHubAPI, repo_id: int
) -> tuple[int, str, datetime | None]:
    """The repository's id, name and creation time; GitHub is asked once if it was never resolved."""
    with sessions() as s:
        row = s.get(RepoRow, repo_id)
        assert row is not None
        full_name, created = row.full_name, row.created_at
    if created is None:
        name = parse_repo_name(full_name)
        repo = await gh.fetch_repository(name)
        with transaction(sessions) as s:
            row = save_repository(s, repo, requested=name)  # also records a rename
            full_name, created, repo_id = row.full_name, row.created_at, row.id
    return repo_id, full_name, created


async def _backfill_series(ctx: SeriesContext, keys: tuple[str, ...], result: RepoBackfill) -> None:
    """One step, its outcome for each of its series into `result`: a GitHub error ends this step only."""
    label = "+".join(keys)
    try:
        outcome = await _STEPS[keys](ctx)
    except GitHubError as exc:
        if ends_the_pass(exc):  # GitHub unreachable, or no credential left: not this series' failure
            raise
        outcome, result.error = _series_failed(ctx, exc, label, result.full_name)
    except CheckpointMoved as exc:  # the other process goes on; a later run resumes from its checkpoint
        outcome, result.error = f"error: {exc}", f"{label}: {exc}"
        event(ctx.log, "series_superseded", logging.WARNING, repo=result.full_name, series=label)
    result.series.update(dict.fromkeys(keys, outcome))


def _series_failed(ctx: SeriesContext, exc: GitHubError, label: str, full_name: str) -> tuple[str, str]:
    """A GitHub error that ends one step: recorded (a repository GitHub no longer has is marked gone)."""
    if isinstance(exc, NotFound):
        with transaction(ctx.sessions) as s:
            mark_gone(s, ctx.repo_id, f"{exc.kind}: {exc}")
    else:
        event(
            ctx.log,
            "series_failed",
            logging.WARNING,
            repo=full_name,
            series=label,
            kind=exc.kind,
            error=str(exc),
        )
    return f"error: {exc}", f"{label}: {exc}"


async def _heartbeat(sessions: sessionmaker[Session], lease: leases.LeaseToken) -> None:
    """Keep a lease alive while a long backfill runs; ends only by raising (LeaseLost, a store error)."""
    while True:
        await asyncio.sleep(LEASE_TTL.total_seconds() / 4)
        with transaction(sessions) as s:
            leases.fence(s, lease)
            leases.extend(s, JOB, lease.holder, [lease.repo_id], LEASE_TTL)


async def run_backfill(
    sessions: sessionmaker[Session],
    gh: GitHubAPI,
    *,
    holder: Holder,
    repo_ids: Sequence[int] | None = None,
    since: date | None = None,
    cycle_start: datetime | None = None,
    reporter: Reporter | None = None,
    logger: logging.Logger | None = None,
    workers: int = 4,
) -> BackfillOutcome:
    """Backfill the named repositories, or every due tracked one (leased, so daemons share the work).

    A repository that fails is recorded with its reason and released, due again on the next pass; an
    outage (the store or GitHub unreachable) ends the pass, recorded as failed, and is raised."""
    with transaction(sessions) as s:
        run_id = start_run(s, JOB, str(holder))
        leases.ensure_leases(s, JOB)
        # The cycle by the database's clock, as the leases' times: a host whose clock runs ahead would
        # otherwise take repositories done minutes ago for due.
        cycle = cycle_start or leases.database_now(s)
    run = _Run(
        sessions,
        gh,
        holder,
        BackfillOutcome(run_id),
        list(repo_ids) if repo_ids is not None else None,
        cycle,
        since,
        reporter,
        logger or logging.getLogger("collector.backfill"),
    )
    outcome = run.outcome
    try:
        await gather_or_cancel(run.worker() for _ in range(max(1, workers)))
    except Exception as exc:
        _finish(sessions, run_id, RunStatus.FAILED, outcome, describe_failure(exc))
        raise
    except BaseException:
        _finish(sessions, run_id, RunStatus.INTERRUPTED, outcome)
        raise
    status = RunStatus.PARTIAL if outcome.failed else RunStatus.OK
    _finish(sessions, run_id, status, outcome)
    await pack_month_values(sessions, run.log)
    return outcome


def _finish(
    sessions: sessionmaker[Session], run_id: int, status: RunStatus, outcome: BackfillOutcome, error: str = ""
) -> None:
    stats: dict[str, object] = {"repositories": len(outcome.results), "failed": len(outcome.failed)}
    try:
        with transaction(sessions) as s:
            finish_run(s, run_id, status, stats | ({"error": error} if error else {}))
    except SQLAlchemyError:
        if status not in (RunStatus.FAILED, RunStatus.INTERRUPTED):
            raise
        # A pass stopped while the store is gone: its own error is what the caller must see; the next
        # start closes the run as interrupted.


@dataclass
class _Run:
    """One backfill run's workers: where repositories come from and where their outcomes go."""

    sessions: sessionmaker[Session]
    gh: GitHubAPI
    holder: Holder
    outcome: BackfillOutcome
    pending: list[int] | None  # the named repositories; None: claim due ones by lease
    cycle: datetime
    since: date | None
    reporter: Reporter | None
    log: logging.Logger
    tried: set[int] = field(default_factory=set)  # claimed by this run: a failed one waits for the next

    async def worker(self) -> None:
        """Backfill repositories one at a time until none is left."""
        while (item := self._next()) is not None:
            repo_id, lease = item
            result = await self._backfill(repo_id, lease)
            with transaction(self.sessions) as s:
                status = ItemStatus.ERROR if result.error else ItemStatus.OK
                save_run_item(s, self.outcome.run_id, repo_id, JOB, status, None, result.error)
                if lease is not None:  # a failed repository stays due: the next pass tries it again
                    done = leases.release if result.error else leases.complete
                    done(s, JOB, self.holder, [repo_id])
            self.outcome.results.append(result)

    def _next(self) -> tuple[int, leases.LeaseToken | None] | None:
        if self.pending is not None:
            return (self.pending.pop(0), None) if self.pending else None
        with transaction(self.sessions) as s:
            got = leases.claim_tokens(s, JOB, self.holder, self.cycle, 1, LEASE_TTL, exclude=self.tried)
        if not got:
            return None
        self.tried.add(got[0].repo_id)
        return got[0].repo_id, got[0]

    async def _backfill(self, repo_id: int, lease: leases.LeaseToken | None) -> RepoBackfill:
        """One repository; its lease is renewed meanwhile, and a failed renewal stops it (the lease may be
        another's by then: its writes would be refused anyway). The lease is given back if the run stops."""
        work = asyncio.ensure_future(
            backfill_repo(
                self.sessions,
                self.gh,
                repo_id,
                since=self.since,
                reporter=self.reporter,
                logger=self.log,
                lease=lease,
            )
        )
        beat = asyncio.ensure_future(_heartbeat(self.sessions, lease)) if lease is not None else None
        try:
            if beat is not None:
                await asyncio.wait({work, beat}, return_when=asyncio.FIRST_COMPLETED)
                if not work.done():
                    work.cancel()
                    await asyncio.gather(work, return_exceptions=True)
                    stopped = beat.exception() or LeaseLost("lease renewal stopped")
                    if is_outage(
                        stopped
                    ):  # the store went away: the pass waits, the repository is not to blame
                        self._give_back(lease)
                        raise stopped
                    return self._failed(repo_id, stopped)
            return await work
        except (GitHubError, LeaseLost, SQLAlchemyError) as exc:
            if ends_the_pass(exc):
                self._give_back(lease)
                raise
            return self._failed(repo_id, exc)
        except BaseException:
            self._give_back(lease)
            raise
        finally:
            left = [t for t in (work, beat) if t is not None and not t.done()]
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)

    def _give_back(self, lease: leases.LeaseToken | None) -> None:
        if lease is None:
            return
        try:
            with transaction(self.sessions) as s:
                leases.release(s, JOB, self.holder, [lease.repo_id])
        except SQLAlchemyError:
            pass  # the store is gone: the lease expires, or the next start releases what we held

    def _failed(self, repo_id: int, exc: BaseException) -> RepoBackfill:
        """This repository's failure, with a one-line reason; the pass goes on."""
        reason = describe_failure(exc)
        try:
            with self.sessions() as s:
                row = s.get(RepoRow, repo_id)
                name = row.full_name if row is not None else str(repo_id)
        except SQLAlchemyError:
            name = str(repo_id)
        event(
            self.log, "repo_failed", logging.WARNING, job=JOB, repo=name, kind=failure_kind(exc), error=reason
        )
        return RepoBackfill(name, error=reason)
