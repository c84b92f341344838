"""The simulator's releases, as GitHub documents them: REST /releases newest first with Link pagination
and drafts only for those with push access, GraphQL releases/releaseAssets with downloadCount; every
download total grows with the simulator's day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from collector.testing.model import SimAsset, SimRelease
from collector.testing.simulator import SimulatorApp, SimulatorTransport
from collector.testing.tiny import TODAY, tiny_scenario

API = "https://api.github.com"
QUERY = """
query($after: String) {
  repository(owner: "acme", name: "rocket") {
    releases(first: 2, after: $after, orderBy: {field: CREATED_AT, direction: DESC}) {
      totalCount
      nodes {
        tagName name publishedAt isPrerelease isDraft
        releaseAssets(first: 100) { nodes { name downloadCount } }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


def _app() -> SimulatorApp:
    scenario = tiny_scenario()
    rocket = next(r for r in scenario.repos if r.full_name == "acme/rocket")
    day = datetime(2016, 12, 1, 12, tzinfo=UTC)
    rocket.releases = [
        SimRelease(
            f"v0.{i}.0",
            None,
            day + timedelta(days=i),
            day + timedelta(days=i),
            i == 2,
            (SimAsset("a.zip", 10),),
        )
        for i in range(3)
    ]
    rocket.releases.append(SimRelease("v1.0.0", None, day, None))  # a draft
    rocket.releases.append(
        SimRelease("v9.0.0", None, day + timedelta(days=90), day + timedelta(days=90))
    )  # future
    return SimulatorApp(scenario, collaborator_tokens=["push"])


def _client(app: SimulatorApp, token: str) -> httpx.Client:
    return httpx.Client(
        transport=SimulatorTransport(app), base_url=API, headers={"Authorization": f"Bearer {token}"}
    )


def test_rest_lists_published_releases_newest_first_with_link_pages_and_growing_totals() -> None:
    app = _app()
    gh = _client(app, "t1")
    first = gh.get("/repos/acme/rocket/releases", params={"per_page": 2})
    assert first.status_code == 200
    assert [r["tag_name"] for r in first.json()] == ["v0.2.0", "v0.1.0"]
    assert first.json()[0]["prerelease"] and not first.json()[0]["draft"]
    # 2016-12-03 to 2017-01-03: 31 whole days of 10 a day.
    assert first.json()[0]["assets"][0]["download_count"] == 310
    rest = gh.get(first.links["next"]["url"])
    assert [r["tag_name"] for r in rest.json()] == ["v0.0.0"] and "next" not in rest.links
    pushed = _client(app, "push").get("/repos/acme/rocket/releases").json()
    assert [r["tag_name"] for r in pushed][0] == "v1.0.0" and pushed[0][
        "draft"
    ]  # drafts first, to push access
    app.set_today(TODAY + timedelta(days=1))
    again = gh.get("/repos/acme/rocket/releases", params={"per_page": 2}).json()
    assert again[0]["assets"][0]["download_count"] == 320


def _ask(gh: httpx.Client, after: str | None) -> dict[str, Any]:
    body: dict[str, Any] = gh.post("/graphql", json={"query": QUERY, "variables": {"after": after}}).json()
    assert "errors" not in body, body
    releases: dict[str, Any] = body["data"]["repository"]["releases"]
    return releases


def test_graphql_releases_page_by_cursor_with_asset_download_counts() -> None:
    gh = _client(_app(), "push")
    page = _ask(gh, None)
    assert page["totalCount"] == 3  # no draft, nothing after today
    assert [n["tagName"] for n in page["nodes"]] == ["v0.2.0", "v0.1.0"]
    assert page["nodes"][1]["releaseAssets"]["nodes"] == [{"name": "a.zip", "downloadCount": 320}]
    assert page["nodes"][0]["publishedAt"] == "2016-12-03T12:00:00Z" and page["pageInfo"]["hasNextPage"]
    last = _ask(gh, page["pageInfo"]["endCursor"])
    assert [n["tagName"] for n in last["nodes"]] == ["v0.0.0"] and not last["pageInfo"]["hasNextPage"]
