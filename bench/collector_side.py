"""The collector side of the benchmark: the real jobs, over loopback HTTP, into a real store.

Exactly what `collector collect` and `collector backfill` run (`run_collect`, `run_backfill`, the shared
`GitHubAPI` over a client with its conditional cache in the store), minus the command-line wiring.

    python bench/collector_side.py collect BASE_URL TOKEN DATABASE_URL CONCURRENCY

runs one collect pass in a process of its own and prints one JSON line: repositories done, wall seconds,
and the process's resident memory before the pass and at its peak (what the 10,000-repository case reports,
apart from the simulator, which serves from the benchmark's process).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from collector.domain import Holder, parse_repo_name
from collector.github.api import GitHubAPI
from collector.github.client import GitHubClient
from collector.github.options import ClientOptions
from collector.github.pacing import MinutePacer
from collector.jobs.backfill import run_backfill
from collector.jobs.collect import run_collect
from collector.settings import Settings, Token
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.http_cache import StoreCache
from collector.store.repos import save_tracked_name

HOLDER = Holder("bench", 0, "x")


@dataclass(frozen=True)
class JobResult:
    """How many repositories the job finished without error, out of how many."""

    ok: int
    total: int


def settings(base_url: str, token: str, database_url: str) -> Settings:
    """Settings pointing the client at the simulator."""
    return Settings(
        database_url=database_url,
        tokens=(Token(token, 1),),
        api_url=base_url,
        graphql_url=base_url + "/graphql",
    )


def track(database_url: str, names: list[str]) -> None:
    """Track `names` as `collector repos add` would before resolving them (the jobs resolve them)."""
    engine = make_engine(database_url)
    try:
        with transaction(session_factory(engine)) as s:
            for name in names:
                save_tracked_name(s, parse_repo_name(name))
    finally:
        engine.dispose()


async def _run_job(
    job: Callable[..., Awaitable[Any]], base_url: str, token: str, database_url: str, concurrency: int
) -> JobResult:
    """Run one job as the CLI does: a client with the store's conditional cache, on its own engine."""
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    try:
        # The simulator's limits are raised for both sides (docs/benchmarks.md), so pacing is off too.
        client = GitHubClient(
            settings(base_url, token, database_url),
            ClientOptions(concurrency=concurrency),
            cache=StoreCache(sessions),
            pacer=MinutePacer(rest=0, graphql=0),
        )
        async with GitHubAPI(client) as gh:
            outcome = await job(sessions, gh, holder=HOLDER)
    finally:
        engine.dispose()
    return JobResult(len(outcome.results) - len(outcome.failed), len(outcome.results))


async def collect_pass(base_url: str, token: str, database_url: str, concurrency: int) -> JobResult:
    """One `collector collect` pass over every tracked repository."""
    return await _run_job(run_collect, base_url, token, database_url, concurrency)


async def backfill(base_url: str, token: str, database_url: str, concurrency: int) -> JobResult:
    """One `collector backfill` of every tracked repository (all four series, from creation)."""
    return await _run_job(run_backfill, base_url, token, database_url, concurrency)


def _memory_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak) of this process from /proc, in MiB; elsewhere ru_maxrss.

    Not ru_maxrss on Linux: it carries the parent's peak across fork and exec, and the parent here is the
    benchmark, which holds the simulator and its scenario.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str]) -> int:
    """One collect pass in this process; its result as a JSON line on stdout."""
    if len(argv) != 5 or argv[0] != "collect":
        print(__doc__, file=sys.stderr)
        return 2
    _, base_url, token, database_url, concurrency = argv
    before = _memory_mb("VmRSS")
    began = time.perf_counter()
    result = asyncio.run(collect_pass(base_url, token, database_url, int(concurrency)))
    wall = time.perf_counter() - began
    out = {"ok": result.ok, "total": result.total, "wall_s": round(wall, 2)}
    print(json.dumps(out | {"start_rss_mb": round(before, 1), "peak_rss_mb": round(_memory_mb("VmHWM"), 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
