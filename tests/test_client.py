"""The client's transport policy, against httpx.MockTransport handlers (plain functions, no network)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import httpx
import pytest

from collector.domain import parse_repo_name
from collector.github.api import GitHubAPI
from collector.github.cache import MemoryCache
from collector.github.client import GitHubClient
from collector.github.errors import (
    BadCredentials,
    Blocked,
    Forbidden,
    GitHubError,
    MalformedResponse,
    NotFound,
    NotReady,
    OffHostRedirect,
    RateLimited,
    ServerError,
    TooLarge,
    Unreachable,
)
from collector.github.options import ClientOptions
from collector.github.responses import endpoint_template
from collector.settings import Settings, Token

API = "https://api.example.test"
T = TypeVar("T")
NAME = parse_repo_name("octo/hello")
START = 1_800_000_000.0


def settings(*tokens: str, api: str = API) -> Settings:
    return Settings(
        tokens=tuple(Token(t, i) for i, t in enumerate(tokens, start=1)),
        api_url=api,
        graphql_url=api + "/graphql",
    )


@dataclass
class FakeTime:
    """A clock and a sleep that advances it, so waits cost nothing and can be asserted."""

    now: float = START
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def limits(
    remaining: int, *, limit: int = 5000, reset: float = START + 3600, resource: str = "core"
) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(int(reset)),
        "x-ratelimit-resource": resource,
    }


def repo_body(full_name: str = "octo/hello", github_id: int = 7) -> dict[str, Any]:
    return {
        "id": github_id,
        "node_id": "R_7",
        "full_name": full_name,
        "created_at": "2015-03-01T12:00:00Z",
        "archived": False,
        "language": "Python",
        "description": "hi",
        "default_branch": "main",
        "stargazers_count": 10,
        "watchers_count": 10,
        "subscribers_count": 3,
        "forks_count": 4,
        "open_issues_count": 2,
        "pushed_at": "2024-01-01T00:00:00Z",
    }


Handler = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


def run(
    handler: Handler,
    body: Callable[[GitHubAPI], Coroutine[Any, Any, T]],
    *tokens: str,
    time: FakeTime | None = None,
    options: ClientOptions | None = None,
    **kw: Any,
) -> tuple[T, GitHubAPI]:
    """Run `body(gh)` on the API over a client whose transport is `handler` (`kw`: the client's)."""
    fake = time or FakeTime()

    async def main() -> tuple[T, GitHubAPI]:
        client = GitHubClient(
            settings(*tokens),
            replace(options or ClientOptions(), seed=1),
            transport=httpx.MockTransport(handler),
            sleep=fake.sleep,
            clock=fake.clock,
            **kw,
        )
        async with GitHubAPI(client) as gh:
            return await body(gh), gh

    return asyncio.run(main())


def auth_of(request: httpx.Request) -> str | None:
    value: str | None = request.headers.get("authorization")
    return value


# -- headers ---------------------------------------------------------------------------------------


def test_headers_name_the_client_and_carry_the_token_only_as_bearer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=repo_body(), headers=limits(4000))

    repo, _ = run(handler, lambda gh: gh.fetch_repository(NAME), "sekrit-1")
    assert repo.full_name == "octo/hello" and repo.github_id == 7
    (request,) = seen
    assert request.headers["authorization"] == "Bearer sekrit-1"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["user-agent"].startswith("collector/")
    assert request.headers["x-github-api-version"] == "2022-11-28"


def test_star_history_sends_its_own_api_version() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"week": 1704585600, "total": 3, "days": [0, 1, 0, 2, 0, 0, 0]}])

    async def body(gh: GitHubAPI) -> list[Any]:
        return [page async for page in gh.fetch_star_history(NAME)]

    pages, _ = run(handler, body, "t")
    assert seen[0].headers["x-github-api-version"] == "2026-03-10"
    assert seen[0].url.params["per_page"] == "30"
    assert pages[0].weeks[0].total == 3 and pages[0].next_url is None


def test_without_a_token_no_authorization_is_sent_and_graphql_says_a_token_is_needed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=repo_body(), headers=limits(59, limit=60))

    async def body(gh: GitHubAPI) -> Any:
        await gh.fetch_repository(NAME)
        return await gh.client.graphql("query { viewer { login } }")

    with pytest.raises(GitHubError, match="needs a token: set GITHUB_TOKEN"):
        run(handler, body)
    assert len(seen) == 1 and auth_of(seen[0]) is None


