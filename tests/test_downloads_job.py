"""The downloads job on SQLite and PostgreSQL against the sources' simulator: a source that has not
landed a new day is asked once more that day, then left alone until tomorrow; a day answered low is asked
again with the next day, in the same requests, and corrected; a package a source does not know fails
alone, with a note, and the others are stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest
from sqlalchemy import select

from collector.domain import parse_repo_name
from collector.downloads import npm
from collector.downloads.http import DownloadsHTTP
from collector.downloads.refs import parse_package_ref
from collector.jobs.downloads import DownloadsOutcome, run_downloads
from collector.store.engine import transaction
from collector.store.models import Run
from collector.store.packages import load_downloads, load_packages, save_downloads, save_fetch, save_package
from collector.store.repos import save_tracked_name
from collector.testing.downloads_catalog import SimPackage, framework_packages
from collector.testing.downloads_sim import DownloadsSimulator, running_downloads_simulator
from tests.conftest import Store


def run_once(store: Store, base: str, now: datetime | None = None) -> DownloadsOutcome:
    async def main() -> DownloadsOutcome:
        async with DownloadsHTTP(httpx.AsyncClient(), base, base) as http:
            return await run_downloads(store.sessions, http, now=now)

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


def last_run(store: Store) -> Run:
    with store.sessions() as s:
        run = s.scalars(select(Run).where(Run.job == "downloads").order_by(Run.id.desc())).first()
        assert run is not None
        return run


def test_npm_name_listed_by_two_repositories_is_asked_once_and_stored_for_both(store: Store) -> None:
    today = datetime.now(UTC).date()
    sim = DownloadsSimulator([SimPackage("npm", "left-pad", date(2016, 1, 1))], today)
    with transaction(store.sessions) as s:
        for repo_name in ("acme/rocket", "acme/attic"):
            repo, _ = save_tracked_name(s, parse_repo_name(repo_name))
            save_package(s, repo.id, parse_package_ref("npm:left-pad"), "config")
    with running_downloads_simulator(sim) as base:
        outcome = run_once(store, base)
    # One name: asked alone, in ranges of 18 months, once for both repositories (no bulk of one name).
    assert (outcome.failed, sim.count("npm", "/downloads/range/{period}/{packages}")) == ([], 0)
    assert sim.count("npm") == len(npm.chunks(npm.FIRST_DAY, today - timedelta(days=1), bulk=False))
    with store.sessions() as s:
        stored = [load_downloads(s, p.id) for p in load_packages(s)]
    assert stored == [sim.npm_history("left-pad")] * 2
    run = last_run(store)
    assert (run.status, run.worker is not None) == ("ok", True)


def test_129_npm_names_starting_the_same_day_are_one_bulk_and_one_single_request(store: Store) -> None:
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    names = [f"pkg-{i:03}" for i in range(129)]
    sim = DownloadsSimulator([SimPackage("npm", n, date(2020, 1, 1)) for n in names], today)
    with transaction(store.sessions) as s:
        repo, _ = save_tracked_name(s, parse_repo_name("acme/rocket"))
        for name in names:  # all held up to five days ago, asked yesterday
            package_id, _ = save_package(s, repo.id, parse_package_ref(f"npm:{name}"), "config")
            save_downloads(s, package_id, {yesterday - timedelta(days=5): 1})
            save_fetch(s, package_id, datetime.now(UTC) - timedelta(days=1))
    with running_downloads_simulator(sim) as base:
        outcome = run_once(store, base)
    assert (outcome.asked, outcome.failed, outcome.new_days) == (129, [], 129 * 5)
    assert sim.count("npm", "/downloads/range/{period}/{packages}") == 1
    assert sim.count("npm", "/downloads/range/{period}/{package}") == 1
    with store.sessions() as s:
        assert {p.fetched_through for p in load_packages(s)} == {yesterday}
    assert last_run(store).status == "ok"


def run_with_hook(
    store: Store, base: str, hook: Callable[[httpx.Request], Awaitable[None]], timeout: float = 10
) -> None:
    async def main() -> None:
        client = httpx.AsyncClient(event_hooks={"request": [hook]})
        async with DownloadsHTTP(client, base, base) as http:
            await asyncio.wait_for(run_downloads(store.sessions, http, worker="host:1:abc"), timeout)

    asyncio.run(main())


def test_unexpected_error_closes_the_run_as_failed_and_keeps_what_was_stored(store: Store) -> None:
    today = datetime.now(UTC).date()
    sim = DownloadsSimulator(framework_packages(), today)
    with transaction(store.sessions) as s:
        repo, _ = save_tracked_name(s, parse_repo_name("keras-team/keras"))
        for text in ("pypi:keras", "pypi:tensorflow"):
            save_package(s, repo.id, parse_package_ref(text), "config")
    sent: list[httpx.Request] = []

    async def second_request_breaks(request: httpx.Request) -> None:
        sent.append(request)
        if len(sent) == 2:
            raise RuntimeError("a bug in the second request\nsecond line")

    with running_downloads_simulator(sim) as base, pytest.raises(RuntimeError):
        run_with_hook(store, base, second_request_breaks)
    run = last_run(store)
    assert (run.status, run.worker, run.finished_at is not None) == ("failed", "host:1:abc", True)
    assert json.loads(run.stats or "{}")["error"] == "a bug in the second request"
    with store.sessions() as s:
        by_name = {p.ref.name: p for p in load_packages(s)}
        assert load_downloads(s, by_name["keras"].id) == sim.pypi_window("keras")


def test_cancelled_run_is_closed_as_interrupted(store: Store) -> None:
    sim = DownloadsSimulator(framework_packages(), datetime.now(UTC).date())
    with transaction(store.sessions) as s:
        repo, _ = save_tracked_name(s, parse_repo_name("keras-team/keras"))
        save_package(s, repo.id, parse_package_ref("pypi:keras"), "config")

    async def hangs(request: httpx.Request) -> None:
        await asyncio.Event().wait()

    with running_downloads_simulator(sim) as base, pytest.raises(TimeoutError):
        run_with_hook(store, base, hangs, timeout=0.5)
    run = last_run(store)
    assert (run.status, run.worker, run.finished_at is not None) == ("interrupted", "host:1:abc", True)


def test_a_day_answered_low_is_asked_again_with_the_next_day_and_corrected(store: Store) -> None:
    day = date(2026, 12, 1)  # the sources' today and the job's: day - 1 is the latest day, answered low

    def morning(d: date) -> datetime:
        return datetime.combine(d, time(6), UTC)

    packages = [
        SimPackage("pypi", "keras", date(2015, 3, 27)),
        SimPackage("npm", "@tensorflow/tfjs", date(2018, 3, 30)),
        *(SimPackage("npm", name, date(2016, 1, 1)) for name in ("left-pad", "express")),
    ]
    sim = DownloadsSimulator(packages, day, settling_days=1, settling_share=0.25)
    with transaction(store.sessions) as s:
        repo, _ = save_tracked_name(s, parse_repo_name("acme/rocket"))
        for p in packages:
            save_package(s, repo.id, parse_package_ref(p.key), "config")

    def held() -> dict[str, dict[date, int]]:
        with store.sessions() as s:
            return {p.ref.name: load_downloads(s, p.id) for p in load_packages(s)}

    def final(name: str, d: date) -> int:
        return next(p for p in packages if p.name == name).downloads(d, sim.seed)

    with running_downloads_simulator(sim) as base:
        run_once(store, base, morning(day))
        low = held()
        later = run_once(store, base, morning(day) + timedelta(hours=12))  # yesterday is held: no request
        before = sim.count()
        sim.set_today(day + timedelta(days=1))
        next_day = run_once(store, base, morning(day + timedelta(days=1)))
        asked = sim.count() - before
        corrected = held()
        sim.set_today(day + timedelta(days=5))  # the job does not run for four days
        late = run_once(store, base, morning(day + timedelta(days=5)))
        finally_ = held()
    first_low, second_low = day - timedelta(days=1), day
    names = [p.name for p in packages]
    assert {n: low[n][first_low] for n in names} == {n: final(n, first_low) // 4 for n in names}
    assert (later.asked, later.requests) == (0, {})
    # The next day's usual request (PyPI one per package, npm one scoped and one bulk) brings the new day
    # and the corrected one: no request more than before.
    assert (next_day.new_days, next_day.corrected, asked) == (4, 4, 3)
    assert {n: corrected[n][first_low] for n in names} == {n: final(n, first_low) for n in names}
    assert {n: corrected[n][second_low] for n in names} == {n: final(n, second_low) // 4 for n in names}
    # Whatever day it was stored on, the last day held is asked again with the next days.
    assert (late.new_days, late.corrected) == (4 * 4, 4)
    assert {n: finally_[n][second_low] for n in names} == {n: final(n, second_low) for n in names}
    window = sim.pypi_window("keras")  # PyPI's 180 days now; the days it forgot since are still held
    assert {d: finally_["keras"][d] for d in window} == window
    assert finally_["express"] == sim.npm_history("express")
    assert json.loads(last_run(store).stats or "{}")["corrected"] == 4
