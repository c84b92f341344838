"""What the fault suites share (tests/test_faults*.py, and the star-history end-to-end tests): PostgreSQL
stores to compare row for row, and one pass of `collector collect` or `collector backfill` through the
client the CLI builds, tuned to retry fast."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from collector.domain import Holder, parse_repo_name
from collector.github.api import GitHubAPI
from collector.github.client import GitHubClient
from collector.github.options import ClientOptions
from collector.jobs.backfill import run_backfill
from collector.jobs.collect import run_collect
from collector.settings import Settings, Token
from collector.store import migrate
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.http_cache import StoreCache
from collector.store.repos import save_tracked_name
from collector.testing.model import Scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from tests.conftest import PgServer

TOKEN = "ghp_faults0123456789abcdefABCDEF"
CLIENT_TIMEOUT = 0.5  # seconds; hanging answers are held for HANG_SECONDS, well past it
SECONDARY_WAIT = 0.1  # the client's first pause on a secondary limit without retry-after (GitHub's: 60 s)
BACKOFF = 0.1  # the client's first wait before retrying a 5xx, timeout or cut body (default: 1 s)
# A clean run has no hanging answer to time out: a generous timeout keeps a busy machine (the other xdist
# worker running the frameworks under faults) from failing the reference.
CLEAN_TIMEOUT = 10.0

# What the store holds, with repositories named by GitHub id (internal ids may differ between stores)
# and run bookkeeping and observation times left out.
CONTENT = {
    "repositories": "SELECT github_id, full_name, name_key, created_at, archived, primary_language, "
    "description, default_branch, tracked, gone_reason FROM repositories",
    "repo_aliases": "SELECT a.name_key, a.full_name, r.github_id FROM repo_aliases a "
    "JOIN repositories r ON r.id = a.repo_id",
    "snapshots": "SELECT r.github_id, s.observed_day, s.stars, s.forks, s.watchers, s.open_issues, "
    "s.contributors, s.commits_52w, s.archived FROM snapshots s JOIN repositories r ON r.id = s.repo_id",
    "history_daily": "SELECT r.github_id, h.metric, h.day, h.value, h.source FROM history_daily h "
    "JOIN repositories r ON r.id = h.repo_id",
    "history_weekly": "SELECT r.github_id, h.metric, h.week_start, h.value, h.source FROM history_weekly h "
    "JOIN repositories r ON r.id = h.repo_id",
    "contributor_identities": "SELECT r.github_id, c.identity, c.first_commit_at "
    "FROM contributor_identities c JOIN repositories r ON r.id = c.repo_id",
    "forks": "SELECT r.github_id, f.fork_github_id, f.created_at FROM forks f "
    "JOIN repositories r ON r.id = f.repo_id",
    "series_state": "SELECT r.github_id, s.series, s.status, s.cursor, s.covered_from, s.covered_to "
    "FROM series_state s JOIN repositories r ON r.id = s.repo_id",
}
HISTORY = ("history_daily", "history_weekly", "contributor_identities", "forks")


@dataclass
class Store:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    def content(self, tables: tuple[str, ...] | None = None) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the compared tables, sorted (duplicates would show as repeated rows)."""
        with self.engine.connect() as conn:
            return {
                name: sorted(tuple(row) for row in conn.execute(text(sql)))
                for name, sql in CONTENT.items()
                if tables is None or name in tables
            }


@pytest.fixture(scope="module")
def new_store(pg_server: PgServer) -> Iterator[Any]:
    """A factory of fresh, migrated PostgreSQL stores tracking the scenario's repositories."""
    made: list[Store] = []

    def make(scenario: Scenario) -> Store:
        url = pg_server.create_database()
        engine = make_engine(url)
        migrate.upgrade(engine)
        store = Store(url, engine, session_factory(engine))
        with transaction(store.sessions) as s:
            for repo in scenario.repos:
                save_tracked_name(s, parse_repo_name(repo.full_name))
        made.append(store)
        return store

    yield make
    for store in made:
        store.engine.dispose()
        pg_server.drop_database(store.url)


def client(store: Store, base: str, **options: Any) -> GitHubAPI:
    """The API over the client the CLI builds (store-backed validators and budgets), with a short timeout;
    `options` are further ClientOptions fields, or other values for these."""
    settings = Settings(
        database_url=store.url, tokens=(Token(TOKEN, 1),), api_url=base, graphql_url=f"{base}/graphql"
    )
    tuning = ClientOptions(
        **{
            "timeout": CLIENT_TIMEOUT,
            "seed": 1,
            "secondary_wait": SECONDARY_WAIT,
            "backoff_base": BACKOFF,
            **options,
        }
    )
    return GitHubAPI(GitHubClient(settings, tuning, cache=StoreCache(store.sessions)))


@dataclass
class Pass:
    job: str
    failures: list[str]
    retries: int
    waited: float  # seconds the client slept before sending (backoff, pauses, budget resets)


async def run_job(job: str, store: Store, base: str, **kw: Any) -> Pass:
    """One `collector collect` or `collector backfill` pass; returns its per-repository failures."""
    async with client(store, base, **kw) as gh:
        if job == "collect":
            outcome = await run_collect(store.sessions, gh, holder=Holder(f"test-{job}", 0, "x"))
            failures = [f"{r.full_name}: {r.message}" for r in outcome.failed]
        else:
            done = await run_backfill(store.sessions, gh, holder=Holder(f"test-{job}", 0, "x"))
            failures = [f"{r.full_name}: {r.error}" for r in done.failed]
        return Pass(job, failures, gh.stats.retries, gh.stats.waited_seconds)


def one_run(job: str, store: Store, base: str, **kw: Any) -> Pass:
    """One `collector collect` or `collector backfill` pass, as a user runs the command."""
    return asyncio.run(run_job(job, store, base, **kw))


def clean_store(scenario: Scenario, new_store: Any) -> Store:
    """The store after a clean collect and backfill of the scenario."""
    store: Store = new_store(scenario)
    with running_simulator(SimulatorApp(scenario, points_per_minute=100_000)) as base:
        for job in ("collect", "backfill"):
            clean = one_run(job, store, base, timeout=CLEAN_TIMEOUT)
            assert clean.failures == [], clean
    return store
