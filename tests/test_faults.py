"""Fault injection (issue 7, marker `faults`): the full 2017 frameworks under mixed faults, on the
simulator as a real loopback server and the real PostgreSQL.

A clean collect + backfill is the reference: the session's `collector sync` that the end-to-end tests
check against the simulator's events. Then the same jobs run against a simulator that misbehaves as real
GitHub does: 10% of requests fail (500/502/503, hanging past the client's timeout, 200s with a body cut
short, connections dropped mid-body, secondary limits as 403 with retry-after and as 429 without). ONE
run of each command must end with the reference's store, row for row. Budgets that run out are in
test_faults_budgets.py; what both share is in faults_helpers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from collector.store.engine import make_engine, session_factory
from collector.testing.model import Scenario
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from tests.conftest import Synced

# Other suites import these from here (test_star_history_e2e.py); new_store is a fixture.
from tests.faults_helpers import TOKEN, Store, client, new_store, one_run  # noqa: F401

pytestmark = [pytest.mark.faults, pytest.mark.postgres]


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
    frameworks: Scenario,
    frameworks_reference: Store,
    new_store: Any,  # noqa: F811
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
    # Each attempt fails on its own 7.5% chance (the fault kinds that cost an attempt), so the default 5
    # attempts all fail for about one request in 400,000: a few percent of runs over the frameworks'
    # tens of thousands of requests ended the pass as GitHub unreachable. 8 attempts make that one in
    # 10^9; what is tested is that every fault is retried within the one pass, not how many times.
    with running_simulator(app) as base:
        collect = one_run("collect", store, base, max_attempts=8)
        backfill = one_run("backfill", store, base, max_attempts=8)
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
