"""The HTML report rendered by headless Chromium: the page and its charts actually draw."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from collector.reports import render_html
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


def test_html_report_renders_in_chromium(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate.upgrade(engine)
    fill(engine, samples())
    store = Store(url="", engine=engine, sessions=session_factory(engine))
    page = tmp_path / "trend.html"
    page.write_text(
        render_html(report_for(store, {"since": "2016-01", "until": "2016-04"})), encoding="utf-8"
    )
    shot = tmp_path / "trend.png"
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
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.exists(), "Chromium produced no screenshot"
    data = shot.read_bytes()
    assert len(data) > 10_000
    width, height, rows = _png_pixels(data)
    assert (width, height) == (1200, 1600)
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
