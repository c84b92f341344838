"""The simulator's REST behaviours, through the in-process httpx transport and the tiny scenario."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import UTC, date, datetime
from typing import Any

import httpx

from collector.testing.simulator import SimulatorApp, SimulatorTransport
from collector.testing.tiny import ROCKET_COMMITS, ROCKET_FORKS, ROCKET_STARS, tiny_scenario

API = "https://api.github.com"
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset")


class Clock:
    """A hand-moved clock for reset windows and per-minute limits."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(token: str | None = "t1", base: str = API, **options: Any) -> tuple[SimulatorApp, httpx.Client]:
    app = SimulatorApp(tiny_scenario(), **options)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app, httpx.Client(transport=SimulatorTransport(app), base_url=base, headers=headers)


def rels(link: str) -> dict[str, str]:
    return {m.group(2): m.group(1) for m in re.finditer(r'<([^>]+)>; rel="(\w+)"', link)}


def last_page(resp: httpx.Response) -> int:
    return int(re.search(r"[?&]page=(\d+)", rels(resp.headers["link"])["last"]).group(1))  # type: ignore[union-attr]


# --- repository, identity, errors ---------------------------------------------------------------


def test_repository_by_name_and_by_id_carry_the_counters() -> None:
    _, gh = make()
    by_name = gh.get("/repos/acme/rocket").json()
    by_id = gh.get("/repositories/1001").json()
    assert by_name == by_id
    assert by_name["full_name"] == "acme/rocket"
    assert (by_name["id"], by_name["node_id"]) == (1001, "R_sim1001")
    assert by_name["stargazers_count"] == by_name["watchers_count"] == ROCKET_STARS
    assert by_name["forks_count"] == ROCKET_FORKS
    assert (by_name["subscribers_count"], by_name["open_issues_count"]) == (7, 3)
    assert by_name["created_at"] == "2015-11-07T12:00:00Z"
    assert gh.get("/repos/acme/attic").json()["archived"] is True


def test_every_response_carries_rate_limit_request_id_and_content_type() -> None:
    _, gh = make()
    for path in ("/repos/acme/rocket", "/repos/acme/gone", "/repos/acme/blocked", "/rate_limit"):
        resp = gh.get(path)
        for name in (*RATE_HEADERS, "x-ratelimit-resource", "x-github-request-id", "content-type"):
            assert name in resp.headers, (path, name)
    ok = gh.get("/repos/acme/rocket")
    assert re.fullmatch(r'"[0-9a-f]{64}"', ok.headers["etag"])  # strong, like the 2022 recording
    assert gh.get("/repos/acme/rocket/forks").headers["etag"].startswith('W/"')  # lists: weak


def test_a_former_name_answers_301_to_the_id_url_and_307_for_writes() -> None:
    _, gh = make()
    resp = gh.get("/repos/olduser/rocket")
    assert resp.status_code == 301
    assert resp.headers["location"] == f"{API}/repositories/1001"
    assert resp.json() == {
        "message": "Moved Permanently",
        "url": f"{API}/repositories/1001",
        "documentation_url": "https://docs.github.com/v3/#http-redirects",
    }
    sub = gh.get("/repos/OldUser/Rocket/forks", params={"sort": "oldest"})
    assert sub.status_code == 301
    assert sub.headers["location"] == f"{API}/repositories/1001/forks?sort=oldest"
    assert gh.patch("/repos/olduser/rocket", json={"description": "x"}).status_code == 307


def test_deleted_and_blocked_repositories() -> None:
    _, gh = make()
    gone = gh.get("/repos/acme/gone")
    assert gone.status_code == 404
    assert gone.json()["message"] == "Not Found" and "documentation_url" in gone.json()
    assert gh.get("/repos/acme/gone-old").status_code == 404  # a former name of a deleted repo
    assert gh.get("/repos/nobody/nothing").status_code == 404
    blocked = gh.get("/repos/acme/blocked")
    assert blocked.status_code == 451
    assert blocked.json()["message"] == "Repository access blocked"
    assert blocked.json()["block"]["reason"] == "dmca"


