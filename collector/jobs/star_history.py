"""Star history from /stargazers/history, kept equal to GitHub's series and to its stargazer count.

GitHub buckets every star that still stands under the day it was given (facts sheet §11, §12): a
withdrawn star lowers an old week, never the newest one, and the weekly totals add up to today's count.
So a pass first brings the newest weeks up to date (stopping at the first stored, unchanged week), then
compares the stored total with the count GitHub gives now. When they differ it re-validates the whole
series: the requests are conditional, so pages that did not change are 304s and cost nothing.

Both walks are resumable: each page's rows and the walk's progress are committed together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, date, timedelta
from enum import StrEnum
from typing import Any

from collector.github.errors import EndpointUnavailable, Forbidden, NotFound
from collector.github.types import StarWeek
from collector.jobs.series import SeriesContext, last_complete_day
from collector.store.checkpoints import (
    Checkpoint,
    SeriesStatus,
    add_daily,
    load_checkpoint,
    load_daily,
    replace_daily,
    save_checkpoint,
)
from collector.store.stars import load_observed_stars, load_star_total

SOURCE = "star_history"
EARLIEST = date(2000, 1, 1)


class Walk(StrEnum):
    """Which walk a pass is in: the newest weeks only, or the whole series."""

    UPDATE = "update"
    REVALIDATE = "revalidate"


@dataclass(frozen=True)
class StarsProgress:
    """A pass over the star history, as stored in the checkpoint between pages."""

    walk: Walk = Walk.UPDATE
    newest: date | None = None  # newest bucket written by this walk
    oldest: date | None = None  # oldest bucket written by this walk: newer ones were seen already
    stored_from: date | None = None  # what an earlier complete pass stored: the update walk may stop there
    stored_to: date | None = None
    irregular: int = 0  # buckets whose days did not add up to their total

    def to_json(self) -> str:
        """The progress as JSON for the checkpoint's detail."""
        return json.dumps(
            {
                "walk": self.walk.value,
                **{k: _iso(getattr(self, k)) for k in ("newest", "oldest", "stored_from", "stored_to")},
                "irregular": self.irregular,
            }
        )

    @classmethod
    def from_json(cls, text: str | None) -> StarsProgress:
        """The progress stored by `to_json` (a fresh one for an empty or older detail)."""
        raw: dict[str, Any] = json.loads(text) if text else {}
        return cls(
            walk=Walk(raw.get("walk", Walk.UPDATE.value)),
            **{k: _day(raw.get(k)) for k in ("newest", "oldest", "stored_from", "stored_to")},
            irregular=int(raw.get("irregular", 0)),
        )

    def summary_json(self) -> str | None:
        """The detail of a complete pass: only what `collector status` should show (irregular buckets)."""
        return json.dumps({"irregular_weeks": self.irregular}) if self.irregular else None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def compute_star_days(week: StarWeek) -> tuple[dict[date, int], bool]:
    """Stars per day of one bucket (zero days left out), and whether the bucket was irregular.

    Seven days that add up to the total are taken as given. Otherwise the total wins, because the totals
    are what add up to the stargazer count: the first seven days are kept where they fit under it, and the
    rest of the total goes on the bucket's seventh day, so every value at a bucket's end stays right.
    """
    total = max(0, week.total)
    head = [max(0, n) for n in week.days[:7]]
    regular = len(week.days) == 7 and head == list(week.days) and sum(head) == total
    if not regular:
        head = head + [0] * (7 - len(head)) if sum(head) <= total else [0] * 7
        head[6] += total - sum(head)
    days = {week.week_start + timedelta(days=i): n for i, n in enumerate(head) if n}
    return days, not regular


