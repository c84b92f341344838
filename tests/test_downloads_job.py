"""The downloads job on SQLite and PostgreSQL against the sources' simulator: a source that has not
landed a new day is asked once more that day, then left alone until tomorrow; a package a source does
not know fails alone, with a note, and the others are stored."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import httpx

from collector.domain import parse_repo_name
from collector.downloads.http import DownloadsHTTP
from collector.downloads.refs import parse_package_ref
from collector.jobs.downloads import DownloadsOutcome, run_downloads
from collector.store.engine import transaction
from collector.store.packages import load_downloads, load_packages, save_package
from collector.store.repos import save_tracked_name
from collector.testing.downloads_catalog import SimPackage, framework_packages
from collector.testing.downloads_sim import DownloadsSimulator, running_downloads_simulator
from tests.conftest import Store


def run_once(store: Store, base: str) -> DownloadsOutcome:
    async def main() -> DownloadsOutcome:
        async with DownloadsHTTP(httpx.AsyncClient(), base, base) as http:
            return await run_downloads(store.sessions, http)

    return asyncio.run(main())


def test_lagging_source_is_asked_once_more_then_not_again_today_and_unknown_fails_alone(store: Store) -> None:
    today = datetime.now(UTC).date()
    # The sources lag two days behind our clock: yesterday has not landed there.
    sim = DownloadsSimulator(
        [*framework_packages(), SimPackage("npm", "left-pad", date(2016, 1, 1))], today - timedelta(days=1)
    )
    with transaction(store.sessions) as s:
        repo, _ = save_tracked_name(s, parse_repo_name("keras-team/keras"))
        for text in ("pypi:keras", "npm:left-pad", "pypi:no-such-package"):
            save_package(s, repo.id, parse_package_ref(text), "config")
    with running_downloads_simulator(sim) as base:
        first = run_once(store, base)
        second = run_once(store, base)  # the first brought days: one more ask is allowed, brings none
        third = run_once(store, base)  # the second brought nothing today: wait for tomorrow
    # The unknown package's request brought nothing: it waits for tomorrow from the second run on.
    assert (first.asked, second.asked, third.asked) == (3, 2, 0)
    assert first.failed == [
        (
            "keras-team/keras pypi:no-such-package",
            "pypi:no-such-package: pypistats.org does not know this package (404); check the name",
        )
    ]
    assert (first.new_days > 180, second.new_days, third.requests) == (True, 0, {})
    with store.sessions() as s:
        by_name = {p.ref.name: p for p in load_packages(s)}
        assert load_downloads(s, by_name["keras"].id) == sim.pypi_window("keras")
        assert load_downloads(s, by_name["left-pad"].id) == sim.npm_history("left-pad")
        assert by_name["no-such-package"].note and by_name["keras"].note is None
        assert by_name["keras"].fetched_through == today - timedelta(days=2)
