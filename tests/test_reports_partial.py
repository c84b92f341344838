"""Partial periods: marked in every format, and left out of change and rank move unless asked for."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from collector.reports.groups import TOTAL_ROW
from collector.reports.model import Trend, compute_periods
from collector.reports.render import render_csv, render_json, render_markdown, render_table
from tests.conftest import Store
from tests.test_reports_formats import fill, report_for, samples, terminal_tables
from tests.test_reports_groups import fill_group, group_report


def test_periods_cut_short_or_not_over_are_partial() -> None:
    months = compute_periods("month", date(2016, 1, 1), date(2016, 3, 10))
    assert [(p.label, p.partial) for p in months] == [
        ("2016-01", False),
        ("2016-02", False),
        ("2016-03", True),
    ]
    whole = compute_periods("month", date(2016, 1, 1), date(2016, 3, 31))
    assert not any(p.partial for p in whole)
    # Through today: the period ending today is not over yet, nor is the week ending on Saturday.
    today = compute_periods("month", date(2016, 1, 1), date(2016, 3, 31), today=date(2016, 3, 31))
    assert [p.partial for p in today] == [False, False, True]
    weeks = compute_periods("week", date(2016, 3, 6), date(2016, 3, 19), today=date(2016, 3, 19))
    assert [(p.label, p.partial) for p in weeks] == [("2016-03-06", False), ("2016-03-13", True)]


def _commits_row(text: str) -> tuple[list[str], list[str]]:
    """The commits table's header and deep/alpha's row (the fourth metric table: stars, forks, ...)."""
    commits = [t for t in terminal_tables(text) if "change" in t[0]][3]
    return commits[0], next(r for r in commits[1:] if r[0] == "deep/alpha")


def test_partial_month_is_marked_and_change_compares_complete_months(store: Store) -> None:
    fill(store.engine, samples())
    report = report_for(store, {"since": "2016-01", "until": "2016-03-10"})
    assert isinstance(report, Trend)
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert {(r["period"], r["partial"]) for r in rows} == {
        ("2016-01", "false"),
        ("2016-02", "false"),
        ("2016-03", "true"),
    }
    commits = {r["period"]: int(r["commits"]) for r in rows if r["repo"] == "deep/alpha"}
    document = json.loads(render_json(report))
    assert [(p["label"], p["partial"], p["as_of"]) for p in document["periods"]][-1] == (
        "2016-03",
        True,
        "2016-03-10",
    )
    assert {r["period"] for r in document["rows"] if r["partial"] is True} == {"2016-03"}
    text = render_table(report)
    header, alpha = _commits_row(text)
    assert header[1:4] == ["2016-01", "2016-02", "2016-03*"]
    change = commits["2016-02"] - commits["2016-01"]
    assert alpha[header.index("change")] == f"{change:,}"
    assert "note: * partial month: 2016-03 (values as of 2016-03-10); change and rank move compare" in text
    assert "2016-03\\*" in render_markdown(report)

    included = report_for(store, {"since": "2016-01", "until": "2016-03-10", "include_partial": True})
    header, alpha = _commits_row(render_table(included))
    assert alpha[header.index("change")] == f"{commits['2016-03'] - commits['2016-01']:,}"
    assert json.loads(render_json(included))["include_partial"] is True


def test_group_movers_compare_complete_periods(store: Store) -> None:
    fill_group(store)
    # ml/aaa gains 60 stars on 2016-03-05: in the partial March only.
    options = {"since": "2016-01", "until": "2016-03-10", "metric": ["stars"]}
    report = group_report(store, **options)
    assert isinstance(report, Trend) and report.group is not None
    movers = {m.repo: (m.first, m.last, m.change) for m in report.group.absolute}
    assert movers["ml/aaa"] == (60, 60, 0)
    assert json.loads(render_json(report))["group"]["movers"]["to"] == "2016-02"
    included = group_report(store, **options, include_partial=True)
    assert included.group is not None
    assert {m.repo: m.change for m in included.group.absolute}["ml/aaa"] == 60
    assert json.loads(render_json(included))["group"]["movers"]["to"] == "2016-03"
    # The group total's change in the table compares the complete months too.
    total = next(r for r in terminal_tables(render_table(report))[0] if r[0] == TOTAL_ROW)
    assert total[1:5] == ["1,220", "1,825", "1,885", "605"]
