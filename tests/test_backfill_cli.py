"""`collector backfill --plan` and the plain progress output, against the simulator as a loopback server."""

from __future__ import annotations

import re
from pathlib import Path

from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from tests.conftest import run_cli, unpaced


def totals(plan: str) -> list[int]:
    line = next(line for line in plan.splitlines() if line.startswith("total"))
    return [int(n) for n in line.split()[1:]]


def test_plan_fetches_only_counters_and_matches_what_the_backfill_costs(tmp_path: Path) -> None:
    scenario = load_scenario("frameworks")
    names = ["keras-team/keras", "Theano/Theano", "autumnai/leaf"]
    app = SimulatorApp(scenario, points_per_minute=100_000)
    unpaced(tmp_path)
    with running_simulator(app) as base:
        env = {"GITHUB_API_URL": base, "GITHUB_TOKEN": "plan-token"}
        assert run_cli(tmp_path, env, "db", "upgrade").returncode == 0
        assert run_cli(tmp_path, env, "repos", "add", *names).returncode == 0
        before = app.stats.total
        plan = run_cli(tmp_path, env, "backfill", "--plan")
        assert plan.returncode == 0, plan.stderr
        planned_requests = app.stats.total - before
        stars, forks, walk = totals(plan.stdout)

        before_rest = app.stats.count(method="GET")
        before_points = app.stats.graphql_points
        run = run_cli(tmp_path, env, "backfill")
        assert run.returncode == 0, run.stderr
        rest = app.stats.count(method="GET") - before_rest
        points = app.stats.graphql_points - before_points
        again = run_cli(tmp_path, env, "backfill", "--plan")

    # The plan asked for the counters (one GraphQL query) and the free /rate_limit, nothing else.
    assert planned_requests == 2
    assert app.stats.count(template="/rate_limit") == 2
    for name in names:
        assert re.search(rf"^{re.escape(name)}\s+\d+\s+\d+\s+\d+$", plan.stdout, re.M), plan.stdout
    assert "REST requests:" in plan.stdout and "GraphQL points:" in plan.stdout
    # The estimate is what the backfill then cost (REST: star and fork pages; points: the commit walk's
    # pages, which give weekly commits and contributors alike).
    assert rest == stars + forks
    assert points == walk
    # Not on a terminal: one plain line per step, and a summary.
    assert re.search(r"^keras-team/keras stars: page 1", run.stdout, re.M), run.stdout[:500]
    assert "keras-team/keras contributors: complete" in run.stdout
    assert "keras-team/keras commits: complete" in run.stdout
    assert "backfilled 3/3 repositories" in run.stdout
    # After a complete backfill the plan is small: about one page per series and repository, and (never
    # observed: no collect ran) the star count check.
    assert sum(totals(again.stdout)) <= 4 * len(names) + 2
