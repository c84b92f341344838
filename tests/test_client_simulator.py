"""The client against the GitHub simulator: in process (SimulatorTransport) and over loopback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import date, timedelta
from functools import cache
from typing import Any, TypeVar

import pytest

from collector.domain import RepoName, parse_repo_name
from collector.github.api import GitHubAPI, stats_year_start
from collector.github.cache import MemoryCache
from collector.github.client import GitHubClient
from collector.github.errors import BadCredentials, Blocked, NotFound, TooLarge
from collector.github.options import ClientOptions
from collector.github.types import RepoCounters
from collector.jobs.commit_history import compute_weekly_commits
from collector.settings import Settings, Token
from collector.testing.model import Scenario
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import SimulatorTransport, running_simulator

T = TypeVar("T")
TODAY = date(2026, 11, 20)
BASE = "https://sim.example.test"
KERAS = parse_repo_name("keras-team/keras")


@cache
def scenario(name: str) -> Scenario:
    return load_scenario(name, today=TODAY)


def sim_settings(*tokens: str, base: str = BASE) -> Settings:
    return Settings(
        tokens=tuple(Token(t, i) for i, t in enumerate(tokens, start=1)),
        api_url=base,
        graphql_url=base + "/graphql",
    )


class Clock:
    """Shared by the simulator and the client, so resets and waits are instant but consistent."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def run_sim(
    app: SimulatorApp,
    body: Callable[[GitHubAPI], Coroutine[Any, Any, T]],
    *tokens: str,
    clock: Clock | None = None,
    options: ClientOptions | None = None,
    **kw: Any,
) -> tuple[T, GitHubAPI]:
    """Run `body(gh)` on the API over a client talking to `app` in process (`kw`: the client's)."""
    fake = clock or Clock()

    async def main() -> tuple[T, GitHubAPI]:
        client = GitHubClient(
            sim_settings(*tokens),
            options,
            transport=SimulatorTransport(app),
            sleep=fake.sleep,
            clock=fake,
            **kw,
        )
        async with GitHubAPI(client) as gh:
            return await body(gh), gh

    return asyncio.run(main())


def frameworks_app(**kw: Any) -> SimulatorApp:
    return SimulatorApp(scenario("frameworks"), **kw)


def test_counters_for_the_14_frameworks_in_one_query_of_one_point() -> None:
    app = frameworks_app()
    names = [parse_repo_name(r.full_name) for r in scenario("frameworks").repos]
    result, gh = run_sim(app, lambda gh: gh.fetch_repo_counters(names, today=TODAY), "tok")
    assert len(names) == 14 and gh.stats.graphql_queries == 1 and gh.stats.graphql_points == 1
    assert app.stats.graphql_points == 1
    since = stats_year_start(TODAY)
    for repo in scenario("frameworks").repos:
        counters = result[repo.full_name.lower()]
        assert isinstance(counters, RepoCounters)
        assert (counters.repo.github_id, counters.stars, counters.forks) == (
            repo.github_id,
            repo.stars,
            len(repo.forks),
        )
        assert counters.repo.archived == repo.archived
        assert counters.commits_52w == sum(1 for c in repo.commits if c.authored_at >= since)


def test_former_names_resolve_to_the_current_name_and_id() -> None:
    app = frameworks_app()
    keras = next(r for r in scenario("frameworks").repos if r.full_name == "keras-team/keras")

    async def both(gh: GitHubAPI) -> tuple[Any, Any]:
        rest = await gh.fetch_repository(parse_repo_name("fchollet/keras"))
        counters = await gh.fetch_repo_counters([parse_repo_name("fchollet/keras")])
        return rest, counters["fchollet/keras"]

    (rest, counters), gh = run_sim(app, both, "tok")
    assert (rest.full_name, rest.github_id) == ("keras-team/keras", keras.github_id)
    assert isinstance(counters, RepoCounters) and counters.repo.full_name == "keras-team/keras"
    assert gh.stats.requests["GET /repos/{owner}/{repo} 301"] == 1


def test_all_views_of_one_repository_agree() -> None:
    app = frameworks_app()
    repo = next(r for r in scenario("frameworks").repos if r.full_name == "keras-team/keras")

    async def views(gh: GitHubAPI) -> dict[str, Any]:
        stars = 0
        async for page in gh.fetch_star_history(KERAS):
            stars += sum(w.total for w in page.weeks)
        forks = 0
        async for fork_page in gh.fetch_forks(KERAS):
            forks += len(fork_page.forks)
        activity = await gh.fetch_commit_activity(KERAS)
        counters = (await gh.fetch_repo_counters([KERAS], today=TODAY))[KERAS.key]
        assert isinstance(counters, RepoCounters)
        # The walk's weeks, counted as the backfill counts them, for /stats' 52 weeks.
        first, last = activity[0].week_start, activity[-1].week_start
        weekly: dict[date, int] = {}
        async for page in gh.fetch_commits(KERAS, since=stats_year_start(TODAY)):
            for week, n in compute_weekly_commits(page.commits, first, last).items():
                weekly[week] = weekly.get(week, 0) + n
        return {
            "stars": stars,
            "forks": forks,
            "contributors": await gh.fetch_contributor_count(KERAS),
            "activity": {w.week_start: w.total for w in activity if w.total},
            "weekly": weekly,
            "commits_52w": counters.commits_52w,
        }

    got, gh = run_sim(app, views, "tok")
    # GitHub's anon=1 count: only the first 500 author emails (by first commit) link to their users;
    # every later email counts on its own, even when it belongs to a user.
    first_emails = list(
        dict.fromkeys(c.author_email.lower() for c in sorted(repo.commits, key=lambda c: c.authored_at))
    )
    linked = set(first_emails[:500])
    identities = {
        f"u:{c.author_user_id}"
        if c.author_user_id and c.author_email.lower() in linked
        else c.author_email.lower()
        for c in repo.commits
    }
    assert len(first_emails) > 500  # keras really has more emails than GitHub links
    assert got["stars"] == repo.stars
    assert got["forks"] == len(repo.forks)
    assert got["contributors"] == len(identities)
    assert got["weekly"] == got["activity"] and len(got["activity"]) > 8
    assert got["commits_52w"] == sum(got["activity"].values())
    assert gh.stats.requests["GET /repos/{owner}/{repo}/stats/commit_activity 202"] == 1  # then retried


