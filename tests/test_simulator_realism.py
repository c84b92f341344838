"""Behaviours of real GitHub that the simulator reproduces: faults, 2026 limits, GHES, star history,
fork networks and the contributors' email cap (facts sheet §3, §6, §10-§12; GitHub's REST docs)."""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from collector.testing.faults import FAULTS, cut_short
from collector.testing.replies import Ctx, SimResponse, SimStats
from collector.testing.scenarios import edge_scenario
from collector.testing.simulator import SimulatorApp, SimulatorTransport, running_simulator
from collector.testing.tiny import ROCKET_STARS, tiny_scenario

API = "https://api.github.com"
AUTH = {"Authorization": "Bearer t1"}
STARS = '{ repository(owner: "acme", name: "rocket") { stargazerCount } }'
TODAY = date(2026, 11, 27)


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def client(app: SimulatorApp) -> httpx.Client:
    return httpx.Client(transport=SimulatorTransport(app), base_url=API, headers=AUTH)


def make(**options: Any) -> tuple[SimulatorApp, httpx.Client]:
    app = SimulatorApp(tiny_scenario(), **options)
    return app, client(app)


def edge(**options: Any) -> tuple[SimulatorApp, httpx.Client]:
    app = SimulatorApp(edge_scenario(TODAY), **options)
    return app, client(app)


def last_page(resp: httpx.Response) -> int:
    """The contributor count GitHub's docs suggest: the page number in rel="last" with per_page=1."""
    link = resp.headers.get("link")
    if link is None:
        return len(resp.json())
    last = re.search(r'[?&]page=(\d+)>; rel="last"', link)
    assert last is not None, link
    return int(last.group(1))


def all_weeks(gh: httpx.Client, path: str = "/repos/acme/rocket/stargazers/history") -> list[dict[str, Any]]:
    weeks: list[dict[str, Any]] = []
    url: str | None = path
    while url:
        resp = gh.get(url)
        assert resp.status_code == 200, resp.text
        weeks += resp.json()
        found = re.search(r'<([^>]+)>; rel="next"', resp.headers.get("link", ""))
        url = found.group(1) if found else None
    return weeks


# --- 1. faults --------------------------------------------------------------------------------------


def test_every_fault_kind_is_on_by_default() -> None:
    app = SimulatorApp(tiny_scenario())
    assert set(app.fault_kinds) == set(FAULTS)
    assert {"500", "502", "503", "timeout", "malformed", "drop", "secondary403", "secondary429"} <= set(
        FAULTS
    )
    assert "graphql_secondary200" in FAULTS


def test_malformed_keeps_200_on_rest_and_graphql_and_201_elsewhere() -> None:
    app, gh = make(fault_rate=1.0, fault_kinds=["malformed"])
    for resp in (gh.get("/repos/acme/rocket"), gh.post("/graphql", json={"query": STARS})):
        assert resp.status_code == 200
        with pytest.raises(ValueError):
            json.loads(resp.content)
        assert int(resp.headers["content-length"]) == len(resp.content)
    assert gh.get("/repos/acme/nope").status_code == 200  # an error status is cut into a 200, as before
    assert app.stats.faults["malformed"] == 3
    ctx = Ctx(SimStats(), 0.0, "POST", "/app/installations/{id}/access_tokens", "rid", "core", {})
    created = cut_short(ctx, SimResponse(201, {"content-length": "24"}, b'{"token":"ghs_abcdefgh"}'))
    assert (created.status, created.body) == (201, b'{"token":"gh')


def test_drop_raises_what_httpx_raises_for_a_short_body_in_process() -> None:
    app, gh = make(fault_rate=1.0, fault_kinds=["drop"])
    with pytest.raises(httpx.RemoteProtocolError, match="peer closed connection without sending complete"):
        gh.get("/repos/acme/rocket")
    assert app.stats.faults["drop"] == 1
    assert gh.get("/rate_limit").json()["resources"]["core"]["used"] == 1  # one point, like any answer


def test_drop_over_the_loopback_server_announces_the_full_length_then_closes() -> None:
    app = SimulatorApp(tiny_scenario(), fault_rate=1.0, fault_kinds=["drop"])
    with running_simulator(app) as base_url:
        with httpx.Client(base_url=base_url, headers=AUTH) as gh, pytest.raises(httpx.RemoteProtocolError):
            gh.get("/repos/acme/rocket")
        parts = urlsplit(base_url)
        with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=5) as raw:
            raw.sendall(b"GET /repos/acme/rocket HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t1\r\n\r\n")
            received = b""
            while chunk := raw.recv(65536):
                received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
    assert 0 < len(body) < length
    assert app.stats.faults["drop"] == 2


