"""The human-readable tables of a report: display strings shared by the table, markdown and html formats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from collector.reports.groups import MIN_BASE, TOTAL_ROW, GroupSummary, Mover
from collector.reports.model import CUMULATIVE, Footnotes, Ranking, Report, Trend, compute_ranks
from collector.reports.periods import last_compared


def compute_change(values: Sequence[int | None]) -> tuple[int | None, float | None]:
    """Change from the first to the last known value: absolute, and percent of the first (None from 0)."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return None, None
    first, last = known[0], known[-1]
    return last - first, (100.0 * (last - first) / first if first else None)


def compute_rank_move(first: int | None, last: int | None) -> str:
    """Rank movement over the range: '+2' (up two places), '-1', '=' or 'new' (no rank at the start)."""
    if last is None:
        return ""
    if first is None:
        return "new"
    moved = first - last
    return "=" if moved == 0 else f"{moved:+d}"


@dataclass(frozen=True)
class MetricTable:
    """One human-readable trend table: repositories as rows, periods as columns, then change and rank."""

    metric: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    values: Mapping[str, tuple[int | None, ...]]  # repo -> values per period, for charts


NUMERIC_COLUMNS = frozenset(
    (
        *("rank", "stars", "forks", "contributors", "commits", "downloads", "downloads_30d"),
        *("change", "change %", "rank move"),
    )
)


def is_numeric_column(name: str) -> bool:
    """Columns that human formats right-align: counts, changes and periods (labels start with a digit)."""
    return name in NUMERIC_COLUMNS or name[:1].isdigit()


def format_number(value: int | None) -> str:
    """Thousands separated, or empty."""
    return "" if value is None else f"{value:,}"


def format_percent(value: float | None) -> str:
    """A signed percentage with one decimal, or empty."""
    return "" if value is None else f"{value:+.1f}%"


def unavailable_mark(footnotes: Footnotes, repo: str, metric: str) -> str:
    """'(n/a)[k]' where a footnote says why `metric` of `repo` is unavailable, else empty."""
    mark = footnotes.marks.get((repo, metric))
    return "" if mark is None else f"(n/a)[{mark}]"


def shown(value: int | None, unavailable: str, exists: bool) -> str:
    """A value for human formats: the number, `unavailable` where it is missing, empty before it existed."""
    if value is not None:
        return f"{value:,}"
    return unavailable if exists else ""


def cell(value: Any, repo: str, metric: str, footnotes: Footnotes, exists: bool) -> str:
    """`shown` for a value straight from a pandas table (NA for missing)."""
    known = value is not None and not pd.isna(value)
    return shown(int(value) if known else None, unavailable_mark(footnotes, repo, metric), exists)


@dataclass(frozen=True)
class _Grid:
    """Where the tidy rows of a trend fall in a dense repositories x periods grid."""

    names: list[str]  # repositories, in the order of their first row
    keep: npt.NDArray[np.bool_]  # the rows whose period is one of the report's
    cells: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]  # (row, column) of each kept row
    alive: npt.NDArray[np.bool_]  # whether the repository existed at each cell

    @classmethod
    def of(cls, trend: Trend) -> _Grid:
        table = trend.table
        codes, names = pd.factorize(table["repo"], sort=False)
        column = {p.label: k for k, p in enumerate(trend.periods)}
        periods = table["period"].map(column).to_numpy(dtype="float64", na_value=np.nan)
        keep = ~np.isnan(periods)
        cells = (codes[keep].astype(np.intp), periods[keep].astype(np.intp))
        alive = np.zeros((len(names), len(trend.periods)), dtype=bool)
        alive[cells] = table["exists"].to_numpy(dtype=bool)[keep]
        return cls([str(n) for n in names], keep, cells, alive)

    def values(self, column: pd.Series[Any]) -> dict[str, tuple[int | None, ...]]:
        """A numeric column as each repository's values per period (None where unknown)."""
        numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        numbers = numbers[self.keep]
        known = np.zeros(self.alive.shape, dtype=bool)
        known[self.cells] = ~np.isnan(numbers)
        grid = np.zeros(self.alive.shape, dtype=np.int64)
        grid[self.cells] = np.where(np.isnan(numbers), 0, numbers).astype(np.int64)
        return {
            name: tuple(v if k else None for v, k in zip(grid[r].tolist(), known[r].tolist(), strict=True))
            for r, name in enumerate(self.names)
        }


def compute_metric_tables(trend: Trend) -> list[MetricTable]:
    """The per-metric tables shown by the table, markdown and html formats.

    The tidy rows are laid out once on a dense repositories x periods grid (numpy), so a 10-year monthly
    trend of 1,000 repositories costs array operations and one string format per cell, not a pandas
    lookup per cell.
    """
    tables = []
    labels = period_labels(trend)
    grid = _Grid.of(trend)
    alive = {name: grid.alive[r].tolist() for r, name in enumerate(grid.names)}
    # Change and rank move compare the complete periods (unless told otherwise); rows go by the last.
    compared = trend.compared
    first, last = (compared[0], compared[-1]) if compared else (None, len(labels) - 1)
    for metric in trend.metrics:
        values = grid.values(trend.table[metric])
        firsts = {} if first is None else compute_ranks({r: v[first] for r, v in values.items()})
        lasts = compute_ranks({r: v[last] for r, v in values.items()})
        order = sorted(values, key=lambda r: (lasts.get(r, len(values) + 1), r.lower()))
        out = []
        for repo in order:
            unavailable = unavailable_mark(trend.footnotes, repo, metric)
            change, pct = compute_change([values[repo][k] for k in compared])
            cells = [shown(v, unavailable, a) for v, a in zip(values[repo], alive[repo], strict=True)]
            out.append(
                (
                    repo,
                    *cells,
                    format_number(change),
                    format_percent(pct),
                    compute_rank_move(firsts.get(repo), lasts.get(repo)) if compared else "",
                )
            )
        if trend.group is not None:  # the last line: the whole group's, whatever the rows shown
            totals = trend.group.totals[metric]
            change, pct = compute_change([totals[k] for k in compared])
            out.append(
                (TOTAL_ROW, *map(format_number, totals), format_number(change), format_percent(pct), "")
            )
        header = ("repository", *labels, "change", "change %", "rank move")
        tables.append(MetricTable(metric, header, tuple(out), {r: values[r] for r in order}))
    return tables


