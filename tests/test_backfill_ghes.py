"""Star history on an older GitHub Enterprise Server without /stargazers/history: the stargazers listing
when the token may read it, else the series is marked unavailable with a reason, never silent zeros."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date

from sqlalchemy import select

from collector.domain import parse_repo_name
from collector.github.api import GitHubAPI
from collector.github.client import GitHubClient
from collector.jobs.backfill import backfill_repo
from collector.settings import load_settings
from collector.store.checkpoints import load_daily
from collector.store.engine import transaction
from collector.store.models import HistoryDaily, SeriesState
from collector.store.repos import save_repository
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import SimulatorTransport
from tests.conftest import Store

TOKEN = "ghes-collaborator-token"


def backfill_stars(store: Store, app: SimulatorApp, full_name: str) -> int:
    settings = load_settings({"GITHUB_API_URL": "http://ghes.test/api/v3", "GITHUB_TOKEN": TOKEN})

    async def main() -> int:
        async with GitHubAPI(GitHubClient(settings, transport=SimulatorTransport(app))) as gh:
            repo = await gh.fetch_repository(parse_repo_name(full_name))
            with transaction(store.sessions) as s:
                repo_id = save_repository(s, repo, tracked=True).id
            await backfill_repo(store.sessions, gh, repo_id, series=("stars",))
            return repo_id

    return asyncio.run(main())


def test_listing_replaces_the_missing_history_endpoint_for_a_collaborator(store: Store) -> None:
    scenario = load_scenario("edge")
    repo = next(r for r in scenario.repos if r.full_name == "edge-org/renamed-twice")
    app = SimulatorApp(scenario, ghes_legacy=True, collaborator_tokens=[TOKEN])
    repo_id = backfill_stars(store, app, repo.full_name)
    with store.sessions() as s:
        days = load_daily(s, repo_id, "stars", date(2000, 1, 1), date(2100, 1, 1))
        state = s.get(SeriesState, (repo_id, "stars"))
    expected = {d: n for d, n in repo.star_days.items() if n}
    assert days == expected and sum(days.values()) == repo.stars
    assert state is not None and state.status == "complete"
    assert app.stats.count(template="/repos/{owner}/{repo}/stargazers/history") >= 1  # it tried first


def test_without_access_the_series_is_unavailable_with_a_reason(store: Store) -> None:
    scenario = load_scenario("edge")
    app = SimulatorApp(scenario, ghes_legacy=True)  # the token is no collaborator
    repo_id = backfill_stars(store, app, "edge-org/renamed-twice")
    with store.sessions() as s:
        state = s.get(SeriesState, (repo_id, "stars"))
        rows = s.scalars(select(HistoryDaily).where(HistoryDaily.repo_id == repo_id)).all()
    assert state is not None and state.status == "unavailable"
    assert (
        state.detail and "star history unavailable" in state.detail and "/stargazers/history" in state.detail
    )
    assert rows == []  # no zeros pretending to be history


def test_ghes_without_rate_limit_headers_and_a_400_for_the_new_api_version(store: Store) -> None:
    """GHES as installed: rate limiting off (no x-ratelimit-* headers at all) and no 2026-03-10 API
    version, so /stargazers/history is answered 400, then 404 in the default version: the backfill falls
    back to the stargazers listing, and nothing ever waits for a budget."""
    scenario = load_scenario("edge")
    repo = next(r for r in scenario.repos if r.full_name == "edge-org/renamed-twice")
    app = SimulatorApp(scenario, ghes_legacy=True, collaborator_tokens=[TOKEN], rate_limit_headers=False)
    assert app.api_versions == ("2022-11-28",)
    settings = load_settings({"GITHUB_API_URL": "http://ghes.test/api/v3", "GITHUB_TOKEN": TOKEN})
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def main() -> tuple[int, dict[str, str]]:
        async with GitHubAPI(GitHubClient(settings, transport=SimulatorTransport(app), sleep=sleep)) as gh:
            found = await gh.fetch_repository(parse_repo_name(repo.full_name))
            with transaction(store.sessions) as s:
                repo_id = save_repository(s, found, tracked=True).id
            result = await backfill_repo(store.sessions, gh, repo_id)
            return repo_id, result.series

    repo_id, series = asyncio.run(main())
    assert series == dict.fromkeys(("stars", "forks", "commits", "contributors"), "complete")
    with store.sessions() as s:
        days = load_daily(s, repo_id, "stars", date(2000, 1, 1), date(2100, 1, 1))
    assert sum(days.values()) == repo.stars
    history = Counter(
        s for (_, t, s), n in app.stats.requests.items() for _ in range(n) if t.endswith("/history")
    )
    assert history[400] == 1 and history[404] >= 1  # asked once in 2026-03-10, then in the default version
    assert slept == []  # no budget was ever waited for
