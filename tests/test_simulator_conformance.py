"""The simulator's answers have the shape of GitHub's real recorded answers (tests/fixtures/sim-*)."""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path
from typing import Any

import httpx

from collector.testing.simulator import SimulatorApp, SimulatorTransport
from collector.testing.tiny import tiny_scenario

FIXTURES = Path(__file__).parent / "fixtures"
API = "https://api.github.com"
LINK_ITEM = re.compile(r'<(https?://[^>]+)>; rel="(next|last|prev|first)"')

# Recorded headers the simulator deliberately leaves out: transport, browser security and OAuth scopes.
NOT_EMULATED = {
    "connection",
    "content-security-policy",
    "strict-transport-security",
    "referrer-policy",
    "x-frame-options",
    "x-content-type-options",
    "x-xss-protection",
    "cache-control",
    "last-modified",
    "x-oauth-scopes",
    "x-accepted-oauth-scopes",
}


def octokit(name: str) -> list[dict[str, Any]]:
    recorded: list[dict[str, Any]] = json.loads((FIXTURES / f"sim-octokit-{name}.json").read_text())
    return recorded


def github3(name: str) -> list[dict[str, Any]]:
    recorded: list[dict[str, Any]] = json.loads((FIXTURES / f"sim-github3py-{name}.json").read_text())[
        "http_interactions"
    ]
    return recorded


def body_of(response: dict[str, Any]) -> Any:
    """A Betamax body: plain `string`, or gzip'd JSON in `base64_string`."""
    stored = response["body"]
    if stored.get("string"):
        return json.loads(stored["string"])
    return json.loads(gzip.decompress(base64.b64decode(stored["base64_string"])))


def client() -> httpx.Client:
    app = SimulatorApp(tiny_scenario())
    return httpx.Client(
        transport=SimulatorTransport(app), base_url=API, headers={"Authorization": "Bearer t1"}
    )


def test_repository_object_has_the_recorded_keys_and_value_types() -> None:
    recorded = octokit("get-repository")[0]
    ours = client().get("/repos/acme/rocket")
    assert set(ours.json()) == set(recorded["response"])
    for key, value in recorded["response"].items():
        if value is not None and ours.json()[key] is not None:
            assert type(ours.json()[key]) is type(value), key
    assert set(ours.json()["owner"]) == set(recorded["response"]["owner"])


def test_response_headers_include_every_recorded_api_header() -> None:
    recorded = octokit("get-repository")[0]
    ours = client().get("/repos/acme/rocket")
    wanted = {h.lower() for h in recorded["headers"]} - NOT_EMULATED
    assert wanted <= set(ours.headers)
    assert (
        ours.headers["access-control-expose-headers"] == recorded["headers"]["access-control-expose-headers"]
    )
    assert ours.headers["content-type"] == recorded["headers"]["content-type"]
    assert ours.headers["x-github-media-type"] == recorded["headers"]["x-github-media-type"]


def _rels(link: str) -> list[str]:
    assert ", ".join(f'<{u}>; rel="{r}"' for u, r in LINK_ITEM.findall(link)) == link  # nothing else in it
    return [r for _, r in LINK_ITEM.findall(link)]


def test_link_headers_have_the_recorded_format_and_relation_order() -> None:
    pages = octokit("paginate-issues")
    recorded = [_rels(p["headers"]["link"]) for p in pages]
    gh = client()
    ours = [
        gh.get("/repos/acme/rocket/forks", params={"per_page": 1, "page": n}).headers["link"]
        for n in (1, 2, 5)
    ]
    assert [_rels(x) for x in ours] == [recorded[0], recorded[1], recorded[-1]]
    # Like the recording, every link goes to /repositories/{id}/... with per_page first and page last.
    for link in ours:
        for url, _ in LINK_ITEM.findall(link):
            assert re.fullmatch(rf"{API}/repositories/1001/forks\?per_page=1&page=\d+", url)
    for page in pages:
        for url, _ in LINK_ITEM.findall(page["headers"]["link"]):
            assert re.fullmatch(r"https://api\.github\.com/repositories/\d+/issues\?per_page=3&page=\d+", url)


def test_first_page_of_contributors_links_like_the_github3_recording() -> None:
    recorded = github3("Repository_contributors")[1]["response"]
    ours = client().get("/repos/acme/rocket/contributors", params={"per_page": 2})
    assert sorted(_rels(ours.headers["link"])) == sorted(_rels(recorded["headers"]["Link"]))
    entry = body_of(recorded)[0]
    assert set(ours.json()[0]) - set(entry) == {"node_id"}  # node_id arrived after this 2018 recording
    assert set(entry) <= set(ours.json()[0])


def test_moved_repository_matches_the_recorded_301_and_307() -> None:
    recorded = {(x["method"], x["status"]): x for x in octokit("rename-repository")}
    get301, patch307 = recorded[("get", 301)], recorded[("patch", 307)]
    gh = client()
    ours = gh.get("/repos/olduser/rocket")
    assert ours.status_code == 301
    assert set(ours.json()) == set(get301["response"])
    assert ours.json()["message"] == get301["response"]["message"]
    assert ours.json()["documentation_url"] == get301["response"]["documentation_url"]
    assert ours.json()["url"] == ours.headers["location"]
    assert re.fullmatch(rf"{API}/repositories/\d+", get301["headers"]["location"])
    assert re.fullmatch(rf"{API}/repositories/1001", ours.headers["location"])
    assert gh.patch("/repos/olduser/rocket", json={}).status_code == patch307["status"] == 307


def test_not_modified_matches_the_recorded_304() -> None:
    recorded = github3("Branch_latest_sha")[2]["response"]
    assert recorded["status"]["code"] == 304 and recorded["body"]["string"] == ""
    gh = client()
    first = gh.get("/repos/acme/rocket")
    again = gh.get("/repos/acme/rocket", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    # Recorded: X-RateLimit-Remaining 45 before and after the 304.
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]
    assert {"etag", "x-ratelimit-remaining"} <= {h.lower() for h in recorded["headers"]} & set(again.headers)


def test_first_stats_request_matches_the_recorded_202() -> None:
    recorded = github3("Repository_commit_activity")[1]["response"]
    ours = client().get("/repos/acme/rocket/stats/commit_activity")
    assert ours.status_code == recorded["status"]["code"] == 202
    assert ours.content == recorded["body"]["string"].encode() == b"{}"
    assert ours.headers["content-length"] == recorded["headers"]["Content-Length"] == "2"


def test_participation_matches_the_recorded_shape() -> None:
    recorded = body_of(github3("Repository_weekly_commit_count")[1]["response"])
    ours = client().get("/repos/acme/rocket/stats/participation").json()
    assert set(ours) == set(recorded) == {"all", "owner"}
    assert [len(v) for v in ours.values()] == [len(v) for v in recorded.values()] == [52, 52]
