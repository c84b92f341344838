"""The HTML report rendered by headless Chromium: the page and its charts actually draw."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from collector.reports import render_html
from collector.reports.badge import render_badge
from collector.reports.charts import render_chart_svg
from collector.reports.model import Trend
from collector.store import migrate
from collector.store.engine import make_engine, session_factory
from tests.conftest import Store
from tests.test_reports_formats import fill, report_for, samples

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)"),
]


def _png_pixels(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """Width, height and RGB pixels of an 8-bit RGB/RGBA PNG (scanline filters undone)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    pixels = []
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        pixels.append(
            [(line[x * channels], line[x * channels + 1], line[x * channels + 2]) for x in range(width)]
        )
        previous = line
    return width, height, pixels


def _screenshot(page: Path, shot: Path, size: str) -> list[list[tuple[int, int, int]]]:
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={shot.parent / 'profile'}",
            f"--screenshot={shot}",
            f"--window-size={size}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.exists(), "Chromium produced no screenshot"
    data = shot.read_bytes()
    assert len(data) > 5_000, "the screenshot is nearly empty"
    return _png_pixels(data)[2]


def _near(pixel: tuple[int, int, int], colour: int) -> bool:
    want = ((colour >> 16) & 0xFF, (colour >> 8) & 0xFF, colour & 0xFF)
    return all(abs(a - b) < 25 for a, b in zip(pixel, want, strict=True))


def test_the_badge_and_the_standalone_charts_render_in_chromium(tmp_path: Path) -> None:
    """What a README embeds as <img>: the badge's value box, a dark log chart's background and lines."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate.upgrade(engine)
    fill(engine, samples())
    store = Store(url="", engine=engine, sessions=session_factory(engine))
    trend = report_for(store, {"since": "2016-01", "until": "2016-04"})
    assert isinstance(trend, Trend)
    (tmp_path / "badge.svg").write_text(render_badge("stars", 41_634), encoding="utf-8")
    (tmp_path / "chart.svg").write_text(render_chart_svg(trend, "stars", scale="log", theme="dark"), "utf-8")
    page = tmp_path / "embed.html"
    page.write_text(
        '<body style="margin:0;background:#fff"><img src="badge.svg"><br><img src="chart.svg"></body>',
        encoding="utf-8",
    )
    rows = _screenshot(page, tmp_path / "embed.png", "1100,700")
    badge = [p for row in rows[:20] for p in row[:200]]
    assert sum(_near(p, 0x007EC6) for p in badge) > 300, "the badge's value box was not drawn"
    chart = [p for row in rows[30:] for p in row]
    assert sum(_near(p, 0x0D1117) for p in chart) > 100_000, "the dark chart has no dark background"
    assert sum(_near(p, 0x1F77B4) for p in chart) > 100, "the chart's first line was not drawn"


def test_html_report_renders_in_chromium(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate.upgrade(engine)
    fill(engine, samples())
    store = Store(url="", engine=engine, sessions=session_factory(engine))
    page = tmp_path / "trend.html"
    page.write_text(
        render_html(report_for(store, {"since": "2016-01", "until": "2016-04"})), encoding="utf-8"
    )
    rows = _screenshot(page, tmp_path / "trend.png", "1200,1600")
    assert (len(rows[0]), len(rows)) == (1200, 1600)
    # The first chart's lines are drawn in the palette's blue (#1f77b4) and orange (#ff7f0e).
    blue = sum(
        1
        for row in rows
        for r, g, b in row
        if abs(r - 0x1F) < 25 and abs(g - 0x77) < 25 and abs(b - 0xB4) < 25
    )
    orange = sum(1 for row in rows for r, g, b in row if abs(r - 0xFF) < 25 and abs(g - 0x7F) < 25 and b < 40)
    non_white = sum(1 for row in rows for r, g, b in row if min(r, g, b) < 200)
    assert non_white > 5000, "the page looks blank"
    assert blue > 200 and orange > 200, "the chart lines were not drawn"