def test_ghes_prefix_serves_rest_and_links_use_the_request_host() -> None:
    _, gh = make(base="http://ghe.local:8080/api/v3")
    assert gh.get("/repos/acme/rocket").json()["id"] == 1001
    moved = gh.get("/repos/olduser/rocket")
    assert moved.headers["location"] == "http://ghe.local:8080/api/v3/repositories/1001"
    page = gh.get("/repos/acme/rocket/forks", params={"per_page": 2})
    assert (
        rels(page.headers["link"])["next"]
        == "http://ghe.local:8080/api/v3/repositories/1001/forks?per_page=2&page=2"
    )


# --- lists ---------------------------------------------------------------------------------------


def test_contributor_count_from_rel_last_with_and_without_anonymous() -> None:
    _, gh = make()
    with_anon = gh.get("/repos/acme/rocket/contributors", params={"per_page": 1, "anon": 1})
    assert last_page(with_anon) == 5
    assert rels(with_anon.headers["link"])["next"].startswith(f"{API}/repositories/1001/contributors?")
    assert last_page(gh.get("/repos/acme/rocket/contributors", params={"per_page": 1})) == 3
    everyone = gh.get("/repos/acme/rocket/contributors", params={"anon": "1"}).json()
    assert "link" not in gh.get("/repos/acme/rocket/contributors", params={"anon": "1"}).headers
    assert sum(p["contributions"] for p in everyone) == ROCKET_COMMITS
    anonymous = [p for p in everyone if p.get("type") == "Anonymous"]
    assert {p["email"] for p in anonymous} == {"eve@example.org", "mallory@example.net"}
    assert all(set(p) == {"type", "name", "email", "contributions"} for p in anonymous)
    linked = [p for p in everyone if p.get("type") == "User"]
    assert {(p["login"], p["id"]) for p in linked} == {("ada", 11), ("bob", 12), ("acme", 13)}
    counts = [p["contributions"] for p in everyone]
    assert counts == sorted(counts, reverse=True)


def test_contributors_empty_repo_204_and_too_large_403() -> None:
    _, gh = make()
    empty = gh.get("/repos/acme/empty/contributors")
    assert (empty.status_code, empty.content) == (204, b"")
    huge = gh.get("/repos/acme/huge/contributors", params={"per_page": 1, "anon": 1})
    assert huge.status_code == 403
    assert "too large to list contributors" in huge.json()["message"]


def test_commit_activity_is_202_first_then_52_sunday_weeks_ending_this_week() -> None:
    _, gh = make()
    first = gh.get("/repos/acme/rocket/stats/commit_activity")
    assert (first.status_code, first.json()) == (202, {})
    weeks = gh.get("/repos/acme/rocket/stats/commit_activity").json()
    assert len(weeks) == 52
    starts = [datetime.fromtimestamp(w["week"], UTC) for w in weeks]
    assert all(s.weekday() == 6 and (s.hour, s.minute) == (0, 0) for s in starts)  # Sunday 00:00 UTC
    assert starts[-1].date() == date(2017, 1, 1)  # the week containing today (2017-01-03)
    assert starts == sorted(starts)
    assert all(sum(w["days"]) == w["total"] and len(w["days"]) == 7 for w in weeks)
    # Commits run every 9 days from Friday 2016-01-01: all but the first fall on or after the window's
    # first Sunday, 2016-01-10.
    assert sum(w["total"] for w in weeks) == ROCKET_COMMITS - 1
    assert weeks[0]["days"][0] == 1  # 2016-01-10 was a Sunday
    assert gh.get("/repos/acme/empty/stats/commit_activity").status_code == 204


def test_participation_has_52_weeks_of_all_and_owner() -> None:
    _, gh = make()
    body = gh.get("/repos/acme/rocket/stats/participation").json()
    assert set(body) == {"all", "owner"} and len(body["all"]) == len(body["owner"]) == 52
    assert all(o <= a for a, o in zip(body["all"], body["owner"], strict=True))
    assert 0 < sum(body["owner"]) < sum(body["all"])


