"""The HTML report: one self-contained page with the tables and inline-SVG charts (no network needed)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

import pandas as pd

from collector.reports.model import Ranking, Report
from collector.reports.tables import (
    ABOUT_HEADER,
    RANKING_HEADER,
    compute_about_rows,
    compute_metric_tables,
    compute_ranking_rows,
    describe,
    describe_metric,
    is_numeric_column,
)

# Tableau 10: distinguishable colours; beyond ten repositories the dash pattern tells lines apart.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_DASHES = ("", "6 3", "2 3", "8 3 2 3")

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; }
th { background: #f3f3f3; white-space: nowrap; }
.wide { overflow-x: auto; max-width: 100%; }
.wide td:first-child, .wide th:first-child { position: sticky; left: 0; background: #fff; }
.wide th:first-child { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.na { color: #a00; }
.chart { margin: 0.5em 0 1.5em; }
.notes { font-size: 0.85em; color: #444; }
"""


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / max(1, ticks)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return max(1.0, factor * power)  # counts are whole numbers: no 2.5-star ticks
    return 10 * power


def _short(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:g}"


# The plot area's margins and height; the right margin leaves room for the last date label.
_LEFT, _RIGHT, _TOP, _PLOT_H = 70, 45, 30, 280


@dataclass(frozen=True)
class _ChartLayout:
    """Where a line chart draws: the value scale of its plot area and the legend grid below it."""

    points: int  # labels along the x axis
    plot_w: int
    bottom_value: float
    top_value: float
    step: float  # between grid lines
    slot: int  # the width of a legend entry
    per_row: int  # legend entries in a row
    height: int

    @classmethod
    def fit(cls, points: int, series: Mapping[str, Sequence[int | None]], width: int) -> _ChartLayout:
        """The layout for these series over `points` labels, `width` pixels wide."""
        plot_w = width - _LEFT - _RIGHT
        # A legend slot fits the longest name (about 7 px a character at 12 px) beside its 30 px swatch.
        slot = min(plot_w, max(160, 46 + 7 * max((len(name) for name in series), default=0)))
        per_row = max(1, plot_w // slot)
        height = _TOP + _PLOT_H + 40 + 22 * math.ceil(len(series) / per_row) + 10
        known = [v for values in series.values() for v in values if v is not None]
        low = min(0, min(known)) if known else 0
        high = max(known) if known else 1
        step = _nice_step((high - low) or 1)
        top_value = max(step, math.ceil(high / step) * step)
        bottom_value = math.floor(low / step) * step
        return cls(points, plot_w, bottom_value, top_value, step, slot, per_row, height)

    @property
    def axis_y(self) -> int:
        return _TOP + _PLOT_H

    def x(self, i: int) -> float:
        return _LEFT + (self.plot_w * i / (self.points - 1) if self.points > 1 else self.plot_w / 2)

    def y(self, v: float) -> float:
        span = self.top_value - self.bottom_value
        return _TOP + _PLOT_H - _PLOT_H * (v - self.bottom_value) / span


def render_svg_line_chart(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[int | None]], width: int = 1000
) -> str:
    """An inline SVG line chart: one line per series over `labels`, with axes, grid and a legend."""
    layout = _ChartLayout.fit(len(labels), series, width)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{layout.height}" '
        f'viewBox="0 0 {width} {layout.height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{_LEFT}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    out += _value_grid(layout)
    out += _axes(layout, labels)
    xs = [f"{layout.x(i):.1f}," for i in range(len(labels))]
    for n, (name, values) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        dash = _DASHES[(n // len(PALETTE)) % len(_DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<g class="series"><title>{escape(name)}</title>')
        out += _line(_segments(values, xs, layout), colour, dash_attr)
        out.append("</g>")
        out.append(_legend_entry(layout, n, name, colour, dash_attr))
    out.append("</svg>")
    return "\n".join(out)


def _value_grid(layout: _ChartLayout) -> list[str]:
    """A grid line with its value every `step`, from the bottom of the scale to its top."""
    out = []
    left, right = _LEFT, _LEFT + layout.plot_w
    tick = layout.bottom_value
    while tick <= layout.top_value + layout.step / 2:
        y = layout.y(tick)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#e5e5e5"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{_short(tick)}</text>'
        )
        tick += layout.step
    return out


def _axes(layout: _ChartLayout, labels: Sequence[str]) -> list[str]:
    """Both axes, and up to a dozen labels (always the last) along the x axis."""
    left, right, axis_y = _LEFT, _LEFT + layout.plot_w, layout.axis_y
    out = [
        f'<line x1="{left}" y1="{axis_y}" x2="{right}" y2="{axis_y}" stroke="#333"/>',
        f'<line x1="{left}" y1="{_TOP}" x2="{left}" y2="{axis_y}" stroke="#333"/>',
    ]
    every = max(1, math.ceil(len(labels) / 12))
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            x = layout.x(i)
            out.append(
                f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 5}" stroke="#333"/>'
                f'<text x="{x:.1f}" y="{axis_y + 18}" font-size="11" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    return out


def _segments(values: Sequence[int | None], xs: Sequence[str], layout: _ChartLayout) -> list[list[str]]:
    """The "x,y" points of a series, in runs broken where a value is missing."""
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, value in enumerate(values):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
        else:
            segment.append(f"{xs[i]}{layout.y(value):.1f}")
    if segment:
        segments.append(segment)
    return segments


def _line(segments: Sequence[Sequence[str]], colour: str, dash_attr: str) -> list[str]:
    """A polyline per run of points; a dot for a lone point."""
    out = []
    for points in segments:
        if len(points) == 1:
            cx, cy = points[0].split(",")
            out.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
        else:
            out.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash_attr} '
                f'points="{" ".join(points)}"/>'
            )
    return out


