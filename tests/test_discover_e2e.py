"""Rule groups end to end: `collector repos add --topic/--org/--user`, the config's [groups.NAME] rules and
`collector discover`, against the simulator over HTTP, into PostgreSQL.

The expected members come from the scenario's own repositories (topics, stars, forks, archived), never
from the client: catalog-10000 has 2,500 repositories with the topic, more than one search can reach.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from collector.domain import utc_now
from collector.testing.catalog_repos import CATALOG_TOPIC, build_catalog
from collector.testing.model import Scenario, SimRepo
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from collector.testing.views import standing_stars
from tests.conftest import UNPACED_CLIENT, run_cli

pytestmark = pytest.mark.postgres
N = 10_000
FIXED = "catalog-org-001/fixed-one"  # a fixed member on top of the rule
MIN_STARS = 5  # low enough that more than 1,000 repositories with the topic pass it


def catalog() -> Scenario:
    """A fresh catalog-10000 (not the cached one: tests change it)."""
    today = utc_now().date()
    repos, accounts = build_catalog(N, today, 1)
    return Scenario(name=f"catalog-{N}", repos=repos, today=today, accounts=accounts)


def stars(repo: SimRepo, today: date) -> int:
    return sum(standing_stars(repo.star_days, today, None).values())


def expected(scenario: Scenario, topic: str, min_stars: int) -> set[str]:
    """What GitHub would say: the topic's repositories with enough stars, no forks, archived kept."""
    return {
        r.full_name
        for r in scenario.repos
        if topic in r.topics and r.fork_parent is None and r.status == "ok"
        if stars(r, scenario.today) >= min_stars
    }


def members(url: str, group: str, current: bool = True) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT repo, left_on FROM group_membership WHERE group_name = :g"), {"g": group}
            )
            return {r[0] for r in rows if r[1] is None or not current}
    finally:
        engine.dispose()


@pytest.fixture
def world(tmp_path: Path, pg_url: str) -> Iterator[tuple[Path, dict[str, str], Scenario, SimulatorApp]]:
    scenario = catalog()
    # Search limited as GitHub does (30 a minute), but in 5-second windows so the test does not wait.
    app = SimulatorApp(scenario, points_per_minute=100_000, search_reset_seconds=5.0)
    (tmp_path / "collector.toml").write_text(UNPACED_CLIENT + "search_requests_per_minute = 0\n")
    with running_simulator(app) as base:
        env = {"GITHUB_API_URL": base, "GITHUB_TOKEN": "sim-token", "COLLECTOR_DATABASE_URL": pg_url}
        assert run_cli(tmp_path, env, "db", "upgrade").returncode == 0
        yield tmp_path, env, scenario, app


