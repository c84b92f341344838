"""The download sources as the simulator serves them (from the facts file) and as our clients read them,
over a real loopback server: windows, limits and their errors, unknown packages, bulk, 429 backoff, and
that no GitHub token reaches those hosts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, timedelta
from typing import TypeVar

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.app import App
from collector.downloads import npm
from collector.downloads.http import DownloadsHTTP, PackageNotFound, RateLimited
from collector.downloads.pypistats import fetch_pypi_daily
from collector.settings import load_settings
from collector.testing.downloads_catalog import SimPackage, framework_packages
from collector.testing.downloads_sim import DownloadsSimulator, add_months, running_downloads_simulator

TODAY = date(2026, 12, 6)
EXTRA = [SimPackage("npm", "left-pad", date(2014, 3, 19)), SimPackage("npm", "express", date(2010, 12, 29))]


Served = tuple[DownloadsSimulator, str]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    sim = DownloadsSimulator([*framework_packages(), *EXTRA], TODAY, seed=3)
    with running_downloads_simulator(sim) as base:
        yield sim, base


T = TypeVar("T")


def fetch(base: str, call: Callable[[DownloadsHTTP], Awaitable[T]], waits: list[float] | None = None) -> T:
    """Run one fetch on a fresh client whose waits are recorded instead of slept."""

    async def sleep(seconds: float) -> None:
        (waits if waits is not None else []).append(seconds)

    async def main() -> T:
        async with DownloadsHTTP(httpx.AsyncClient(), base, base, sleep=sleep) as http:
            return await call(http)

    return asyncio.run(main())


def test_pypistats_gives_180_days_without_mirrors_under_any_spelling(
    served: Served,
) -> None:
    sim, base = served
    days = fetch(base, lambda h: fetch_pypi_daily(h, "tensorflow-cpu"))
    assert len(days) == 180 and max(days) == TODAY - timedelta(days=1)
    assert days == sim.pypi_window("Tensorflow_CPU")
    both = httpx.get(f"{base}/api/packages/Tensorflow.CPU/overall").json()
    assert both["package"] == "tensorflow-cpu" and both["type"] == "overall_downloads"
    assert {r["category"] for r in both["data"]} == {"with_mirrors", "without_mirrors"}
    with pytest.raises(PackageNotFound, match="pypi:no-such-package: pypistats.org does not know"):
        fetch(base, lambda h: fetch_pypi_daily(h, "no-such-package"))


def test_npm_refuses_ranges_over_18_months_and_unknown_packages(
    served: Served,
) -> None:
    _, base = served
    too_long = httpx.get(f"{base}/downloads/range/2015-01-10:2016-07-10/express")
    assert too_long.status_code == 400 and "18 months" in too_long.json()["error"]
    longest = httpx.get(f"{base}/downloads/range/2015-01-10:2016-07-09/express")
    assert longest.status_code == 200 and len(longest.json()["downloads"]) == 547
    unknown = httpx.get(f"{base}/downloads/range/last-week/no-such-package")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "package no-such-package not found"})
    scoped_bulk = httpx.get(f"{base}/downloads/range/last-week/@tensorflow/tfjs,express")
    assert scoped_bulk.status_code == 400


def test_scoped_names_one_by_one_and_unscoped_in_bulk(served: Served) -> None:
    sim, base = served
    start, end = date(2025, 1, 1), date(2025, 12, 31)
    scoped = fetch(base, lambda h: npm.fetch_npm_range(h, "@tensorflow/tfjs", start, end))
    assert scoped == sim.daily(sim.npm["@tensorflow/tfjs"], start, end)
    names = ["left-pad", "express", "no-such-package"]
    bulk = fetch(base, lambda h: npm.fetch_npm_bulk(h, names, start, end))
    assert bulk["no-such-package"] is None
    assert bulk["express"] == sim.daily(sim.npm["express"], start, end)
    # Days that have not landed are not in the answer: they stay unknown, never 0.
    first, last = TODAY - timedelta(days=3), TODAY + timedelta(days=5)
    late = fetch(base, lambda h: npm.fetch_npm_range(h, "express", first, last))
    assert max(late) == TODAY - timedelta(days=1) and len(late) == 3


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2015, 1, 10), date(2030, 1, 1)), st.integers(0, 6000), st.booleans())
def test_chunks_cover_the_span_once_within_the_limits(start: date, days: int, bulk: bool) -> None:
    end = start + timedelta(days=days)
    ranges = npm.chunks(start, end, bulk=bulk)
    assert ranges[0][0] == start and ranges[-1][1] == end
    for (_, b), (c, _) in zip(ranges, ranges[1:], strict=False):
        assert c == b + timedelta(days=1)
    for a, b in ranges:
        assert a <= b
        assert (b - a).days < 365 if bulk else b < add_months(a, 18)  # the simulator's own rule


def test_429_is_waited_out_with_retry_after_or_exponentially_then_given_up() -> None:
    sim = DownloadsSimulator(framework_packages(), TODAY, throttle=2, retry_after="3")
    waits: list[float] = []
    with running_downloads_simulator(sim) as base:
        days = fetch(base, lambda h: fetch_pypi_daily(h, "keras"), waits)
        assert len(days) == 180 and waits == [3.0, 3.0]
        sim.throttle, sim.retry_after, waits[:] = 2, None, []
        fetch(base, lambda h: fetch_pypi_daily(h, "keras"), waits)
        assert waits == [1.0, 2.0]
        sim.throttle = 10
        with pytest.raises(RateLimited, match="pypi:keras: HTTP 429 after 4 attempt"):
            fetch(base, lambda h: fetch_pypi_daily(h, "keras"))
        sim.throttle, sim.retry_after = 1, "3600"  # longer than a run waits: fail now, try tomorrow
        with pytest.raises(RateLimited, match="after 1 attempt"):
            fetch(base, lambda h: fetch_pypi_daily(h, "keras"))


def test_the_apps_downloads_client_sends_no_github_token(served: Served) -> None:
    sim, base = served
    settings_ = load_settings(
        {"GITHUB_TOKEN": "ghp_secret0123456789abcdef", "PYPISTATS_URL": base, "NPM_DOWNLOADS_URL": base + "/"}
    )
    before = sim.authorization_headers

    async def both() -> None:
        async with App(settings_).downloads_client() as http:
            await fetch_pypi_daily(http, "keras")
            await npm.fetch_npm_range(http, "express", date(2026, 1, 1), date(2026, 1, 31))

    asyncio.run(both())
    assert sim.authorization_headers == before
    assert any(ua.startswith("collector/") for ua in sim.user_agents)


def test_a_settling_day_is_answered_low_then_in_full_once_older() -> None:
    # The facts: npm's last day is yesterday, or the day before when yesterday has not landed; clients
    # report a day not landed answered 0 (npm/registry-issue-archive#382). With `settling_days` the
    # simulator answers the latest days low (`settling_share` of the count), in full once older.
    sim = DownloadsSimulator(
        [*framework_packages(), *EXTRA], TODAY, seed=3, settling_days=1, settling_share=0.25
    )
    yesterday, before = TODAY - timedelta(days=1), TODAY - timedelta(days=2)
    express, keras = sim.npm["express"], sim.pypi["keras"]
    with running_downloads_simulator(sim) as base:
        npm_early = fetch(base, lambda h: npm.fetch_npm_range(h, "express", before, yesterday))
        pypi_early = fetch(base, lambda h: fetch_pypi_daily(h, "keras"))
        sim.set_today(TODAY + timedelta(days=1))
        npm_later = fetch(base, lambda h: npm.fetch_npm_range(h, "express", before, yesterday))
        pypi_later = fetch(base, lambda h: fetch_pypi_daily(h, "keras"))
    for package, early, later in ((express, npm_early, npm_later), (keras, pypi_early, pypi_later)):
        full = package.downloads(yesterday, 3)
        assert (early[yesterday], later[yesterday]) == (full // 4, full) and full // 4 < full
        assert early[before] == later[before] == package.downloads(before, 3)
    assert pypi_later[TODAY] == keras.downloads(TODAY, 3) // 4  # the new latest day settles in turn