def _legend_entry(layout: _ChartLayout, n: int, name: str, colour: str, dash_attr: str) -> str:
    """The swatch and name of the n-th series, in rows of `per_row` below the plot."""
    lx = _LEFT + (n % layout.per_row) * layout.slot
    ly = layout.axis_y + 40 + 22 * (n // layout.per_row)
    return (
        f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 24}" y2="{ly - 4}" stroke="{colour}" '
        f'stroke-width="3"{dash_attr}/>'
        f'<text x="{lx + 30}" y="{ly}" font-size="12">{escape(name)}</text>'
    )


def render_svg_bar_chart(title: str, bars: Mapping[str, int | None], width: int = 1000) -> str:
    """An inline SVG horizontal bar chart (the ranking's stars), names on the left."""
    left, right, top, row_h = 260, 80, 30, 22
    known = [v for v in bars.values() if v is not None]
    high = max(known) if known else 1
    height = top + row_h * len(bars) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="10" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for n, (name, value) in enumerate(bars.items()):
        y = top + n * row_h
        length = 0.0 if value is None or high <= 0 else (width - left - right) * value / high
        out.append(
            f'<text x="{left - 8}" y="{y + 15}" font-size="12" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{length:.1f}" height="{row_h - 6}" '
            f'fill="{PALETTE[n % len(PALETTE)]}"/>'
            f'<text x="{left + length + 6:.1f}" y="{y + 15}" font-size="12">'
            f"{'' if value is None else f'{value:,}'}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


_PLAIN = re.compile(r"[\w ,.%+=-]*")  # cells that need no escaping: numbers, "(n/a)" aside


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    numeric = [is_numeric_column(name) for name in header]
    opens = ['<td class="num">' if n else "<td>" for n in numeric]
    unavailable = ['<td class="num na">' if n else '<td class="na">' for n in numeric]
    plain = _PLAIN.fullmatch
    out = [
        '<div class="wide"><table>',
        "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr></thead>",
    ]
    out.append("<tbody>")
    for row in rows:
        cells = [
            (unavailable[i] if value.startswith("(n/a)") else opens[i])
            + (value if plain(value) else escape(value))
            + "</td>"
            for i, value in enumerate(row)
        ]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page; every GitHub-originated text is escaped."""
    title = describe(report)
    body = [f"<h1>{escape(title)}</h1>"]
    if isinstance(report, Ranking):
        rows = compute_ranking_rows(report)
        bars = {
            str(repo): None if pd.isna(stars) else int(stars)
            for repo, stars in zip(report.table["repo"], report.table["stars"], strict=True)
        }
        body.append(render_svg_bar_chart("Stars", bars))
        body.append(_html_table(RANKING_HEADER, rows))
    else:
        labels = [p.label for p in report.periods]
        for table in compute_metric_tables(report):
            heading = describe_metric(table.metric, report.every)
            body.append(f"<h2>{escape(heading)}</h2>")
            body.append(render_svg_line_chart(heading, labels, table.values))
            body.append(_html_table(table.header, table.rows))
        if report.repositories:
            body.append("<h2>Repositories</h2>")
            body.append(_html_table(ABOUT_HEADER, compute_about_rows(report)))
    notes = [f"[{i}] {t}" for i, t in enumerate(report.footnotes.texts, start=1)]
    notes += [f"note: {n}" for n in report.footnotes.notes]
    if notes:
        body.append('<div class="notes">' + "".join(f"<p>{escape(n)}</p>" for n in notes) + "</div>")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
