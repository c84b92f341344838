"""What a report asks for and what it holds, and the pure steps between them (no I/O here).

The tables that the human formats show are laid out in tables.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from collector.domain import METRICS, RepoName, parse_repo_name
from collector.errors import CollectorError
from collector.reports.groups import GroupSummary
from collector.reports.periods import Period as Period
from collector.reports.periods import compared_periods
from collector.reports.periods import compute_periods as compute_periods
from collector.reports.periods import period_end as period_end
from collector.reports.periods import period_label as period_label
from collector.reports.periods import period_start as period_start

EVERY = ("week", "month", "quarter", "year")
FORMATS = ("table", "markdown", "csv", "json", "html")
CUMULATIVE = ("stars", "forks", "contributors")
# What --metric takes: the default set, and downloads (a flow summed per period, issue 21) on request.
REPORT_METRICS = (*METRICS, "downloads")
EXTENSIONS = {
    ".txt": "table",
    ".md": "markdown",
    ".markdown": "markdown",
    ".csv": "csv",
    ".json": "json",
    ".html": "html",
    ".htm": "html",
}
OPTION_KEYS = (
    "at",
    "since",
    "until",
    "every",
    "metric",
    "metrics",
    "group",
    "format",
    "repos",
    "top",
    "totals",
    "include_partial",
)
# The earliest day a report covers (git's and GitHub's clocks start at the Unix epoch); before a
# repository's history its values are empty.
EARLIEST = date(1970, 1, 1)
# A terminal table of more repositories than this shows the top ones and says how to see all of them.
TERMINAL_ROWS = 25

_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH_RE = re.compile(r"^\d{4}-\d{2}$")


class ReportOptionError(CollectorError):
    """A report option the user must fix (exit code 2)."""

    exit_code = 2


@dataclass(frozen=True)
class ReportRequest:
    """A validated report: a ranking `at` a day, or trends from `since` to `until` per `every`."""

    at: date | None = None
    since: date | None = None
    until: date | None = None
    every: str = "month"
    metrics: tuple[str, ...] = METRICS
    group: str | None = None
    format: str | None = None
    repos: tuple[RepoName, ...] = ()
    top: int | None = None  # only the top N by the latest value of the first metric (stars for a ranking)
    totals: bool = True  # a group report's total, biggest movers and joins per period
    cap: int | None = None  # the top N a format shows when `top` is not given (see cap_for_format)
    through_today: bool = False  # it ends today: the store holds nothing later (a cheaper read)
    include_partial: bool = False  # a trend's change and rank move reach into its partial last period

    @property
    def limit(self) -> int | None:
        """How many repositories to show at most (None: all)."""
        return self.top if self.top is not None else self.cap

    def periods(self) -> tuple[Period, ...]:
        """A trend's periods (through today the last is not over yet, even one ending today)."""
        assert self.since is not None and self.until is not None
        return compute_periods(self.every, self.since, self.until, self.until if self.through_today else None)


def cap_for_format(request: ReportRequest, fmt: str) -> ReportRequest:
    """The request as `fmt` shows it: a terminal table shows the top TERMINAL_ROWS unless --top is given;
    the file formats keep every repository."""
    return replace(request, cap=TERMINAL_ROWS if fmt == "table" and request.top is None else None)