async def backfill_stars(ctx: SeriesContext) -> str:
    """Star history per day: the newest weeks, then the whole series if the total disagrees with GitHub."""
    with ctx.sessions() as s:
        cp = stored = load_checkpoint(s, ctx.repo_id, "stars")
    if cp is not None and cp.status is SeriesStatus.UNAVAILABLE:
        cp = None  # the server may have gained the endpoint: try again
    if cp is not None and cp.status is SeriesStatus.PARTIAL:
        progress, cursor = StarsProgress.from_json(cp.detail), cp.cursor
    else:
        done = cp is not None and cp.status is SeriesStatus.COMPLETE
        progress = StarsProgress(
            stored_from=cp.covered_from if cp and done else None,
            stored_to=cp.covered_to if cp and done else None,
        )
        cursor = None
    ctx.reporter.start(ctx.name.full_name, "stars", None)
    try:
        if progress.walk is Walk.UPDATE:
            progress, stored = await _walk(ctx, progress, cursor, stored, stop_at_stored=True)
            cursor = None
            if await _disagrees(ctx):
                progress = replace(progress, walk=Walk.REVALIDATE, newest=None, oldest=None)
                ctx.log.info("star history of %s disagrees with GitHub's count: re-validating", ctx.name)
        if progress.walk is Walk.REVALIDATE:
            progress, stored = await _walk(ctx, progress, cursor, stored, stop_at_stored=False)
    except EndpointUnavailable:
        return await _stars_from_listing(ctx)
    covered = [d for d in (progress.oldest, progress.stored_from) if d is not None]
    covered_to = max(d for d in (last_complete_day(ctx.today), progress.stored_to) if d is not None)
    with ctx.write("stars", stored) as s:
        if progress.walk is Walk.REVALIDATE and progress.oldest is not None and ctx.since <= ctx.created:
            # Whatever is stored before GitHub's first bucket is not in the series any more.
            replace_daily(s, ctx.repo_id, "stars", EARLIEST, progress.oldest - timedelta(days=1), {}, SOURCE)
        first = min(covered) if covered else None
        checkpoint = Checkpoint(SeriesStatus.COMPLETE, None, first, covered_to, progress.summary_json())
        save_checkpoint(s, ctx.repo_id, "stars", checkpoint)
    irregular = f" ({progress.irregular} irregular weeks kept by their totals)" if progress.irregular else ""
    ctx.reporter.done(ctx.name.full_name, "stars", "complete" + irregular)
    return "complete"


async def _walk(
    ctx: SeriesContext,
    progress: StarsProgress,
    cursor: str | None,
    stored: Checkpoint | None,
    *,
    stop_at_stored: bool,
) -> tuple[StarsProgress, Checkpoint | None]:
    """Pages newest first from `cursor`; each page's buckets replace the stored days they cover, where
    the stored checkpoint is still `stored`. Returns the progress and the checkpoint as last stored."""
    async for page in ctx.gh.fetch_star_history(ctx.name, start_url=cursor):
        stop = False
        writes: dict[date, dict[date, int]] = {}
        irregular = 0
        with ctx.sessions() as s:
            for week in page.weeks:
                if progress.oldest is not None and week.week_start >= progress.oldest:
                    continue  # seen already: pages shift by one bucket when a new week begins
                last = week.week_start + timedelta(days=6)
                if last < ctx.since:
                    stop = True
                    break
                days, odd = compute_star_days(week)
                if stop_at_stored and _within_stored(progress, week.week_start, last):
                    if load_daily(s, ctx.repo_id, "stars", week.week_start, last) == days:
                        stop = True  # stored and unchanged: older buckets were only ever lowered
                        break
                writes[week.week_start] = days
                irregular += odd
        with ctx.write("stars", stored) as s:
            if writes:  # a page's buckets are contiguous: one range replaced at once
                merged = {d: n for days in writes.values() for d, n in days.items()}
                first, last = min(writes), max(writes) + timedelta(days=6)
                replace_daily(s, ctx.repo_id, "stars", first, last, merged, SOURCE)
                progress = replace(
                    progress,
                    newest=max(progress.newest or max(writes), max(writes)),
                    oldest=min(progress.oldest or min(writes), min(writes)),
                    irregular=progress.irregular + irregular,
                )
            next_url = None if stop else page.next_url
            checkpoint = Checkpoint(SeriesStatus.PARTIAL, next_url, None, None, progress.to_json())
            stored = save_checkpoint(s, ctx.repo_id, "stars", checkpoint)
        ctx.reporter.advance(ctx.name.full_name, "stars")
        if stop:
            break
    return progress, stored


