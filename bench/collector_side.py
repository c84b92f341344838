"""The collector side of the benchmark: the real jobs, over loopback HTTP, into a real store.

Exactly what `collector collect` and `collector backfill` run (`run_collect`, `run_backfill`, the shared
`GitHubAPI` over a client with its conditional cache in the store), minus the command-line wiring.
"""

from __future__ import annotations

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
