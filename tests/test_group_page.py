"""A group's page, built in one pass (collector.reports.group_page), shows exactly what the API's ranking and
`collector report --group` give when each is built on its own: the same top rows with the same ranks and
values, the same monthly totals, joins and movers. Hypothesis picks the members' histories (ties
included), the rule's min_stars, the date (today among them), how many rows, and whether the monthly
values are packed, which members left; on both backends. A group with no member in the store has a page
too."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.config import Config
from collector.domain import GroupRule, HistoryPoint, Repository, parse_repo_name
from collector.reports.build import make_report
from collector.reports.group_page import trend_since
from collector.reports.model import ReportRequest, Trend
from collector.store.engine import transaction
from collector.store.groups import load_group_members, save_discovery, save_group_rule
from collector.store.history import save_history_daily
from collector.store.reports import load_report_repos, refresh_month_values
from collector.store.repos import save_repository
from collector.web import data, page_data
from tests.conftest import Store, _truncate
from tests.test_store_month_state import _snapshot

FIRST = date(2024, 6, 1)
RULE = "found"
LISTED = "listed"
EMPTY = "empty"  # a config group none of whose repositories is in the store


def _fill(store: Store, seed: int, members: int, min_stars: int, today: date) -> Config:
    """`members` repositories with a few days of stars and forks each up to `today` (small numbers: ties),
    some with snapshots; a rule group that found all but the first (listed in it), a later discovery that
    no longer found some, and a config group of the odd ones."""
    rnd = random.Random(seed)
    _truncate(store.engine)
    names = []
    with transaction(store.sessions) as s:
        ids = []
        for k in range(members):
            created = FIRST + timedelta(days=rnd.randint(0, 700))
            at = datetime.combine(created, datetime.min.time(), UTC)
            name = f"own{k % 3}/repo{k}"
            row = save_repository(s, Repository(5000 + k, name, created_at=at), tracked=True)
            days = [created + timedelta(days=rnd.randint(0, (today - created).days)) for _ in range(4)]
            points = {
                (m, day): HistoryPoint(m, day, rnd.randint(0, 4) * 5, "t")
                for m in ("stars", "forks")
                for day in days
            }
            save_history_daily(s, row.id, list(points.values()))
            if rnd.random() < 0.4:
                _snapshot(s, row.id, today - timedelta(days=rnd.randint(0, 40)), rnd.randint(0, 40))
            ids.append(row.id)
            names.append(name)
        found = datetime(2026, 3, 10, tzinfo=UTC)
        save_group_rule(s, RULE, GroupRule("topic", "x", min_stars=min_stars), "cli", found)
        save_discovery(s, RULE, ids[1:], ids[:1], complete=True, now=found)
        kept = [i for i in ids[1:] if rnd.random() < 0.7]
        save_discovery(s, RULE, kept, ids[:1], complete=True, now=found + timedelta(days=rnd.randint(1, 200)))
    listed = tuple(parse_repo_name(n) for n in names[1::2])
    return Config(groups={LISTED: listed, EMPTY: (parse_repo_name("not/stored"),)})


def _apart(
    store: Store, config: Config, group: str, at: date, sort: str, today: date, top: int
) -> dict[str, Any]:
    """What the page showed when its ranking and its trend were built apart, as the API and the report
    build them."""
    with store.sessions() as s:
        ranking = data.ranking(s, config, at, sort, group, today, top=top)
        request = ReportRequest(
            since=trend_since(at),
            until=at,
            every="month",
            metrics=("stars",),
            group=group,
            through_today=at == today,
        )
        trend = make_report(s, request, config)
        members = load_group_members(s, group, current_only=False) if group == RULE else []
        names = {r.id: r.full_name for r in load_report_repos(s, [m.repo_id for m in members])}
    assert isinstance(trend, Trend) and trend.group is not None
    periods = [p.label for p in trend.periods]
    summary = trend.group
    latest = sorted(members, key=lambda m: max(m.joined_on, m.left_on or m.joined_on), reverse=True)
    return {
        "rows": ranking["rows"],
        "total_rows": ranking["ranked"],
        "periods": periods,
        "totals": list(summary.totals["stars"]),
        "joined": list(summary.joined),
        "joined_before": summary.joined_before,
        "movers_span": [periods[trend.compared[0]], periods[trend.compared[-1]]] if trend.compared else [],
        "movers": [vars(m) for m in summary.absolute],
        "relative": [vars(m) for m in summary.relative],
        "rule": "topic x" if group == RULE else None,
        "changes": [
            {
                "repo": names[m.repo_id],
                "joined": m.joined_on.isoformat(),
                "left": m.left_on and m.left_on.isoformat(),
            }
            for m in latest
        ],
    }


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10**6),
    members=st.integers(1, 9),
    min_stars=st.sampled_from([0, 5, 20]),
    today=st.sampled_from([date(2026, 11, 27), date(2026, 11, 30)]),
    back=st.sampled_from([0, 0, 1, 17, 27, 45, 58, 400, 900]),  # 27 and 58 from the 27th: month ends
    top=st.integers(1, 10),
    sort=st.sampled_from(["stars", "stars", "forks"]),
    packed=st.booleans(),
)
def test_the_group_page_shows_what_the_ranking_and_the_report_show(
    store: Store,
    seed: int,
    members: int,
    min_stars: int,
    today: date,
    back: int,
    top: int,
    sort: str,
    packed: bool,
) -> None:
    config = _fill(store, seed, members, min_stars, today)
    if packed:
        refresh_month_values(store.sessions, today)
    at = today - timedelta(days=back)
    for group in (RULE, LISTED, EMPTY) if members > 1 else (RULE, EMPTY):
        with store.sessions() as s:
            shown = page_data.group(s, config, group, at, sort, today, rows=top)
        expected = _apart(store, config, group, at, sort, today, top)
        assert {k: shown[k] for k in expected} == expected, (group, at, top)
        assert len(shown["rows"]) == min(top, shown["total_rows"])
        values = [row[m] for row in shown["rows"] for m in ("rank", *data.RANKED_BY)]
        assert all(v is None or type(v) is int for v in values), values
        if group == EMPTY:
            assert shown["rows"] == [] and shown["totals"] == [None] * len(shown["periods"])