def test_secondary_faults_403_with_retry_after_and_429_without() -> None:
    app, gh = make(fault_rate=1.0, fault_kinds=["secondary403"], secondary_retry_after=42)
    first = gh.get("/repos/acme/rocket")
    assert (first.status_code, first.headers["retry-after"]) == (403, "42")
    assert "secondary rate limit" in first.json()["message"]
    app, gh = make(fault_rate=1.0, fault_kinds=["secondary429"])
    resp = gh.get("/repos/acme/rocket")
    assert resp.status_code == 429 and "retry-after" not in resp.headers
    assert int(resp.headers["x-ratelimit-remaining"]) > 0
    assert resp.headers["x-ratelimit-used"] == "1"  # no more than one point, as every fault
    assert (app.stats.secondary_limited, app.stats.faults["secondary429"]) == (1, 1)
    gql = gh.post("/graphql", json={"query": STARS})
    assert gql.status_code == 429


def test_secondary_retry_after_none_drops_the_header_from_real_secondary_limits() -> None:
    app, gh = make(max_concurrency=0, secondary_retry_after=None)
    resp = gh.get("/repos/acme/rocket")
    assert resp.status_code == 403 and "retry-after" not in resp.headers
    assert app.stats.secondary_limited == 1


def test_graphql_secondary_limit_as_http_200_or_403() -> None:
    app, gh = make(fault_rate=1.0, fault_kinds=["graphql_secondary200"])
    assert gh.get("/repos/acme/rocket").status_code == 200  # a GraphQL-only kind never hits REST
    resp = gh.post("/graphql", json={"query": STARS})
    assert resp.status_code == 200
    body = resp.json()
    assert "data" not in body and body["errors"][0]["type"] == "SECONDARY_RATE_LIMIT"
    assert body["errors"][0]["message"].startswith("You have exceeded a secondary rate limit.")
    assert (app.stats.secondary_limited, app.stats.faults["graphql_secondary200"]) == (1, 1)
    _, gh = make(fault_rate=1.0, fault_kinds=["secondary403"])
    assert gh.post("/graphql", json={"query": STARS}).status_code == 403


# --- 2. GraphQL primary limits ----------------------------------------------------------------------


def test_graphql_rate_limit_error_shapes() -> None:
    _, gh = make(graphql_limit=1)
    gh.post("/graphql", json={"query": STARS})
    error = gh.post("/graphql", json={"query": STARS}).json()["errors"][0]
    assert (error["type"], error["code"]) == ("RATE_LIMIT", "graphql_rate_limit")
    assert re.fullmatch(r"API rate limit already exceeded for user ID \d+\.", error["message"])
    _, old = make(graphql_limit=1, graphql_rate_limit_type="RATE_LIMITED")
    old.post("/graphql", json={"query": STARS})
    error = old.post("/graphql", json={"query": STARS}).json()["errors"][0]
    assert error["type"] == "RATE_LIMITED" and "code" not in error


def test_graphql_early_limit_refuses_with_remaining_above_zero_until_the_reset() -> None:
    clock = Clock()
    app, gh = make(graphql_limit=10, graphql_early_limit=8, clock=clock, reset_seconds=60)
    assert "errors" not in gh.post("/graphql", json={"query": STARS}).json()  # 9 left
    assert "errors" not in gh.post("/graphql", json={"query": STARS}).json()  # 8 left
    refused = gh.post("/graphql", json={"query": STARS})
    assert refused.status_code == 200 and refused.json()["errors"][0]["type"] == "RATE_LIMIT"
    assert refused.headers["x-ratelimit-remaining"] == "8"  # the true remaining, not 0
    reset = int(refused.headers["x-ratelimit-reset"])
    assert reset == int(clock.now) + 60
    assert app.stats.while_exhausted == 0  # the first refusal is news to the client
    again = gh.post("/graphql", json={"query": STARS})
    assert again.json()["errors"][0]["type"] == "RATE_LIMIT" and again.headers["x-ratelimit-used"] == "2"
    assert app.stats.while_exhausted == 1
    assert gh.get("/repos/acme/rocket").status_code == 200  # REST has its own budget
    clock.now = reset + 1
    assert gh.post("/graphql", json={"query": STARS}).json() == {
        "data": {"repository": {"stargazerCount": 61}}
    }
    assert app.stats.while_exhausted == 1


# --- 3. statistics that stay 202 --------------------------------------------------------------------


