"""Charts and badges as SVG (issue 13): standalone documents that parse, a log axis, themes, hover values,
the HTML report's no-script log toggle, and escaping of every text."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import httpx
import pandas as pd
import pytest

from collector.reports import render_html
from collector.reports.axes import LogAxis
from collector.reports.badge import render_badge, short_number, text_width
from collector.reports.charts import HOVER_LIMIT, render_chart_svg, render_svg_line_chart
from collector.reports.model import Footnotes, ReportOptionError, Trend, compute_periods
from tests.conftest import Store, cli_env
from tests.test_reports_formats import fill, report_for, samples

NS = "{http://www.w3.org/2000/svg}"
EVIL = "evil/<script>alert(1)</script>"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{NS}text")]


def hover_titles(root: ET.Element) -> list[str]:
    group = next(g for g in root.iter(f"{NS}g") if g.get("class") == "hover")
    return [t.text or "" for t in group.iter(f"{NS}title")]


def polyline_ys(root: ET.Element) -> list[list[float]]:
    lines = root.iter(f"{NS}polyline")
    return [[float(p.split(",")[1]) for p in line.get("points", "").split()] for line in lines]


def trend(series: dict[str, list[int | None]], every: str = "month") -> Trend:
    """A one-metric (stars) trend over 2017-01.. with these values per repository."""
    periods = compute_periods(every, date(2017, 1, 1), date(2017, len(next(iter(series.values()))), 1))
    rows = [
        {"repo": repo, "period": p.label, "exists": True, "stars": pd.NA if v is None else v}
        for repo, values in series.items()
        for p, v in zip(periods, values, strict=True)
    ]
    return Trend(every, periods, ("stars",), pd.DataFrame(rows), Footnotes())


# --- badges --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "short"),
    [
        (0, "0"),
        (950, "950"),
        (999, "999"),
        (1000, "1k"),
        (41_634, "41.6k"),
        (123_456, "123k"),
        (999_950, "1M"),
        (1_200_000, "1.2M"),
        (1_234_567, "1.23M"),
        (7_000_000_000, "7G"),
    ],
)
def test_badge_shows_the_short_number_and_the_full_one_on_hover(value: int, short: str) -> None:
    assert short_number(value) == short
    svg = render_badge("stars", value)
    root = parse(svg)
    assert texts(root) == ["stars", "stars", short, short]  # each over its shadow
    assert root.findtext(f"{NS}title") == f"stars: {value:,}"
    label, shown = (r for r in root.iter(f"{NS}rect") if r.get("fill") in ("#555", "#007ec6"))
    assert int(label.get("width", "")) + int(shown.get("width", "")) == int(root.get("width", ""))
    assert int(shown.get("width", "")) > text_width(short)


def test_badge_for_an_unknown_value_says_na_in_grey_and_widths_follow_the_text() -> None:
    root = parse(render_badge("contributors", None))
    assert texts(root)[2:] == ["n/a", "n/a"]
    assert root.findtext(f"{NS}title") == "contributors: n/a"
    assert any(r.get("fill") == "#9f9f9f" for r in root.iter(f"{NS}rect"))
    narrow, wide = parse(render_badge("stars", 5)), parse(render_badge("stars", 41_634))
    assert int(narrow.get("width", "")) < int(wide.get("width", ""))
    assert int(parse(render_badge("contributors", 5)).get("width", "")) > int(narrow.get("width", ""))


def test_badge_escapes_its_texts() -> None:
    svg = render_badge("<script>alert(1)</script>", 3)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = parse(svg)
    assert texts(root)[0] == "<script>alert(1)</script>"
    assert root.findtext(f"{NS}title") == "<script>alert(1)</script>: 3"


# --- line charts ---------------------------------------------------------------------------------------


def test_log_scale_places_decades_at_evenly_spaced_heights() -> None:
    series: dict[str, list[int | None]] = {"r/x": [10, 100, 1000, 10_000]}
    root = parse(render_svg_line_chart("Stars", ["a", "b", "c", "d"], series, scale="log"))
    (ys,) = polyline_ys(root)
    step = (ys[-1] - ys[0]) / 3
    assert step < -90  # upwards, a third of the 280 px plot a decade
    assert ys == pytest.approx([ys[0] + k * step for k in range(4)], abs=0.11)
    # The grid lines of 10, 100, 1k and 10k are where the values are (labels sit 4 px below their line).
    grid = [t for t in root.iter(f"{NS}text") if t.get("text-anchor") == "end"]
    heights = {"".join(t.itertext()): float(t.get("y", "")) - 4 for t in grid}
    assert [heights[k] for k in ("10", "100", "1k", "10k")] == pytest.approx(ys, abs=0.11)
    assert "log scale" in texts(root)


def test_log_scale_ticks_and_gaps() -> None:
    assert LogAxis.fit([3, 450]).ticks() == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    assert LogAxis.fit([1, 185_000]).ticks() == [1, 10, 100, 1000, 10_000, 100_000, 1_000_000]
    assert LogAxis.fit([2, 10**12]).ticks() == [1, 100, 10**4, 10**6, 10**8, 10**10, 10**12]
    assert LogAxis.fit([0, -5]) == LogAxis(0, 1)  # nothing positive: one decade, no lines
    root = parse(
        render_svg_line_chart("t", list("abcdefg"), {"r/x": [5, 0, 7, 9, None, 20, 30]}, scale="log")
    )
    assert [len(ys) for ys in polyline_ys(root)] == [2, 2]  # 0 and None are gaps; 5 alone is a dot
    assert len(list(root.iter(f"{NS}circle"))) == 1
    linear = parse(render_svg_line_chart("t", list("abcdefg"), {"r/x": [5, 0, 7, 9, None, 20, 30]}))
    assert [len(ys) for ys in polyline_ys(linear)] == [4, 2]  # on a linear axis 0 is a value


def test_hover_titles_carry_the_exact_values_largest_first() -> None:
    series: dict[str, list[int | None]] = {
        "tensorflow/tensorflow": [185_123, 186_001],
        "small/one": [12_345, None],
    }
    root = parse(render_svg_line_chart("Stars", ["2017-01", "2017-02"], series))
    assert hover_titles(root) == [
        "2017-01\ntensorflow/tensorflow: 185,123\nsmall/one: 12,345",
        "2017-02\ntensorflow/tensorflow: 186,001",
    ]
    many = {f"o/r{k:02d}": [k] for k in range(HOVER_LIMIT + 5)}
    (title,) = hover_titles(parse(render_svg_line_chart("t", ["2017-01"], many)))
    lines = title.split("\n")
    assert lines[1] == f"o/r{HOVER_LIMIT + 4}: {HOVER_LIMIT + 4}" and lines[-1] == "and 5 more"
    assert len(lines) == 1 + HOVER_LIMIT + 1


def test_dark_theme_draws_a_dark_background_and_light_text() -> None:
    series: dict[str, list[int | None]] = {"a/b": [1, 2, 3]}
    dark = parse(render_svg_line_chart("t", ["x", "y", "z"], series, theme="dark"))
    background = next(iter(dark.iter(f"{NS}rect")))
    assert background.get("fill") == "#0d1117" and background.get("width") == dark.get("width")
    assert {t.get("fill") for t in dark.iter(f"{NS}text")} == {"#e6edf3"}
    light = render_svg_line_chart("t", ["x", "y", "z"], series)
    assert "#0d1117" not in light and not any(t.get("fill") for t in parse(light).iter(f"{NS}text"))
    with pytest.raises(ReportOptionError, match="theme"):
        render_svg_line_chart("t", ["x"], series, theme="sepia")
    with pytest.raises(ReportOptionError, match="scale"):
        render_svg_line_chart("t", ["x"], series, scale="sqrt")


def test_names_with_markup_are_escaped_everywhere() -> None:
    svg = render_svg_line_chart("<b>title</b>", ["<i>2017</i>"], {EVIL: [7]})
    assert "<script>" not in svg and "<b>" not in svg and "<i>" not in svg
    root = parse(svg)
    assert EVIL in texts(root) and "<b>title</b>" in texts(root)
    assert hover_titles(root) == [f"<i>2017</i>\n{EVIL}: 7"]
    assert "\x07" not in render_svg_line_chart("t", ["x"], {"a/b\x07": [1]})  # XML cannot carry it


# --- standalone chart from a trend ---------------------------------------------------------------------


@pytest.mark.parametrize("scale", ["linear", "log"])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_chart_svg_is_a_standalone_document(scale: str, theme: str) -> None:
    report = trend({"tensorflow/tensorflow": [100_000, 120_000, 150_000], EVIL: [5, None, 50]})
    svg = render_chart_svg(report, "stars", scale=scale, theme=theme)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and "<script>" not in svg
    root = parse(svg)
    assert texts(root)[0] == "Stars at the end of each month, 2017-01 to 2017-03"
    assert EVIL in texts(root) and root.get("font-family")
    background = next(iter(root.iter(f"{NS}rect")))
    assert background.get("fill") == ("#fff" if theme == "light" else "#0d1117")  # readable on any page
    assert hover_titles(root)[0] == f"2017-01\ntensorflow/tensorflow: 100,000\n{EVIL}: 5"
    assert ("log scale" in texts(root)) == (scale == "log")
    assert len(polyline_ys(root)) == 1 and len(list(root.iter(f"{NS}circle"))) == 2  # EVIL: two lone dots


def test_chart_svg_rejects_what_the_trend_lacks() -> None:
    report = trend({"a/b": [1, 2]})
    with pytest.raises(ReportOptionError, match="metric"):
        render_chart_svg(report, "forks")
    with pytest.raises(ReportOptionError, match="scale"):
        render_chart_svg(report, "stars", scale="LOG")


def test_chart_svg_from_the_store(store: Store) -> None:
    fill(store.engine, samples())
    report = report_for(store, {"since": "2016-01", "until": "2016-04", "metric": "stars"})
    assert isinstance(report, Trend)
    root = parse(render_chart_svg(report, "stars", "log", "dark"))
    assert "deep/alpha" in texts(root)
    alpha = samples()[0]
    values = [alpha.value("stars", p.as_of) for p in report.periods]
    assert None not in values
    shown = [re.search(r"^deep/alpha: (.*)$", t, flags=re.MULTILINE) for t in hover_titles(root)]
    assert [m and m.group(1) for m in shown] == [f"{v:,}" for v in values]


# --- the HTML report -----------------------------------------------------------------------------------


def test_html_report_has_one_chart_per_metric_with_a_no_script_log_toggle(store: Store) -> None:
    fill(store.engine, samples())
    page = render_html(report_for(store, {"since": "2016-01", "until": "2016-04"}))
    assert "<script" not in page and page.count("<svg") == 4
    assert page.count('type="checkbox"') == 4 and page.count(">log scale</label>") == 4
    assert ".log-scale:checked ~ svg .scale-log { display: inline; }" in page
    # The chart sits on its own line under the checkbox, not beside it (an inline SVG would be pushed
    # right by the checkbox and its label).
    assert ".scaled svg { display: block; }" in page
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.DOTALL):
        root = parse(svg)
        layers = {
            str(g.get("class")): g for g in root.iter(f"{NS}g") if g.get("class", "").startswith("scale-")
        }
        assert sorted(layers) == ["scale-linear", "scale-log"]
        assert layers["scale-linear"].get("display") is None and layers["scale-log"].get("display") == "none"
        assert hover_titles(root)


# --- the HTTP endpoints --------------------------------------------------------------------------------


def test_chart_and_badge_endpoints_answer_every_date_and_name_what_they_refuse(
    store: Store, tmp_path: Path
) -> None:
    fill(store.engine, samples())
    server = subprocess.Popen(
        [sys.executable, "-m", "collector.cli", "serve", "--listen", "127.0.0.1:0"],
        cwd=tmp_path,
        env=cli_env({"COLLECTOR_DATABASE_URL": store.url}),
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = _listening(server)
        early = httpx.get(base + "/chart.svg?repos=deep/alpha&since=1999-01&until=2016-03", timeout=30)
        assert early.status_code == 200, early.text
        assert "deep/alpha" in texts(parse(early.text))
        add = "`collector repos add fchollet/keras` asks GitHub"
        refused = {
            "/chart.svg?repos=deep/alpha&metrc=forks": (
                400,
                "chart: unknown query parameter metrc; it takes",
            ),
            "/chart.svg?repos=deep/alpha&since=1969-12": (400, "chart: since: 1969-12-01 is before 1970"),
            "/chart.svg?repos=a%20b/c": (400, "chart: invalid repository name"),
            "/chart.svg?repos=fchollet/keras": (404, f"chart: not in the store: fchollet/keras; {add}"),
            "/badge/deep/alpha/stars.svg?style=flat": (400, "badge: unknown query parameter style; it takes"),
            "/badge/fchollet/keras/stars.svg": (404, f"badge: fchollet/keras is not tracked here; {add}"),
        }
        for path, (status, reason) in refused.items():
            response = httpx.get(base + path, timeout=30)
            assert (response.status_code, response.text.count("\n")) == (status, 1), (path, response.text)
            assert response.text.startswith(reason), (path, response.text)
    finally:
        server.terminate()
        server.communicate(timeout=30)


def _listening(server: subprocess.Popen[str]) -> str:
    """The base URL `collector serve` logs once it listens."""
    assert server.stderr is not None
    lines = []
    for line in server.stderr:
        lines.append(line)
        found = re.search(r"event=http_listening address=(\S+)", line)
        if found:
            return f"http://{found.group(1)}"
    raise AssertionError("collector serve did not start: " + "".join(lines))
