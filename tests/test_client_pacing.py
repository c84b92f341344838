"""Pacing: the client keeps each token under GitHub's per-minute secondary limits instead of tripping them."""

from __future__ import annotations

import asyncio

from collector.github.api import GitHubAPI
from collector.github.options import ClientOptions
from collector.github.pacing import WINDOW_SECONDS, MinutePacer, request_points
from tests.test_client_simulator import KERAS, Clock, frameworks_app, run_sim


def test_the_pacer_admits_a_minute_of_points_then_says_when_the_oldest_leave() -> None:
    pacer = MinutePacer(rest=3, graphql=0)
    assert [pacer.delay("t", "core", 1, now) for now in (0.0, 1.0, 2.0)] == [0.0, 0.0, 0.0]
    assert pacer.delay("t", "core", 1, 3.0) == WINDOW_SECONDS - 3.0  # until the send at 0 leaves
    assert pacer.delay("u", "core", 1, 3.0) == 0.0  # another token has its own minute
    assert pacer.delay("t", "core", 1, WINDOW_SECONDS) == 0.0
    # A write is five points: it waits until enough of the window is free.
    assert pacer.delay("t", "core", request_points("POST", "core"), WINDOW_SECONDS + 0.5) > 0
    assert all(pacer.delay("t", "graphql", 1, 5.0) == 0.0 for _ in range(100))  # 0 turns pacing off
    assert request_points("GET", "core") == 1 and request_points("POST", "graphql") == 1


async def _many_reads(gh: GitHubAPI) -> int:
    async def one() -> None:
        await gh.client.get(f"/repos/{KERAS.owner}/{KERAS.name}")

    await asyncio.gather(*(one() for _ in range(150)))
    return 150


def test_paced_client_never_trips_the_per_minute_limit() -> None:
    clock = Clock()
    start = clock.now
    app = frameworks_app(points_per_minute=60, clock=clock)
    _, gh = run_sim(
        app, _many_reads, "a", clock=clock, options=ClientOptions(concurrency=8), pacer=MinutePacer(rest=60)
    )
    assert app.stats.secondary_limited == 0
    assert app.stats.count(method="GET", status=200) == 150
    # 150 reads at 60 a minute: the last ones go in the third minute.
    assert clock.now - start >= 2 * WINDOW_SECONDS
    assert gh.stats.paced_seconds > 0


def test_without_pacing_the_same_reads_trip_it_and_wait_it_out() -> None:
    clock = Clock()
    app = frameworks_app(points_per_minute=60, clock=clock)
    _, gh = run_sim(
        app, _many_reads, "a", clock=clock, options=ClientOptions(concurrency=8), pacer=MinutePacer(rest=0)
    )
    assert app.stats.secondary_limited > 0  # what pacing avoids
    assert app.stats.count(method="GET", status=200) == 150
    assert gh.stats.paced_seconds == 0


def test_clients_sharing_a_pacer_share_the_tokens_minute() -> None:
    # `collector sync` runs collect then backfill, and the daemon overlaps its jobs: one client each,
    # but GitHub counts the token's minute, so they share one pacer (the CLI's App.pacer).
    clock = Clock()
    app = frameworks_app(points_per_minute=60, clock=clock)
    shared = MinutePacer(rest=60, graphql=60)

    async def reads(gh: GitHubAPI) -> None:
        for _ in range(45):
            await gh.client.get(f"/repos/{KERAS.owner}/{KERAS.name}")

    run_sim(app, reads, "a", clock=clock, pacer=shared)
    run_sim(app, reads, "a", clock=clock, pacer=shared)
    assert app.stats.secondary_limited == 0 and app.stats.count(method="GET", status=200) == 90
    # Each with a pacer of its own, the second client's first minute overlaps the first one's.
    app = frameworks_app(points_per_minute=60, clock=clock)
    run_sim(app, reads, "a", clock=clock, pacer=MinutePacer(rest=60))
    run_sim(app, reads, "a", clock=clock, pacer=MinutePacer(rest=60))
    assert app.stats.secondary_limited > 0
