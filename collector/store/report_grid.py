"""The dense repositories x periods grid behind the reports: where query rows fall in it, the running sums,
carry-forward and precedence as array operations, and the tidy table a report is built from.

The queries live in reports.py; this module only does arithmetic on what they return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from collector.domain import week_start

CUMULATIVE_METRICS = ("stars", "forks", "contributors")
GRID_METRICS = (*CUMULATIVE_METRICS, "commits")  # every metric a grid has values of, in this order

# Metrics whose reconstruction wins over the observation: GitHub's anon=1 contributor count links only the
# first 500 emails to users, while the walk counts each user or email once (the repo_daily view, 0005).
RECONSTRUCTION_FIRST = ("contributors",)

PERIOD_VALUE_COLUMNS = (
    *("repo_id", "period", "as_of", "has_data", *CUMULATIVE_METRICS, "commits"),
    *(f"{metric}_source" for metric in CUMULATIVE_METRICS),
)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]
CodeArray = npt.NDArray[np.int8]

# Which rule gave a value, as a code per cell (cheap to store and compare for a million cells) and its
# word: 0 none (no value), then by precedence.
SOURCES = (None, "carried", "reconstructed", "observed")
CARRIED, RECONSTRUCTED, OBSERVED = 1, 2, 3


def compute_row_sources(codes: Sequence[npt.NDArray[np.integer[Any]]]) -> ObjectArray:
    """One word per cell from each metric's source codes (SOURCES): observed when all its values were,
    reconstructed when any was, else carried; None where it has no value. Arrays of any shape, whole."""
    if not len(codes):
        return np.full((0,), None, dtype=object)
    stacked = np.stack([np.asarray(c) for c in codes])
    present = stacked > 0
    observed = np.all(~present | (stacked == OBSERVED), axis=0)
    reconstructed = np.any(stacked == RECONSTRUCTED, axis=0)
    words = np.array(["carried", "reconstructed", "observed"], dtype=object)
    out: ObjectArray = words[np.where(observed, 2, np.where(reconstructed, 1, 0))]
    out[~present.any(axis=0)] = None
    return out


def ordinals(days: Sequence[date]) -> IntArray:
    """Days as proleptic ordinals, for numpy."""
    return np.array([d.toordinal() for d in days], dtype=np.int64)


def _next_start(start: date, every: str) -> date:
    if every in ("day", "week"):
        return start + timedelta(days=1 if every == "day" else 7)
    month = start.month - 1 + {"month": 1, "quarter": 3, "year": 12}[every]
    return date(start.year + month // 12, month % 12 + 1, 1)


def compute_period_bounds(every: str, first: date, until: date) -> tuple[IntArray, IntArray]:
    """The first and last days (ordinals) of the periods from the one containing `first` to `until`, the
    last cut short at `until`. Computed, not read from the calendar table: that covers 1970 to 2060 only,
    and a report may ask about any day (before a repository's history its values are unknown)."""
    start = {
        "day": first,
        "week": week_start(first),
        "month": first.replace(day=1),
        "quarter": date(first.year, 3 * ((first.month - 1) // 3) + 1, 1),
        "year": date(first.year, 1, 1),
    }[every]
    starts, ends = [], []
    while start <= until:
        following = _next_start(start, every)
        starts.append(start.toordinal())
        ends.append(min(following - timedelta(days=1), until).toordinal())
        start = following
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


class Cells:
    """Cells of a dense repositories x periods grid, and where rows from the database fall in it."""

    def __init__(self, repo_ids: IntArray, starts: IntArray) -> None:
        self.repo_ids, self.starts = repo_ids, starts
        self.shape = (len(repo_ids), len(starts))
        self.size = len(repo_ids) * len(starts)
        # Repository ids are small integers: a table from id to row makes placing millions of rows a gather
        # instead of a binary search each (ten times faster), unless the ids are too sparse for one.
        top = int(repo_ids.max()) + 1 if len(repo_ids) else 1
        self._row_of: IntArray | None = None
        if top <= 10 * len(repo_ids) + 1_000_000:
            self._row_of = np.zeros(top, dtype=np.int64)
            self._row_of[repo_ids] = np.arange(len(repo_ids))

    def of(self, repo_ids: npt.ArrayLike, days: IntArray) -> IntArray:
        """The cell of each (repository, day): the period containing the day; days before the first fold
        into it."""
        ids = np.asarray(repo_ids, dtype=np.int64)
        rows = self._row_of[ids] if self._row_of is not None else np.searchsorted(self.repo_ids, ids)
        if not len(days) or not len(self.starts):
            return rows
        # Likewise a table from day to period, over the days the rows span.
        first, last = int(self.starts[0]), max(int(days.max()), int(self.starts[0]))
        column_of = np.searchsorted(self.starts, np.arange(first, last + 1), side="right") - 1
        return rows * len(self.starts) + column_of[np.clip(days - first, 0, last - first)]


@dataclass(frozen=True, eq=False)
class PeriodGrid:
    """Values per repository (rows, by id) and period (columns) with their sources: what a report reads.

    `values[metric]` are int64 arrays of shape (repositories, periods) with `missing[metric]` marking the
    unknown cells; `sources` (cumulative metrics only) are codes of SOURCES: observed, reconstructed or
    carried, 0 where unknown. `has_data` says whether a repository had any known data by each period's
    end (a report shows nothing before that).
    """

    repo_ids: IntArray
    starts: tuple[date, ...]
    ends: tuple[date, ...]
    has_data: BoolArray
    values: dict[str, IntArray]
    missing: dict[str, BoolArray]
    sources: dict[str, CodeArray]

    @classmethod
    def unknown(cls, repo_ids: IntArray, starts: IntArray, ends: IntArray) -> PeriodGrid:
        """A grid of `repo_ids` over the periods from `starts` to `ends` (ordinals) with nothing known: no
        data, every value missing, no source."""
        shape = (len(repo_ids), len(starts))
        return cls(
            repo_ids=repo_ids,
            starts=tuple(date.fromordinal(d) for d in starts.tolist()),
            ends=tuple(date.fromordinal(d) for d in ends.tolist()),
            has_data=np.zeros(shape, dtype=bool),
            values={m: np.zeros(shape, dtype=np.int64) for m in GRID_METRICS},
            missing={m: np.ones(shape, dtype=bool) for m in GRID_METRICS},
            sources={m: np.zeros(shape, dtype=np.int8) for m in CUMULATIVE_METRICS},
        )

    def take(self, rows: Sequence[int] | IntArray) -> PeriodGrid:
        """The grid of some of its repositories (row positions, in that order)."""
        at = np.asarray(rows, dtype=np.int64)
        return PeriodGrid(
            self.repo_ids[at],
            self.starts,
            self.ends,
            self.has_data[at],
            {m: v[at] for m, v in self.values.items()},
            {m: v[at] for m, v in self.missing.items()},
            {m: v[at] for m, v in self.sources.items()},
        )

    def since(self, column: int) -> PeriodGrid:
        """The grid without its periods before `column`."""
        return PeriodGrid(
            self.repo_ids,
            self.starts[column:],
            self.ends[column:],
            self.has_data[:, column:],
            {m: v[:, column:] for m, v in self.values.items()},
            {m: v[:, column:] for m, v in self.missing.items()},
            {m: v[:, column:] for m, v in self.sources.items()},
        )

    def frame(self) -> pd.DataFrame:
        """The tidy table, one row per repository and period (by id, then period): PERIOD_VALUE_COLUMNS."""
        n_repos, n_periods = len(self.repo_ids), len(self.starts)
        data: dict[str, Any] = {
            "repo_id": np.repeat(self.repo_ids, n_periods),
            "period": np.tile(np.array(self.starts, dtype=object), n_repos),
            "as_of": np.tile(np.array(self.ends, dtype=object), n_repos),
            "has_data": self.has_data.ravel(),
        }
        for metric in GRID_METRICS:
            data[metric] = pd.arrays.IntegerArray(self.values[metric].ravel(), self.missing[metric].ravel())
        words = np.array(SOURCES, dtype=object)
        for metric in CUMULATIVE_METRICS:
            data[f"{metric}_source"] = words[self.sources[metric].ravel()]
        return pd.DataFrame(data, columns=list(PERIOD_VALUE_COLUMNS))


def compute_cumulative(
    cells: Cells,
    metrics: Sequence[str],
    additions: Sequence[IntArray],
    snapshots: Sequence[npt.NDArray[Any]] | None,
    ends: IntArray,
    reconstructed: dict[str, BoolArray],
) -> tuple[dict[str, IntArray], dict[str, BoolArray], dict[str, CodeArray]]:
    """Each cumulative metric's value, missing flag and source in each cell, by the repo_daily precedence;
    those not in `metrics` are unknown everywhere.

    `additions` are columns (repository id, metric position in CUMULATIVE_METRICS, day, value);
    `snapshots` (repository id, day, stars, forks, contributors, contributors known), None when not read;
    `ends` the periods' last days; `reconstructed[metric]` per repository whether it has additions of that
    metric at all.
    """
    add_repos, add_metrics, add_days, add_values = additions
    add_cells = cells.of(add_repos, add_days)
    rows = (
        snapshots if snapshots is not None else [np.zeros(0, dtype=np.int64)] * 5 + [np.zeros(0, dtype=bool)]
    )
    snap_repos, snap_days, *snap_values, contributors_known = rows
    own, carried, observed = _place_snapshots(cells, snap_repos, snap_days, ends)
    values, missing, sources = {}, {}, {}
    for k, metric in enumerate(CUMULATIVE_METRICS):
        if metric not in metrics:
            values[metric] = np.zeros(cells.shape, dtype=np.int64)
            missing[metric] = np.ones(cells.shape, dtype=bool)
            sources[metric] = np.zeros(cells.shape, dtype=np.int8)
            continue
        rebuilt = np.repeat(reconstructed[metric], cells.shape[1])
        # Running sums of additions: fold them into cells, then accumulate along each repository's row.
        sums = np.zeros(cells.size, dtype=np.int64)
        mine = add_metrics == k
        np.add.at(sums, add_cells[mine], add_values[mine])
        running = sums.reshape(cells.shape).cumsum(axis=1).ravel()
        # Row -1 indexes an extra, unknown snapshot at the end of each array: no special cases for "none".
        flags = contributors_known if metric == "contributors" else np.ones(len(snap_repos), dtype=bool)
        known = np.append(flags, False)
        latest = np.append(snap_values[k], 0)
        from_snapshot = observed & known[own]
        if metric in RECONSTRUCTION_FIRST:
            from_snapshot &= ~rebuilt
        last_known = known[carried]
        value = np.where(from_snapshot | ~rebuilt, latest[carried], running)
        source = np.zeros(cells.size, dtype=np.int8)  # by precedence: later assignments win
        source[last_known] = CARRIED
        source[rebuilt] = RECONSTRUCTED
        source[from_snapshot] = OBSERVED
        values[metric] = value.reshape(cells.shape)
        missing[metric] = (~(from_snapshot | rebuilt | last_known)).reshape(cells.shape)
        sources[metric] = source.reshape(cells.shape)
    return values, missing, sources


def _place_snapshots(
    cells: Cells, repo_ids: IntArray, days: IntArray, ends: IntArray
) -> tuple[IntArray, IntArray, BoolArray]:
    """Per cell, the row of its own latest snapshot and of the one carried forward into it (-1: none), and
    whether its own was taken on the period's last day (`ends`)."""
    at = cells.of(repo_ids, days)
    by_cell = np.lexsort((days, at))  # of the rows folded into one cell, the latest wins
    latest = by_cell[np.append(at[by_cell][1:] != at[by_cell][:-1], True)] if len(at) else by_cell
    own = np.full(cells.size, -1, dtype=np.int64)
    own[at[latest]] = latest
    n_repos, n_periods = cells.shape
    position = np.where(own >= 0, np.tile(np.arange(n_periods), n_repos), -1).reshape(cells.shape)
    position = np.maximum.accumulate(position, axis=1)
    carried = np.take_along_axis(own.reshape(cells.shape), np.maximum(position, 0), axis=1).ravel()
    carried[position.ravel() < 0] = -1
    observed = np.append(days, -1)[own] == np.tile(ends, n_repos)  # row -1 never matches a day
    return own, carried, observed


def compute_commits(
    cells: Cells, repo_ids: IntArray, days: IntArray, counts: IntArray
) -> tuple[IntArray, BoolArray]:
    """Commits per cell (summed where several rows fall into one) and where none is known."""
    at = cells.of(repo_ids, days)
    weekly = np.zeros(cells.size, dtype=np.int64)
    np.add.at(weekly, at, counts)
    missing = np.ones(cells.size, dtype=bool)
    missing[at] = False
    return weekly.reshape(cells.shape), missing.reshape(cells.shape)
