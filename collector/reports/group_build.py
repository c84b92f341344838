"""A group report's summary from the store: the group's total over all its members, its biggest movers and
the repositories that joined it in each period (the arithmetic is in groups.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from collector.config import Config
from collector.domain import GroupMember
from collector.reports.grid import ShownGrid
from collector.reports.groups import (
    MIN_BASE,
    GroupSummary,
    compute_incomplete,
    compute_join_periods,
    compute_joins,
    compute_movers,
    compute_period_of,
    compute_totals,
)
from collector.reports.model import Period
from collector.reports.periods import last_compared
from collector.store.groups import StoredGroup, load_group, load_group_members


@dataclass(frozen=True)
class JoinRule:
    """What decides when a member joined: the rule's min_stars, the day discovery found each member the
    rule matched, and the members the group lists (they belong from their creation)."""

    min_stars: int
    discovered: Mapping[int, date]
    listed: frozenset[int]


def load_join_rule(session: Session, config: Config, group: str) -> JoinRule:
    """The JoinRule of group `group`: a rule group's from the store (config lists have no rule)."""
    stored = load_group(session, group)
    members = load_group_members(session, group) if stored is not None else []
    return join_rule(config, group, stored, members)


def join_rule(
    config: Config, group: str, stored: StoredGroup | None, members: Sequence[GroupMember]
) -> JoinRule:
    """The JoinRule of group `group` from its stored rule (None: not a rule group) and current `members`."""
    rule = stored.rule if stored is not None else config.rules.get(group)
    return JoinRule(
        rule.min_stars if rule is not None else 0,
        {m.repo_id: m.joined_on for m in members if not m.fixed},
        frozenset(m.repo_id for m in members if m.fixed),
    )


@dataclass(frozen=True)
class TrendContext:
    """What a trend's group summary needs besides the values: the periods and their kind, the join rule
    and, when the rule has min_stars, each member's stars at the end of the period before the first."""

    periods: Sequence[Period]
    every: str
    rule: JoinRule
    prior: list[int | None] | None
    include_partial: bool = False  # movers reach into a partial last period


def make_group_summary(
    name: str, members: ShownGrid, metrics: Sequence[str], trend: TrendContext | None = None
) -> tuple[GroupSummary, list[str]]:
    """The summary of group `name` over `members` (all of them) and the notes that explain it: totals
    per period, and for a trend the biggest movers by the first metric and the joins per period."""
    values = {metric: members.matrix(metric) for metric in metrics}
    totals = {metric: compute_totals(values[metric]) for metric in metrics}
    incomplete = {metric: compute_incomplete(values[metric], members.exists) for metric in metrics}
    metric, count = metrics[0], len(members.names)
    notes = [f"group {name}: the total adds up all {count:,} members"]
    notes += [
        f"group total of {m}: {_members(n)} without a value in some period, so the total adds those known"
        for m, n in incomplete.items()
        if n
    ]
    if trend is None:
        return GroupSummary(name, count, metric, totals, incomplete), notes
    periods, every, rule = trend.periods, trend.every, trend.rule
    last = last_compared(periods, trend.include_partial)
    firsts, lasts = _optional(values[metric][:, 0]), _optional(values[metric][:, last])
    absolute, relative = compute_movers(members.names, firsts, lasts, members.exists[:, 0])
    before, joined, unknown = compute_joins(_join_periods(members, periods, rule, trend.prior), len(periods))
    start, end = periods[0].label, periods[last].label
    notes.append(
        f"biggest movers: change of {metric} from {start} to {end}; repositories created since count from 0,"
        f" those without a value at either end are left out; relative growth only from at least {MIN_BASE:,}"
        f" {metric} in {start}"
    )
    met = (
        f"its stars had reached {rule.min_stars:,}; listed members: it existed"
        if rule.min_stars
        else "it existed"
    )
    notes.append(
        f"joined: the first {every} at whose end a member met the group's rule by its stored history ({met}),"
        f" else the {every} discovery found it; {before:,} joined before {start}"
        + (f", {unknown:,} with neither" if unknown else "")
    )
    summary = GroupSummary(
        name, count, metric, totals, incomplete, joined, before, unknown, absolute, relative
    )
    return summary, notes


def _join_periods(
    members: ShownGrid, periods: Sequence[Period], rule: JoinRule, prior: list[int | None] | None
) -> list[int | None]:
    """The period each member joined in (see compute_join_periods): members the rule found by their stars
    when it has min_stars, every other by its creation; by the day discovery found it otherwise."""
    ids = members.grid.repo_ids.tolist()
    starts, last = [p.start for p in periods], periods[-1].as_of
    met = members.exists.copy()
    before = np.array([c is not None and c < starts[0] for c in members.created], dtype=bool)
    # Existing is all a member needs, but with a creation day unknown nothing tells when it began.
    unknown = np.array([c is None for c in members.created], dtype=bool)
    if rule.min_stars and prior is not None:
        found = np.array([i in rule.discovered and i not in rule.listed for i in ids], dtype=bool)
        reached = np.nan_to_num(members.matrix("stars"), nan=-1) >= rule.min_stars
        met[found] = reached[found]
        before[found] = np.array([(p or 0) >= rule.min_stars for p in prior], dtype=bool)[found]
        unknown &= ~found
    met[unknown], before[unknown] = False, False
    fallback = [compute_period_of(rule.discovered.get(i), starts, last) for i in ids]
    return compute_join_periods(met, before.tolist(), fallback)


def _members(count: int) -> str:
    return f"{count:,} member" + ("" if count == 1 else "s")


def _optional(column: npt.NDArray[np.float64]) -> list[int | None]:
    """A column of values (NaN: none) as Python ints and None, converted at once (a group can hold
    10,000 members: value by value took 5 ms a column)."""
    unknown = np.isnan(column)
    out = np.where(unknown, 0, column).astype(np.int64).astype(object)
    out[unknown] = None
    values: list[int | None] = out.tolist()
    return values
