"""Line charts as SVG: the HTML report's (linear with a log toggle) and standalone ones for READMEs.

A chart has a linear or a log10 value axis and a light or dark theme; hovering a period shows every value
in it (an SVG <title> per period: no script). Every text is escaped, control characters XML cannot carry
dropped, so the standalone documents parse as XML.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from html import escape

from collector.reports.axes import PLOT_HEIGHT, PLOT_TOP, LogAxis, ValueAxis, fit_axis, tick_label
from collector.reports.model import ReportOptionError, Trend
from collector.reports.tables import compute_metric_tables, describe_metric, period_labels

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
SCALES = ("linear", "log")
THEMES = ("light", "dark")
HOVER_LIMIT = 20  # the largest values a period's hover text lists; the rest are counted
SVG_NS = "http://www.w3.org/2000/svg"

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"
# Standalone charts carry their own hover highlight (the HTML report has it in its page's CSS).
_HOVER_CSS = "<style>.hover rect:hover { fill-opacity: 0.12; }</style>"


def xml_text(text: str) -> str:
    """`text` escaped for HTML and XML alike, without the control characters XML 1.0 cannot carry."""
    return escape(_NOT_XML.sub("", text))


@dataclass(frozen=True)
class _Theme:
    background: str | None  # None: transparent, the page's own
    text: str  # the fill attribute of every text, or "" for the default (black)
    grid: str
    axis: str


_THEMES = {
    "light": _Theme(None, "", "#e5e5e5", "#333"),
    "dark": _Theme("#0d1117", ' fill="#e6edf3"', "#30363d", "#8b949e"),
}

# The plot area's side margins; the right one leaves room for the last date label.
_LEFT, _RIGHT = 70, 45


@dataclass(frozen=True)
class _Frame:
    """Where a line chart draws: its x positions and the legend grid below the plot."""

    points: int  # labels along the x axis
    plot_w: int
    slot: int  # the width of a legend entry
    per_row: int  # legend entries in a row
    height: int

    @classmethod
    def fit(cls, points: int, names: Sequence[str], width: int) -> _Frame:
        """The frame for these series over `points` labels, `width` pixels wide."""
        plot_w = width - _LEFT - _RIGHT
        # A legend slot fits the longest name (about 7 px a character at 12 px) beside its 30 px swatch.
        slot = min(plot_w, max(160, 46 + 7 * max((len(name) for name in names), default=0)))
        per_row = max(1, plot_w // slot)
        height = PLOT_TOP + PLOT_HEIGHT + 40 + 22 * math.ceil(len(names) / per_row) + 10
        return cls(points, plot_w, slot, per_row, height)

    @property
    def axis_y(self) -> int:
        return PLOT_TOP + PLOT_HEIGHT

    def x(self, i: float) -> float:
        return _LEFT + (self.plot_w * i / (self.points - 1) if self.points > 1 else self.plot_w / 2)


def render_svg_line_chart(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[int | None]],
    width: int = 1000,
    *,
    scale: str = "linear",
    theme: str = "light",
) -> str:
    """An inline SVG line chart: one line per series over `labels`, with axes, grid, legend and hover.

    `scale` is "linear" or "log" (a log10 axis: values <= 0 are gaps like missing ones); `theme` "light"
    (transparent: the page's background shows) or "dark" (its own dark background).
    """
    _check_choices(scale, theme)
    return _chart(title, labels, series, width, (scale,), _THEMES[theme])


def render_svg_scaled_chart(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[int | None]],
    toggle: str,
    width: int = 1000,
    markers: Sequence[tuple[int, str]] = (),
) -> str:
    """The HTML report's chart: a linear axis, and a "log scale" checkbox that swaps in a log one;
    `markers` are (period position, text) drawn as thin vertical lines (release_markers).

    No script: both scales are drawn in one SVG, the log one hidden, and the page's CSS shows whichever the
    checkbox (id `toggle`) picks. Without that CSS the linear chart shows.
    """
    box = escape(toggle)
    return (
        f'<div class="scaled"><input type="checkbox" class="log-scale" id="{box}">'
        f'<label for="{box}">log scale</label>\n'
        + _chart(title, labels, series, width, SCALES, _THEMES["light"], markers=markers)
        + "</div>"
    )


def render_chart_svg(trend: Trend, metric: str, scale: str = "linear", theme: str = "light") -> str:
    """One metric of a trend as a standalone SVG document (for READMEs): the report's line chart.

    Raises ReportOptionError for a metric the trend lacks, or an unknown scale or theme.
    """
    if metric not in trend.metrics:
        raise ReportOptionError(
            f"metric: {metric!r} is not in this trend; expected one of {list(trend.metrics)}"
        )
    _check_choices(scale, theme)
    (table,) = compute_metric_tables(replace(trend, metrics=(metric,)))
    title = describe_metric(metric, trend.every)
    if trend.periods:
        title += f", {trend.periods[0].label} to {trend.periods[-1].label}"
    chosen = _THEMES[theme]
    chosen = replace(chosen, background=chosen.background or "#fff")  # readable on dark pages too
    labels = period_labels(trend)
    markers = release_markers(trend, list(table.values))
    return _chart(title, labels, table.values, 1000, (scale,), chosen, standalone=True, markers=markers)


def release_markers(trend: Trend, repos: Sequence[str]) -> list[tuple[int, str]]:
    """The releases of `repos` published within the trend's periods: (period position, "repo tag
    (day)"), one marker per release."""
    shown = set(repos)
    out = []
    for repo, day, tag in trend.releases:
        at = next((k for k, p in enumerate(trend.periods) if p.start <= day <= p.as_of), None)
        if repo in shown and at is not None:
            out.append((at, f"{repo} {tag} ({day.isoformat()})"))
    return out


def _check_choices(scale: str, theme: str) -> None:
    if scale not in SCALES:
        raise ReportOptionError(f"scale: {scale!r} is not valid; expected one of {list(SCALES)}")
    if theme not in THEMES:
        raise ReportOptionError(f"theme: {theme!r} is not valid; expected one of {list(THEMES)}")


def _chart(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[int | None]],
    width: int,
    scales: Sequence[str],
    theme: _Theme,
    standalone: bool = False,
    markers: Sequence[tuple[int, str]] = (),
) -> str:
    """The SVG: a layer per scale (the first shown, the others hidden), hover columns, release markers,
    the legend."""
    frame = _Frame.fit(len(labels), list(series), width)
    known = [v for values in series.values() for v in values if v is not None]
    head = f' font-family="{_FONT}"' if standalone else ""
    out = [
        f'<svg xmlns="{SVG_NS}" class="chart" width="{width}" height="{frame.height}" '
        f'viewBox="0 0 {width} {frame.height}" role="img" aria-label="{xml_text(title)}"{head}>',
    ]
    if standalone:
        out.append(_HOVER_CSS)
    if theme.background:
        out.append(f'<rect width="{width}" height="{frame.height}" fill="{theme.background}"/>')
    out.append(
        f'<text x="{_LEFT}" y="18" font-size="14" font-weight="bold"{theme.text}>{xml_text(title)}</text>'
    )
    styles = []
    for n in range(len(series)):
        dash = _DASHES[(n // len(PALETTE)) % len(_DASHES)]
        styles.append((PALETTE[n % len(PALETTE)], f' stroke-dasharray="{dash}"' if dash else ""))
    for k, scale in enumerate(scales):
        layer = _layer(frame, fit_axis(scale, known), labels, series, styles, theme)
        if len(scales) > 1:
            hidden = ' display="none"' if k else ""
            layer = [f'<g class="scale-{scale}"{hidden}>', *layer, "</g>"]
        out += layer
    out += _hover_columns(frame, labels, series)
    out += _markers(frame, markers, theme)
    for n, name in enumerate(series):
        out.append(_legend_entry(frame, n, name, *styles[n], theme))
    out.append("</svg>")
    return "\n".join(out)


def _layer(
    frame: _Frame,
    scale: ValueAxis,
    labels: Sequence[str],
    series: Mapping[str, Sequence[int | None]],
    styles: Sequence[tuple[str, str]],
    theme: _Theme,
) -> list[str]:
    """The grid, axes and lines of one value scale."""
    out = _value_grid(frame, scale, theme)
    out += _axes(frame, labels, theme)
    if isinstance(scale, LogAxis):
        out.append(
            f'<text x="{_LEFT + frame.plot_w}" y="18" font-size="11" text-anchor="end"{theme.text}>'
            "log scale</text>"
        )
    xs = [f"{frame.x(i):.1f}," for i in range(len(labels))]
    for (name, values), (colour, dash_attr) in zip(series.items(), styles, strict=True):
        out.append(f'<g class="series"><title>{xml_text(name)}</title>')
        out += _line(_segments(values, xs, scale), colour, dash_attr)
        out.append("</g>")
    return out


def _markers(frame: _Frame, markers: Sequence[tuple[int, str]], theme: _Theme) -> list[str]:
    """A thin dashed vertical line per marker, over the hover columns; its <title> shows on hover (a wider
    transparent line under it makes it easy to point at)."""
    out = []
    for at, text in markers:
        x = f"{frame.x(at):.1f}"
        ends = f'x1="{x}" y1="{PLOT_TOP}" x2="{x}" y2="{frame.axis_y}"'
        out.append(
            f'<g class="release"><title>{xml_text(text)}</title>'
            f'<line {ends} stroke="transparent" stroke-width="7"/>'
            f'<line {ends} stroke="{theme.axis}" stroke-width="1" stroke-dasharray="3 3"/></g>'
        )
    return out


def _value_grid(frame: _Frame, scale: ValueAxis, theme: _Theme) -> list[str]:
    """A grid line with its value at each tick, from the bottom of the scale to its top."""
    out = []
    left, right = _LEFT, _LEFT + frame.plot_w
    for tick in scale.ticks():
        y = scale.y(tick)
        assert y is not None  # ticks are on the scale
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{theme.grid}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end"{theme.text}>'
            f"{tick_label(tick)}</text>"
        )
    return out


def _axes(frame: _Frame, labels: Sequence[str], theme: _Theme) -> list[str]:
    """Both axes, and up to a dozen labels (always the last) along the x axis."""
    left, right, axis_y, stroke = _LEFT, _LEFT + frame.plot_w, frame.axis_y, theme.axis
    out = [
        f'<line x1="{left}" y1="{axis_y}" x2="{right}" y2="{axis_y}" stroke="{stroke}"/>',
        f'<line x1="{left}" y1="{PLOT_TOP}" x2="{left}" y2="{axis_y}" stroke="{stroke}"/>',
    ]
    every = max(1, math.ceil(len(labels) / 12))
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            x = frame.x(i)
            out.append(
                f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 5}" stroke="{stroke}"/>'
                f'<text x="{x:.1f}" y="{axis_y + 18}" font-size="11" '
                f'text-anchor="middle"{theme.text}>{xml_text(label)}</text>'
            )
    return out