def parse_day(text: str, option: str) -> date:
    """A YYYY-MM-DD day."""
    if not _DAY_RE.fullmatch(text):
        raise ReportOptionError(f"{option}: {text!r} is not a day; expected YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ReportOptionError(f"{option}: {text!r} is not a valid day ({exc})") from exc


def parse_month_or_day(text: str, option: str, end: bool) -> date:
    """YYYY-MM-DD, or YYYY-MM meaning its first day (or its last when `end`)."""
    if _MONTH_RE.fullmatch(text):
        try:
            first = date(int(text[:4]), int(text[5:]), 1)
        except ValueError as exc:
            raise ReportOptionError(f"{option}: {text!r} is not a valid month ({exc})") from exc
        return period_end(first, "month") if end else first
    if _DAY_RE.fullmatch(text):
        return parse_day(text, option)
    raise ReportOptionError(f"{option}: {text!r} is not a month or day; expected YYYY-MM or YYYY-MM-DD")


def _as_text(value: Any, option: str) -> str:
    if isinstance(value, date):  # TOML dates arrive as date objects
        return value.isoformat()
    if not isinstance(value, str):
        raise ReportOptionError(f"{option}: {value!r} is not a date; expected YYYY-MM or YYYY-MM-DD")
    return value


def _as_list(value: Any, option: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise ReportOptionError(f"{option}: {value!r} is not a list of names")
    return list(items)


def _parse_top(value: Any) -> int | None:
    """A positive whole number (from the command line it comes as text)."""
    if value is None:
        return None
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not text.isdigit() or int(text) < 1:
        raise ReportOptionError(f"top: {value!r} is not a positive whole number; expected e.g. --top 50")
    return int(text)


def _parse_flag(value: Any, option: str) -> bool:
    if value is not None and not isinstance(value, bool):
        raise ReportOptionError(f"{option}: {value!r} is not true or false")
    return bool(value)


def _parse_totals(value: Any, group: str | None) -> bool:
    if value is None:
        return True
    if not isinstance(value, bool):
        raise ReportOptionError(f"totals: {value!r} is not true or false")
    if value and group is None:
        raise ReportOptionError("totals: only a --group report has a group total, movers and joins")
    return value


def parse_request(options: Mapping[str, Any], today: date) -> ReportRequest:
    """Validate report options (CLI flags or a `[reports.NAME]` table) into a request.

    Repository names are checked here, before anything touches the store.
    """
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise ReportOptionError(f"unknown report option {unknown[0]!r}; expected one of {list(OPTION_KEYS)}")
    at = parse_day(_as_text(options["at"], "at"), "at") if options.get("at") is not None else None
    since = until = None
    if options.get("since") is not None:
        since = parse_month_or_day(_as_text(options["since"], "since"), "since", end=False)
    if options.get("until") is not None:
        until = parse_month_or_day(_as_text(options["until"], "until"), "until", end=True)
    if at is not None and since is not None:
        raise ReportOptionError("at and since exclude each other: --at gives a ranking, --since trends")
    if until is not None and since is None:
        raise ReportOptionError("until needs since: trends run from --since to --until")
    if at is None and since is None:
        at = today
    if at is not None and at > today:
        raise ReportOptionError(f"at: {at} is in the future (today is {today} UTC)")
    for option, day in (("at", at), ("since", since)):
        if day is not None and day < EARLIEST:
            raise ReportOptionError(f"{option}: {day} is before {EARLIEST}, the earliest day a report covers")
    if since is not None:
        until = min(until or today, today)
        if since > until:
            raise ReportOptionError(f"since: {since} is after until ({until})")
    every = options.get("every") or "month"
    if every not in EVERY:
        raise ReportOptionError(f"every: {every!r} is not valid; expected one of {list(EVERY)}")
    metric_value = options.get("metrics", options.get("metric"))
    metrics = tuple(_as_list(metric_value, "metric")) if metric_value else METRICS
    for metric in metrics:
        if metric not in REPORT_METRICS:
            expected = list(REPORT_METRICS)
            raise ReportOptionError(f"metric: {metric!r} is not valid; expected one of {expected}")
    fmt = options.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise ReportOptionError(f"format: {fmt!r} is not valid; expected one of {list(FORMATS)}")
    group = options.get("group")
    if group is not None and not isinstance(group, str):
        raise ReportOptionError(f"group: {group!r} is not a group name")
    repos = tuple(parse_repo_name(n) for n in _as_list(options.get("repos") or [], "repos"))
    return ReportRequest(
        at=at,
        since=since,
        until=until,
        every=every,
        metrics=tuple(dict.fromkeys(metrics)),
        group=group,
        format=fmt,
        repos=repos,
        top=_parse_top(options.get("top")),
        totals=_parse_totals(options.get("totals"), group),
        through_today=(at or until) == today,
        include_partial=_parse_flag(options.get("include_partial"), "include_partial"),
    )


def format_for_path(path: str, given: str | None) -> str:
    """The output format: the one given, else the one the file extension names."""
    if given is not None:
        return given
    suffix = path[path.rfind(".") :].lower() if "." in path.rsplit("/", 1)[-1] else ""
    if suffix not in EXTENSIONS:
        raise ReportOptionError(
            f"output: cannot tell the format from {path!r}; use one of {sorted(EXTENSIONS)} or pass --format"
        )
    return EXTENSIONS[suffix]


# --- results -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Footnotes:
    """Why values are missing: (repo, metric) -> footnote number, and the numbered texts."""

    marks: Mapping[tuple[str, str], int] = field(default_factory=dict)
    texts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # other remarks, e.g. repositories not in the store yet


@dataclass(frozen=True, eq=False)
class Ranking:
    """The ranking at the end of `at`: rank, repo, stars, forks, contributors, ... and an `exists` flag."""

    at: date
    table: pd.DataFrame
    footnotes: Footnotes
    group: GroupSummary | None = None  # a group report's total (of all members, not only those shown)
    ranked: int = 0  # how many repositories were ranked (the table may show only the top of them)


class RepoFacts(NamedTuple):
    """What a trend report says about a repository besides its numbers: the context readers want (a named
    tuple: a trend of every repository makes ten thousand)."""

    repo: str
    language: str | None
    archived: bool
    description: str | None


@dataclass(frozen=True, eq=False)
class Trend:
    """Trends, tidy: one row per repository and period (`period` is its label), with an `exists` flag."""

    every: str
    periods: tuple[Period, ...]
    metrics: tuple[str, ...]
    table: pd.DataFrame
    footnotes: Footnotes
    repositories: tuple[RepoFacts, ...] = ()  # by name
    group: GroupSummary | None = None  # a group report's total, movers and joins (of all members)
    include_partial: bool = False  # change and rank move reach into a partial last period
    releases: tuple[tuple[str, date, str], ...] = ()  # (repository, publication day, tag): chart markers

    @property
    def compared(self) -> tuple[int, ...]:
        """The positions of the periods that change, rank move and movers compare (compared_periods)."""
        return compared_periods(self.periods, self.include_partial)


Report = Ranking | Trend

RANKING_COLUMNS = (
    "rank",
    "repo",
    "stars",
    "forks",
    "contributors",
    "language",
    "archived",
    "description",
    "source",
    "stars_source",
    "forks_source",
    "contributors_source",
    "notes",
)
TREND_COLUMNS = (
    "repo",
    "period",
    "stars",
    "forks",
    "contributors",
    "commits",
    "downloads",
    "source",
    "as_of",
    "stars_source",
    "forks_source",
    "contributors_source",
    "notes",
)


def compute_ranks(values: Mapping[str, int | None]) -> dict[str, int]:
    """Competition ranks (1, 2, 2, 4) by value, highest first; repositories without a value get none."""
    ordered = sorted(((v, k) for k, v in values.items() if v is not None), reverse=True)
    ranks: dict[str, int] = {}
    previous: int | None = None
    rank = 0
    for position, (value, name) in enumerate(ordered, start=1):
        if value != previous:
            rank, previous = position, value
        ranks[name] = rank
    return ranks


def compute_top(names: Sequence[str], values: Sequence[int | None], limit: int) -> list[int]:
    """Positions of the `limit` largest values (none last), ties by name: the order of a ranking."""
    known = np.array([v is not None for v in values], dtype=bool)
    numbers = np.array([v or 0 for v in values], dtype=np.int64)
    by_name = np.argsort(np.argsort(np.array([n.lower() for n in names], dtype=object), kind="stable"))
    order: list[int] = np.lexsort((by_name, -numbers, ~known))[:limit].tolist()
    return order


def describe_cut(request: ReportRequest, shown: int, total: int, by: str) -> str | None:
    """The note on a report cut to its top repositories (`by`: what ranked them), None when it shows all."""
    if shown >= total:
        return None
    note = f"showing the top {shown:,} of {total:,} repositories by {by}"
    if request.top is None:  # the terminal's default cap: say how to see the rest
        note += f"; {total - shown:,} left out: see them all with --top {total} or --format csv"
    return note
