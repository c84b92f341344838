"""The simulator's GraphQL endpoint: real execution on GitHub's schema, aliases, cost, errors."""

from __future__ import annotations

import time
from typing import Any

import httpx

from collector.testing.graphql_api import SCHEMA_BUILD_SECONDS, load_schema
from collector.testing.simulator import SimulatorApp, SimulatorTransport
from collector.testing.tiny import ROCKET_COMMITS, ROCKET_FORKS, ROCKET_STARS, tiny_scenario

API = "https://api.github.com"

COUNTERS = """
query Counters($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    databaseId id nameWithOwner name owner { login } createdAt pushedAt isArchived description
    primaryLanguage { name } stargazerCount forkCount watchers { totalCount }
    issues(states: [OPEN]) { totalCount }
    defaultBranchRef { name target { ... on Commit { oid history { totalCount } } } }
  }
  rateLimit { cost limit remaining resetAt used nodeCount }
}
"""


def make(token: str | None = "t1", base: str = API, **options: Any) -> tuple[SimulatorApp, httpx.Client]:
    app = SimulatorApp(tiny_scenario(), **options)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app, httpx.Client(transport=SimulatorTransport(app), base_url=base, headers=headers)


def ask(gh: httpx.Client, query: str, path: str = "/graphql", **variables: Any) -> dict[str, Any]:
    resp = gh.post(path, json={"query": query, "variables": variables})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_schema_is_built_once_per_process_and_quickly() -> None:
    started = time.perf_counter()
    assert load_schema() is load_schema()
    assert time.perf_counter() - started < 5
    assert len(SCHEMA_BUILD_SECONDS) == 1 and SCHEMA_BUILD_SECONDS[0] < 5
    assert "Repository" in load_schema().type_map


def test_repository_counters_agree_with_rest() -> None:
    _, gh = make()
    body = ask(gh, COUNTERS, owner="acme", name="rocket")
    assert "errors" not in body
    repo = body["data"]["repository"]
    rest = gh.get("/repos/acme/rocket").json()
    assert repo["databaseId"] == rest["id"] == 1001
    assert repo["id"] == rest["node_id"]
    assert repo["nameWithOwner"] == "acme/rocket" and repo["owner"] == {"login": "acme"}
    assert repo["stargazerCount"] == rest["stargazers_count"] == ROCKET_STARS
    assert repo["forkCount"] == rest["forks_count"] == ROCKET_FORKS
    assert repo["watchers"]["totalCount"] == rest["subscribers_count"]
    assert repo["issues"]["totalCount"] == rest["open_issues_count"]
    assert repo["primaryLanguage"] == {"name": "Python"}
    assert (repo["createdAt"], repo["pushedAt"]) == (rest["created_at"], rest["pushed_at"])
    assert repo["defaultBranchRef"]["name"] == "master"
    assert repo["defaultBranchRef"]["target"]["history"]["totalCount"] == ROCKET_COMMITS
    assert body["data"]["rateLimit"]["cost"] == 1


def test_aliases_for_many_repositories_and_many_week_windows() -> None:
    _, gh = make()
    activity: list[dict[str, Any]] = []
    while not activity:
        resp = gh.get("/repos/acme/rocket/stats/commit_activity")
        activity = resp.json() if resp.status_code == 200 else []
    weeks = activity[-10:]
    windows = " ".join(
        f'w{i}: history(since: "{_iso(w["week"])}", until: "{_iso(end)}") {{ totalCount }}'
        for i, (w, end) in enumerate((w, w["week"] + 7 * 86400 - 1) for w in weeks)
    )
    query = (
        "{ "
        + " ".join(
            f'r{i}: repository(owner: "acme", name: "{n}") {{ stargazerCount '
            f"defaultBranchRef {{ target {{ ... on Commit {{ {windows} }} }} }} }}"
            for i, n in enumerate(["rocket", "attic", "empty", "rocket"])
        )
        + " rateLimit { cost } }"
    )
    data = ask(gh, query)["data"]
    rocket = data["r0"]["defaultBranchRef"]["target"]
    assert [rocket[f"w{i}"]["totalCount"] for i in range(10)] == [w["total"] for w in weeks]
    assert data["r3"] == data["r0"]
    assert data["r1"]["stargazerCount"] == 4
    assert data["r2"] == {"stargazerCount": 0, "defaultBranchRef": None}  # empty repository


def _iso(unix: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))


def test_missing_repository_is_null_with_a_not_found_error_for_that_alias() -> None:
    _, gh = make()
    body = ask(
        gh,
        '{ a: repository(owner: "acme", name: "rocket") { databaseId } '
        'b: repository(owner: "acme", name: "nope") { databaseId } '
        'c: repository(owner: "acme", name: "gone") { databaseId } }',
    )
    assert body["data"] == {"a": {"databaseId": 1001}, "b": None, "c": None}
    errors = {tuple(e["path"]): e for e in body["errors"]}
    assert set(errors) == {("b",), ("c",)}
    assert errors[("b",)]["type"] == "NOT_FOUND"
    assert errors[("b",)]["message"] == "Could not resolve to a Repository with the name 'acme/nope'."


def test_renamed_repository_follows_renames_unless_told_not_to() -> None:
    _, gh = make()
    q = '{ repository(owner: "olduser", name: "rocket"%s) { nameWithOwner databaseId } }'
    assert ask(gh, q % "")["data"]["repository"] == {"nameWithOwner": "acme/rocket", "databaseId": 1001}
    refused = ask(gh, q % ", followRenames: false")
    assert refused["data"]["repository"] is None and refused["errors"][0]["type"] == "NOT_FOUND"