def test_commit_walk_since_a_date_matches_the_scenario() -> None:
    app = frameworks_app()
    repo = next(r for r in scenario("frameworks").repos if r.full_name == "keras-team/keras")
    since = max(c.authored_at for c in repo.commits) - timedelta(days=120)

    async def walk(gh: GitHubAPI) -> list[Any]:
        return [c async for page in gh.fetch_commits(KERAS, since=since) for c in page.commits]

    commits, _ = run_sim(app, walk, "tok")
    expected = sorted(c.sha for c in repo.commits if c.authored_at >= since)
    assert sorted(c.oid for c in commits) == expected and len(expected) > 0
    assert all(c.identity.startswith(("u:", "e:")) for c in commits)


def test_conditional_requests_get_304s_that_cost_no_budget() -> None:
    app = frameworks_app()

    async def twice(gh: GitHubAPI) -> None:
        for _ in range(2):
            await gh.fetch_contributor_count(KERAS)
            await gh.fetch_repository(KERAS)

    _, gh = run_sim(app, twice, "tok", cache=MemoryCache())
    assert gh.stats.not_modified == 2 == app.stats.not_modified
    assert gh.stats.rest_charged == 2


def test_exhausted_tokens_wait_for_the_reset_and_send_nothing_meanwhile(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    app = frameworks_app(rate_limit=15, reset_seconds=600, clock=clock)
    names = [parse_repo_name(r.full_name) for r in scenario("frameworks").repos]

    async def many(gh: GitHubAPI) -> list[int]:
        return [await gh.fetch_contributor_count(n) for _ in range(3) for n in names]

    with caplog.at_level(logging.WARNING, logger="collector.github"):
        counts, gh = run_sim(app, many, "a", "b", clock=clock, options=ClientOptions(reserve=50))
    assert len(counts) == 42
    assert app.stats.while_exhausted == 0
    assert gh.stats.waited_seconds > 0
    assert "sending nothing until" in caplog.text


def test_revoked_token_is_dropped_and_the_other_used() -> None:
    app = frameworks_app(revoked=["bad"])
    repo, gh = run_sim(app, lambda gh: gh.fetch_repository(KERAS), "bad", "good")
    assert repo.full_name == "keras-team/keras"
    assert gh.client.pool.states[0].dead and not gh.client.pool.states[1].dead
    with pytest.raises(BadCredentials, match="#1"):
        run_sim(frameworks_app(revoked=["bad"]), lambda gh: gh.fetch_repository(KERAS), "bad")


def test_edge_repositories_translate_to_their_errors() -> None:
    app = SimulatorApp(scenario("edge"))

    async def probe(gh: GitHubAPI) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, call in [
            ("deleted", lambda: gh.fetch_repository(parse_repo_name("edge-org/deleted-repo"))),
            ("blocked", lambda: gh.fetch_repository(parse_repo_name("edge-org/dmca-blocked"))),
            ("huge", lambda: gh.fetch_contributor_count(parse_repo_name("edge-org/huge-history"))),
            ("empty", lambda: gh.fetch_commit_activity(parse_repo_name("edge-org/empty-repo"))),
        ]:
            try:
                out[name] = await call()
            except Exception as exc:  # collected for the assertions below
                out[name] = exc
        return out

    got, _ = run_sim(app, probe, "tok", options=ClientOptions(stats_wait=3.0))
    assert isinstance(got["deleted"], NotFound)
    assert isinstance(got["blocked"], Blocked)
    assert isinstance(got["huge"], TooLarge)
    assert got["empty"] == []


def test_without_a_token_counters_come_from_rest() -> None:
    app = frameworks_app()
    names = [KERAS, parse_repo_name("tensorflow/tensorflow")]
    result, gh = run_sim(app, lambda gh: gh.fetch_repo_counters(names))
    assert all(isinstance(v, RepoCounters) for v in result.values())
    assert app.stats.count(template="/graphql") == 0 and gh.stats.rest_charged == 2


def test_end_to_end_over_loopback() -> None:
    app = frameworks_app()
    with running_simulator(app) as base:
        names: list[RepoName] = [KERAS, parse_repo_name("tensorflow/tensorflow"), parse_repo_name("no/such")]

        async def main() -> dict[str, Any]:
            async with GitHubAPI(GitHubClient(sim_settings("tok", base=base))) as gh:
                counters = await gh.fetch_repo_counters(names)
                async for page in gh.fetch_commits(KERAS, since=stats_year_start(TODAY)):
                    assert page.commits
                    break
                return counters

        result = asyncio.run(main())
    assert isinstance(result["keras-team/keras"], RepoCounters)
    assert isinstance(result["no/such"], NotFound)
    assert app.stats.authorization_headers and all(h == "Bearer tok" for h in app.stats.authorization_headers)
