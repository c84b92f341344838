"""History backfill: stars, forks, weekly commits and contributors since a repository's creation.

Each series commits its checkpoint in the same transaction as the rows a page produced, so a process
killed at any point resumes where it stopped and ends with the same rows as an uninterrupted run.
Reruns are incremental: star history (jobs/star_history.py) updates the newest weeks and re-validates
the rest when its total disagrees with GitHub's count; forks page newest
first until a known fork; weekly commits refetch only weeks that can still change; the commit walk
only covers commits since the last walk.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from collector.domain import HistoryPoint, parse_repo_name, utc_now, week_start
from collector.github.client import GitHubClient
from collector.github.errors import GitHubError, NotFound
from collector.jobs.progress import NullReporter, Reporter
from collector.jobs.series import SeriesContext, last_complete_day
from collector.jobs.star_history import backfill_stars
from collector.jobs.tasks import gather_or_cancel
from collector.logs import event
from collector.store import leases
from collector.store.checkpoints import (
    Checkpoint,
    known_fork_ids,
    load_checkpoint,
    rebuild_contributor_days,
    rebuild_fork_days,
    save_checkpoint,
    save_forks,
    save_identities,
)
from collector.store.engine import transaction
from collector.store.history import save_history_weekly
from collector.store.models import Repository
from collector.store.repos import mark_gone, save_repository
from collector.store.runs import finish_run, save_run_item, start_run

JOB = "backfill"
SERIES = ("stars", "forks", "commits", "contributors")
WEEKS_PER_QUERY = 50
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
    if cp is not None and cp.status == "complete":
        async for page in ctx.gh.fetch_forks(ctx.name, sort="newest"):
            with transaction(ctx.sessions) as s:
                known = known_fork_ids(s, ctx.repo_id, [f.github_id for f in page.forks])
                new = [f for f in page.forks if f.github_id not in known]
                save_forks(s, ctx.repo_id, new)
            ctx.reporter.advance(ctx.name.full_name, "forks")
            if len(new) < len(page.forks):
                break
    else:
        cursor = cp.cursor if cp is not None else None
        async for page in ctx.gh.fetch_forks(ctx.name, start_url=cursor, sort="oldest"):
            with transaction(ctx.sessions) as s:
                save_forks(s, ctx.repo_id, page.forks)
                save_checkpoint(
                    s, ctx.repo_id, "forks", Checkpoint("partial", page.next_url, None, None, None)
                )
            ctx.reporter.advance(ctx.name.full_name, "forks")
    with transaction(ctx.sessions) as s:
        # The listing has direct forks only, GitHub's count the whole network: the daily series is the
        # direct forks scaled to the latest observation (every run: a new observation moves the factor).
        scale = rebuild_fork_days(s, ctx.repo_id)
        save_checkpoint(s, ctx.repo_id, "forks", Checkpoint("complete", None, None, ctx.today, None))
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


def weeks_between(first: date, last: date) -> list[date]:
    """Sundays starting the weeks that touch [first, last]."""
    out, current = [], week_start(first)
    while current <= last:
        out.append(current)
        current += timedelta(days=7)
    return out


async def backfill_commits(ctx: SeriesContext) -> str:
    """Commits per week by GraphQL `history(since, until) { totalCount }`, 50 weeks per query."""
    with ctx.sessions() as s:
        cp = load_checkpoint(s, ctx.repo_id, "commits")
    first = ctx.since
    if cp is not None and cp.covered_to is not None and (cp.covered_from or first) <= first:
        first = cp.covered_to + timedelta(days=1)  # weeks up to covered_to are final
    weeks = weeks_between(first, ctx.today)
    ctx.reporter.start(ctx.name.full_name, "commits", -(-len(weeks) // WEEKS_PER_QUERY))
    complete_to = last_complete_day(ctx.today)
    covered_from = min(ctx.since, cp.covered_from) if cp and cp.covered_from else week_start(ctx.since)
    for i in range(0, len(weeks), WEEKS_PER_QUERY):
        chunk = weeks[i : i + WEEKS_PER_QUERY]
        counts = await ctx.gh.fetch_weekly_commit_counts(ctx.name, chunk)
        with transaction(ctx.sessions) as s:
            save_history_weekly(
                s,
                ctx.repo_id,
                [HistoryPoint("commits", w, counts.get(w, 0), "graphql_history") for w in chunk],
            )
            done_to = min(chunk[-1] + timedelta(days=6), complete_to)
            save_checkpoint(
                s,
                ctx.repo_id,
                "commits",
                Checkpoint("partial", None, covered_from, max(done_to, first), None),
            )
        ctx.reporter.advance(ctx.name.full_name, "commits")
    with transaction(ctx.sessions) as s:
        save_checkpoint(
            s, ctx.repo_id, "commits", Checkpoint("complete", None, covered_from, complete_to, None)
        )
    ctx.reporter.done(ctx.name.full_name, "commits", "complete")
    return "complete"


async def backfill_contributors(ctx: SeriesContext) -> str:
    """The commit walk: the first commit of every author identity (the whole history, whatever --since)."""
    with ctx.sessions() as s:
        cp = load_checkpoint(s, ctx.repo_id, "contributors")
    detail = json.loads(cp.detail) if cp and cp.detail else {}
    if cp is not None and cp.status == "complete":
        # Only commits since the newest one walked last time (a day of overlap; identities merge).
        newest = detail.get("newest")
        since = datetime.fromisoformat(newest) - timedelta(days=1) if newest else None
        after = None
        detail = {"newest": newest, "since": since.isoformat() if since else None}
    elif cp is not None:
        since = datetime.fromisoformat(detail["since"]) if detail.get("since") else None
        after = cp.cursor
    else:
        since, after, detail = None, None, {}
    ctx.reporter.start(ctx.name.full_name, "contributors", None)
    async for page in ctx.gh.fetch_commits(ctx.name, after=after, since=since):
        firsts: dict[str, datetime] = {}
        for c in page.commits:
            if c.identity not in firsts or c.authored_at < firsts[c.identity]:
                firsts[c.identity] = c.authored_at
            if detail.get("walk_newest") is None or c.authored_at.isoformat() > detail["walk_newest"]:
                detail["walk_newest"] = c.authored_at.isoformat()
        with transaction(ctx.sessions) as s:
            save_identities(s, ctx.repo_id, firsts)
            cursor = page.end_cursor if page.has_next else None
            save_checkpoint(
                s, ctx.repo_id, "contributors", Checkpoint("partial", cursor, None, None, json.dumps(detail))
            )
        ctx.reporter.advance(ctx.name.full_name, "contributors")
        if not page.has_next:
            break
    seen = [d for d in (detail.get("newest"), detail.get("walk_newest")) if d]
    newest_seen = max(seen) if seen else None
    with transaction(ctx.sessions) as s:
        total = rebuild_contributor_days(s, ctx.repo_id)
        save_checkpoint(
            s,
            ctx.repo_id,
            "contributors",
            Checkpoint("complete", None, None, ctx.today, json.dumps({"newest": newest_seen})),
        )
    ctx.reporter.done(ctx.name.full_name, "contributors", f"complete ({total} contributors)")
    return "complete"


_STEPS = {
    "stars": backfill_stars,
    "forks": backfill_forks,
    "commits": backfill_commits,
    "contributors": backfill_contributors,
}


async def backfill_repo(
    sessions: sessionmaker[Session],
    gh: GitHubClient,
    repo_id: int,
    *,
    since: date | None = None,
    today: date | None = None,
    reporter: Reporter | None = None,
    logger: logging.Logger | None = None,
    series: Sequence[str] = SERIES,
) -> RepoBackfill:
    """Backfill every series of one repository; a failing series does not stop the others."""
    with sessions() as s:
        row = s.get(Repository, repo_id)
        assert row is not None
        full_name, created = row.full_name, row.created_at
    name = parse_repo_name(full_name)
    if created is None:  # never resolved: ask GitHub (also records renames)
        repo = await gh.fetch_repository(name)
        with transaction(sessions) as s:
            row = save_repository(s, repo, requested=name)
            full_name, created, repo_id = row.full_name, row.created_at, row.id
        name = parse_repo_name(full_name)
    first_day = created.astimezone(UTC).date() if created else date(2008, 1, 1)
    start = max(first_day, since) if since else first_day
    ctx = SeriesContext(
        sessions,
        gh,
        repo_id,
        name,
        start,
        today or utc_now().date(),
        reporter or NullReporter(),
        logger or logging.getLogger("collector.backfill"),
        first_day,
    )
    result = RepoBackfill(full_name)

    async def one(key: str) -> None:
        try:
            result.series[key] = await _STEPS[key](ctx)
        except NotFound as exc:
            with transaction(sessions) as s:
                mark_gone(s, repo_id, f"{exc.kind}: {exc}")
            result.series[key] = f"error: {exc}"
            result.error = f"{key}: {exc}"
        except GitHubError as exc:
            result.series[key] = f"error: {exc}"
            result.error = f"{key}: {exc}"
            event(
                ctx.log,
                "series_failed",
                logging.WARNING,
                repo=full_name,
                series=key,
                kind=exc.kind,
                error=str(exc),
            )

    # The series are independent; running them together keeps the client's connections busy.
    await gather_or_cancel(one(key) for key in series)
    return result


async def _heartbeat(sessions: sessionmaker[Session], holder: str, ids: list[int]) -> None:
    """Keep a lease alive while a long backfill runs; a crashed process stops renewing it."""
    while True:
        await asyncio.sleep(LEASE_TTL.total_seconds() / 4)
        with transaction(sessions) as s:
            leases.extend(s, JOB, holder, ids, LEASE_TTL)


async def run_backfill(
    sessions: sessionmaker[Session],
    gh: GitHubClient,
    *,
    holder: str,
    repo_ids: Sequence[int] | None = None,
    since: date | None = None,
    cycle_start: datetime | None = None,
    reporter: Reporter | None = None,
    logger: logging.Logger | None = None,
    workers: int = 4,
) -> BackfillOutcome:
    """Backfill the named repositories, or every due tracked one (leased, so daemons share the work)."""
    log = logger or logging.getLogger("collector.backfill")
    with transaction(sessions) as s:
        run_id = start_run(s, JOB, holder)
        leases.ensure_leases(s, JOB)
    outcome = BackfillOutcome(run_id)
    cycle = cycle_start or utc_now()
    pending = list(repo_ids) if repo_ids is not None else None

    async def worker() -> None:
        while True:
            with transaction(sessions) as s:
                if pending is not None:
                    ids = [pending.pop(0)] if pending else []
                else:
                    ids = leases.claim(s, JOB, holder, cycle, 1, ttl=LEASE_TTL)
            if not ids:
                return
            repo_id = ids[0]
            beat = asyncio.create_task(_heartbeat(sessions, holder, ids)) if pending is None else None
            try:
                result = await backfill_repo(
                    sessions, gh, repo_id, since=since, reporter=reporter, logger=log
                )
            except GitHubError as exc:
                result = RepoBackfill(str(repo_id), error=str(exc))
            except BaseException:
                if pending is None:
                    with transaction(sessions) as s:
                        leases.release(s, JOB, holder, ids)
                raise
            finally:
                if beat is not None:
                    beat.cancel()
            with transaction(sessions) as s:
                status = "error" if result.error else "ok"
                save_run_item(s, run_id, repo_id, JOB, status, None, result.error)
                if pending is None:
                    leases.complete(s, JOB, holder, ids)
            outcome.results.append(result)

    try:
        await gather_or_cancel(worker() for _ in range(max(1, workers)))
    except BaseException:
        with transaction(sessions) as s:
            finish_run(s, run_id, "interrupted", {"repositories": len(outcome.results)})
        raise
    status = "ok" if not outcome.failed else "partial"
    with transaction(sessions) as s:
        finish_run(s, run_id, status, {"repositories": len(outcome.results), "failed": len(outcome.failed)})
    return outcome