def _segments(values: Sequence[int | None], xs: Sequence[str], scale: ValueAxis) -> list[list[str]]:
    """The "x,y" points of a series, in runs broken where a value is missing (or off a log scale)."""
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, value in enumerate(values):
        y = None if value is None else scale.y(value)
        if y is None:
            if segment:
                segments.append(segment)
            segment = []
        else:
            segment.append(f"{xs[i]}{y:.1f}")
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


def _hover_columns(
    frame: _Frame, labels: Sequence[str], series: Mapping[str, Sequence[int | None]]
) -> list[str]:
    """A transparent column per period whose <title> lists its values, largest first (the browser's
    tooltip: no script). Scale-free, so one set serves every layer; each lists at most HOVER_LIMIT."""
    out = ['<g class="hover" fill="#888" fill-opacity="0">']
    half = frame.plot_w / (2 * (frame.points - 1)) if frame.points > 1 else frame.plot_w / 2
    for i, label in enumerate(labels):
        known = sorted(((v[i], name) for name, v in series.items() if v[i] is not None), key=_largest_first)
        if not known:
            continue
        lines = [label, *(f"{name}: {value:,}" for value, name in known[:HOVER_LIMIT])]
        if len(known) > HOVER_LIMIT:
            lines.append(f"and {len(known) - HOVER_LIMIT:,} more")
        left = max(_LEFT, frame.x(i) - half)
        right = min(_LEFT + frame.plot_w, frame.x(i) + half)
        out.append(
            f'<rect x="{left:.1f}" y="{PLOT_TOP}" width="{right - left:.1f}" height="{PLOT_HEIGHT}">'
            f"<title>{xml_text(chr(10).join(lines))}</title></rect>"
        )
    out.append("</g>")
    return out


def _largest_first(item: tuple[int | None, str]) -> tuple[int, str]:
    value, name = item
    return (-(value or 0), name)


def _legend_entry(frame: _Frame, n: int, name: str, colour: str, dash_attr: str, theme: _Theme) -> str:
    """The swatch and name of the n-th series, in rows of `per_row` below the plot."""
    lx = _LEFT + (n % frame.per_row) * frame.slot
    ly = frame.axis_y + 40 + 22 * (n // frame.per_row)
    return (
        f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 24}" y2="{ly - 4}" stroke="{colour}" '
        f'stroke-width="3"{dash_attr}/>'
        f'<text x="{lx + 30}" y="{ly}" font-size="12"{theme.text}>{xml_text(name)}</text>'
    )
