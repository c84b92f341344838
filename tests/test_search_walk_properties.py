"""The search walk against an in-memory search that keeps only GitHub's promises, whatever Hypothesis picks.

The model answers `GET /search/repositories` for `topic:`, `archived:`, `stars:` and `created:` queries
sorted by stars: `total_count` counts every match, at most 1,000 results per query (422 past them), and
nothing else is promised. Each request orders equal star counts afresh, and a page may start up to
`overlap` places early (showing the end of the previous page again, so something else is never shown).
Whatever the world and the disorder, the walk finds the exact member set or says its answer is
incomplete (so nobody is marked as gone), and it never asks more than its cap.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.domain import make_group_rule
from collector.github.api import GitHubAPI
from collector.github.client import GitHubClient
from collector.github.discovery import fetch_rule_members
from collector.github.found import Discovery
from collector.github.pacing import MinutePacer
from collector.github.search_walk import GITHUB_FIRST_DAY, SEARCH_CAP
from collector.settings import Settings, Token

TODAY = date(2026, 12, 1)
TOPIC = "walked"


@dataclass(frozen=True)
class Repo:
    github_id: int
    stars: int
    created: date
    topic: bool = True


@dataclass
class SearchModel:
    """GitHub's repository search with only its promises, and the disorder Hypothesis chose."""

    repos: list[Repo]
    seed: int
    overlap: int  # a page may start this many places early
    requests: int = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        params = {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}
        per_page, page = int(params["per_page"]), int(params["page"])
        if (page - 1) * per_page >= SEARCH_CAP:
            return httpx.Response(422, json={"message": "Only the first 1000 search results are available"})
        rng = random.Random(f"{self.seed}/{self.requests}")
        found = [r for r in self.repos if self._matches(r, params["q"])]
        ties = {r.github_id: rng.random() for r in found}
        ordered = sorted(found, key=lambda r: (-r.stars, ties[r.github_id]))[:SEARCH_CAP]
        start = max(0, (page - 1) * per_page - rng.randint(0, self.overlap))
        shown = ordered[start : start + per_page] if page > 1 else ordered[:per_page]
        body = {"total_count": len(found), "incomplete_results": False, "items": [_item(r) for r in shown]}
        return httpx.Response(200, json=body)

    @staticmethod
    def _matches(repo: Repo, q: str) -> bool:
        for part in q.split():
            key, _, value = part.partition(":")
            if key == "topic" and not repo.topic:
                return False
            if key == "stars" and not _within(repo.stars, value, int):
                return False
            if key == "created" and not _within(repo.created, value, date.fromisoformat):
                return False
        return True


def _within(value: int | date, text: str, parse: Callable[[str], int | date]) -> bool:
    """`>=low` or `low..high` (the only forms the walk writes)."""
    if text.startswith(">="):
        return bool(value >= parse(text[2:]))  # type: ignore[operator]
    low, _, high = text.partition("..")
    return bool(parse(low) <= value <= parse(high))  # type: ignore[operator]


def _item(r: Repo) -> dict[str, object]:
    created = datetime.combine(r.created, datetime.min.time(), UTC) + timedelta(hours=12)
    return {
        "id": r.github_id,
        "full_name": f"owner/repo-{r.github_id}",
        "stargazers_count": r.stars,
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "fork": False,
        "archived": False,
    }


@st.composite
def worlds(draw: st.DrawFn) -> list[Repo]:
    """Up to 2,600 repositories on few star counts and few creation days, so ties are everywhere."""
    size = draw(st.sampled_from([2600, 1100, 300, 30, 1]))
    counts = draw(st.integers(1, 60))
    days = draw(st.integers(1, 400))
    rng = random.Random(draw(st.integers(0, 2**32)))
    first = TODAY - timedelta(days=days)
    return [
        Repo(
            1000 + i,
            int(rng.paretovariate(1.2)) * (1 + i % counts),
            first + timedelta(days=rng.randrange(days + 1)),
            topic=rng.random() < 0.9,
        )
        for i in range(size)
    ]


def walk(model: SearchModel, min_stars: int, max_requests: int) -> Discovery:
    settings_ = Settings(
        database_url="sqlite://",
        tokens=(Token("t", 1),),
        api_url="https://api.github.test",
        graphql_url="https://api.github.test/graphql",
    )
    client = GitHubClient(
        settings_, transport=httpx.MockTransport(model.handle), pacer=MinutePacer(rest=0, graphql=0, search=0)
    )
    rule = make_group_rule("topic", TOPIC, min_stars)

    async def go() -> Discovery:
        async with GitHubAPI(client) as api:
            return await fetch_rule_members(api, rule, TODAY, max_requests=max_requests)

    return asyncio.run(go())


@settings(max_examples=50, deadline=None)
@given(
    repos=worlds(),
    seed=st.integers(0, 2**16),
    overlap=st.sampled_from([40, 3, 0]),
    min_stars=st.sampled_from([0, 1, 5, 30]),
    max_requests=st.sampled_from([2000, 60, 5]),
)
def test_the_walk_finds_every_member_or_says_it_did_not(
    repos: list[Repo], seed: int, overlap: int, min_stars: int, max_requests: int
) -> None:
    model = SearchModel(repos, seed, overlap)
    found = walk(model, min_stars, max_requests)
    members = {r.github_id for r in repos if r.topic and r.stars >= min_stars}
    assert set(found.found) <= members  # never a repository that does not match
    if found.complete:
        assert set(found.found) == members  # a complete answer is exact: nobody is falsely gone
    else:
        assert found.notes  # and an incomplete one says why
    assert found.requests == model.requests <= max_requests
    if max_requests == 2000 and overlap == 0:
        assert found.complete or any("created on" in n or "times" in n for n in found.notes)


def test_a_walk_that_reaches_its_cap_says_so() -> None:
    repos = [Repo(1000 + i, i % 7, GITHUB_FIRST_DAY + timedelta(days=i % 30)) for i in range(2500)]
    found = walk(SearchModel(repos, seed=1, overlap=0), 0, 12)
    assert not found.complete and found.requests == 12
    assert any("the most one rule may use (12)" in note for note in found.notes)


def test_a_thousand_repositories_at_one_star_count_are_split_by_creation_day() -> None:
    day = TODAY - timedelta(days=900)
    repos = [Repo(1000 + i, 7, day + timedelta(days=i % 300)) for i in range(1500)]
    repos += [Repo(5000 + i, 100 + i, day) for i in range(400)]
    found = walk(SearchModel(repos, seed=3, overlap=0), 0, 2000)
    assert found.complete, found.notes
    assert set(found.found) == {r.github_id for r in repos}


def test_more_than_a_thousand_at_one_star_count_on_one_day_is_an_incomplete_answer() -> None:
    repos = [Repo(1000 + i, 7, TODAY - timedelta(days=10)) for i in range(3000)]
    found = walk(SearchModel(repos, seed=3, overlap=0), 0, 2000)
    assert not found.complete and 1000 <= len(found.found) < 3000
    note = f"{len(found.found)} of 3000 repositories matching 'topic:walked' stars:7..7 created:"
    why = "seen after asking 4 times (GitHub gives 1000 per query)"
    assert any(note in n and why in n for n in found.notes)
