"""What fires, from values alone (no I/O): weekly growth (percent or absolute), milestones and rank changes.

Each firing carries its occurrence, the part of its identity that says "once": the milestone value, or
the ISO week (`2026-W48`) for the weekly and rank rules. The store keeps one row per alert, metric, rule,
repository and occurrence, so the same firing computed again (the next collect, another daemon, after a
restart) is not sent again.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from collector.alerts.spec import AlertSpec

# Values are read for this many days back: a week ago must lie in [today - WINDOW_DAYS, today - 7].
WINDOW_DAYS = 10
WEEK = 7
SHOWN = 3  # names a rank change lists as overtaken (or overtaking)


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
    # One sort: a value's rank is 1 + the position of its first occurrence in descending order.
    first: dict[int, int] = {}
    for position, value in enumerate(sorted(values.values(), reverse=True), start=1):
        first.setdefault(value, position)
    return {key: first[value] for key, value in values.items()}


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
    names = {k: v.repo for k, v in known.items()}
    # Who was ahead the day before and is behind now (and the reverse): a sweep over the day before's
    # order with a Fenwick tree over today's ranks, O(n log n) instead of comparing every pair.
    overtook = _crossed(before, now, names, ahead_before=True)
    overtaken_by = _crossed(before, now, names, ahead_before=False)
    among = f"group {spec.group}" if spec.group else "the alert's repositories"
    moves = []
    for key, v in known.items():
        if now[key] == before[key]:
            continue
        detail = (
            f"{v.repo} moved from #{before[key]} to #{now[key]} by {spec.metric} among {len(known)} "
            f"repositories ({among}), with {v.now:,}"
        )
        if overtook[key]:
            detail += "; overtook " + ", ".join(overtook[key])
        if overtaken_by[key]:
            detail += "; overtaken by " + ", ".join(overtaken_by[key])
        moves.append((v, now[key], before[key], detail))
    return moves


def _crossed(
    before: Mapping[int, int], now: Mapping[int, int], names: Mapping[int, str], *, ahead_before: bool
) -> dict[int, list[str]]:
    """For each key, the first SHOWN names (alphabetically) of the others that were strictly ahead of it
    the day before and are strictly behind it now (`ahead_before`), or strictly behind and now ahead."""
    size = len(now)
    tree: list[list[str]] = [[] for _ in range(size + 1)]  # node i: the SHOWN smallest names under it

    def slot(key: int) -> int:
        # Positions in today's order, counted from the side the sweep asks about (a prefix query).
        return size + 1 - now[key] if ahead_before else now[key]

    def add(key: int) -> None:
        i, name = slot(key), names[key]
        while i <= size:
            node = tree[i]
            if len(node) < SHOWN or name < node[-1]:
                insort(node, name)
                del node[SHOWN:]
            i += i & -i

    def first_names(limit: int) -> list[str]:  # among positions 1..limit
        found: list[str] = []
        while limit > 0:
            found += tree[limit]
            limit -= limit & -limit
        return sorted(found)[:SHOWN]

    order = sorted(before, key=lambda k: before[k], reverse=not ahead_before)
    out: dict[int, list[str]] = {}
    start = 0
    while start < len(order):  # equal ranks the day before: none was ahead of another, so ask, then add
        end = start
        while end < len(order) and before[order[end]] == before[order[start]]:
            end += 1
        for key in order[start:end]:
            out[key] = first_names(slot(key) - 1)
        for key in order[start:end]:
            add(key)
        start = end
    return out
