"""A group's page in one pass: its ranking by stars at a date and its monthly summary (total, movers,
joins) over the two years to that date.

Built apart, as `collector report --at` and `collector report --since --group` build them, the two read
the members, their facts and every member's stars twice, and the trend shapes a table of every member
and month that the page never shows. Here the members (current and former), their facts and one grid of
their monthly stars are read once: the grid's last column is each member's stars at the end of the date
(the last period of a trend ends at `until`), which is what the ranking orders by; only the top rows'
other values are read besides. The numbers are those of the two reports (tests/test_group_page.py
compares them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from collector.config import Config
from collector.domain import GroupMember
from collector.reports.build import SummaryGroup, load_group_grid, load_shown, positions_of, select_group
from collector.reports.grid import ShownGrid
from collector.reports.group_build import join_rule, make_group_summary
from collector.reports.groups import GroupSummary
from collector.reports.model import (
    CUMULATIVE,
    EARLIEST,
    Period,
    ReportRequest,
    compute_ranks,
    compute_top,
)
from collector.reports.periods import compared_periods
from collector.store.groups import StoredGroup, load_group, load_group_members
from collector.store.reports import load_report_repos

TREND_YEARS = 2  # the summary covers the months from this many years before the date


@dataclass(frozen=True)
class GroupPage:
    """What a group's page shows. `top`: the first rows by stars at `at` (every cumulative metric, one
    period), `ranks` their competition ranks among all `ranked` members; `summary` over `periods`, whose
    positions `compared` are those its movers compare; the rule group's stored rule and members."""

    at: date
    ranked: int
    top: ShownGrid
    ranks: list[int | None]
    summary: GroupSummary
    periods: tuple[Period, ...]
    compared: tuple[int, ...]
    stored: StoredGroup | None  # None: a group of the config
    members: list[GroupMember]  # a rule group's members that joined, current or left, by join day


def trend_since(at: date) -> date:
    """The first day of the summary: the first of `at`'s month, TREND_YEARS earlier (not before EARLIEST)."""
    return max(EARLIEST, date(at.year - TREND_YEARS, at.month, 1))


def make_group_page(
    session: Session, config: Config, name: str, at: date, today: date, top: int
) -> GroupPage:
    """Group `name`'s page at the end of `at` (`today`: the last day of data) with its `top` first rows."""
    stored = load_group(session, name)
    members = load_group_members(session, name, current_only=False) if stored is not None else []
    current = [m for m in members if m.left_on is None]
    ids, _ = select_group(session, config, name, current)
    rule = join_rule(config, name, stored, current)
    repos = {r.id: r for r in load_report_repos(session, ids)}
    through_today = at == today
    request = ReportRequest(
        since=trend_since(at),
        until=at,
        every="month",
        metrics=("stars",),
        group=name,
        through_today=through_today,
    )
    periods = request.periods()
    everyone, context = load_group_grid(
        session, ids, repos, request, periods, SummaryGroup(name, config, rule)
    )
    summary, _ = make_group_summary(name, everyone, ("stars",), context)
    stars = everyone.column("stars", -1)
    ranks = compute_ranks(dict(zip(everyone.names, stars, strict=True)))
    chosen = everyone.grid.repo_ids[compute_top(everyone.names, stars, top)].tolist()
    shown = load_shown(session, chosen, repos, "day", (at, at, through_today), CUMULATIVE)
    shown = shown.take(positions_of(chosen))
    return GroupPage(
        at=at,
        ranked=len(stars),
        top=shown,
        ranks=[ranks.get(n) for n in shown.names],
        summary=summary,
        periods=periods,
        compared=compared_periods(periods, request.include_partial),
        stored=stored,
        members=members,
    )