# -- tokens and budgets ----------------------------------------------------------------------------


def test_the_token_with_most_budget_left_is_used() -> None:
    budgets = {"Bearer one": 300, "Bearer two": 4000}
    used: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        auth = auth_of(request) or ""
        used.append(auth)
        budgets[auth] -= 1
        return httpx.Response(200, json=repo_body(), headers=limits(budgets[auth]))

    async def body(gh: GitHubAPI) -> None:
        for _ in range(5):
            await gh.fetch_repository(NAME)

    run(handler, body, "one", "two")
    # The first request learns token one's small budget; every later one goes to token two.
    assert used == ["Bearer one"] + ["Bearer two"] * 4


def test_reserve_is_kept_and_exhaustion_waits_for_the_earliest_reset_sending_nothing_meanwhile(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeTime()
    resets = {"Bearer one": START + 500, "Bearer two": START + 200}
    remaining = {"Bearer one": 52, "Bearer two": 51}
    sent: list[tuple[float, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        auth = auth_of(request) or ""
        sent.append((fake.now, auth))
        if fake.now >= resets[auth]:
            remaining[auth], resets[auth] = 5000, resets[auth] + 3600
        remaining[auth] -= 1
        return httpx.Response(200, json=repo_body(), headers=limits(remaining[auth], reset=resets[auth]))

    async def body(gh: GitHubAPI) -> None:
        for _ in range(4):
            await gh.fetch_repository(NAME)

    with caplog.at_level(logging.WARNING, logger="collector.github"):
        run(handler, body, "one", "two", time=fake, options=ClientOptions(reserve=50))
    before_reset = [t for t, _ in sent if t < START + 200]
    # One request per token uses the headroom above the reserve (52-1, 51-1 -> 51, 50 left); then both sit
    # at their reserve, so nothing is sent until token two's reset.
    assert len(before_reset) == 3
    assert sent[-1] == (START + 201, "Bearer two")
    assert fake.sleeps == [201.0]
    waits = [r for r in caplog.records if "sending nothing until" in r.getMessage()]
    assert len(waits) == 1 and "UTC" in waits[0].getMessage()


def test_403_with_remaining_zero_is_a_primary_limit_waited_out_until_reset() -> None:
    fake = FakeTime()
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(fake.now)
        if len(calls) == 1:
            return httpx.Response(
                403, json={"message": "API rate limit exceeded"}, headers=limits(0, reset=START + 120)
            )
        return httpx.Response(200, json=repo_body(), headers=limits(4999))

    repo, gh = run(handler, lambda gh: gh.fetch_repository(NAME), "t", time=fake)
    assert repo.github_id == 7
    assert calls == [START, START + 121]
    assert gh.stats.waited_seconds == 121


def test_graphql_rate_limited_waits_for_the_reset() -> None:
    fake = FakeTime()
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(fake.now)
        if len(calls) == 1:
            return httpx.Response(
                200,
                json={"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]},
                headers=limits(0, reset=START + 30, resource="graphql"),
            )
        data = {"viewer": {"login": "me"}, "rateLimit": {"cost": 1, "remaining": 4999, "resetAt": "x"}}
        return httpx.Response(200, json={"data": data}, headers=limits(4999, resource="graphql"))

    answer, gh = run(handler, lambda gh: gh.client.graphql("query { viewer { login } }"), "t", time=fake)
    assert answer.data["viewer"] == {"login": "me"}
    assert calls == [START, START + 31]
    assert gh.stats.graphql_points == 1


def test_a_401_stops_that_token_and_names_only_its_position(caplog: pytest.LogCaptureFixture) -> None:
    used: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        used.append(auth_of(request))
        if auth_of(request) == "Bearer revoked-value":
            return httpx.Response(401, json={"message": "Bad credentials"})
        return httpx.Response(200, json=repo_body(), headers=limits(4000))

    async def body(gh: GitHubAPI) -> None:
        for _ in range(3):
            await gh.fetch_repository(NAME)

    with caplog.at_level(logging.ERROR, logger="collector.github"):
        run(handler, body, "revoked-value", "good-value")
    assert used == ["Bearer revoked-value"] + ["Bearer good-value"] * 3
    assert "GITHUB_TOKEN #1" in caplog.text and "revoked-value" not in caplog.text

    with pytest.raises(BadCredentials) as info:
        run(handler, lambda gh: gh.fetch_repository(NAME), "revoked-value")
    assert info.value.position == 1
    assert "#1" in str(info.value) and "revoked-value" not in str(info.value)


# -- secondary limits and retries ------------------------------------------------------------------


def test_secondary_limit_with_retry_after_waits_that_long() -> None:
    fake = FakeTime()
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(fake.now)
        if len(calls) == 1:
            return httpx.Response(
                403,
                json={"message": "You have exceeded a secondary rate limit."},
                headers={"retry-after": "7", **limits(4000)},
            )
        return httpx.Response(200, json=repo_body(), headers=limits(3999))

    _, gh = run(handler, lambda gh: gh.fetch_repository(NAME), "t", time=fake)
    assert calls == [START, START + 7]
    assert gh.stats.retries == 1


def test_secondary_limit_without_retry_after_waits_a_minute_then_longer_and_gives_up() -> None:
    fake = FakeTime()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"message": "You have exceeded a secondary rate limit."})

    with pytest.raises(RateLimited, match="secondary"):
        run(
            handler,
            lambda gh: gh.fetch_repository(NAME),
            "t",
            time=fake,
            options=ClientOptions(max_attempts=4),
        )
    assert fake.sleeps == [60.0, 120.0, 240.0]


def test_server_errors_and_timeouts_are_retried_with_bounded_jittered_backoff() -> None:
    fake = FakeTime()
    outcomes = iter(["500", "timeout", "ok"])

    def handler(request: httpx.Request) -> httpx.Response:
        outcome = next(outcomes)
        if outcome == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        if outcome == "500":
            return httpx.Response(500, json={"error": "Server Error"})
        return httpx.Response(200, json=repo_body())

    _, gh = run(handler, lambda gh: gh.fetch_repository(NAME), "t", time=fake)
    assert len(fake.sleeps) == 2
    assert 0.5 <= fake.sleeps[0] <= 1.0 and 1.0 <= fake.sleeps[1] <= 2.0
    snap = gh.stats.snapshot()
    assert snap["requests"] == {
        "GET /repos/{owner}/{repo} 200": 1,
        "GET /repos/{owner}/{repo} 500": 1,
        "GET /repos/{owner}/{repo} ReadTimeout": 1,
    }

    def always_down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    # A connection that never comes is an outage, named in words (the daemon waits it out).
    with pytest.raises(Unreachable, match=r"^GitHub unreachable: cannot connect to api\.example\.test:443"):
        run(always_down, lambda gh: gh.fetch_repository(NAME), "t", options=ClientOptions(max_attempts=3))

    def always_503(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="unavailable")

    with pytest.raises(ServerError) as info:
        run(always_503, lambda gh: gh.fetch_repository(NAME), "t", options=ClientOptions(max_attempts=3))
    assert info.value.status == 503


def test_concurrency_is_capped() -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        return httpx.Response(200, json=repo_body())

    async def body(gh: GitHubAPI) -> None:
        await asyncio.gather(*(gh.fetch_repository(NAME) for _ in range(12)))

    run(handler, body, "t", options=ClientOptions(concurrency=3))
    assert peak == 3


def test_concurrency_is_clamped_to_1_100() -> None:
    assert GitHubClient(settings(), ClientOptions(concurrency=0)).options.concurrency == 1
    assert GitHubClient(settings(), ClientOptions(concurrency=500)).options.concurrency == 100


# -- conditional requests --------------------------------------------------------------------------


def test_a_304_reuses_the_stored_body_and_is_counted_apart() -> None:
    cache = MemoryCache()
    conditional: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        conditional.append(request.headers.get("if-none-match"))
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304, headers=limits(4990))
        return httpx.Response(200, json=repo_body(), headers={"etag": '"v1"', **limits(4990)})

    async def body(gh: GitHubAPI) -> list[Any]:
        return [await gh.fetch_repository(NAME) for _ in range(3)]

    repos, gh = run(handler, body, "t", cache=cache)
    assert repos[0] == repos[1] == repos[2]
    assert conditional == [None, '"v1"', '"v1"']
    snap = gh.stats.snapshot()
    assert snap["not_modified"] == 2 and snap["rest_charged"] == 1
    assert snap["requests"]["GET /repos/{owner}/{repo} 304"] == 2
    # Keyed by a one-way token key, never the token.
    assert all("t" != key and len(key) == 16 for key, _ in cache.entries)


def test_cache_entries_are_per_token() -> None:
    cache = MemoryCache()
    conditional: list[tuple[str | None, str | None]] = []
    budgets = {"Bearer one": 100, "Bearer two": 4000}

    def handler(request: httpx.Request) -> httpx.Response:
        conditional.append((auth_of(request), request.headers.get("if-none-match")))
        return httpx.Response(
            200, json=repo_body(), headers={"etag": '"v1"', **limits(budgets[auth_of(request) or ""])}
        )

    async def body(gh: GitHubAPI) -> None:
        await gh.fetch_repository(NAME)
        await gh.fetch_repository(NAME)

    run(handler, body, "one", "two", cache=cache)
    # Token two never saw this URL: it must not send token one's validator.
    assert conditional == [("Bearer one", None), ("Bearer two", None)]


def test_budgets_are_persisted_with_position_and_key_only() -> None:
    cache = MemoryCache()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=repo_body(), headers=limits(4321, reset=START + 99))

    run(handler, lambda gh: gh.fetch_repository(NAME), "secret-token", cache=cache)
    (record,) = cache.budgets.values()
    assert (record.position, record.resource, record.limit, record.remaining) == (1, "core", 5000, 4321)
    assert record.reset_at.timestamp() == START + 99
    assert "secret-token" not in repr(record)


