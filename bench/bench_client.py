"""Benchmark of the GitHub client: CPU cost per request, and requests/points for repository counters.

Run as `python bench/bench_client.py`. Everything is in process: a canned httpx.MockTransport isolates the
client's own CPU cost; the GitHub simulator's transport gives the request and point counts for the 14
frameworks and for 1,000 synthetic repositories (with and without a token).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date
from typing import Any

import httpx

from collector.domain import RepoName, parse_repo_name
from collector.github.api import GitHubAPI
from collector.github.client import GitHubClient
from collector.github.options import ClientOptions
from collector.github.pacing import MinutePacer
from collector.settings import Settings, Token
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import SimulatorTransport

BASE = "https://bench.example.test"
TODAY = date(2026, 11, 20)
REPO = json.dumps(
    {
        "id": 1,
        "full_name": "o/r",
        "created_at": "2015-01-01T00:00:00Z",
        "stargazers_count": 1,
        "forks_count": 1,
        "subscribers_count": 1,
        "open_issues_count": 1,
    }
).encode()
HEADERS = {
    "content-type": "application/json",
    "x-ratelimit-limit": "5000",
    "x-ratelimit-remaining": "4999",
    "x-ratelimit-reset": "4102444800",
    "x-ratelimit-resource": "core",
    "etag": '"e"',
}


def settings(token: bool) -> Settings:
    return Settings(
        tokens=(Token("bench-token", 1),) if token else (),
        api_url=BASE,
        graphql_url=BASE + "/graphql",
    )


def canned(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers=HEADERS, content=REPO)


async def client_cpu_per_request(n: int = 3000) -> float:
    """CPU seconds per REST request spent in the client (the transport answers instantly)."""
    client = GitHubClient(settings(True), ClientOptions(reserve=0), transport=httpx.MockTransport(canned))
    async with GitHubAPI(client) as gh:
        name = parse_repo_name("o/r")
        await gh.fetch_repository(name)  # warm up
        start = time.process_time()
        for _ in range(n):
            await gh.fetch_repository(name)
        return (time.process_time() - start) / n


async def counters(names: list[RepoName], app: SimulatorApp, token: bool) -> dict[str, Any]:
    """Fetch counters for `names` through the simulator; what it cost."""
    wall, cpu = time.perf_counter(), time.process_time()
    client = GitHubClient(
        settings(token),
        ClientOptions(concurrency=4),
        transport=SimulatorTransport(app),
        pacer=MinutePacer(rest=0, graphql=0),  # the simulator's limits are raised below: no pacing either
    )
    async with GitHubAPI(client) as gh:
        result = await gh.fetch_repo_counters(names)
        snap = gh.stats.snapshot()
    ok = sum(1 for v in result.values() if not isinstance(v, Exception))
    return {
        "repos": len(names),
        "ok": ok,
        "requests": snap["requests_total"],
        "graphql_points": snap["graphql_points"],
        "rest_charged": snap["rest_charged"],
        "wall_s": round(time.perf_counter() - wall, 3),
        "cpu_s": round(time.process_time() - cpu, 3),
    }


async def main() -> None:
    per_request = await client_cpu_per_request()
    print(f"client CPU per REST request (canned transport): {per_request * 1e6:.0f} µs")
    print("(the first GraphQL row includes the simulator building GitHub's schema once)")
    frameworks = load_scenario("frameworks", today=TODAY)
    synthetic = load_scenario("synthetic-1000", today=TODAY)
    for label, scenario in (("14 frameworks", frameworks), ("1,000 synthetic", synthetic)):
        names = [parse_repo_name(r.full_name) for r in scenario.repos]
        for token in (True, False):
            # Limits raised so the numbers show the client's cost, not a 60 s secondary-limit pause (which
            # 1,000 REST calls in a minute would rightly trigger: GitHub allows 900 points/min per endpoint).
            app = SimulatorApp(scenario, rate_limit=100_000, unauth_limit=100_000, points_per_minute=100_000)
            row = await counters(names, app, token)
            mode = "GraphQL, token" if token else "REST, no token"
            print(
                f"{label:>16} | {mode:<14} | {row['ok']}/{row['repos']} ok | {row['requests']} requests | "
                f"{row['graphql_points']} GraphQL points | {row['rest_charged']} REST charged | "
                f"wall {row['wall_s']}s | CPU {row['cpu_s']}s (client + simulator)"
            )


if __name__ == "__main__":
    asyncio.run(main())