@pytest.mark.parametrize("computing", [0, 1, 4])
def test_stats_answer_202_the_configured_number_of_times(computing: int) -> None:
    _, gh = make(stats_compute_requests=computing)
    statuses = [gh.get("/repos/acme/rocket/stats/commit_activity").status_code for _ in range(computing + 2)]
    assert statuses == [202] * computing + [200, 200]


# --- 4. GitHub Enterprise Server --------------------------------------------------------------------


def test_ghes_without_rate_limiting_sends_no_rate_headers_and_never_refuses() -> None:
    _, gh = make(rate_limit_headers=False, rate_limit=2, graphql_limit=1)
    for _ in range(5):
        resp = gh.get("/api/v3/repos/acme/rocket")
        assert resp.status_code == 200
        assert not [h for h in resp.headers if h.startswith("x-ratelimit")]
        gql = gh.post("/api/graphql", json={"query": STARS})
        assert "errors" not in gql.json() and "x-ratelimit-remaining" not in gql.headers
    off = gh.get("/api/v3/rate_limit")
    assert (off.status_code, off.json()["message"]) == (404, "Rate limiting is not enabled.")


def test_unsupported_api_version_is_400_and_no_header_selects_the_default() -> None:
    app, gh = make()
    assert app.api_versions == ("2022-11-28", "2026-03-10")
    plain = gh.get("/repos/acme/rocket")
    assert plain.headers["x-github-api-version-selected"] == "2022-11-28"
    new = gh.get("/repos/acme/rocket/stargazers/history", headers={"X-GitHub-Api-Version": "2026-03-10"})
    assert new.status_code == 200 and new.headers["x-github-api-version-selected"] == "2026-03-10"
    bad = gh.get("/repos/acme/rocket", headers={"X-GitHub-Api-Version": "2099-01-01"})
    assert bad.status_code == 400
    assert '"2099-01-01", is not a supported version' in bad.json()["message"]
    legacy, old = make(ghes_legacy=True)
    assert legacy.api_versions == ("2022-11-28",)
    refused = old.get("/api/v3/repos/acme/rocket", headers={"X-GitHub-Api-Version": "2026-03-10"})
    assert refused.status_code == 400 and '"2022-11-28" (most recent)' in refused.json()["message"]
    assert old.get("/api/v3/repos/acme/rocket/stargazers/history").status_code == 404
    _, only_new = make(api_versions=["2026-03-10"])
    assert only_new.get("/repos/acme/rocket").headers["x-github-api-version-selected"] == "2026-03-10"


# --- 5. star history --------------------------------------------------------------------------------


def stars_everywhere(gh: httpx.Client) -> tuple[int, int, int, int]:
    rest = gh.get("/repos/acme/rocket").json()["stargazers_count"]
    count = gh.get("/repos/acme/rocket/stargazers/count").json()["count"]
    graphql = gh.post("/graphql", json={"query": STARS}).json()["data"]["repository"]["stargazerCount"]
    return rest, count, graphql, sum(w["total"] for w in all_weeks(gh))


def test_an_unstar_lowers_the_day_the_star_was_given_and_nothing_is_negative() -> None:
    _, gh = make()
    weeks = {datetime.fromtimestamp(w["week"], UTC).date(): w["days"] for w in all_weeks(gh)}
    assert all(n >= 0 for days in weeks.values() for n in days)
    # 20 stars on Tuesday 2016-03-01, net -2 on Wednesday: the two latest stars given are withdrawn.
    assert weeks[date(2016, 2, 28)] == [0, 0, 18, 0, 0, 0, 0]
    assert stars_everywhere(gh) == (ROCKET_STARS,) * 4


def test_withdraw_stars_shrinks_an_old_week_and_every_count() -> None:
    app, gh = make()
    before = {w["week"]: w["total"] for w in all_weeks(gh)}
    app.withdraw_stars("acme/rocket", date(2015, 11, 8), 4)
    after = {w["week"]: w["total"] for w in all_weeks(gh)}
    first = int(datetime(2015, 11, 8, tzinfo=UTC).timestamp())
    assert (before[first], after[first]) == (15, 11)
    assert {k: v for k, v in after.items() if k != first} == {k: v for k, v in before.items() if k != first}
    assert stars_everywhere(gh) == (ROCKET_STARS - 4,) * 4
    with pytest.raises(ValueError):
        app.withdraw_stars("acme/rocket", date(2015, 11, 8), 7)  # only 6 of the 10 are left


def test_a_new_week_shifts_the_pages_by_one_week() -> None:
    app, gh = make()
    path = "/repos/acme/rocket/stargazers/history"
    before = gh.get(path).json()
    app.set_today(date(2017, 1, 8))  # a Sunday: a new week begins
    after = gh.get(path).json()
    assert datetime.fromtimestamp(after[0]["week"], UTC).date() == date(2017, 1, 8)
    assert after[0]["total"] == 0 and after[1:] == before[:-1]
    assert gh.get(path, params={"page": 2}).json()[0] == before[-1]