# -- pagination and redirects ----------------------------------------------------------------------


def test_link_next_is_followed_exactly_as_given_and_rel_last_counts() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        page = request.url.params.get("page", "1")
        nxt = {"1": "2", "2": "3"}.get(page)
        links = (
            [f'<{API}/repositories/7/forks?per_page=100&sort=oldest&page={nxt}>; rel="next"'] if nxt else []
        )
        links.append(f'<{API}/repositories/7/forks?per_page=100&sort=oldest&page=3>; rel="last"')
        fork = {"id": int(page), "created_at": f"2016-0{page}-01T00:00:00Z"}
        return httpx.Response(200, json=[fork], headers={"link": ", ".join(links)})

    async def body(gh: GitHubAPI) -> list[Any]:
        return [page async for page in gh.fetch_forks(NAME)]

    pages, _ = run(handler, body, "t")
    assert seen == [
        f"{API}/repos/octo/hello/forks?sort=oldest&per_page=100",
        f"{API}/repositories/7/forks?per_page=100&sort=oldest&page=2",
        f"{API}/repositories/7/forks?per_page=100&sort=oldest&page=3",
    ]
    assert [f.github_id for p in pages for f in p.forks] == [1, 2, 3]
    assert pages[0].last_page == 3 and pages[-1].next_url is None
    assert pages[1].next_url == f"{API}/repositories/7/forks?per_page=100&sort=oldest&page=3"