def test_commit_walk_pages_with_cursors_newest_first() -> None:
    _, gh = make()
    query = """
    query Walk($after: String) { repository(owner: "acme", name: "rocket") { defaultBranchRef { target {
      ... on Commit { history(first: 15, after: $after) { totalCount pageInfo { hasNextPage endCursor }
        nodes { oid authoredDate committedDate author { email name date user { databaseId login } } }
    } } } } } }
    """
    seen: list[dict[str, Any]] = []
    after = None
    pages = 0
    while True:
        history = ask(gh, query, after=after)["data"]["repository"]["defaultBranchRef"]["target"]["history"]
        seen += history["nodes"]
        pages += 1
        if not history["pageInfo"]["hasNextPage"]:
            break
        after = history["pageInfo"]["endCursor"]
    assert pages == 3 and len(seen) == ROCKET_COMMITS == len({n["oid"] for n in seen})
    dates = [n["authoredDate"] for n in seen]
    assert dates == sorted(dates, reverse=True)
    rest = gh.get("/repos/acme/rocket/commits", params={"per_page": 100}).json()
    assert [n["oid"] for n in seen] == [c["sha"] for c in rest]
    linked = {n["author"]["email"]: n["author"]["user"] for n in seen}
    assert linked["ada@example.com"] == {"databaseId": 11, "login": "ada"}
    assert linked["eve@example.org"] is None


def test_cost_follows_githubs_rule_and_is_charged_to_the_graphql_budget() -> None:
    app, gh = make()
    # GitHub's documented example: 1 + 100 + 100 x 50 = 5,101 requests -> 51 points; dryRun runs nothing.
    example = """{ viewer { login repositories(first: 100) { nodes { name issues(first: 50) { nodes {
      labels(first: 60) { nodes { name } } } } } } } rateLimit(dryRun: true) { cost nodeCount remaining } }"""
    dry = ask(gh, example)
    assert dry["data"] == {"rateLimit": {"cost": 51, "nodeCount": 100 + 5_000 + 300_000, "remaining": 5000}}
    assert app.stats.graphql_points == 0
    resp = gh.post("/graphql", json={"query": COUNTERS, "variables": {"owner": "acme", "name": "rocket"}})
    assert resp.headers["x-ratelimit-resource"] == "graphql"
    assert (
        resp.headers["x-ratelimit-remaining"] == "4999" == str(resp.json()["data"]["rateLimit"]["remaining"])
    )
    assert app.stats.graphql_points == 1
    core = gh.get("/rate_limit").json()["resources"]
    assert (core["core"]["used"], core["graphql"]["used"]) == (0, 1)


def test_over_budget_is_http_200_rate_limited_with_remaining_zero() -> None:
    app, gh = make(graphql_limit=1)
    assert "errors" not in ask(gh, COUNTERS, owner="acme", name="rocket")
    resp = gh.post("/graphql", json={"query": COUNTERS, "variables": {"owner": "acme", "name": "rocket"}})
    assert resp.status_code == 200
    assert resp.headers["x-ratelimit-remaining"] == "0"
    assert resp.json()["errors"][0]["type"] == "RATE_LIMIT"  # the 2026 default; RATE_LIMITED is an option
    assert app.stats.while_exhausted == 1


def test_unauthenticated_graphql_is_401() -> None:
    _, gh = make(token=None)
    resp = gh.post("/graphql", json={"query": "{ rateLimit { cost } }"})
    assert resp.status_code == 401
    assert resp.json()["message"] == "This endpoint requires you to be authenticated."


def test_ghes_graphql_path_and_node_lookup() -> None:
    _, gh = make(base="http://ghe.local")
    body = ask(gh, '{ node(id: "R_sim1001") { ... on Repository { nameWithOwner } } }', path="/api/graphql")
    assert body["data"]["node"] == {"nameWithOwner": "acme/rocket"}
    missing = ask(gh, '{ node(id: "R_nope") { id } }', path="/api/graphql")
    assert missing["data"]["node"] is None and missing["errors"][0]["type"] == "NOT_FOUND"


def test_a_valid_query_the_simulator_does_not_serve_still_validates() -> None:
    _, gh = make()
    body = ask(gh, '{ repository(owner: "acme", name: "rocket") { stargazerCount licenseInfo { name } } }')
    assert body["data"]["repository"] == {"stargazerCount": ROCKET_STARS, "licenseInfo": None}
    assert [e["path"] for e in body["errors"]] == [["repository", "licenseInfo"]]
    assert "not served" in body["errors"][0]["message"]


def test_invalid_queries_get_github_like_errors_and_cost_nothing() -> None:
    app, gh = make()
    bad = ask(gh, '{ repository(owner: "acme", name: "rocket") { bogus } }')
    assert "data" not in bad
    assert bad["errors"][0]["message"] == "Field 'bogus' doesn't exist on type 'Repository'"
    assert bad["errors"][0]["extensions"] == {
        "code": "undefinedField",
        "typeName": "Repository",
        "fieldName": "bogus",
    }
    assert bad["errors"][0]["locations"] == [{"line": 1, "column": 47}]
    syntax = ask(gh, "{ repository(owner: ")
    assert syntax["errors"][0]["locations"] and "data" not in syntax
    unbounded = ask(gh, '{ repository(owner: "a", name: "b") { forks { nodes { id } } } }')
    assert unbounded["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    excessive = ask(gh, '{ repository(owner: "a", name: "b") { forks(first: 101) { totalCount } } }')
    assert excessive["errors"][0]["type"] == "EXCESSIVE_PAGINATION"
    assert app.stats.graphql_points == 0
    assert gh.post("/graphql", content=b"{not json").status_code == 400
