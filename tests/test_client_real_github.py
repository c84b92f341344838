"""Issue 10: what real GitHub does that a tidy fake does not, against MockTransport handlers.

Cut bodies and dropped connections, GraphQL rate limits in every shape (RATE_LIMITED, RATE_LIMIT,
code graphql_rate_limit) with budget left, secondary limits without retry-after, a spent budget without a
reset time, GHES without rate-limit headers and with a 400 for an API version it does not know.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from collector.github.errors import RateLimited
from collector.github.types import StarWeek
from collector.jobs.star_history import compute_star_days
from tests.test_client import NAME, START, FakeTime, limits, repo_body, run

GRAPHQL_OK = {"data": {"viewer": {"login": "octo"}, "rateLimit": {"cost": 1, "remaining": 4000}}}


def query(gh: Any) -> Any:
    return gh.client.graphql("query { viewer { login } rateLimit { cost remaining } }")


def test_a_body_cut_short_or_a_dropped_connection_is_retried_like_a_502() -> None:
    answers = iter(["cut", "drop", "ok"])

    def handler(request: httpx.Request) -> httpx.Response:
        kind = next(answers)
        if kind == "drop":
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
        if kind == "cut":
            return httpx.Response(200, content=b'{"id": 7, "full_name": "oc', headers=limits(4000))
        return httpx.Response(200, json=repo_body(), headers=limits(3999))

    repo, gh = run(handler, lambda gh: gh.fetch_repository(NAME), "t")
    assert repo.full_name == "octo/hello"
    assert gh.stats.retries == 2


def test_graphql_bodies_cut_short_are_retried_too() -> None:
    answers = iter([b'{"data": {"viewer": {"lo', None])

    def handler(request: httpx.Request) -> httpx.Response:
        cut = next(answers)
        if cut is not None:
            return httpx.Response(200, content=cut, headers=limits(4000, resource="graphql"))
        return httpx.Response(200, json=GRAPHQL_OK, headers=limits(3999, resource="graphql"))

    answer, gh = run(handler, query, "t")
    assert answer.data["viewer"]["login"] == "octo"
    assert gh.stats.retries == 1


@pytest.mark.parametrize(
    "error",
    [
        {"type": "RATE_LIMIT", "code": "graphql_rate_limit", "message": "API rate limit already exceeded"},
        {"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."},
        {"code": "graphql_rate_limit", "message": "API rate limit already exceeded for user ID 1."},
    ],
)
def test_graphql_rate_limit_with_budget_left_waits_for_the_reset_and_sends_nothing_meanwhile(
    error: dict[str, Any],
) -> None:
    reset = START + 600
    sent: list[float] = []
    time = FakeTime()

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(time.now)
        if time.now < reset:  # refused while x-ratelimit-remaining still says 37
            return httpx.Response(
                200, json={"errors": [error]}, headers=limits(37, reset=reset, resource="graphql")
            )
        return httpx.Response(
            200, json=GRAPHQL_OK, headers=limits(4999, reset=reset + 3600, resource="graphql")
        )

    answer, gh = run(handler, query, "t", time=time)
    assert answer.data["viewer"]["login"] == "octo"
    assert sent == [START, pytest.approx(reset + 1.0)]  # one refusal, then nothing until just past the reset
    assert gh.stats.graphql_queries == 1


def test_graphql_rate_limit_without_a_reset_header_uses_rate_limit_reset_at() -> None:
    time = FakeTime()
    reset_at = "2027-01-15T08:00:40Z"  # START is 2027-01-15T08:00:00Z
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(time.now)
        if len(sent) == 1:
            body = {"data": {"rateLimit": {"resetAt": reset_at}}, "errors": [{"type": "RATE_LIMIT"}]}
            return httpx.Response(200, json=body)
        return httpx.Response(200, json=GRAPHQL_OK)

    run(handler, query, "t", time=time)
    assert sent[1] == pytest.approx(START + 40 + 1.0)


def test_graphql_secondary_limit_as_a_200_pauses_every_request() -> None:
    answers = iter(["secondary", "ok"])
    message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."

    def handler(request: httpx.Request) -> httpx.Response:
        if next(answers) == "secondary":
            return httpx.Response(
                200, json={"errors": [{"message": message}]}, headers=limits(4000, resource="graphql")
            )
        return httpx.Response(200, json=GRAPHQL_OK, headers=limits(3999, resource="graphql"))

    time = FakeTime()
    answer, gh = run(handler, query, "t", time=time)
    assert answer.data["viewer"]["login"] == "octo"
    assert time.sleeps and sum(time.sleeps) >= 60  # no retry-after: at least a minute [D-SEC]


def test_secondary_limits_without_retry_after_wait_a_minute_then_back_off_exponentially() -> None:
    statuses = iter([429, 403, 429, 200])
    sent: list[float] = []
    time = FakeTime()
    message = {"message": "You have exceeded a secondary rate limit."}

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(time.now)
        status = next(statuses)
        if status == 200:
            return httpx.Response(200, json=repo_body(), headers=limits(4000))
        return httpx.Response(status, json=message, headers=limits(4000))  # remaining > 0, no retry-after

    run(handler, lambda gh: gh.fetch_repository(NAME), "t", time=time)
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert gaps == [pytest.approx(60, abs=1), pytest.approx(120, abs=1), pytest.approx(240, abs=1)]


def test_secondary_limits_that_never_end_give_up_after_the_bounded_attempts() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"message": "slow down"}, headers=limits(4000))

    with pytest.raises(RateLimited, match="still secondary-rate-limited"):
        run(handler, lambda gh: gh.fetch_repository(NAME), "t")


def test_a_spent_budget_without_a_reset_header_is_retried_in_bounded_steps() -> None:
    time = FakeTime()
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(time.now)
        spent = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0"}  # a proxy dropped the reset
        if len(sent) < 3:
            return httpx.Response(403, json={"message": "API rate limit exceeded"}, headers=spent)
        return httpx.Response(200, json=repo_body(), headers={**spent, "x-ratelimit-remaining": "4999"})

    repo, _ = run(handler, lambda gh: gh.fetch_repository(NAME), "t", time=time)
    assert repo.github_id == 7
    assert len(sent) == 3 and all(0 < b - a <= 62 for a, b in zip(sent, sent[1:], strict=False))


def test_ghes_without_rate_limit_headers_never_waits() -> None:
    time = FakeTime()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/graphql"):
            return httpx.Response(200, json=GRAPHQL_OK)
        return httpx.Response(200, json=repo_body())

    async def many(gh: Any) -> None:
        for _ in range(30):
            await gh.fetch_repository(NAME)
            await query(gh)

    run(handler, many, "t", time=time)
    assert time.sleeps == []


def test_an_unsupported_api_version_falls_back_to_the_servers_default() -> None:
    sent: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        version = request.headers.get("x-github-api-version")
        sent.append(version)
        if version is not None:
            message = (
                f"Unsupported 'X-GitHub-Api-Version' header value: {version}. Supported versions: 2022-11-28"
            )
            return httpx.Response(400, json={"message": message})
        return httpx.Response(200, json=repo_body())

    async def twice(gh: Any) -> None:
        await gh.fetch_repository(NAME)
        await gh.fetch_repository(NAME)

    run(handler, twice, "t")
    assert sent == ["2022-11-28", None, None]  # asked once, then never again with that version


def test_star_buckets_keep_consistent_days_and_their_totals_otherwise() -> None:
    sunday = date(2024, 1, 7)
    regular = StarWeek(sunday, 5, (1, 0, 2, 0, 0, 0, 2))
    assert compute_star_days(regular) == ({sunday: 1, date(2024, 1, 9): 2, date(2024, 1, 13): 2}, False)
    short = StarWeek(sunday, 6, (1, 2, 0))  # three days given, six stars in the week
    assert compute_star_days(short) == ({sunday: 1, date(2024, 1, 8): 2, date(2024, 1, 13): 3}, True)
    overfull = StarWeek(sunday, 3, (1, 1, 1, 1, 1, 1, 1))  # days add up to more than the total
    assert compute_star_days(overfull) == ({date(2024, 1, 13): 3}, True)
    eight = StarWeek(sunday, 4, (1, 0, 0, 0, 0, 0, 1, 2))
    assert compute_star_days(eight) == ({sunday: 1, date(2024, 1, 13): 3}, True)
