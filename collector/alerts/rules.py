"""What fires, from values alone (no I/O): weekly growth (percent or absolute), milestones and rank changes.

Each firing carries its occurrence, the part of its identity that says "once": the milestone value, or
the ISO week (`2026-W48`) for the weekly and rank rules. The store keeps one row per alert, metric, rule,
repository and occurrence, so the same firing computed again (the next collect, another daemon, after a
restart) is not sent again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from collector.alerts.spec import AlertSpec

# Values are read for this many days back: a week ago must lie in [today - WINDOW_DAYS, today - 7].
WINDOW_DAYS = 10
WEEK = 7


@dataclass(frozen=True)
class RepoValues:
    """One repository's value of the alert's metric: now, at the end of the day a week before and of the
    day before (None: unknown), and the earliest one read (a milestone's reference without a week)."""

    repo_id: int
    repo: str
    now: int
    week_ago: int | None
    day_before: int | None
    earliest: int


@dataclass(frozen=True)
class Firing:
    """An alert that fired for one repository; `value` and `previous` are the metric's value now and its
    reference (for rank_change: the rank now and the day before)."""

    alert: str
    metric: str
    rule: str
    repo_id: int
    repo: str
    occurrence: str
    value: int
    previous: int | None
    detail: str
    fired_at: datetime


def iso_week(day: date) -> str:
    """The ISO week of `day`, as `2026-W48`."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def compute_repo_values(
    repo_id: int, repo: str, series: Sequence[tuple[date, int]], today: date
) -> RepoValues | None:
    """Values as of the end of today, of a week before and of the day before, from (day, value) points of
    the last WINDOW_DAYS days (each point holds until the next); None without any point."""
    points = sorted((d, v) for d, v in series if today - timedelta(days=WINDOW_DAYS) <= d <= today)
    if not points:
        return None

    def as_of(day: date) -> int | None:
        known = [v for d, v in points if d <= day]
        return known[-1] if known else None

    return RepoValues(
        repo_id,
        repo,
        now=points[-1][1],
        week_ago=as_of(today - timedelta(days=WEEK)),
        day_before=as_of(today - timedelta(days=1)),
        earliest=points[0][1],
    )


def compute_ranks(values: Mapping[int, int]) -> dict[int, int]:
    """Rank by value, largest first; equal values share the better rank (1, 2, 2, 4)."""
    return {key: 1 + sum(1 for other in values.values() if other > value) for key, value in values.items()}


def compute_firings(spec: AlertSpec, values: Sequence[RepoValues], now: datetime) -> list[Firing]:
    """Everything `spec`'s rules say about `values` now (the store drops the ones that fired already)."""
    week = iso_week(now.date())
    out: list[Firing] = []

    def fire(
        v: RepoValues, rule: str, occurrence: str, value: int, previous: int | None, detail: str
    ) -> None:
        out.append(
            Firing(spec.name, spec.metric, rule, v.repo_id, v.repo, occurrence, value, previous, detail, now)
        )

    metric = spec.metric
    for v in values:
        if v.week_ago is not None:
            gained = v.now - v.week_ago
            pct = spec.weekly_growth_percent
            if pct is not None and v.week_ago > 0 and gained * 100 >= pct * v.week_ago:
                grew = f"{100 * gained / v.week_ago:.1f}%"
                text = f"{v.repo}: {metric} grew {grew} in 7 days, from {v.week_ago:,} to {v.now:,}"
                fire(v, "weekly_growth_percent", week, v.now, v.week_ago, text)
            if spec.weekly_growth is not None and gained >= spec.weekly_growth:
                text = f"{v.repo}: {metric} grew by {gained:,} in 7 days, from {v.week_ago:,} to {v.now:,}"
                fire(v, "weekly_growth", week, v.now, v.week_ago, text)
        reference = v.week_ago if v.week_ago is not None else v.earliest
        when = "a week before" if v.week_ago is not None else "before"
        for milestone in spec.milestones:
            if reference < milestone <= v.now:
                text = f"{v.repo} passed {milestone:,} {metric} ({v.now:,} now, {reference:,} {when})"
                fire(v, "milestones", str(milestone), v.now, reference, text)
    if spec.rank_change:
        for v, rank, before, detail in _rank_moves(spec, values):
            fire(v, "rank_change", week, rank, before, detail)
    return out


def _rank_moves(spec: AlertSpec, values: Sequence[RepoValues]) -> list[tuple[RepoValues, int, int, str]]:
    """The repositories whose rank differs from the day before's, among those known on both days."""
    known = {v.repo_id: v for v in values if v.day_before is not None}
    before = compute_ranks({k: v.day_before for k, v in known.items() if v.day_before is not None})
    now = compute_ranks({k: v.now for k, v in known.items()})
    among = f"group {spec.group}" if spec.group else "the alert's repositories"
    moves = []
    for key, v in known.items():
        if now[key] == before[key]:
            continue
        passed = [known[o].repo for o in known if before[o] < before[key] and now[o] > now[key]]
        passed_by = [known[o].repo for o in known if before[o] > before[key] and now[o] < now[key]]
        detail = (
            f"{v.repo} moved from #{before[key]} to #{now[key]} by {spec.metric} among {len(known)} "
            f"repositories ({among}), with {v.now:,}"
        )
        if passed:
            detail += "; overtook " + ", ".join(sorted(passed)[:3])
        if passed_by:
            detail += "; overtaken by " + ", ".join(sorted(passed_by)[:3])
        moves.append((v, now[key], before[key], detail))
    return moves
