"""Group reports: totals, movers and joins (pure, with literal values), and over a rule group in the store
(SQLite and PostgreSQL); --top and the terminal's default cap, which must show exactly the full report's
top rows."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from html import unescape

import numpy as np
import pandas as pd
import pytest

from collector.config import Config
from collector.domain import GroupRule, HistoryPoint, Repository, Snapshot
from collector.reports import (
    Ranking,
    Trend,
    parse_request,
    render_csv,
    render_html,
    render_json,
    render_table,
)
from collector.reports.build import make_report
from collector.reports.groups import (
    TOTAL_ROW,
    compute_incomplete,
    compute_join_periods,
    compute_joins,
    compute_movers,
    compute_period_of,
    compute_totals,
)
from collector.reports.model import (
    TERMINAL_ROWS,
    ReportOptionError,
    ReportRequest,
    cap_for_format,
    compute_top,
    describe_cut,
)
from collector.store.engine import transaction
from collector.store.groups import save_discovery, save_group_rule
from collector.store.history import save_history_daily, save_history_weekly, save_snapshot
from collector.store.repos import save_repository
from tests.conftest import Store
from tests.test_reports_formats import XSS, html_tables, terminal_tables

TODAY = date(2026, 11, 27)
NAN = math.nan

# --- pure ----------------------------------------------------------------------------------------------


def test_totals_add_the_known_values_of_each_period() -> None:
    assert compute_totals([[1, NAN, 3], [10, 20, NAN], [NAN, NAN, NAN]]) == (11, 20, 3)
    assert compute_totals([[NAN, 5]]) == (None, 5)
    assert compute_totals(np.zeros((0, 2))) == (None, None)
    # Members that existed but lack a value somewhere; before they existed does not count.
    values = [[NAN, 2], [1, NAN], [3, 4]]
    assert compute_incomplete(values, [[False, True], [True, True], [True, True]]) == 1


def test_movers_by_change_and_by_percent_from_a_base_of_at_least_100() -> None:
    names = ["a/old", "b/new", "c/big", "d/gap", "e/flat", "f/small"]
    first = [150, None, 1000, None, 200, 2]
    last = [300, 500, 1100, 80, 200, 60]
    existed = [True, False, True, True, True, True]  # b/new was created since; d/gap has no start value
    absolute, relative = compute_movers(names, first, last, existed)
    assert [(m.repo, m.first, m.last, m.change) for m in absolute] == [
        ("b/new", 0, 500, 500),
        ("a/old", 150, 300, 150),
        ("c/big", 1000, 1100, 100),
        ("f/small", 2, 60, 58),
        ("e/flat", 200, 200, 0),
    ]
    assert [(m.repo, m.percent) for m in relative] == [("a/old", 100.0), ("c/big", 10.0), ("e/flat", 0.0)]
    assert absolute[3].percent is None  # from 2: no percentage at all
    # Ties: the larger change, then the name; and only `limit` of each.
    tied, _ = compute_movers(["z/z", "a/a", "m/m"], [1, 1, 1], [5, 5, 9], [True] * 3, limit=2)
    assert [m.repo for m in tied] == ["m/m", "a/a"]


def test_join_periods_and_counts() -> None:
    starts = [date(2016, 1, 1), date(2016, 2, 1), date(2016, 3, 1)]
    last = date(2016, 3, 31)
    assert [compute_period_of(d, starts, last) for d in (None, date(2015, 12, 31), date(2016, 2, 29))] == [
        None,
        -1,
        1,
    ]
    assert compute_period_of(date(2016, 4, 1), starts, last) == 3  # after the range
    met = [
        [False, True, True],  # met the rule at the end of the second period
        [True, True, True],  # before the first (see `before`)
        [False, False, False],  # never: discovery found it in the third
        [False, False, False],  # never, and found after the range
        [False, False, False],  # nothing known
    ]
    periods = compute_join_periods(met, [False, True, False, False, False], [None, None, 2, 3, None])
    assert periods == [1, -1, 2, 3, None]
    assert compute_joins(periods, 3) == (1, (0, 1, 1), 1)


def test_top_and_the_cut_note() -> None:
    names = ["b/b", "a/a", "c/c", "d/d"]
    assert compute_top(names, [5, 5, None, 9], 3) == [3, 1, 0]  # ties by name, unknown last
    request = ReportRequest(at=TODAY)
    assert describe_cut(request, 25, 25, "stars") is None
    assert describe_cut(ReportRequest(at=TODAY, top=3), 3, 40, "stars") == (
        "showing the top 3 of 40 repositories by stars"
    )
    capped = cap_for_format(request, "table")
    assert capped.limit == TERMINAL_ROWS and cap_for_format(request, "csv").limit is None
    note = describe_cut(capped, 25, 1234, "stars in 2026-11")
    assert note == (
        "showing the top 25 of 1,234 repositories by stars in 2026-11; 1,209 left out: see them all with"
        " --top 1234 or --format csv"
    )


def test_top_and_totals_options() -> None:
    assert parse_request({"top": "50"}, TODAY).top == 50
    assert parse_request({"top": 7}, TODAY).top == 7
    assert cap_for_format(parse_request({"top": 7}, TODAY), "table").limit == 7  # --top beats the cap
    for bad in (0, -3, "0", "x", "2.5", True, 1.0):
        with pytest.raises(ReportOptionError, match="top: .* not a positive whole number"):
            parse_request({"top": bad}, TODAY)
    assert parse_request({"group": "ml"}, TODAY).totals is True
    assert parse_request({"group": "ml", "totals": False}, TODAY).totals is False
    with pytest.raises(ReportOptionError, match="only a --group report"):
        parse_request({"totals": True}, TODAY)
    with pytest.raises(ReportOptionError, match="not true or false"):
        parse_request({"group": "ml", "totals": "yes"}, TODAY)


# --- a rule group in the store -------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    name: str
    created: date
    stars: dict[date, int]  # additions
    fixed: bool = False
    description: str | None = None


def d(text: str) -> date:
    return date.fromisoformat(text)


MEMBERS = [
    # Reaches 100 stars (min_stars) in March.
    Member("ml/aaa", d("2016-01-05"), {d("2016-01-10"): 60, d("2016-03-05"): 60}, description=XSS),
    # Had them before the report's range: it joined before 2016-01.
    Member("ml/bbb", d("2015-06-01"), {d("2015-07-01"): 150, d("2016-03-20"): 150}),
    # Created in February with them at once.
    Member("ml/ccc", d("2016-02-10"), {d("2016-02-11"): 500}),
    # Never reaches 100 by its history: the month discovery found it (2016-04-15).
    Member("ml/ddd", d("2016-01-01"), {d("2016-01-02"): 10}),
    # Listed in the group's repos: a member from its creation whatever its stars.
    Member("ml/eee", d("2016-02-20"), {d("2016-02-21"): 5}, fixed=True),
    Member("ml/fff", d("2015-01-01"), {d("2015-02-01"): 1000, d("2016-02-02"): 100}),
]
DISCOVERED = datetime(2016, 4, 15, 12, tzinfo=UTC)
GROUP = "ml&<i>"  # group names are the user's: they must be escaped too


def fill_group(store: Store) -> dict[str, int]:
    ids = {}
    with transaction(store.sessions) as s:
        for k, member in enumerate(MEMBERS):
            created = datetime.combine(member.created, datetime.min.time(), UTC) + timedelta(hours=3)
            repo = Repository(900 + k, member.name, created_at=created, description=member.description)
            row = save_repository(s, repo, tracked=True)
            save_history_daily(
                s, row.id, [HistoryPoint("stars", day, n, "t") for day, n in member.stars.items()]
            )
            ids[member.name] = row.id
        save_group_rule(s, GROUP, GroupRule("topic", "ml", min_stars=100), "cli", DISCOVERED)
        found = [ids[m.name] for m in MEMBERS if not m.fixed]
        fixed = [ids[m.name] for m in MEMBERS if m.fixed]
        save_discovery(s, GROUP, found, fixed, complete=True, now=DISCOVERED)
    return ids


def group_report(store: Store, **options: object) -> Ranking | Trend:
    with store.sessions() as s:
        return make_report(s, parse_request({"group": GROUP, **options}, TODAY), Config())


TREND = {"since": "2016-01", "until": "2016-04"}


def test_group_trend_total_movers_and_joins(store: Store) -> None:
    fill_group(store)
    report = group_report(store, **TREND, metric=["stars"])
    assert isinstance(report, Trend) and report.group is not None
    group = report.group
    assert group.members == 6 and group.name == GROUP
    # The total is the sum of the members' values in each period (blank before one existed).
    table = report.table
    for k, period in enumerate(p.label for p in report.periods):
        values = table.loc[table["period"] == period, "stars"]
        assert group.totals["stars"][k] == int(values.dropna().sum())
    assert group.totals["stars"] == (1220, 1825, 2035, 2035)
    # Joins per month: bbb and fff before; ccc (its stars) and eee (listed: its creation) in February;
    # aaa in March (100 stars); ddd never reached 100: the month discovery found it.
    assert (group.joined_before, group.joined, group.unknown_joins) == (2, (0, 2, 1, 1), 0)
    assert group.member_counts == (2, 4, 5, 6)
    assert [(m.repo, m.change) for m in group.absolute] == [
        ("ml/ccc", 500),
        ("ml/bbb", 150),
        ("ml/fff", 100),
        ("ml/aaa", 60),
        ("ml/eee", 5),
        ("ml/ddd", 0),
    ]
    assert [(m.repo, m.percent) for m in group.relative] == [("ml/bbb", 100.0), ("ml/fff", 10.0)]
    assert any("joined before 2016-01" in n for n in report.footnotes.notes)
    assert any("relative growth only from at least 100 stars in 2016-01" in n for n in report.footnotes.notes)


def test_group_report_in_csv_json_table_and_html(store: Store) -> None:
    fill_group(store)
    report = group_report(store, **TREND, metric=["stars", "commits"])
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    totals = [r for r in rows if r["row_type"] == "group_total"]
    assert [(r["repo"], r["period"], r["stars"], r["joined"], r["members"]) for r in totals] == [
        (TOTAL_ROW, "2016-01", "1220", "0", "2"),
        (TOTAL_ROW, "2016-02", "1825", "2", "4"),
        (TOTAL_ROW, "2016-03", "2035", "1", "5"),
        (TOTAL_ROW, "2016-04", "2035", "1", "6"),
    ]
    assert {r["row_type"] for r in rows} == {"repository", "group_total"} and len(rows) == 6 * 4 + 4
    assert all(r["commits"] == "" for r in totals)  # no member has commits: unknown, not 0
    document = json.loads(render_json(report))
    marked = [r for r in document["rows"] if r["row_type"] == "group_total"]
    assert [r["stars"] for r in marked] == [1220, 1825, 2035, 2035] and marked[0]["repo"] == TOTAL_ROW
    assert document["group"]["name"] == GROUP and document["group"]["members"] == 6
    assert document["group"]["joined_before"] == 2
    assert [m["repo"] for m in document["group"]["movers"]["relative"]] == ["ml/bbb", "ml/fff"]
    # The terminal: the total line under the members, the joins and movers tables.
    tables = terminal_tables(render_table(report, width=200))
    stars = tables[0]
    assert stars[-1][:5] == [TOTAL_ROW, "1,220", "1,825", "2,035", "2,035"]
    assert [r[0] for r in stars[1:-1]] == ["ml/fff", "ml/ccc", "ml/bbb", "ml/aaa", "ml/ddd", "ml/eee"]
    joins = next(t for t in tables if t[0][0] == "repositories")
    assert joins[1:] == [["joined", "0", "2", "1", "1"], ["members", "2", "4", "5", "6"]]
    # HTML: the total row and its own chart; the group's name and GitHub text escaped.
    page = render_html(report)
    assert "<i>" not in page and "ml&amp;&lt;i&gt;" in page and "<script>" not in page
    assert 'aria-label="Group ml&amp;&lt;i&gt;: total of its 6 repositories"' in page
    html_stars = html_tables(page)[0]
    assert [unescape(c) for c in html_stars[-1][:2]] == [TOTAL_ROW, "1,220"]
    assert '<tr class="total"><td>(group total)</td>' in page


def test_group_ranking_total_and_no_totals(store: Store) -> None:
    fill_group(store)
    ranking = group_report(store, at="2016-03-31")
    assert isinstance(ranking, Ranking) and ranking.group is not None
    assert ranking.group.totals["stars"] == (sum(ranking.table["stars"].dropna()),)
    rows = list(csv.DictReader(io.StringIO(render_csv(ranking))))
    assert rows[-1]["repo"] == TOTAL_ROW and rows[-1]["row_type"] == "group_total" and rows[-1]["rank"] == ""
    assert rows[-1]["stars"] == "2035"
    plain = group_report(store, at="2016-03-31", totals=False)
    assert plain.group is None and "row_type" not in render_csv(plain).splitlines()[0]


def test_group_top_keeps_the_total_of_all_members(store: Store) -> None:
    fill_group(store)
    report = group_report(store, **TREND, metric=["stars"], top=2)
    assert isinstance(report, Trend) and report.group is not None
    assert sorted(set(report.table["repo"])) == ["ml/ccc", "ml/fff"]  # 500 and 1,100 stars in April
    assert report.group.totals["stars"][-1] == 2035 and report.group.members == 6
    assert "showing the top 2 of 6 repositories by stars in 2016-04" in report.footnotes.notes


# --- --top shows exactly the full report's top rows ----------------------------------------------------


def fill_mixed(store: Store) -> None:
    """Repositories whose latest value comes by every rule: reconstructed, observed only, additions only
    after the ranked day, and no data at all up to it."""
    start = datetime(2016, 1, 4, tzinfo=UTC)
    with transaction(store.sessions) as s:
        for k in range(12):
            row = save_repository(s, Repository(700 + k, f"mix/r{k:02d}", created_at=start), tracked=True)
            if k % 3 == 0:  # reconstructed stars, and commits
                points = [
                    HistoryPoint("stars", d("2016-01-05") + timedelta(days=7 * j), k + j, "t")
                    for j in range(20)
                ]
                save_history_daily(s, row.id, points)
                weeks = [
                    HistoryPoint("commits", d("2016-01-03") + timedelta(weeks=j), j, "t") for j in range(20)
                ]
                save_history_weekly(s, row.id, weeks)
            elif k % 3 == 1:  # observed only
                for j in range(0, 120, 9):
                    at = start + timedelta(days=j, hours=6)
                    save_snapshot(s, row.id, Snapshot(at, 40 * k + j, k, 1, 1, contributors=k))
            elif k == 2:  # additions only after the days ranked below
                save_history_daily(s, row.id, [HistoryPoint("stars", d("2016-12-01"), 999, "t")])
            # the others: no data at all


def test_top_rows_are_the_full_reports_top_rows(store: Store) -> None:
    fill_mixed(store)
    with store.sessions() as s:
        for options, key in (
            ({"since": "2016-01", "until": "2016-05"}, "stars"),
            ({"since": "2016-01", "until": "2016-05", "metric": ["commits", "stars"]}, "commits"),
            ({"since": "2016-01-03", "until": "2016-03-12", "every": "week"}, "stars"),
        ):
            full = make_report(s, parse_request(options, TODAY), Config())
            top = make_report(s, parse_request({**options, "top": 4}, TODAY), Config())
            assert isinstance(full, Trend) and isinstance(top, Trend)
            last = full.table[full.table["period"] == full.periods[-1].label]
            ordered = last.assign(v=last[key].astype("Float64").fillna(-1)).sort_values(
                ["v", "repo"], ascending=[False, True]
            )
            expected = list(ordered["repo"][:4])
            assert sorted(set(top.table["repo"])) == sorted(expected), options
            pd.testing.assert_frame_equal(
                top.table.reset_index(drop=True),
                full.table[full.table["repo"].isin(expected)].reset_index(drop=True),
            )
        for day in ("2016-02-01", "2016-04-30"):
            full = make_report(s, parse_request({"at": day}, TODAY), Config())
            top = make_report(s, parse_request({"at": day, "top": 5}, TODAY), Config())
            pd.testing.assert_frame_equal(top.table, full.table.head(5))
            assert "showing the top 5 of 12 repositories by stars" in top.footnotes.notes


def test_a_report_through_today_reads_the_same_values(store: Store) -> None:
    """Ending today, a report reads the current month from the rollups whole (nothing can follow today)."""
    fill_mixed(store)
    fill_group(store)
    today = d("2016-12-15")  # after every row stored
    with store.sessions() as s:
        for options in (
            {"since": "2016-01"},
            {"since": "2016-01", "every": "quarter"},
            {"since": "2016-10-02", "every": "week"},
            {"since": "2016-01", "top": 3},
            {"since": "2016-01", "group": GROUP},
            {},  # the ranking today
            {"top": 4},
        ):
            request = parse_request(options, today)
            assert request.through_today
            fast = make_report(s, request, Config())
            slow = make_report(s, replace(request, through_today=False), Config())
            pd.testing.assert_frame_equal(fast.table, slow.table)
            assert fast.group == slow.group


def test_values_are_blank_until_a_repository_has_any_data(store: Store) -> None:
    """Stars first added in March: blank before, unless other data (commits) began earlier, then 0."""
    created = datetime(2015, 6, 1, tzinfo=UTC)
    with transaction(store.sessions) as s:
        late = save_repository(s, Repository(801, "late/stars", created_at=created), tracked=True)
        busy = save_repository(s, Repository(802, "busy/stars", created_at=created), tracked=True)
        for row in (late, busy):
            save_history_daily(s, row.id, [HistoryPoint("stars", d("2016-03-10"), 7, "t")])
        save_history_weekly(s, busy.id, [HistoryPoint("commits", d("2016-01-03"), 4, "t")])
    months = ["2016-01", "2016-02", "2016-03", "2016-04"]
    with store.sessions() as s:
        for today, top in ((TODAY, None), (d("2016-04-30"), None), (TODAY, 1)):
            options = {"since": "2016-01", "until": "2016-04", "metric": ["stars"], "top": top}
            report = make_report(s, parse_request(options, today), Config())
            stars = {(r.repo, r.period): r.stars for r in report.table.itertuples(index=False)}
            if top is None:
                assert [stars[("late/stars", m)] for m in months] == [pd.NA, pd.NA, 7, 7], today
            assert [stars[("busy/stars", m)] for m in months] == [0, 0, 7, 7], today
        ranking = make_report(s, parse_request({"at": "2016-02-01"}, TODAY), Config())
        ranked = {r.repo: r.stars for r in ranking.table.itertuples(index=False)}
        assert ranked == {"busy/stars": 0, "late/stars": pd.NA}