def test_star_history_in_los_angeles_time_still_adds_up() -> None:
    _, gh = make(star_history_timezone="America/Los_Angeles")
    weeks = all_weeks(gh)
    la = ZoneInfo("America/Los_Angeles")
    starts = [datetime.fromtimestamp(w["week"], la) for w in weeks]
    assert all(s.weekday() == 6 and (s.hour, s.minute) == (0, 0) for s in starts)  # Sunday 00:00 local
    assert starts[-1].date() == date(2015, 11, 1)  # the Sunday on or before the creation (local)
    assert sum(w["total"] for w in weeks) == ROCKET_STARS
    # 2015-11-08 UTC's first four stars fall on Saturday evening in Los Angeles.
    assert weeks[-1]["days"][6] == 4
    assert weeks[-2]["days"][:2] == [8, 3]


# --- 6. fork networks -------------------------------------------------------------------------------


def test_fork_counts_cover_the_network_and_the_listing_only_direct_forks() -> None:
    _, gh = edge()
    repo = gh.get("/repos/edge-org/fork-network").json()
    assert repo["forks_count"] == repo["forks"] == repo["network_count"] == 42
    query = '{ repository(owner: "edge-org", name: "fork-network") { forkCount } }'
    assert gh.post("/graphql", json={"query": query}).json()["data"]["repository"]["forkCount"] == 42
    listed = gh.get("/repos/edge-org/fork-network/forks", params={"per_page": 100, "sort": "oldest"}).json()
    assert len(listed) == 30
    assert sum(f["forks_count"] for f in listed) == 12  # descendants of each direct fork
    assert max(f["forks_count"] for f in listed) == 2  # a fork with a child and a grandchild
    times = [f["created_at"] for f in listed]
    assert times == sorted(times)


def test_fork_of_fork_is_created_after_its_parent() -> None:
    repo = next(r for r in edge_scenario(TODAY).repos if r.name == "fork-network")
    by_id = {f.github_id: f for f in repo.forks}
    children = [f for f in repo.forks if f.parent_id is not None]
    assert len(children) == 12
    assert all(f.created_at > by_id[f.parent_id].created_at for f in children if f.parent_id is not None)


# --- 7. the contributors' email cap -----------------------------------------------------------------


def test_emails_past_the_cap_count_as_anonymous_one_per_email() -> None:
    _, gh = edge(linked_email_cap=30)
    path = "/repos/edge-org/many-emails/contributors"
    # 38 emails: 13 users (the latecomer's two emails both past the cap), 12 bare emails.
    assert last_page(gh.get(path, params={"per_page": 1, "anon": 1})) == 12 + 12 + 6 + 2
    assert last_page(gh.get(path, params={"per_page": 1})) == 12
    everyone = gh.get(path, params={"per_page": 100, "anon": "1"}).json()
    late = [p for p in everyone if p.get("type") == "Anonymous" and "latecomer" in p["email"] + p["name"]]
    assert len(late) == 1 and not [p for p in everyone if p.get("login") == "latecomer"]
    assert len([p for p in everyone if p.get("name") == "Late Comer"]) == 2
    assert sum(p["contributions"] for p in everyone) == 62


def test_the_default_cap_of_500_links_every_user_here_and_graphql_ignores_the_cap() -> None:
    _, gh = edge()
    path = "/repos/edge-org/many-emails/contributors"
    assert last_page(gh.get(path, params={"per_page": 1, "anon": 1})) == 13 + 12
    assert last_page(gh.get(path, params={"per_page": 1})) == 13
    _, capped = edge(linked_email_cap=1)
    query = """{ repository(owner: "edge-org", name: "many-emails") { defaultBranchRef { target {
      ... on Commit { history(first: 2) { nodes { author { email user { login } } } } } } } } }"""
    nodes = capped.post("/graphql", json={"query": query}).json()["data"]["repository"]
    authors = [n["author"] for n in nodes["defaultBranchRef"]["target"]["history"]["nodes"]]
    assert [a["user"]["login"] for a in authors] == ["latecomer", "latecomer"]


# --- 8. ids of the edge scenario --------------------------------------------------------------------


def test_edge_ids_still_follow_today() -> None:
    now = {r.name: r.github_id for r in edge_scenario(TODAY).repos}
    later = {r.name: r.github_id for r in edge_scenario(TODAY + timedelta(days=800)).repos}
    assert now.keys() == later.keys() and all(later[k] > now[k] for k in now)
