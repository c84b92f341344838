"""The pages in a real browser: Debian's Chromium driven by Playwright, against uvicorn on a real port.

A visitor opens the front page, finds a repository with the keyboard, opens its page, goes on to
compare it, switches to a log scale and to lining the repositories up by age, and downloads the CSV; we
check what is on screen (text, and a screenshot's size and colours) and that the page's script ran under
the Content-Security-Policy without a single error.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.test_reports_browser import _png_pixels
from tests.test_reports_formats import XSS
from tests.test_web_pages import Site
from tests.test_web_pages import sample_site as sample_site  # the fixture, served here too

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.browser, pytest.mark.postgres]

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - the test extras install it
    sync_playwright = None  # type: ignore[assignment]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    missing = "Playwright is not installed" if sync_playwright is None else None
    if not CHROMIUM.exists():
        missing = "Chromium is not installed (apt-get install -y chromium)"
    if missing:
        if IN_CI:
            pytest.fail(f"{missing}: CI must run the browser test")
        pytest.skip(missing)
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


def _count(pixels: list[list[tuple[int, int, int]]], colour: int) -> int:
    want = ((colour >> 16) & 0xFF, (colour >> 8) & 0xFF, colour & 0xFF)
    return sum(1 for row in pixels for p in row if all(abs(a - b) < 25 for a, b in zip(p, want, strict=True)))


def _tab_to(page: Page, element_id: str, most: int = 10) -> None:
    """Press Tab until the element has the keyboard focus."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} cannot be reached with the Tab key")


def test_search_open_compare_log_scale_by_age_and_download_csv(
    browser: Browser, sample_site: Site, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("dialog", lambda box: (problems.append(f"a dialog opened: {box.message}"), box.dismiss()))

    page.goto(sample_site.base + "/")
    assert page.locator("h1").inner_text() == "What is tracked"
    # The keyboard alone: tab to the labelled search box, type, Enter.
    _tab_to(page, "q")
    assert page.evaluate("document.activeElement.labels[0].textContent") == "Find a repository"
    page.keyboard.type("alpha")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=alpha")
    page.get_by_role("link", name="deep/alpha").click()
    page.wait_for_url("**/repos/deep/alpha")
    assert page.locator("h1").inner_text() == "deep/alpha"
    assert page.locator("p.description").inner_text() == XSS  # shown as text, never run

    page.get_by_role("link", name="Compare with other repositories").click()
    page.wait_for_url("**/compare?repos=deep/alpha")
    page.get_by_label("Repositories", exact=True).fill("deep/alpha, new/beta")
    page.get_by_label("Since", exact=True).fill("2016-01")
    page.get_by_label("Until", exact=True).fill("2016-04")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_selector("figure.chart svg")
    page.get_by_label("log", exact=True).check()  # the page's script redraws at once
    page.wait_for_url("**scale=log**")
    assert page.locator("figure.chart svg text", has_text="log scale").count() == 1
    page.get_by_label("age (since creation)", exact=True).check()
    page.wait_for_url("**align=age**")
    rows = page.locator("#compare-table tbody tr")
    # alpha's first month (January) ends with 5 stars, beta's (February) with the 100 observed on the 25th.
    assert rows.nth(0).inner_text().split("\t") == ["month 0", "5", "100"]
    assert rows.nth(1).inner_text().split("\t") == ["month 1", "12", "120"]

    shot = _png_pixels(page.screenshot())
    width, height, pixels = shot
    assert (width, height) == (1200, 900)
    assert _count(pixels, 0x24292F) > 20_000, "the page's dark header is not drawn"
    assert _count(pixels, 0x1F77B4) > 150, "deep/alpha's line (blue) is not drawn"
    assert _count(pixels, 0xFF7F0E) > 150, "new/beta's line (orange) is not drawn"

    with page.expect_download() as download:
        page.locator("#csv-link").click()
    saved = tmp_path / "compare.csv"
    download.value.save_as(saved)
    table = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert table[:3] == [
        ["months_since_creation", "deep/alpha", "new/beta"],
        ["0", "5", "100"],
        ["1", "12", "120"],
    ]
    assert problems == []
    context.close()
