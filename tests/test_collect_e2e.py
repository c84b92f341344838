"""`collector collect` against the simulator as a loopback server: edge cases and token exhaustion."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from collector.domain import Holder, parse_repo_name
from collector.github.api import GitHubAPI, stats_year_start
from collector.github.client import GitHubClient
from collector.github.options import ClientOptions
from collector.jobs.collect import PassOutcome, run_collect
from collector.settings import Settings, Token
from collector.store import migrate
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.repos import load_aliases, load_repos, save_tracked_name
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import SimulatorTransport, running_simulator
from tests.conftest import run_cli

TOKEN = "ghp_collectE2Etoken0123456789"


def track(url: str, names: list[str]) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with transaction(session_factory(engine)) as s:
        for name in names:
            save_tracked_name(s, parse_repo_name(name))
    engine.dispose()


def test_deleted_blocked_renamed_empty_and_too_large(tmp_path: Path, pg_url: str) -> None:
    # Tracked before GitHub deleted or blocked some of them, and under a name that has since changed twice.
    names = [
        "edge-org/deleted-repo",
        "edge-org/dmca-blocked",
        "edge-org/huge-history",
        "edge-org/empty-repo",
        "edge-first/original-name",
        "edge-org/html-description",
    ]
    track(pg_url, names)
    app = SimulatorApp(load_scenario("edge"))
    # The edge scenario's ids are "of the repositories' age", which follows the day the suite runs.
    renamed_id = next(r.github_id for r in app.scenario.repos if r.full_name == "edge-org/renamed-twice")
    with running_simulator(app) as base:
        env = {"GITHUB_API_URL": base, "GITHUB_TOKEN": TOKEN, "COLLECTOR_DATABASE_URL": pg_url}
        first = run_cli(tmp_path, env, "collect")
        second = run_cli(tmp_path, env, "collect")
        status = run_cli(tmp_path, {**env, "COLUMNS": "250"}, "status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert any("edge-org/deleted-repo (gone: not_found" in line for line in lines), status.stdout
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert any("edge-org/empty-repo" in line and today in line for line in lines)  # its last success
    assert any(line.split("│")[1:3] and "#1" in line and "core" in line for line in lines), status.stdout
    assert TOKEN not in status.stdout
    assert first.returncode == 1  # some failed: exit 1, the others stored
    errors = first.stderr.strip().splitlines()
    assert len(errors) == 2, first.stderr
    assert any("edge-org/deleted-repo" in e for e in errors) and any(
        "edge-org/dmca-blocked" in e for e in errors
    )
    assert "collected 4/6 repositories" in first.stdout
    assert second.returncode == 0  # gone repositories are no longer collected, and say so in status
    assert "collected 4/4 repositories" in second.stdout

    engine = make_engine(pg_url)
    with engine.connect() as conn:
        latest = {r.repo: r for r in conn.execute(text("SELECT * FROM repo_latest"))}
    with session_factory(engine)() as s:
        repos = {r.full_name: r for r in load_repos(s)}
        renamed = repos["edge-org/renamed-twice"]
        aliases = load_aliases(s, renamed.id)
    engine.dispose()
    assert renamed.github_id == renamed_id and aliases == ["edge-first/original-name"]
    assert latest["edge-org/renamed-twice"].stars == 120
    assert latest["edge-org/empty-repo"].stars == 0 and latest["edge-org/empty-repo"].commits_52w == 0
    assert latest["edge-org/huge-history"].contributors is None  # GitHub refuses to count them
    assert latest["edge-org/huge-history"].stars == 2000
    assert repos["edge-org/deleted-repo"].gone_reason and repos["edge-org/dmca-blocked"].gone_reason
    assert latest["edge-org/deleted-repo"].stars is None  # never observed, kept, marked gone
    assert TOKEN not in first.stdout + first.stderr + second.stdout + second.stderr


def test_token_exhausted_mid_pass_waits_for_the_reset_and_completes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    scenario = load_scenario("frameworks")
    track(url, [r.full_name for r in scenario.repos])
    # 14 repositories need 14 REST requests: a budget of 5 per 2-second window runs out twice.
    app = SimulatorApp(scenario, rate_limit=5, reset_seconds=2)
    with running_simulator(app) as base:
        env = {"GITHUB_API_URL": base, "GITHUB_TOKEN": TOKEN, "COLLECTOR_DATABASE_URL": url}
        out = run_cli(tmp_path, env, "collect")
    assert out.returncode == 0, out.stderr
    assert "collected 14/14 repositories" in out.stdout
    assert app.stats.while_exhausted == 0  # nothing was sent that would have been refused
    assert app.stats.count(status=403) == 0
    assert "budget is spent; sending nothing until" in out.stderr  # said so, with the time


STATS = "/repos/{owner}/{repo}/stats/commit_activity"


def _collect(url: str, app: SimulatorApp, *tokens: str) -> PassOutcome:
    """One pass over the simulator in process, with `tokens` (none: REST counters and /stats)."""
    settings = Settings(
        database_url=url,
        tokens=tuple(Token(t, i) for i, t in enumerate(tokens, start=1)),
        api_url="https://api.github.com",
    )
    engine = make_engine(url)

    async def collect() -> PassOutcome:
        client = GitHubClient(settings, ClientOptions(stats_wait=2.0), transport=SimulatorTransport(app))
        async with GitHubAPI(client) as gh:
            return await run_collect(session_factory(engine), gh, holder=Holder("test", 0, "x"))

    try:
        return asyncio.run(collect())
    finally:
        engine.dispose()


def _latest(url: str, column: str) -> dict[str, Any]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT repo, {column} FROM repo_latest")).all()  # noqa: S608
    engine.dispose()
    return {r[0]: r[1] for r in rows}


def test_commits_52w_come_with_the_counters_and_statistics_are_never_asked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    scenario = load_scenario("frameworks")
    track(url, [r.full_name for r in scenario.repos])
    # GitHub would keep computing /stats/commit_activity (202) longer than the client waits.
    app = SimulatorApp(scenario, stats_compute_requests=1_000)
    done = _collect(url, app, TOKEN)
    assert done.failed == [] and done.incomplete == []
    # A contributors request and a release listing per repository and one GraphQL query of one point.
    assert app.stats.count(template=STATS) == 0
    assert app.stats.total == 2 * len(scenario.repos) + 1 and app.stats.graphql_points == 1
    # The same 52 weeks as /stats/commit_activity: this week and the 51 before it, Sunday 00:00 UTC.
    since = stats_year_start(scenario.today)
    want = {r.full_name: sum(1 for c in r.commits if c.authored_at >= since) for r in scenario.repos}
    assert _latest(url, "commits_52w") == want
    assert any(want.values())
    # The weekly commit series is the backfill's: collect writes none.
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM history_weekly")).scalar() == 0
    engine.dispose()


def test_without_a_token_statistics_that_stay_202_leave_the_value_unknown_for_this_pass_only(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    names = ["keras-team/keras", "BVLC/caffe"]
    track(url, names)
    scenario = load_scenario("frameworks")
    # Without a token there is no GraphQL: the 52 weeks come from /stats/commit_activity, which GitHub
    # keeps computing (202) longer than the client waits.
    busy = SimulatorApp(scenario, stats_compute_requests=1_000)
    first = _collect(url, busy)
    assert first.failed == [] and sorted(r.full_name for r in first.incomplete) == sorted(names)
    assert busy.stats.count(template="/graphql") == 0
    assert _latest(url, "commits_52w") == dict.fromkeys(names)  # unknown, not 0
    assert all(stars > 0 for stars in _latest(url, "stars").values())  # the rest was stored
    # The next pass, with the statistics ready, fills it in.
    second = _collect(url, SimulatorApp(scenario, stats_compute_requests=0))
    assert second.failed == [] and second.incomplete == []
    since = stats_year_start(scenario.today)
    assert _latest(url, "commits_52w") == {
        r.full_name: sum(1 for c in r.commits if c.authored_at >= since)
        for r in scenario.repos
        if r.full_name in names
    }