@pytest.mark.parametrize(
    ("status", "link", "body", "expected"),
    [
        (
            200,
            f'<{API}/repositories/7/contributors?per_page=1&anon=1&page=2>; rel="next", '
            f'<{API}/repositories/7/contributors?per_page=1&anon=1&page=1234>; rel="last"',
            [{"login": "a"}],
            1234,
        ),
        (200, None, [{"login": "a"}], 1),
        (200, None, [], 0),
        (204, None, None, 0),
    ],
)
def test_contributor_count_reads_rel_last(status: int, link: str | None, body: Any, expected: int) -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        headers = {"link": link} if link else {}
        return httpx.Response(
            status, headers=headers, content=b"" if body is None else json.dumps(body).encode()
        )

    count, _ = run(handler, lambda gh: gh.fetch_contributor_count(NAME), "t")
    assert count == expected
    assert seen[0].params["per_page"] == "1" and seen[0].params["anon"] == "1"


def test_same_host_redirect_is_followed_and_the_new_name_comes_back() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/repos/old/name":
            url = f"{API}/repositories/7"
            return httpx.Response(
                301, json={"message": "Moved Permanently", "url": url}, headers={"location": url}
            )
        assert request.url.path == "/repositories/7"
        return httpx.Response(200, json=repo_body("new-owner/new-name"))

    repo, gh = run(handler, lambda gh: gh.fetch_repository(parse_repo_name("old/name")), "t")
    assert (repo.full_name, repo.github_id) == ("new-owner/new-name", 7)
    assert gh.stats.requests["GET /repos/{owner}/{repo} 301"] == 1


