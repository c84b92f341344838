"""The periods of a trend: where each starts and ends, its label, and whether it is complete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from collector.domain import week_start


@dataclass(frozen=True)
class Period:
    """One column of a trend: it starts on `start`; values are as at the end of `as_of`. A `partial`
    period is cut short: by the report's end, or it is still going on (it ends today or later)."""

    start: date
    as_of: date
    label: str
    partial: bool = False


def period_start(day: date, every: str) -> date:
    """The first day of the period containing `day` (weeks start on Sunday, as on GitHub)."""
    if every == "week":
        return week_start(day)
    if every == "month":
        return day.replace(day=1)
    if every == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if every == "year":
        return date(day.year, 1, 1)
    raise ValueError(f"unknown period {every!r}")


def period_end(start: date, every: str) -> date:
    """The last day of the period starting on `start`."""
    if every == "week":
        return start + timedelta(days=6)
    months = {"month": 1, "quarter": 3, "year": 12}[every]
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def period_label(start: date, every: str) -> str:
    """`2017-01` for months, `2017-Q1` for quarters, `2017` for years, the Sunday's date for weeks."""
    if every == "month":
        return start.strftime("%Y-%m")
    if every == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if every == "year":
        return str(start.year)
    return start.isoformat()


def compute_periods(every: str, since: date, until: date, today: date | None = None) -> tuple[Period, ...]:
    """The periods from the one containing `since` to the one containing `until` (which ends it); those
    that `until` cuts short, or that end on or after `today` (not over yet), are partial."""
    periods = []
    start = period_start(since, every)
    while start <= until:
        end = period_end(start, every)
        partial = until < end or (today is not None and end >= today)
        periods.append(Period(start, min(end, until), period_label(start, every), partial))
        start = end + timedelta(days=1)
    return tuple(periods)


def compared_periods(periods: Sequence[Period], include_partial: bool) -> tuple[int, ...]:
    """The positions of the periods that a trend's change, rank move and movers compare: the complete
    ones (a partial period against a whole one says little), or all of them with `include_partial`."""
    return tuple(k for k, p in enumerate(periods) if include_partial or not p.partial)


def last_compared(periods: Sequence[Period], include_partial: bool) -> int:
    """The position of the last compared period (the last one when none is complete)."""
    compared = compared_periods(periods, include_partial)
    return compared[-1] if compared else len(periods) - 1
