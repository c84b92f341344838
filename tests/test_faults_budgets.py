"""Fault injection (issue 10, marker `faults`): budgets that run out, on the simulator as a real loopback
server and the real PostgreSQL.

GraphQL refuses with RATE_LIMIT while x-ratelimit-remaining is still above 0, and primary budgets run out
mid-backfill: the backfill sends nothing until the reset and ends with a clean run's history. The mixed
faults of the full frameworks are in test_faults.py.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from collector.testing.model import Scenario
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from tests.faults_helpers import HISTORY, Store, clean_store, new_store, one_run  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

SCENARIO = "synthetic-10"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(SCENARIO)


@pytest.fixture(scope="module")
def reference(scenario: Scenario, new_store: Any) -> Store:  # noqa: F811
    return clean_store(scenario, new_store)


def test_graphql_rate_limit_errors_with_budget_left_send_nothing_until_the_reset(
    scenario: Scenario,
    reference: Store,
    new_store: Any,  # noqa: F811
) -> None:
    # GitHub refuses with errors[].type RATE_LIMIT once 2 points are left, its headers still saying 2. The
    # backfill's GraphQL is the commit walk's pages (about 10 points here): several windows of 6, each
    # long enough (10 s) that the REST part of the backfill does not outlast it.
    app = SimulatorApp(
        scenario,
        graphql_limit=6,
        reset_seconds=10,
        graphql_early_limit=2,
        graphql_rate_limit_type="RATE_LIMIT",
        points_per_minute=100_000,
        graphql_points_per_minute=100_000,
    )
    store: Store = new_store(scenario)
    with running_simulator(app) as base:
        # One request at a time, so that none is already in flight when GitHub first says no.
        done = one_run("backfill", store, base, concurrency=1)
    assert done.failures == []
    assert app.stats.graphql_points > 6  # it went on after a reset: more than one window
    assert app.stats.while_exhausted == 0  # nothing was sent while GitHub was refusing
    assert done.waited >= 1.0
    assert store.content(HISTORY) == reference.content(HISTORY)


def test_primary_budget_exhausted_mid_backfill_waits_for_the_reset(
    scenario: Scenario,
    reference: Store,
    new_store: Any,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The backfill needs ~150 REST requests and ~10 GraphQL points (the commit walk's pages): several
    # windows of these budgets, small enough to run out well before a window resets on its own.
    app = SimulatorApp(scenario, rate_limit=25, graphql_limit=1, reset_seconds=3, points_per_minute=100_000)
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
    assert app.stats.count(method="GET") > 25 and app.stats.graphql_points > 1  # more than one window
    assert app.stats.while_exhausted == 0
    assert store.content(HISTORY) == reference.content(HISTORY)
