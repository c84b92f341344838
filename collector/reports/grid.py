"""The store's repositories x periods grid as a report shows it: blank before a repository existed or had
its first data, with names, and cut to the repositories shown (no I/O here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import numpy.typing as npt

from collector.store.report_grid import CUMULATIVE_METRICS, PeriodGrid, compute_row_sources, ordinals


@dataclass(frozen=True, eq=False)
class ShownGrid:
    """A grid whose values are missing wherever the report shows none, with each repository's name and
    creation day, and `exists[repository, period]`: whether it existed at the period's end."""

    grid: PeriodGrid
    names: tuple[str, ...]
    created: tuple[date | None, ...]
    exists: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, grid: PeriodGrid, repos: Mapping[int, tuple[str, date | None]]) -> ShownGrid:
        """Blank `grid` before each repository existed (its creation day) or had its first known data;
        `repos` gives each id's name and creation day."""
        ids = grid.repo_ids.tolist()
        created = tuple(repos[i][1] for i in ids)
        ends = ordinals(grid.ends)
        born = np.array([(d or date.min).toordinal() for d in created], dtype=np.int64)
        exists = ends[np.newaxis, :] >= born[:, np.newaxis]
        hidden = ~(exists & grid.has_data)
        missing = {metric: flags | hidden for metric, flags in grid.missing.items()}
        # A blank value has no source either.
        sources = {metric: np.where(missing[metric], np.int8(0), s) for metric, s in grid.sources.items()}
        shown = replace(grid, missing=missing, sources=sources)
        return cls(shown, tuple(repos[i][0] for i in ids), created, exists)

    def take(self, rows: Sequence[int]) -> ShownGrid:
        """Some of the repositories (row positions), in that order."""
        at = np.asarray(rows, dtype=np.int64)
        return ShownGrid(
            self.grid.take(at),
            tuple(self.names[i] for i in at.tolist()),
            tuple(self.created[i] for i in at.tolist()),
            self.exists[at],
        )

    def since(self, column: int) -> ShownGrid:
        """Without the periods before `column`."""
        return ShownGrid(self.grid.since(column), self.names, self.created, self.exists[:, column:])

    def matrix(self, metric: str) -> npt.NDArray[np.float64]:
        """A metric's values per repository and period, NaN where none is shown."""
        return np.where(self.grid.missing[metric], np.nan, self.grid.values[metric].astype(np.float64))

    def column(self, metric: str, period: int) -> list[int | None]:
        """A metric's values in one period (-1: the last), None where none is shown."""
        values = self.grid.values[metric][:, period].tolist()
        missing = self.grid.missing[metric][:, period].tolist()
        return [None if m else v for v, m in zip(values, missing, strict=True)]

    def row_sources(self, metrics: Sequence[str]) -> npt.NDArray[np.object_]:
        """Per repository and period, one word for its values of `metrics` (compute_row_sources)."""
        cumulative = [m for m in CUMULATIVE_METRICS if m in metrics]
        if not cumulative:
            return np.full(self.exists.shape, None, dtype=object)
        return compute_row_sources([self.grid.sources[metric] for metric in cumulative])
