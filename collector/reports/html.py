"""The HTML report: one self-contained page with the tables and inline-SVG charts (charts.py; no network)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape

import pandas as pd

from collector.reports.charts import (
    PALETTE,
    release_markers,
    render_svg_line_chart,
    render_svg_scaled_chart,
)
from collector.reports.groups import TOTAL_ROW
from collector.reports.model import Ranking, Report, Trend
from collector.reports.tables import (
    ABOUT_HEADER,
    compute_about_rows,
    compute_group_tables,
    compute_metric_tables,
    compute_ranking_rows,
    describe,
    describe_metric,
    is_numeric_column,
    period_labels,
    ranking_header,
)

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
tr.total td { font-weight: bold; border-top: 2px solid #888; }
.chart { margin: 0.5em 0 1.5em; }
.chart .hover rect:hover { fill-opacity: 0.12; }
.scaled label { font-size: 0.85em; color: #444; margin-left: 0.25em; }
.scaled svg { display: block; }  /* its own line: not beside the checkbox, which would push it right */
.scaled .log-scale:checked ~ svg .scale-linear { display: none; }
.scaled .log-scale:checked ~ svg .scale-log { display: inline; }
.notes { font-size: 0.85em; color: #444; }
"""


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


__all__ = ["PALETTE", "render_html", "render_svg_bar_chart", "render_svg_line_chart"]

# More lines than this make a tangle (and megabytes of SVG): a chart shows the top ones, the table all.
CHART_LINES = 25
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
        opening = '<tr class="total">' if TOTAL_ROW in row[:2] else "<tr>"
        out.append(opening + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _group_section(trend: Trend) -> list[str]:
    """A group trend's total (its own chart: the members' charts would be flattened by it), the
    repositories joining it and its biggest movers."""
    group = trend.group
    if group is None:
        return []
    heading = f"Group {group.name}: total of its {group.members:,} repositories"
    labels = period_labels(trend)
    out = [f"<h2>{escape(heading)}</h2>", render_svg_scaled_chart(heading, labels, group.totals, "log-total")]
    for title, header, rows in compute_group_tables(trend):
        out += [f"<h2>{escape(title)}</h2>", _html_table(header, rows)]
    return out


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
        body.append(_html_table(ranking_header(report), rows))
    else:
        labels = period_labels(report)
        for table in compute_metric_tables(report):
            heading = describe_metric(table.metric, report.every)
            body.append(f"<h2>{escape(heading)}</h2>")
            lines = dict(list(table.values.items())[:CHART_LINES])  # by rank at the end
            title = heading if len(lines) == len(table.values) else f"{heading}: the top {CHART_LINES}"
            markers = release_markers(report, list(lines))
            body.append(render_svg_scaled_chart(title, labels, lines, f"log-{table.metric}", markers=markers))
            body.append(_html_table(table.header, table.rows))
        body += _group_section(report)
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
