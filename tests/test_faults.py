"""Fault injection (issues 7 and 10, marker `faults`): the simulator as a real loopback server, the real
PostgreSQL.

A clean collect + backfill is the reference (for the 2017 frameworks: the session's `collector sync`
that the end-to-end tests check against the simulator's events). Then the same jobs run against a
simulator that misbehaves as real GitHub does: 10% of requests fail (500/502/503, hanging past the
client's timeout, 200s with a body cut short, connections dropped mid-body, secondary limits as 403 with
retry-after and as 429 without), GraphQL refuses with RATE_LIMIT while x-ratelimit-remaining is still
above 0, and primary budgets run out mid-backfill. ONE run of each command must end with the
reference's store, row for row.
"""

from __future__ import annotations

import asyncio
import logging
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
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from tests.conftest import PgServer, Synced

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

TOKEN = "ghp_faults0123456789abcdefABCDEF"
SCENARIO = "synthetic-10"
CLIENT_TIMEOUT = 0.5  # seconds; hanging answers are held for HANG_SECONDS, well past it
SECONDARY_WAIT = 0.1  # the client's first pause on a secondary limit without retry-after (GitHub's: 60 s)
BACKOFF = 0.1  # the client's first wait before retrying a 5xx, timeout or cut body (default: 1 s)

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
    `options` are further ClientOptions fields."""
    settings = Settings(
        database_url=store.url, tokens=(Token(TOKEN, 1),), api_url=base, graphql_url=f"{base}/graphql"
    )
    tuning = ClientOptions(
        timeout=CLIENT_TIMEOUT,
        seed=1,
        secondary_wait=SECONDARY_WAIT,
        backoff_base=BACKOFF,
        **options,
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
            clean = one_run(job, store, base)
            assert clean.failures == [], clean
    return store


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(SCENARIO)


@pytest.fixture(scope="module")
def reference(scenario: Scenario, new_store: Any) -> Store:
    return clean_store(scenario, new_store)


@pytest.fixture(scope="module")
def frameworks() -> Scenario:
    return load_scenario("frameworks")


@pytest.fixture(scope="module")
def frameworks_reference(synced: Synced) -> Iterator[Store]:
    """The clean `collector sync` of the frameworks that the end-to-end tests check (conftest)."""
    url = synced[1]["COLLECTOR_DATABASE_URL"]
    engine = make_engine(url)
    yield Store(url, engine, session_factory(engine))
    engine.dispose()


def daily_values(store: Store) -> list[tuple[Any, ...]]:
    """Every day of every repository as a user querying `repo_daily` sees it."""
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT github_id, day, stars, forks, contributors FROM repo_daily"))
        return sorted(tuple(r) for r in rows)


def weekly_commits(store: Store) -> list[tuple[Any, ...]]:
    """Commits per repository and week, as `repo_weekly` shows them."""
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT github_id, week_start, commits FROM repo_weekly"))
        return sorted(tuple(r) for r in rows)


@pytest.mark.timeout(
    900
)  # the full frameworks backfill under faults: about 3 minutes, more on a busy machine
def test_ten_percent_mixed_faults_end_with_the_clean_runs_store_after_one_run_each(
    frameworks: Scenario, frameworks_reference: Store, new_store: Any
) -> None:
    app = SimulatorApp(
        frameworks,
        fault_rate=0.1,
        seed=7,
        hang_seconds=3,
        secondary_retry_after=1,  # the shortest GitHub could ask for: every one pauses the whole client
        points_per_minute=100_000,
        graphql_points_per_minute=100_000,
    )
    store: Store = new_store(frameworks)
    with running_simulator(app) as base:
        collect = one_run("collect", store, base)
        backfill = one_run("backfill", store, base)
    # Every fault kind really happened, and was retried within the one pass.
    kinds = {"500", "502", "503", "timeout", "malformed", "drop", "secondary403", "secondary429"}
    assert kinds <= set(app.stats.faults), app.stats
    assert collect.failures == [] and backfill.failures == [], (collect, backfill)
    assert collect.retries + backfill.retries >= sum(app.stats.faults.values())
    # What the clean sync stored, its bookkeeping aside (it also tracked two former names, and the sync
    # tests' second collect re-labels the newest weeks' source as /stats/commit_activity).
    tables = ("snapshots", "series_state", "history_daily", "contributor_identities", "forks")
    expected, got = frameworks_reference.content(tables), store.content(tables)
    assert {t: len(rows) for t, rows in got.items()} == {t: len(rows) for t, rows in expected.items()}
    assert got == expected
    assert daily_values(store) == daily_values(frameworks_reference)
    assert weekly_commits(store) == weekly_commits(frameworks_reference)
    assert app.stats.while_exhausted == 0


def test_graphql_rate_limit_errors_with_budget_left_send_nothing_until_the_reset(
    scenario: Scenario, reference: Store, new_store: Any
) -> None:
    # GitHub refuses with errors[].type RATE_LIMIT once 5 points are left, its headers still saying 5.
    app = SimulatorApp(
        scenario,
        graphql_limit=20,
        reset_seconds=3,
        graphql_early_limit=5,
        graphql_rate_limit_type="RATE_LIMIT",
        points_per_minute=100_000,
        graphql_points_per_minute=100_000,
    )
    store: Store = new_store(scenario)
    with running_simulator(app) as base:
        # One request at a time, so that none is already in flight when GitHub first says no.
        done = one_run("backfill", store, base, concurrency=1)
    assert done.failures == []
    assert app.stats.graphql_points > 20  # it went on after a reset: more than one window
    assert app.stats.while_exhausted == 0  # nothing was sent while GitHub was refusing
    assert done.waited >= 1.0
    assert store.content(HISTORY) == reference.content(HISTORY)


def test_primary_budget_exhausted_mid_backfill_waits_for_the_reset(
    scenario: Scenario, reference: Store, new_store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # The backfill needs ~150 REST requests and ~100 GraphQL points: several windows of these budgets,
    # small enough to run out well before a window resets on its own.
    app = SimulatorApp(scenario, rate_limit=25, graphql_limit=15, reset_seconds=3, points_per_minute=100_000)
    store: Store = new_store(scenario)
    with caplog.at_level(logging.WARNING, logger="collector.github"), running_simulator(app) as base:
        # reserve=0: spend every budget down to 0 remaining, the hardest case for "send nothing".
        done = one_run("backfill", store, base, reserve=0)
    assert done.failures == []
    spent = [
        r.getMessage() for r in caplog.records if "budget is spent; sending nothing until" in r.getMessage()
    ]
    assert any("core" in m for m in spent) and any("graphql" in m for m in spent), spent
    assert done.waited >= 1.0  # it waited for resets instead of sending
    assert app.stats.count(method="GET") > 25 and app.stats.graphql_points > 15  # more than one window
    assert app.stats.while_exhausted == 0
    assert store.content(HISTORY) == reference.content(HISTORY)