def period_labels(trend: Trend) -> list[str]:
    """The periods' labels as human formats show them: a partial period's marked `*` (see the notes)."""
    return [p.label + ("*" if p.partial else "") for p in trend.periods]


Grid = tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...]]  # title, header, rows


def compute_group_tables(trend: Trend) -> list[Grid]:
    """A group trend's own tables: members joining per period, then its biggest movers (absolute and
    relative change), as display strings."""
    group = trend.group
    if group is None:
        return []
    labels = period_labels(trend)
    first, last = labels[0], labels[last_compared(trend.periods, trend.include_partial)]
    joins = (
        f"Repositories of group {group.name}: joined in each {trend.every}, members at its end",
        ("repositories", *labels),
        (
            ("joined", *map(format_number, group.joined)),
            ("members", *map(format_number, group.member_counts)),
        ),
    )
    header = ("rank", "repository", first, last, "change", "change %")
    none = (("", f"none had at least {MIN_BASE:,} {group.metric} in {first}", "", "", "", ""),)
    return [
        joins,
        (
            f"Biggest movers of group {group.name} by {group.metric}: change",
            header,
            _mover_rows(group.absolute),
        ),
        (
            f"Biggest movers of group {group.name} by {group.metric}: change % (from at least {MIN_BASE:,})",
            header,
            _mover_rows(group.relative) or none,
        ),
    ]


def _mover_rows(movers: tuple[Mover, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            str(n),
            m.repo,
            format_number(m.first),
            format_number(m.last),
            f"{m.change:+,}",
            format_percent(m.percent),
        )
        for n, m in enumerate(movers, start=1)
    )


def compute_total_cells(group: GroupSummary, downloads: bool = False) -> tuple[str, ...]:
    """A ranking's group total as display strings, in RANKING_HEADER order (`downloads`: with an empty
    downloads_30d cell)."""
    totals = [group.totals[m][0] if m in group.totals else None for m in CUMULATIVE]
    extra = ("",) if downloads else ()
    return ("", TOTAL_ROW, *map(format_number, totals), *extra, "", "", f"all {group.members:,} members")


RANKING_HEADER = (
    "rank",
    "repository",
    "stars",
    "forks",
    "contributors",
    "language",
    "archived",
    "description",
)


def ranking_header(ranking: Ranking) -> tuple[str, ...]:
    """RANKING_HEADER, with downloads_30d after the counters when the ranking has that column (packages
    are configured)."""
    if "downloads_30d" not in ranking.table.columns:
        return RANKING_HEADER
    return (*RANKING_HEADER[:5], "downloads_30d", *RANKING_HEADER[5:])


def compute_ranking_rows(ranking: Ranking) -> tuple[tuple[str, ...], ...]:
    """The ranking as display strings, in ranking_header order (descriptions untruncated, unescaped)."""
    rows = []
    downloads = "downloads_30d" in ranking.table.columns
    for row in ranking.table.itertuples(index=False):
        repo = str(row.repo)
        d30 = getattr(row, "downloads_30d", None)
        rows.append(
            (
                "" if row.rank is pd.NA or row.rank is None else str(row.rank),
                repo,
                *(cell(getattr(row, m), repo, m, ranking.footnotes, bool(row.exists)) for m in CUMULATIVE),
                *((format_number(None if d30 is pd.NA else d30),) if downloads else ()),
                "" if row.language is None else str(row.language),
                "yes" if row.archived else "",
                "" if row.description is None else " ".join(str(row.description).split()),
            )
        )
    if ranking.group is not None:
        rows.append(compute_total_cells(ranking.group, downloads))
    return tuple(rows)


ABOUT_HEADER = ("repository", "language", "archived", "description")


def compute_about_rows(trend: Trend) -> tuple[tuple[str, ...], ...]:
    """The trend's repositories as display strings, in ABOUT_HEADER order (descriptions on one line)."""
    return tuple(
        (
            f.repo,
            f.language or "",
            "yes" if f.archived else "",
            " ".join((f.description or "").split()),
        )
        for f in trend.repositories
    )


def describe(report: Report) -> str:
    """A one-line title for the report."""
    of = (
        ""
        if report.group is None
        else f" of group {report.group.name} ({report.group.members:,} repositories)"
    )
    if isinstance(report, Ranking):
        return f"Popularity{of} at the end of {report.at.isoformat()} (UTC), ranked by stars"
    first, last = report.periods[0], report.periods[-1]
    return (
        f"Trends{of} per {report.every}, {first.label} to {last.label}"
        f" (values as of {last.as_of.isoformat()})"
    )


def describe_metric(metric: str, every: str) -> str:
    """What a trend table's cells mean."""
    if metric in ("commits", "downloads"):  # flows: summed within each period
        return f"{metric.capitalize()} within each {every}"
    return f"{metric.capitalize()} at the end of each {every}"
