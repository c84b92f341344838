"""What a group report adds to its members' rows: the group's total per period, its biggest movers and
how many repositories joined it each period. Pure: arrays and values in, values out."""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

MOVERS = 10  # repositories in each movers table
MIN_BASE = 100  # relative growth only from at least this value at the start: +500% from 2 says nothing
TOTAL_ROW = "(group total)"  # no repository can be called this: GitHub names have no spaces or brackets


@dataclass(frozen=True)
class Mover:
    """A repository's change of one metric from the first period to the last."""

    repo: str
    first: int  # 0 when the repository did not exist yet
    last: int
    change: int
    percent: float | None  # None below MIN_BASE at the start


@dataclass(frozen=True)
class GroupSummary:
    """A group's total per period (all members, not only those shown), movers and joins.

    `totals[metric]` has one value per period (one for a ranking), None where no member had one;
    `incomplete[metric]` counts members that existed but lacked a value somewhere. `joined` is per period
    and `joined_before` counts the members that joined before the first; both are empty for a ranking.
    """

    name: str
    members: int
    metric: str  # the metric the movers are ranked by
    totals: Mapping[str, tuple[int | None, ...]]
    incomplete: Mapping[str, int]
    joined: tuple[int, ...] = ()
    joined_before: int = 0
    unknown_joins: int = 0  # members without a day to count (neither history nor discovery date)
    absolute: tuple[Mover, ...] = ()
    relative: tuple[Mover, ...] = ()

    @property
    def member_counts(self) -> tuple[int, ...]:
        """Members at the end of each period: those that joined before it and in it."""
        return tuple(int(n) for n in np.cumsum([self.joined_before, *self.joined])[1:])


def compute_totals(values: npt.ArrayLike) -> tuple[int | None, ...]:
    """Per column of a members x periods array (NaN or None for no value): the sum of the known values,
    None where there are none."""
    grid = np.asarray(values, dtype=np.float64)
    if grid.ndim != 2:
        raise ValueError("expected members x periods")
    known = ~np.isnan(grid)
    sums = np.where(known, grid, 0).sum(axis=0)
    present = np.any(known, axis=0).astype(bool).tolist()
    return tuple(int(s) if k else None for s, k in zip(sums.tolist(), present, strict=True))


def compute_incomplete(values: npt.ArrayLike, existed: npt.ArrayLike) -> int:
    """Members with no value in some period in which they existed (the total misses them there)."""
    grid = np.asarray(values, dtype=np.float64)
    return int((np.isnan(grid) & np.asarray(existed, dtype=bool)).any(axis=1).sum())


def compute_movers(
    names: Sequence[str],
    first: Sequence[int | None],
    last: Sequence[int | None],
    existed_first: Sequence[bool] | npt.NDArray[np.bool_],
    limit: int = MOVERS,
    min_base: int = MIN_BASE,
) -> tuple[tuple[Mover, ...], tuple[Mover, ...]]:
    """The biggest movers from the first period to the last: by absolute change, and by relative change
    among those with at least `min_base` at the start. A repository created since counts from 0; one
    without a value at either end (that existed) is left out. Ties go to the larger change, then by name."""
    # Plain tuples for everyone, Movers for the few shown: a group can hold ten thousand members.
    rows = []
    for repo, start, end, existed in zip(names, first, last, existed_first, strict=True):
        base = start if start is not None else (None if existed else 0)
        if base is None or end is None:
            continue
        percent = 100.0 * (end - base) / base if base >= min_base else None
        rows.append((repo, base, end, end - base, percent))
    absolute = [Mover(*r) for r in heapq.nsmallest(limit, rows, key=lambda r: (-r[3], r[0].lower()))]
    rated = [r for r in rows if r[4] is not None]
    relative = [
        Mover(*r) for r in heapq.nsmallest(limit, rated, key=lambda r: (-(r[4] or 0.0), -r[3], r[0].lower()))
    ]
    return tuple(absolute), tuple(relative)


def compute_period_of(day: date | None, starts: Sequence[date], last: date) -> int | None:
    """The position of the period containing `day` among periods starting on `starts` and ending on
    `last`: -1 before the first, len(starts) after the last, None for no day."""
    if day is None:
        return None
    if day < starts[0]:
        return -1
    return len(starts) if day > last else bisect_right(starts, day) - 1


def compute_join_periods(
    met: npt.ArrayLike, before: Sequence[bool], fallback: Sequence[int | None]
) -> list[int | None]:
    """The period each member joined (rows of `met`, members x periods): -1 when it met the group's rule
    `before` the first period, else the first period at whose end it `met` it, else its `fallback` (the
    period discovery found it in; None: unknown)."""
    if not len(before):  # a group with no member in the store
        return []
    grid = np.asarray(met, dtype=bool).reshape(len(before), -1)
    first: list[int] = np.argmax(grid, axis=1).tolist()
    ever = np.any(grid, axis=1).astype(bool).tolist()
    return [
        -1 if prior else (position if seen else other)
        for prior, position, seen, other in zip(before, first, ever, fallback, strict=True)
    ]


def compute_joins(join_periods: Sequence[int | None], periods: int) -> tuple[int, tuple[int, ...], int]:
    """(joined before the first period, joined in each of `periods`, with no period known). Positions
    past the last count nowhere: those members joined after the report's range."""
    counts = [0] * periods
    for position in join_periods:
        if position is not None and 0 <= position < periods:
            counts[position] += 1
    before = sum(1 for p in join_periods if p == -1)
    return before, tuple(counts), sum(1 for p in join_periods if p is None)
