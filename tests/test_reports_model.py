"""The pure parts of reports, with literal values."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from collector.errors import InvalidRepoName
from collector.reports.html import render_svg_line_chart
from collector.reports.model import (
    ReportOptionError,
    compute_periods,
    compute_ranks,
    format_for_path,
    parse_request,
)
from collector.reports.tables import compute_change, compute_rank_move
from collector.store.report_grid import SOURCES, compute_row_sources

TODAY = date(2026, 11, 27)


def test_periods_and_labels() -> None:
    months = compute_periods("month", date(2016, 12, 15), date(2017, 2, 10))
    assert [(p.label, p.start, p.as_of) for p in months] == [
        ("2016-12", date(2016, 12, 1), date(2016, 12, 31)),
        ("2017-01", date(2017, 1, 1), date(2017, 1, 31)),
        ("2017-02", date(2017, 2, 1), date(2017, 2, 10)),
    ]
    assert [p.label for p in compute_periods("quarter", date(2017, 2, 1), date(2017, 12, 31))] == [
        "2017-Q1",
        "2017-Q2",
        "2017-Q3",
        "2017-Q4",
    ]
    assert [p.label for p in compute_periods("year", date(2016, 5, 1), date(2017, 1, 1))] == ["2016", "2017"]
    weeks = compute_periods("week", date(2017, 1, 4), date(2017, 1, 9))
    assert [(p.label, p.as_of) for p in weeks] == [
        ("2017-01-01", date(2017, 1, 7)),
        ("2017-01-08", date(2017, 1, 9)),
    ]


def test_ranks_change_and_movement() -> None:
    assert compute_ranks({"a": 5, "b": 9, "c": 5, "d": None, "e": 1}) == {"b": 1, "a": 2, "c": 2, "e": 4}
    assert compute_change([None, 10, 12, None, 15]) == (5, 50.0)
    assert compute_change([0, 4]) == (4, None)
    assert compute_change([None, 3]) == (None, None)
    assert [compute_rank_move(*p) for p in [(3, 1), (1, 2), (2, 2), (None, 1), (1, None)]] == [
        "+2",
        "-1",
        "=",
        "new",
        "",
    ]


def codes(words: list[str | None]) -> np.ndarray:  # type: ignore[type-arg]
    """Source words as the grid's codes (None for no value)."""
    return np.array([SOURCES.index(w) for w in words], dtype=np.int8)


def row_source(*sources: str | None) -> object:
    """The rule for a single row whose values came from `sources`."""
    (word,) = compute_row_sources([codes([s]) for s in sources]).tolist()
    return word


def test_row_source_observed_beats_reconstructed_beats_carried() -> None:
    assert row_source("observed", "observed", None) == "observed"
    assert row_source("observed", "reconstructed", "carried") == "reconstructed"
    assert row_source("carried", None, None) == "carried"
    assert row_source(None, None) is None


def test_row_sources_of_a_grid_are_decided_cell_by_cell() -> None:
    sources = [
        codes(["observed", "observed", None, "carried", "observed", None, "reconstructed"]),
        codes(["observed", "carried", None, "carried", None, None, "carried"]),
        codes(["observed", None, None, None, "reconstructed", None, "observed"]),
    ]
    assert compute_row_sources(sources).tolist() == [
        "observed",
        "carried",
        None,
        "carried",
        "reconstructed",
        None,
        "reconstructed",
    ]
    assert compute_row_sources([c[:0] for c in sources]).tolist() == []
    grid = compute_row_sources([c.reshape(1, 7) for c in sources])  # any shape: repositories x periods
    assert grid.shape == (1, 7) and grid[0, 4] == "reconstructed"


def test_request_defaults_and_refusals() -> None:
    request = parse_request({}, TODAY)
    assert request.at == TODAY and request.since is None
    trend = parse_request({"since": "2017-01", "until": "2017-03", "metric": "stars"}, TODAY)
    assert (trend.since, trend.until, trend.metrics) == (date(2017, 1, 1), date(2017, 3, 31), ("stars",))
    assert parse_request({"since": "2026-01"}, TODAY).until == TODAY
    for options, message in [
        ({"at": "2017-01-03", "since": "2017-01"}, "exclude each other"),
        ({"until": "2017-01"}, "until needs since"),
        ({"at": "2017-13-01"}, "not a valid day"),
        ({"since": "17-01"}, "YYYY-MM"),
        ({"every": "day", "since": "2017-01"}, "every"),
        ({"metric": ["stars", "likes"], "since": "2017-01"}, "likes"),
        ({"color": "red"}, "unknown report option"),
        ({"at": "2027-01-01"}, "future"),
    ]:
        with pytest.raises(ReportOptionError, match=message):
            parse_request(options, TODAY)
    with pytest.raises(InvalidRepoName):
        parse_request({"repos": ["not a name"]}, TODAY)


def test_format_follows_extension() -> None:
    assert [format_for_path(p, None) for p in ["a.md", "b.CSV", "c.json", "d.html", "e.txt"]] == [
        "markdown",
        "csv",
        "json",
        "html",
        "table",
    ]
    assert format_for_path("x.html", "csv") == "csv"
    with pytest.raises(ReportOptionError, match="--format"):
        format_for_path("report.xlsx", None)


def test_line_chart_breaks_at_gaps_and_escapes_names() -> None:
    svg = render_svg_line_chart(
        "Stars", ["2017-01", "2017-02", "2017-03"], {"<b>/x": [None, 10, 20], "a/b": [5, None, 7]}
    )
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 2  # one segment, two lone points
    assert "&lt;b&gt;/x" in svg and "<b>" not in svg
    assert ">2017-01<" in svg and ">20<" in svg
