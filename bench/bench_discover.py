"""Time `collector discover` of a topic with --topic-size repositories (default 5,000) against the simulator
over loopback HTTP with GitHub's search limit (30 requests a minute) and 50 ms latency, into a throwaway
PostgreSQL database: requests, search budget, wall time, peak memory; then an unchanged second discovery.

    python bench/bench_discover.py [--pg-url URL] [--topic-size 5000] [--latency-ms 50] [--fast]

--fast raises the simulator's search limit and turns the client's search pacing off, to time everything
but the waiting (the search budget alone takes requests / 30 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from store_bench import DEFAULT_ADMIN_URL, throwaway_database

from collector.domain import make_group_rule, utc_now
from collector.github.api import GitHubAPI
from collector.github.client import GitHubClient
from collector.github.options import ClientOptions
from collector.github.pacing import MinutePacer
from collector.jobs.discover import discover_group
from collector.settings import Settings, Token
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.groups import save_group_rule
from collector.testing.catalog_repos import CATALOG_TOPIC, catalog_topic_count
from collector.testing.scenarios import catalog_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator


async def _discover(base: str, url: str, fast: bool) -> dict[str, Any]:
    settings = Settings(
        database_url=url, tokens=(Token("bench", 1),), api_url=base, graphql_url=base + "/graphql"
    )
    search = 0 if fast else 30
    client = GitHubClient(settings, ClientOptions(), pacer=MinutePacer(rest=0, graphql=0, search=search))
    engine = make_engine(url)
    sessions = session_factory(engine)
    rule = make_group_rule("topic", CATALOG_TOPIC)
    with transaction(sessions) as s:
        save_group_rule(s, "bench", rule, "cli", utc_now())
    began = time.perf_counter()
    try:
        async with GitHubAPI(client) as api:
            outcome = await discover_group(sessions, api, "bench", rule)
    finally:
        engine.dispose()
    return {
        "found": outcome.found,
        "joined": outcome.joined,
        "requests": outcome.requests,
        "seconds": round(time.perf_counter() - began, 1),
        "complete": outcome.complete,
        "error": outcome.error,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get("COLLECTOR_TEST_PG_URL", DEFAULT_ADMIN_URL))
    parser.add_argument("--topic-size", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args(argv)
    n = args.topic_size * 4  # every fourth catalog repository carries the topic
    scenario = catalog_scenario(n)
    assert catalog_topic_count(n) == args.topic_size
    limit = 100_000 if args.fast else 30
    app = SimulatorApp(scenario, latency_ms=args.latency_ms, points_per_minute=10**9, search_limit=limit)
    with throwaway_database(args.pg_url) as url, running_simulator(app) as base:
        for label in ("first", "second (unchanged)"):
            result = asyncio.run(_discover(base, url, args.fast))
            print(f"discover {label}: {result}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"topic of {args.topic_size:,} repositories in catalog-{n}; peak memory {peak_mb:.0f} MB (process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