def test_a_topic_of_more_than_a_thousand_repositories_is_found_whole(
    world: tuple[Path, dict[str, str], Scenario, SimulatorApp],
) -> None:
    cwd, env, scenario, _ = world
    want = expected(scenario, CATALOG_TOPIC, MIN_STARS)
    assert len(want) > 1000  # what makes the slicing necessary
    out = run_cli(
        cwd, env, "repos", "add", "--topic", CATALOG_TOPIC, "--min-stars", str(MIN_STARS), "--group", "dl"
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"found {len(want):,} repositories" in out.stdout
    assert members(env["COLLECTOR_DATABASE_URL"], "dl") == want
    # The search budget (30 in 5 s here) ran out on the way: the client waited for it instead of failing.
    assert "error" not in out.stderr


def test_ties_in_a_fresh_order_on_each_request_lose_nobody_and_mark_nobody_as_left(
    world: tuple[Path, dict[str, str], Scenario, SimulatorApp],
) -> None:
    cwd, env, scenario, _ = world
    want = expected(scenario, CATALOG_TOPIC, 10)
    # What GitHub may do and the simulator does: following the pages, one repository comes twice (and so
    # another never) because equal star counts are ordered afresh on each request.
    q = {"q": f"topic:{CATALOG_TOPIC} stars:10..300", "sort": "stars", "order": "desc", "per_page": 100}
    with httpx.Client(base_url=env["GITHUB_API_URL"], headers={"Authorization": "Bearer sim-token"}) as gh:
        shown = [
            i["id"]
            for p in range(1, 11)
            for i in gh.get("/search/repositories", params={**q, "page": p}).json()["items"]
        ]
    assert len(set(shown)) < len(shown)

    out = run_cli(cwd, env, "repos", "add", "--topic", CATALOG_TOPIC, "--min-stars", "10", "--group", "ties")
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"found {len(want):,} repositories" in out.stdout and "partial" not in out.stdout
    url = env["COLLECTOR_DATABASE_URL"]
    assert members(url, "ties") == want
    for _ in range(2):  # GitHub unchanged: the same members, nobody marked as left
        again = run_cli(cwd, env, "discover", "ties")
        assert again.returncode == 0, again.stderr[-2000:]
        assert f"{len(want):,} members, 0 joined, 0 left" in again.stdout and "partial" not in again.stdout
    assert members(url, "ties", current=False) == want


def test_discover_marks_those_that_left_and_adds_newcomers(
    world: tuple[Path, dict[str, str], Scenario, SimulatorApp],
) -> None:
    cwd, env, scenario, app = world
    users = [a.login for a in scenario.accounts if a.kind == "User"]
    user = next(u for u in users if sum(r.owner == u and r.fork_parent is None for r in scenario.repos) > 1)
    config = cwd / "collector.toml"
    config.write_text(
        config.read_text()
        + f'\n[groups.dl]\ntopic = "{CATALOG_TOPIC}"\nmin_stars = 2000\nrepos = ["{FIXED}"]\n'
        + f'\n[groups.user-as-org]\norg = "{user}"\n'
    )
    first = run_cli(cwd, env, "discover")
    assert first.returncode == 0, first.stderr[-2000:]
    url = env["COLLECTOR_DATABASE_URL"]
    want = expected(scenario, CATALOG_TOPIC, 2000)
    assert members(url, "dl") == want | {FIXED}

    # A user account given as an organisation is listed as a user, with a note saying which key to use.
    owned = {r.full_name for r in scenario.repos if r.owner == user and r.fork_parent is None}
    assert members(url, "user-as-org") == owned
    assert "is a user account, not an organisation" in first.stderr and "user = " in first.stderr

    # GitHub changes: one member loses the topic, another repository gains it.
    leaver = next(r for r in scenario.repos if r.full_name in want)
    newcomer = next(
        r
        for r in scenario.repos
        if CATALOG_TOPIC not in r.topics and r.fork_parent is None and stars(r, scenario.today) >= 2000
    )
    app.rest.set_topics(leaver.full_name, tuple(t for t in leaver.topics if t != CATALOG_TOPIC))
    app.rest.set_topics(newcomer.full_name, (*newcomer.topics, CATALOG_TOPIC))
    second = run_cli(cwd, env, "discover", "dl")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "1 joined, 1 left" in second.stdout
    assert members(url, "dl") == (want - {leaver.full_name}) | {
        newcomer.full_name,
        "catalog-org-001/fixed-one",
    }
    assert leaver.full_name in members(url, "dl", current=False)  # kept, with the day it left


def test_a_partial_search_answer_marks_nobody_as_gone(tmp_path: Path, pg_url: str) -> None:
    scenario = catalog()
    (tmp_path / "collector.toml").write_text(
        UNPACED_CLIENT + "search_requests_per_minute = 0\n" + f'\n[groups.dl]\ntopic = "{CATALOG_TOPIC}"\n'
        "min_stars = 2000\n"
    )
    env = {"GITHUB_TOKEN": "sim-token", "COLLECTOR_DATABASE_URL": pg_url}
    assert run_cli(tmp_path, env, "db", "upgrade").returncode == 0
    with running_simulator(SimulatorApp(scenario, points_per_minute=100_000, search_limit=1000)) as base:
        assert run_cli(tmp_path, {**env, "GITHUB_API_URL": base}, "discover").returncode == 0
    before = members(pg_url, "dl")
    partial = SimulatorApp(scenario, points_per_minute=100_000, search_limit=1000, search_incomplete_rate=1.0)
    with running_simulator(partial) as base:
        out = run_cli(tmp_path, {**env, "GITHUB_API_URL": base}, "discover")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "incomplete results" in out.stderr and "nobody marked as left" in out.stdout
    assert members(pg_url, "dl") == before


def test_bad_rules_get_one_line_each(world: tuple[Path, dict[str, str], Scenario, SimulatorApp]) -> None:
    cwd, env, _, _ = world
    cases = [
        (("repos", "add", "--topic", "Deep Learning"), "is not a GitHub topic"),
        (("repos", "add", "--topic", "x", "--org", "y"), "one of --topic, --org, --user or --search"),
        (("repos", "add", "--org", "no-such-login-here"), "no GitHub"),
        (("repos", "add", "--group", "g", "a/b"), "go with a rule"),
        (("discover",), "no rule groups to discover"),
    ]
    for args, fragment in cases:
        out = run_cli(cwd, env, *args)
        assert out.returncode != 0, args
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert any(fragment in line for line in lines), (args, out.stderr)
        assert "Traceback" not in out.stderr