def test_off_host_redirect_and_link_are_refused_and_no_token_goes_there() -> None:
    hosts: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append((request.url.host, auth_of(request)))
        if request.url.path.endswith("/forks"):
            return httpx.Response(
                200, json=[], headers={"link": '<https://evil.example.test/x?page=2>; rel="next"'}
            )
        return httpx.Response(301, headers={"location": "https://evil.example.test/repositories/7"})

    with pytest.raises(OffHostRedirect, match="evil.example.test"):
        run(handler, lambda gh: gh.fetch_repository(NAME), "t")

    async def walk(gh: GitHubAPI) -> None:
        async for _ in gh.fetch_forks(NAME):
            pass

    with pytest.raises(OffHostRedirect, match="evil.example.test"):
        run(handler, walk, "t")
    assert {host for host, _ in hosts} == {"api.example.test"}


def test_a_stored_start_url_on_another_host_is_refused_before_sending() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=[])

    async def walk(gh: GitHubAPI) -> None:
        async for _ in gh.fetch_forks(NAME, start_url="http://127.0.0.2:9/repositories/7/forks?page=2"):
            pass

    with pytest.raises(OffHostRedirect):
        run(handler, walk, "t")
    assert sent == []


# -- statistics ------------------------------------------------------------------------------------


def test_202_is_retried_within_the_bound_then_not_ready() -> None:
    fake = FakeTime()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, json={})

    with pytest.raises(NotReady, match="still computing"):
        run(
            handler,
            lambda gh: gh.fetch_commit_activity(NAME),
            "t",
            time=fake,
            options=ClientOptions(stats_wait=5.0),
        )
    assert fake.sleeps == [1.0, 2.0, 2.0]


def test_202_then_200_gives_the_weeks_and_204_gives_none() -> None:
    answers = iter([202, 200])
    week = {"week": 1704585600, "total": 5, "days": [1, 1, 1, 1, 1, 0, 0]}

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        return httpx.Response(status, json=[week] * 52 if status == 200 else {})

    weeks, _ = run(handler, lambda gh: gh.fetch_commit_activity(NAME), "t")
    assert len(weeks) == 52 and weeks[0].total == 5 and str(weeks[0].week_start) == "2024-01-07"

    empty, _ = run(lambda r: httpx.Response(204), lambda gh: gh.fetch_commit_activity(NAME), "t")
    assert empty == []


# -- error translation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (404, {"message": "Not Found"}, NotFound),
        (451, {"message": "Repository access blocked", "block": {"reason": "dmca"}}, Blocked),
        (403, {"message": "Repository access blocked"}, Blocked),
        (403, {"message": "Resource not accessible by integration"}, Forbidden),
        (422, {"message": "Validation Failed"}, GitHubError),
    ],
)
def test_status_codes_are_translated_once(status: int, body: Any, error: type[GitHubError]) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status, json=body, headers=limits(4000))

    with pytest.raises(error) as info:
        run(handler, lambda gh: gh.fetch_repository(NAME), "t")
    assert type(info.value) is error
    assert info.value.status == status and info.value.url == f"{API}/repos/octo/hello"
    assert len(calls) == 1  # none of these is retried


def test_too_large_contributors_is_not_retried() -> None:
    calls: list[int] = []
    message = (
        "The history or contributor list is too large to list contributors for this repository via the API."
    )

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(403, json={"message": message}, headers=limits(4000))

    with pytest.raises(TooLarge, match="too large"):
        run(handler, lambda gh: gh.fetch_contributor_count(NAME), "t")
    assert calls == [1]