def _within_stored(progress: StarsProgress, first: date, last: date) -> bool:
    return bool(progress.stored_from and progress.stored_to) and (
        progress.stored_from <= first and last <= progress.stored_to  # type: ignore[operator]
    )


async def _disagrees(ctx: SeriesContext) -> bool:
    """Whether the stored total differs from GitHub's count (where the series starts at creation).

    The latest observation settles it for free when it agrees; otherwise GitHub is asked for the count
    now (/stargazers/count, conditional), since stars given after that observation are in the series.
    """
    if ctx.since > ctx.created:
        return False  # --since cut the series short: its total is not the count
    with ctx.sessions() as s:
        observed, total = load_observed_stars(s, ctx.repo_id), load_star_total(s, ctx.repo_id)
    if observed == total:
        return False
    count = await ctx.gh.fetch_star_count(ctx.name)
    count = observed if count is None else count
    return count is not None and count != total


async def _stars_from_listing(ctx: SeriesContext) -> str:
    """Older GitHub Enterprise Server: the stargazers listing with starred_at, where the token may read it."""
    with ctx.sessions() as s:
        cp = load_checkpoint(s, ctx.repo_id, "stars_listing")
    cursor = cp.cursor if cp and cp.status is SeriesStatus.PARTIAL else None
    if cursor is None:
        with ctx.write("stars_listing", cp) as s:  # a full recount: the listing has no stop point
            replace_daily(s, ctx.repo_id, "stars", EARLIEST, ctx.today, {}, "stargazers")
            restart = Checkpoint(SeriesStatus.PARTIAL, None, None, None, None)
            cp = save_checkpoint(s, ctx.repo_id, "stars_listing", restart)
    try:
        async for page in ctx.gh.fetch_stargazer_dates(ctx.name, start_url=cursor):
            counts: dict[date, int] = {}
            for at in page.starred_at:
                day = at.astimezone(UTC).date()
                counts[day] = counts.get(day, 0) + 1
            with ctx.write("stars_listing", cp) as s:
                add_daily(s, ctx.repo_id, "stars", counts, "stargazers")
                checkpoint = Checkpoint(SeriesStatus.PARTIAL, page.next_url, None, None, None)
                cp = save_checkpoint(s, ctx.repo_id, "stars_listing", checkpoint)
            ctx.reporter.advance(ctx.name.full_name, "stars")
    except (Forbidden, NotFound) as exc:
        why = (
            "star history unavailable: this server has no /stargazers/history endpoint and the token may not "
            f"list stargazers ({exc.status or 'refused'})"
        )
        with ctx.write("stars_listing", cp) as s:
            checkpoint = Checkpoint(SeriesStatus.UNAVAILABLE, None, None, None, why)
            save_checkpoint(s, ctx.repo_id, "stars", checkpoint)
            replace_daily(s, ctx.repo_id, "stars", EARLIEST, ctx.today, {}, "stargazers")
        ctx.reporter.done(ctx.name.full_name, "stars", why)
        return f"unavailable: {why}"
    with ctx.write("stars_listing", cp) as s:
        done = Checkpoint(SeriesStatus.COMPLETE, None, None, ctx.today, None)
        save_checkpoint(s, ctx.repo_id, "stars_listing", done)
        save_checkpoint(s, ctx.repo_id, "stars", replace(done, detail="from stargazers"))
    ctx.reporter.done(ctx.name.full_name, "stars", "complete (stargazers listing)")
    return "complete"
