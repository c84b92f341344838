"""Shields-style flat badges ("stars | 41.6k") as small standalone SVG documents."""

from __future__ import annotations

from collector.reports.charts import SVG_NS, xml_text

BADGE_METRICS = ("stars", "forks", "contributors", "watchers", "downloads")
# The repo_latest column each badge shows, and its label where that is not the metric's name.
BADGE_VALUES = {"downloads": "downloads_30d"}
BADGE_LABELS = {"downloads": "downloads/30d"}

_LABEL_COLOUR, _VALUE_COLOUR, _UNKNOWN_COLOUR = "#555", "#007ec6", "#9f9f9f"
_FONT = "Verdana,Geneva,DejaVu Sans,sans-serif"
_PAD = 6  # either side of a text

# Approximate advance widths of Verdana at 11 px, the badge font; anything else counts as `_WIDE`.
_WIDTHS = {
    **dict.fromkeys("0123456789abdeghnopqu", 7.0),
    **dict.fromkeys("kvxy", 6.5),
    **dict.fromkeys("csz", 5.8),
    **dict.fromkeys("ABCDEFGHJKLNOPQRSTUVXYZ", 7.7),
    **dict.fromkeys("MWmw", 10.0),
    **dict.fromkeys("fjrt /()[]-_", 4.5),
    **dict.fromkeys("il|.,:;!'I", 3.4),
}
_WIDE = 11.0


def short_number(value: int) -> str:
    """Three significant digits and a suffix: 950, 41.6k, 1.2M, 3.45G (999,950 is 1M, not 1e+03k)."""
    sign, n = ("-" if value < 0 else ""), abs(value)
    if n < 1000:
        return f"{value}"
    for power, suffix in ((1, "k"), (2, "M"), (3, "G"), (4, "T")):
        scaled = float(f"{n / 1000**power:.3g}")
        if scaled < 1000 or suffix == "T":
            return f"{sign}{scaled:g}{suffix}"
    raise AssertionError("unreachable")


def text_width(text: str) -> int:
    """About how many pixels `text` takes in the badge font."""
    return round(sum(_WIDTHS.get(c, _WIDE) for c in text))


def render_badge(label: str, value: int | None) -> str:
    """A flat badge: `label` on grey, `value` shortened on blue ("n/a" on light grey for None).

    Widths follow the texts; the <title> (the tooltip) has the full value, and every text is escaped.
    """
    shown = "n/a" if value is None else short_number(value)
    full = "n/a" if value is None else f"{value:,}"
    colour = _UNKNOWN_COLOUR if value is None else _VALUE_COLOUR
    label_text, value_text = text_width(label), text_width(shown)
    left, right = label_text + 2 * _PAD, value_text + 2 * _PAD
    width = left + right
    return "\n".join(
        [
            f'<svg xmlns="{SVG_NS}" width="{width}" height="20" role="img" '
            f'aria-label="{xml_text(f"{label}: {shown}")}">',
            f"<title>{xml_text(f'{label}: {full}')}</title>",
            '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
            '<stop offset="1" stop-opacity=".1"/></linearGradient>',
            f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>',
            f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="{_LABEL_COLOUR}"/>'
            f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
            f'<rect width="{width}" height="20" fill="url(#s)"/></g>',
            f'<g fill="#fff" text-anchor="middle" font-family="{_FONT}" font-size="11">',
            *_shadowed(left / 2, label_text, label),
            *_shadowed(left + right / 2, value_text, shown),
            "</g>",
            "</svg>",
        ]
    )


def _shadowed(x: float, length: int, text: str) -> list[str]:
    """A text centred on `x`, fitted to `length` pixels, over its 1 px shadow."""
    fit = f' textLength="{length}" lengthAdjust="spacingAndGlyphs"' if length else ""
    return [
        f'<text x="{x:g}" y="15" fill="#010101" fill-opacity=".3"{fit}>{xml_text(text)}</text>',
        f'<text x="{x:g}" y="14"{fit}>{xml_text(text)}</text>',
    ]