def test_star_history_newest_first_weekly_sums_to_the_star_count() -> None:
    _, gh = make(token=None)  # works without a token
    url: str | None = "/repos/acme/rocket/stargazers/history"
    weeks: list[dict[str, Any]] = []
    pages = 0
    while url:
        resp = gh.get(url)
        assert resp.status_code == 200
        assert len(resp.json()) <= 30
        weeks += resp.json()
        url = rels(resp.headers.get("link", "")).get("next")
        pages += 1
    assert pages == 3
    assert sum(w["total"] for w in weeks) == ROCKET_STARS
    assert [w["week"] for w in weeks] == sorted((w["week"] for w in weeks), reverse=True)
    newest = weeks[0]
    assert datetime.fromtimestamp(newest["week"], UTC).date() == date(2017, 1, 1)
    assert newest["days"] == [15, 0, 5, 0, 0, 0, 0]  # Sunday and Tuesday (today)
    assert weeks[1]["days"] == [0, 0, 0, 0, 0, 0, 8]  # Saturday 2016-12-31
    assert datetime.fromtimestamp(weeks[-1]["week"], UTC).date() == date(2015, 11, 1)  # creation week
    capped = gh.get("/repos/acme/rocket/stargazers/history", params={"per_page": 100})
    assert len(capped.json()) == 30


def test_star_history_stops_at_page_100() -> None:
    _, gh = make()
    beyond = gh.get("/repos/acme/rocket/stargazers/history", params={"page": 101})
    assert beyond.status_code == 422 and "pagination is limited" in beyond.json()["message"]
    assert gh.get("/repos/acme/rocket/stargazers/history", params={"page": 100}).json() == []


def test_star_history_is_404_on_legacy_ghes() -> None:
    _, gh = make(ghes_legacy=True)
    assert gh.get("/repos/acme/rocket/stargazers/history").status_code == 404
    assert gh.get("/repos/acme/rocket").status_code == 200


def test_stargazers_listing_is_for_collaborators_only() -> None:
    star = {"Accept": "application/vnd.github.star+json"}
    _, gh = make()
    assert gh.get("/repos/acme/rocket/stargazers", headers=star).status_code == 403
    _, quiet = make(stargazers_policy="empty")
    empty = quiet.get("/repos/acme/rocket/stargazers", headers=star)
    assert (empty.status_code, empty.json()) == (200, [])
    _, collab = make(collaborator_tokens=["t1"])
    first = collab.get("/repos/acme/rocket/stargazers", headers=star, params={"per_page": 100})
    assert len(first.json()) == ROCKET_STARS
    assert set(first.json()[0]) == {"starred_at", "user"}
    assert first.json()[0]["starred_at"].startswith("2015-11-08T")
    plain = collab.get("/repos/acme/rocket/stargazers", params={"per_page": 1})
    assert "login" in plain.json()[0] and last_page(plain) == ROCKET_STARS


def test_forks_oldest_and_newest_with_created_at() -> None:
    _, gh = make()
    oldest = gh.get("/repos/acme/rocket/forks", params={"sort": "oldest", "per_page": 100}).json()
    newest = gh.get("/repos/acme/rocket/forks", params={"sort": "newest"}).json()
    assert len(oldest) == ROCKET_FORKS
    created = [f["created_at"] for f in oldest]
    assert created == sorted(created)
    assert [f["id"] for f in newest] == [f["id"] for f in reversed(oldest)]
    assert oldest[0]["full_name"] == "forker0/rocket" and oldest[0]["owner"]["login"] == "forker0"
    over = gh.get("/repos/acme/rocket/forks", params={"per_page": 1000})
    assert len(over.json()) == ROCKET_FORKS and "link" not in over.headers  # capped at 100


def test_commits_filter_by_date_and_link_authors() -> None:
    _, gh = make()
    since, until = "2016-03-01T00:00:00Z", "2016-03-31T23:59:59Z"
    found = gh.get("/repos/acme/rocket/commits", params={"since": since, "until": until}).json()
    dates = [c["commit"]["author"]["date"] for c in found]
    assert dates and all(since <= d <= until for d in dates)
    assert dates == sorted(dates, reverse=True)
    everything = gh.get("/repos/acme/rocket/commits", params={"per_page": 100}).json()
    assert len(everything) == ROCKET_COMMITS
    by_email = {c["commit"]["author"]["email"]: c["author"] for c in everything}
    assert by_email["ada@example.com"]["id"] == 11
    assert by_email["eve@example.org"] is None
    assert gh.get("/repos/acme/empty/commits").status_code == 409


# --- rate limits ---------------------------------------------------------------------------------


