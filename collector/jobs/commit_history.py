"""The commit walk: one GraphQL walk of the default branch gives two series, contributors (each author
identity's first commit) and commits per week.

The first walk covers the whole history, whatever --since says; later walks cover only the commits since
the start of the week before the newest one seen. Weeks start on Sunday 00:00 UTC and a commit counts in
the week of its committed date, the date git's (and GitHub's) `since` filters on, so a later walk sees
every commit of the weeks it recounts. Merge commits are left out of the weekly counts, as GitHub's
statistics leave them out [D-STAT]; they still name contributors.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from collector.domain import week_start
from collector.github.types import CommitInfo
from collector.jobs.series import SeriesContext, last_complete_day
from collector.store.checkpoints import (
    Checkpoint,
    SeriesStatus,
    load_checkpoint,
    rebuild_contributor_days,
    save_checkpoint,
    save_identities,
)
from collector.store.history import add_history_weekly, fill_history_weekly

WEEKLY_SOURCE = "commit_walk"


def compute_weekly_commits(commits: Iterable[CommitInfo], first: date, last: date) -> dict[date, int]:
    """Commits per week (its Sunday -> count) by committed date (UTC), weeks `first`..`last` only, merges
    left out."""
    counts: Counter[date] = Counter()
    for c in commits:
        week = week_start(c.committed_at.astimezone(UTC).date())
        if not c.is_merge and first <= week <= last:
            counts[week] += 1
    return dict(counts)


def compute_first_commits(commits: Iterable[CommitInfo]) -> dict[str, datetime]:
    """Each author identity's earliest authored commit among `commits`."""
    firsts: dict[str, datetime] = {}
    for c in commits:
        if c.identity not in firsts or c.authored_at < firsts[c.identity]:
            firsts[c.identity] = c.authored_at
    return firsts


@dataclass(frozen=True)
class ContributorsProgress:
    """The commit walk, as stored in the contributors checkpoint's detail."""

    newest: datetime | None = None  # newest commit of the last complete walk: the next walk starts there
    since: datetime | None = None  # where this walk starts (None: the whole history)
    walk_newest: datetime | None = None  # newest commit this walk has seen so far
    counts_weeks: bool = False  # this walk counts weeks too (older versions' walks did not)

    def to_json(self) -> str:
        """`newest` always (`collector status` shows it for a complete walk), the others once set."""
        raw = {"newest": self.newest, "since": self.since, "walk_newest": self.walk_newest}
        out: dict[str, Any] = {k: _iso(v) for k, v in raw.items() if k == "newest" or v is not None}
        return json.dumps(out | ({"weeks": True} if self.counts_weeks else {}))

    @classmethod
    def from_json(cls, text: str | None) -> ContributorsProgress:
        """The progress stored by `to_json` (a fresh one for an empty or older detail)."""
        raw: dict[str, Any] = json.loads(text) if text else {}
        moments = {k: _moment(raw.get(k)) for k in ("newest", "since", "walk_newest")}
        return cls(**moments, counts_weeks=raw.get("weeks") is True)

    def next_walk(self) -> ContributorsProgress:
        """After a complete walk: only commits since its newest (a day of overlap; identities merge; the
        walk itself starts on that day's Sunday, so that it recounts whole weeks)."""
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


@dataclass(frozen=True)
class _Weeks:
    """The weeks one walk counts: from `first` (a Sunday) to this week's; `since` filters the walk."""

    first: date
    last: date
    since: datetime | None

    @classmethod
    def of(cls, progress: ContributorsProgress, ctx: SeriesContext) -> _Weeks:
        if progress.since is None:  # the whole history: every week since the repository's creation
            return cls(week_start(ctx.created), week_start(ctx.today), None)
        # Never before the creation week: the whole-history walk counts no earlier week either.
        first = max(week_start(progress.since.astimezone(UTC).date()), week_start(ctx.created))
        return cls(first, week_start(ctx.today), datetime.combine(first, time(0), tzinfo=UTC))

    def checkpoint(self, status: SeriesStatus, old: Checkpoint | None, to: date | None) -> Checkpoint:
        """The weekly series' checkpoint: weeks before `first` stay as an earlier walk counted them."""
        start = min(self.first, old.covered_from) if old and old.covered_from else self.first
        return Checkpoint(status, None, start, to, None)


async def backfill_commit_walk(ctx: SeriesContext) -> str:
    """Contributors and weekly commits from one walk; each page is stored with its checkpoint, and only
    where the stored checkpoint is still the one this walk's pages follow."""
    with ctx.sessions() as s:
        cp = load_checkpoint(s, ctx.repo_id, "contributors")
        weekly_cp = load_checkpoint(s, ctx.repo_id, "commits")
    progress = ContributorsProgress.from_json(cp.detail if cp else None)
    if cp is not None and cp.status is SeriesStatus.COMPLETE:
        progress, after = progress.next_walk(), None
    else:
        # A walk an older version left half done counted no weeks: it starts again from the top.
        after = cp.cursor if cp and progress.counts_weeks else None
    progress = replace(progress, counts_weeks=True)
    weeks = _Weeks.of(progress, ctx)
    # From the top (a new walk, or one killed after its last page): the walk recounts its weeks.
    reset: date | None = weeks.first if after is None else None
    ctx.reporter.start(ctx.name.full_name, "contributors", None)
    async for page in ctx.gh.fetch_commits(ctx.name, after=after, since=weeks.since):
        progress = progress.saw(c.authored_at for c in page.commits)
        counts = compute_weekly_commits(page.commits, weeks.first, weeks.last)
        with ctx.write("contributors", cp) as s:
            save_identities(s, ctx.repo_id, compute_first_commits(page.commits))
            add_history_weekly(s, ctx.repo_id, "commits", WEEKLY_SOURCE, counts, reset_from=reset)
            cursor = page.end_cursor if page.has_next else None
            checkpoint = Checkpoint(SeriesStatus.PARTIAL, cursor, None, None, progress.to_json())
            cp = save_checkpoint(s, ctx.repo_id, "contributors", checkpoint)
            if reset is not None:
                done_to = weeks.first - timedelta(days=1) if weeks.since else None
                save_checkpoint(
                    s, ctx.repo_id, "commits", weeks.checkpoint(SeriesStatus.PARTIAL, weekly_cp, done_to)
                )
        reset = None
        ctx.reporter.advance(ctx.name.full_name, "contributors")
        if not page.has_next:
            break
    with ctx.write("contributors", cp) as s:
        fill_history_weekly(s, ctx.repo_id, "commits", WEEKLY_SOURCE, weeks.first, weeks.last)
        total = rebuild_contributor_days(s, ctx.repo_id)
        checkpoint = Checkpoint(SeriesStatus.COMPLETE, None, None, ctx.today, progress.done().to_json())
        save_checkpoint(s, ctx.repo_id, "contributors", checkpoint)
        complete_to = last_complete_day(ctx.today)
        save_checkpoint(
            s, ctx.repo_id, "commits", weeks.checkpoint(SeriesStatus.COMPLETE, weekly_cp, complete_to)
        )
    ctx.reporter.done(ctx.name.full_name, "commits", "complete")
    ctx.reporter.done(ctx.name.full_name, "contributors", f"complete ({total} contributors)")
    return "complete"