def test_malformed_bodies_name_url_and_status() -> None:
    # A body cut short is retried like a 502 (max_attempts in all), then named with its URL and status.
    calls: list[int] = []

    def cut(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, content=b'{"id": 7, "full_na')

    with pytest.raises(
        MalformedResponse, match=r"GET https://api.example.test/repos/octo/hello answered 200 with a body"
    ):
        run(cut, lambda gh: gh.fetch_repository(NAME), "t")
    assert len(calls) == 5
    with pytest.raises(MalformedResponse, match="unexpected body") as info:
        run(lambda r: httpx.Response(200, json=[1, 2]), lambda gh: gh.fetch_repository(NAME), "t")
    assert info.value.status == 200


def test_endpoint_templates_for_counting() -> None:
    assert endpoint_template(f"{API}/repos/a/b/forks?page=2") == "/repos/{owner}/{repo}/forks"
    assert endpoint_template(f"{API}/repositories/7/forks") == "/repositories/{id}/forks"
    assert endpoint_template("https://ghes.test/api/v3/repos/a/b", "/api/v3") == "/repos/{owner}/{repo}"
    assert endpoint_template(f"{API}/graphql") == "/graphql"


def test_queued_requests_never_overspend_a_small_budget() -> None:
    """Requests waiting for a concurrency slot pick their token only when they go out (real time: a
    budget of 8 per one-second window, answers in a varying order)."""
    import math
    import time as real_time

    window = {"reset": 0.0, "left": 0, "refused": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        now = real_time.time()
        if now >= window["reset"]:
            window["reset"], window["left"] = math.ceil(now + 1), 8
        if window["left"] <= 0:
            window["refused"] += 1
            return httpx.Response(
                403,
                json={"message": "API rate limit exceeded"},
                headers=limits(0, limit=8, reset=window["reset"]),
            )
        window["left"] -= 1
        left = window["left"]
        await asyncio.sleep(0.002 * (left % 3))  # later requests may answer first
        return httpx.Response(200, json=repo_body(), headers=limits(left, limit=8, reset=window["reset"]))

    async def main() -> GitHubAPI:
        client = GitHubClient(
            settings("t"), ClientOptions(concurrency=4), transport=httpx.MockTransport(handler)
        )
        async with GitHubAPI(client) as gh:
            await asyncio.gather(*(gh.fetch_repository(NAME) for _ in range(12)))
            return gh

    gh = asyncio.run(main())
    assert window["refused"] == 0
    assert gh.stats.snapshot()["requests_total"] == 12


def test_answers_out_of_order_never_raise_the_budget_seen() -> None:
    from collector.github.tokens import TokenPool

    pool = TokenPool(settings("t").tokens, reserve=0)
    state = pool.states[0]
    pool.observe(state, "core", limits(3, limit=10, reset=START + 60), START)
    pool.observe(state, "core", limits(5, limit=10, reset=START + 60), START)  # sent earlier, answered later
    assert state.budgets["core"].remaining == 3
    pool.observe(state, "core", limits(9, limit=10, reset=START), START)  # from the previous window
    assert state.budgets["core"].remaining == 3
    pool.observe(state, "core", limits(9, limit=10, reset=START + 120), START)  # a new window
    assert state.budgets["core"].remaining == 9


def test_a_secondary_limit_halves_the_requests_in_flight() -> None:
    """A server that allows 2 requests at once: after its first secondary limit the client sends fewer
    at a time instead of retrying into the same limit (GitHub asks clients to slow down)."""
    state = {"in_flight": 0, "limited": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        state["in_flight"] += 1
        try:
            if state["in_flight"] > 2:
                state["limited"] += 1
                return httpx.Response(
                    403,
                    json={"message": "You have exceeded a secondary rate limit."},
                    headers={"retry-after": "1"},
                )
            await asyncio.sleep(0.002)
            return httpx.Response(200, json=repo_body())
        finally:
            state["in_flight"] -= 1

    async def body(gh: GitHubAPI) -> None:
        await asyncio.gather(*(gh.fetch_repository(NAME) for _ in range(40)))

    _, gh = run(handler, body, "t", options=ClientOptions(concurrency=4))
    assert gh.stats.snapshot()["requests_total"] == 40 + state["limited"]
    assert 1 <= state["limited"] <= 4  # without backing off it keeps hitting the limit on every retry