def test_rate_limit_endpoint_is_free_and_has_no_legacy_rate_key() -> None:
    _, gh = make(rate_limit=10)
    gh.get("/repos/acme/rocket")
    body = gh.get("/rate_limit").json()
    assert "rate" not in body
    assert set(body["resources"]) >= {"core", "graphql", "search"}
    assert body["resources"]["core"]["remaining"] == 9
    assert gh.get("/rate_limit").json()["resources"]["core"]["remaining"] == 9


def test_primary_limit_403_until_reset_and_exhausted_arrivals_are_counted() -> None:
    clock = Clock()
    app, gh = make(rate_limit=3, reset_seconds=2, clock=clock)
    remaining = [gh.get("/repos/acme/rocket").headers["x-ratelimit-remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    assert app.stats.while_exhausted == 0
    refused = gh.get("/repos/acme/rocket")
    assert refused.status_code == 403
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.json()["message"].startswith("API rate limit exceeded for user ID")
    reset = int(refused.headers["x-ratelimit-reset"])
    assert reset == int(clock.now) + 2
    assert app.stats.while_exhausted == 1
    clock.now = reset
    again = gh.get("/repos/acme/rocket")
    assert (again.status_code, again.headers["x-ratelimit-remaining"]) == (200, "2")


def test_primary_limit_may_answer_429() -> None:
    _, gh = make(rate_limit=1, primary_status=429)
    gh.get("/repos/acme/rocket")
    assert gh.get("/repos/acme/rocket").status_code == 429


def test_budgets_are_per_token_and_unauthenticated_requests_share_the_ip_budget() -> None:
    app = SimulatorApp(tiny_scenario(), rate_limit=2, unauth_limit=1)
    t = SimulatorTransport(app)
    one = httpx.Client(transport=t, base_url=API, headers={"Authorization": "Bearer one"})
    two = httpx.Client(transport=t, base_url=API, headers={"Authorization": "token two"})
    anon_a, anon_b = httpx.Client(transport=t, base_url=API), httpx.Client(transport=t, base_url=API)
    assert [one.get("/repos/acme/rocket").status_code for _ in range(3)] == [200, 200, 403]
    assert two.get("/repos/acme/rocket").status_code == 200
    assert anon_a.get("/repos/acme/rocket").headers["x-ratelimit-limit"] == "1"
    refused = anon_b.get("/repos/acme/rocket")
    assert refused.status_code == 403 and "Authenticated requests get a higher rate limit" in refused.text


def test_revoked_and_unknown_tokens_get_bad_credentials() -> None:
    _, revoked = make(token="old", revoked=["old"])
    resp = revoked.get("/repos/acme/rocket")
    assert (resp.status_code, resp.json()["message"]) == (401, "Bad credentials")
    _, unknown = make(token="who", tokens=["t1", "t2"])
    assert unknown.get("/repos/acme/rocket").status_code == 401
    _, known = make(token="t2", tokens=["t1", "t2"])
    assert known.get("/repos/acme/rocket").status_code == 200


def test_conditional_get_is_304_without_body_and_free() -> None:
    app, gh = make()
    first = gh.get("/repos/acme/rocket/contributors", params={"anon": 1})
    again = gh.get(
        "/repos/acme/rocket/contributors",
        params={"anon": 1},
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]
    assert again.headers["etag"] == first.headers["etag"]
    assert app.stats.not_modified == 1
    stale = gh.get("/repos/acme/rocket", headers={"If-None-Match": '"nope"'})
    assert stale.status_code == 200


def test_secondary_limit_on_concurrency_answers_retry_after() -> None:
    app = SimulatorApp(tiny_scenario(), max_concurrency=2, latency_ms=100, secondary_retry_after=7)

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            transport=SimulatorTransport(app), base_url=API, headers={"Authorization": "Bearer t1"}
        ) as gh:
            return list(await asyncio.gather(*(gh.get("/repos/acme/rocket") for _ in range(4))))

    statuses = sorted(r.status_code for r in asyncio.run(run()))
    assert statuses == [200, 200, 403, 403]
    limited = [r for r in asyncio.run(run()) if r.status_code == 403]
    assert limited[0].headers["retry-after"] == "7"
    assert limited[0].headers["x-ratelimit-remaining"] != "0"  # not a primary limit
    assert "secondary rate limit" in limited[0].json()["message"]
    assert app.stats.secondary_limited == 4


def test_secondary_limit_on_points_per_minute() -> None:
    clock = Clock()
    app, gh = make(points_per_minute=3, clock=clock)
    assert [gh.get("/repos/acme/rocket").status_code for _ in range(3)] == [200, 200, 200]
    clock.now += 20
    refused = gh.get("/repos/acme/rocket")
    assert refused.status_code == 403 and refused.headers["retry-after"] == "40"
    clock.now += 41
    assert gh.get("/repos/acme/rocket").status_code == 200


# --- faults and latency --------------------------------------------------------------------------


def _outcome(gh: httpx.Client, path: str) -> str:
    try:
        resp = gh.get(path)
    except httpx.ReadTimeout:
        return "timeout"
    except httpx.RemoteProtocolError:
        return "drop"
    if resp.status_code == 200:
        try:
            json.loads(resp.content)
        except ValueError:
            return "malformed"
        return "ok"
    return str(resp.status_code)


def test_faults_are_a_deterministic_mix_at_the_configured_rate() -> None:
    runs = []
    for _ in range(2):
        app, gh = make(fault_rate=0.5, seed=42)
        runs.append([_outcome(gh, "/repos/acme/rocket") for _ in range(60)])
    assert runs[0] == runs[1]
    kinds = set(runs[0])
    assert {"ok", "500", "502", "503", "timeout", "malformed"} <= kinds
    assert 15 <= runs[0].count("ok") <= 45
    assert sum(app.stats.faults.values()) == 60 - runs[0].count("ok")
    _, other = make(fault_rate=0.5, seed=7)
    assert [_outcome(other, "/repos/acme/rocket") for _ in range(60)] != runs[0]
    _, never = make(fault_rate=0.0)
    assert {_outcome(never, "/repos/acme/rocket") for _ in range(20)} == {"ok"}


def test_latency_is_injected_per_request_sync_and_async() -> None:
    _, gh = make(latency_ms=60)
    started = time.perf_counter()
    gh.get("/repos/acme/rocket")
    assert time.perf_counter() - started >= 0.06
    app = SimulatorApp(tiny_scenario(), latency_ms=60)

    async def run() -> float:
        async with httpx.AsyncClient(transport=SimulatorTransport(app), base_url=API) as gh:
            t0 = time.perf_counter()
            await asyncio.gather(gh.get("/repos/acme/rocket"), gh.get("/repos/acme/attic"))
            return time.perf_counter() - t0

    elapsed = asyncio.run(run())
    assert 0.06 <= elapsed < 0.12  # slept concurrently on the event loop, not one after the other


# --- instrumentation -----------------------------------------------------------------------------


def test_stats_count_requests_by_template_and_status_and_record_authorization() -> None:
    app, gh = make()
    other = SimulatorApp(tiny_scenario())
    anon = httpx.Client(transport=SimulatorTransport(other), base_url="https://elsewhere.example")
    gh.get("/repos/acme/rocket")
    gh.get("/repositories/1001")
    gh.get("/repos/acme/gone")
    anon.get("/repos/acme/rocket")
    assert app.stats.count(template="/repos/{owner}/{repo}", status=200) == 1
    assert app.stats.count(template="/repositories/{id}") == 1
    assert app.stats.count(status=404) == 1
    assert app.stats.requests[("GET", "/repos/{owner}/{repo}", 404)] == 1
    assert app.stats.authorization_headers == ["Bearer t1"] * 3
    assert other.stats.authorization_headers == []
    assert "t1" not in repr(app.stats)


def test_nothing_after_today_is_visible() -> None:
    scenario = tiny_scenario(date(2016, 12, 31))  # before the 15 + 5 stars of 2017-01-01 and -03
    gh = httpx.Client(transport=SimulatorTransport(SimulatorApp(scenario)), base_url=API)
    assert gh.get("/repos/acme/rocket").json()["stargazers_count"] == ROCKET_STARS - 20
    newest = gh.get("/repos/acme/rocket/stargazers/history").json()[0]
    assert datetime.fromtimestamp(newest["week"], UTC).date() == date(2016, 12, 25)
