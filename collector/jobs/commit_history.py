"""Weekly commits and the commit walk (contributors): the backfill's two GraphQL series.

Weekly commits refetch only weeks that can still change; the walk covers only commits since the last
complete walk, and counts every author identity by its first commit whatever --since says.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from collector.domain import HistoryPoint, week_start
from collector.jobs.series import SeriesContext, last_complete_day
from collector.store.checkpoints import (
    Checkpoint,
    SeriesStatus,
    load_checkpoint,
    rebuild_contributor_days,
    save_checkpoint,
    save_identities,
)
from collector.store.engine import transaction
from collector.store.history import save_history_weekly


def weeks_between(first: date, last: date) -> list[date]:
    """Sundays starting the weeks that touch [first, last]."""
    out, current = [], week_start(first)
    while current <= last:
        out.append(current)
        current += timedelta(days=7)
    return out


async def backfill_commits(ctx: SeriesContext) -> str:
    """Commits per week by GraphQL `history(since, until) { totalCount }`, many weeks per query."""
    with ctx.sessions() as s:
        cp = load_checkpoint(s, ctx.repo_id, "commits")
    first = ctx.since
    if cp is not None and cp.covered_to is not None and (cp.covered_from or first) <= first:
        first = cp.covered_to + timedelta(days=1)  # weeks up to covered_to are final
    weeks = weeks_between(first, ctx.today)
    per_query = ctx.gh.weeks_per_query
    ctx.reporter.start(ctx.name.full_name, "commits", ctx.gh.weekly_commit_queries(len(weeks)))
    complete_to = last_complete_day(ctx.today)
    covered_from = min(ctx.since, cp.covered_from) if cp and cp.covered_from else week_start(ctx.since)
    for i in range(0, len(weeks), per_query):
        chunk = weeks[i : i + per_query]
        counts = await ctx.gh.fetch_weekly_commit_counts(ctx.name, chunk)
        with transaction(ctx.sessions) as s:
            save_history_weekly(
                s,
                ctx.repo_id,
                [HistoryPoint("commits", w, counts.get(w, 0), "graphql_history") for w in chunk],
            )
            done_to = min(chunk[-1] + timedelta(days=6), complete_to)
            checkpoint = Checkpoint(SeriesStatus.PARTIAL, None, covered_from, max(done_to, first), None)
            save_checkpoint(s, ctx.repo_id, "commits", checkpoint)
        ctx.reporter.advance(ctx.name.full_name, "commits")
    with transaction(ctx.sessions) as s:
        checkpoint = Checkpoint(SeriesStatus.COMPLETE, None, covered_from, complete_to, None)
        save_checkpoint(s, ctx.repo_id, "commits", checkpoint)
    ctx.reporter.done(ctx.name.full_name, "commits", "complete")
    return "complete"


@dataclass(frozen=True)
class ContributorsProgress:
    """The commit walk, as stored in the contributors checkpoint's detail."""

    newest: datetime | None = None  # newest commit of the last complete walk: the next walk starts there
    since: datetime | None = None  # where this walk starts (None: the whole history)
    walk_newest: datetime | None = None  # newest commit this walk has seen so far

    def to_json(self) -> str:
        """`newest` always (`collector status` shows it for a complete walk), the others once set."""
        raw = {"newest": self.newest, "since": self.since, "walk_newest": self.walk_newest}
        return json.dumps({k: _iso(v) for k, v in raw.items() if k == "newest" or v is not None})

    @classmethod
    def from_json(cls, text: str | None) -> ContributorsProgress:
        """The progress stored by `to_json` (a fresh one for an empty or older detail)."""
        raw: dict[str, Any] = json.loads(text) if text else {}
        return cls(**{k: _moment(raw.get(k)) for k in ("newest", "since", "walk_newest")})

    def next_walk(self) -> ContributorsProgress:
        """After a complete walk: only commits since its newest (a day of overlap; identities merge)."""
        return ContributorsProgress(self.newest, self.newest - timedelta(days=1) if self.newest else None)

    def saw(self, moments: Iterable[datetime]) -> ContributorsProgress:
        """With the authoring times of a page's commits."""
        seen = [m for m in (self.walk_newest, *moments) if m is not None]
        return replace(self, walk_newest=max(seen)) if seen else self

    def done(self) -> ContributorsProgress:
        """What the complete checkpoint keeps: the newest commit either walk saw."""
        seen = [m for m in (self.newest, self.walk_newest) if m is not None]
        return ContributorsProgress(max(seen) if seen else None)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


async def backfill_contributors(ctx: SeriesContext) -> str:
    """The commit walk: the first commit of every author identity (the whole history, whatever --since)."""
    with ctx.sessions() as s:
        cp = load_checkpoint(s, ctx.repo_id, "contributors")
    progress = ContributorsProgress.from_json(cp.detail if cp else None)
    if cp is not None and cp.status is SeriesStatus.COMPLETE:
        progress, after = progress.next_walk(), None
    else:
        after = cp.cursor if cp else None
    ctx.reporter.start(ctx.name.full_name, "contributors", None)
    async for page in ctx.gh.fetch_commits(ctx.name, after=after, since=progress.since):
        firsts: dict[str, datetime] = {}
        for c in page.commits:
            if c.identity not in firsts or c.authored_at < firsts[c.identity]:
                firsts[c.identity] = c.authored_at
        progress = progress.saw(c.authored_at for c in page.commits)
        with transaction(ctx.sessions) as s:
            save_identities(s, ctx.repo_id, firsts)
            cursor = page.end_cursor if page.has_next else None
            checkpoint = Checkpoint(SeriesStatus.PARTIAL, cursor, None, None, progress.to_json())
            save_checkpoint(s, ctx.repo_id, "contributors", checkpoint)
        ctx.reporter.advance(ctx.name.full_name, "contributors")
        if not page.has_next:
            break
    with transaction(ctx.sessions) as s:
        total = rebuild_contributor_days(s, ctx.repo_id)
        checkpoint = Checkpoint(SeriesStatus.COMPLETE, None, None, ctx.today, progress.done().to_json())
        save_checkpoint(s, ctx.repo_id, "contributors", checkpoint)
    ctx.reporter.done(ctx.name.full_name, "contributors", f"complete ({total} contributors)")
    return "complete"
