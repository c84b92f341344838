"""Fetchers over GraphQL and REST (MockTransport handlers), and the parsers fed with real recordings."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from collector.domain import RepoName, parse_repo_name
from collector.github.api import GitHubAPI, stats_year_start
from collector.github.errors import EndpointUnavailable, Forbidden, GitHubError, NotFound
from collector.github.graphql import counters_per_query, counters_query, estimate_cost
from collector.github.options import ClientOptions
from collector.github.parsers import parse_repository, parse_rest_counters
from collector.github.responses import ApiResponse
from collector.github.types import RepoCounters
from tests.test_client import API, NAME, FakeTime, limits, run

FIXTURES = Path(__file__).parent / "fixtures"


def gql_node(name: RepoName, github_id: int) -> dict[str, Any]:
    return {
        "databaseId": github_id,
        "id": f"R_{github_id}",
        "nameWithOwner": name.full_name,
        "createdAt": "2015-11-07T01:19:20Z",
        "pushedAt": "2024-05-01T00:00:00Z",
        "isArchived": github_id % 2 == 0,
        "description": "d",
        "primaryLanguage": {"name": "C++"},
        "stargazerCount": github_id * 10,
        "forkCount": github_id,
        "watchers": {"totalCount": 3},
        "issues": {"totalCount": 4},
        "defaultBranchRef": {"name": "master", "target": {"history": {"totalCount": github_id + 1}}},
    }


def graphql_handler(missing: set[str], *, fail_above: int | None = None, log: list[int] | None = None) -> Any:
    """A GraphQL endpoint for the counters query: `missing` repos are NOT_FOUND; big batches can 502."""

    def handler(request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        variables = payload["variables"]
        count = sum(1 for key in variables if key.startswith("o"))
        if log is not None:
            log.append(count)
        if fail_above is not None and count > fail_above:
            return httpx.Response(502, json={"message": "Server Error"})
        data: dict[str, Any] = {
            "rateLimit": {"cost": 1, "remaining": 4000, "resetAt": "2030-01-01T00:00:00Z"}
        }
        errors = []
        for i in range(count):
            name = RepoName(variables[f"o{i}"], variables[f"n{i}"])
            if name.full_name in missing:
                data[f"r{i}"] = None
                errors.append(
                    {"type": "NOT_FOUND", "path": [f"r{i}"], "message": f"Could not resolve {name}"}
                )
            else:
                data[f"r{i}"] = gql_node(name, 100 + i)
        body: dict[str, Any] = {"data": data}
        if errors:
            body["errors"] = errors
        return httpx.Response(200, json=body, headers=limits(4000, resource="graphql"))

    return handler


def names(n: int) -> list[RepoName]:
    return [parse_repo_name(f"org{i}/repo{i}") for i in range(n)]


def test_counters_use_aliases_in_batches_with_one_point_each_and_per_alias_not_found() -> None:
    wanted = names(120)
    sizes: list[int] = []
    handler = graphql_handler({"org5/repo5"}, log=sizes)
    result, gh = run(
        handler, lambda gh: gh.fetch_repo_counters(wanted), "t", options=ClientOptions(graphql_batch=50)
    )
    # 50 repositories would cost 2 points (150 requests / 100, rounded): 49 cost 1.
    assert sorted(sizes) == [22, 49, 49]
    assert gh.stats.graphql_points == 3 and gh.stats.graphql_queries == 3
    assert set(result) == {n.key for n in wanted}
    missing = result["org5/repo5"]
    assert isinstance(missing, NotFound) and "org5/repo5" in str(missing)
    first = result["org0/repo0"]
    assert isinstance(first, RepoCounters)
    assert (first.repo.full_name, first.repo.github_id, first.stars, first.forks) == (
        "org0/repo0",
        100,
        1000,
        100,
    )
    assert (first.watchers, first.open_issues, first.repo.archived) == (3, 4, True)
    assert first.repo.primary_language == "C++" and first.repo.default_branch == "master"
    assert first.commits_52w == 101


def test_a_batch_that_times_out_is_split_and_retried() -> None:
    sizes: list[int] = []
    handler = graphql_handler(set(), fail_above=12, log=sizes)
    result, gh = run(
        handler, lambda gh: gh.fetch_repo_counters(names(49)), "t", options=ClientOptions(graphql_batch=50)
    )
    assert all(isinstance(v, RepoCounters) for v in result.values()) and len(result) == 49
    assert sizes[0] == 49 and max(sizes[1:]) <= 25
    assert sum(s for s in sizes if s <= 12) == 49


def test_a_batch_that_keeps_failing_reports_the_error_for_its_repositories_only() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if '"org0"' in request.content.decode():
            return httpx.Response(500, json={"message": "boom"})
        return graphql_handler(set())(request)

    result, _ = run(
        handler,
        lambda gh: gh.fetch_repo_counters(names(4)),
        "t",
        options=ClientOptions(graphql_batch=2, max_attempts=2),
    )
    assert isinstance(result["org0/repo0"], GitHubError) and isinstance(result["org1/repo1"], GitHubError)
    assert isinstance(result["org2/repo2"], RepoCounters) and isinstance(result["org3/repo3"], RepoCounters)


def test_without_a_token_counters_fall_back_to_rest() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/repos/org1/repo1":
            return httpx.Response(404, json={"message": "Not Found"})
        body = json.loads((FIXTURES / "client-octokit-get-repository.json").read_text())[0]["response"]
        return httpx.Response(200, json=body, headers=limits(59, limit=60))

    result, gh = run(handler, lambda gh: gh.fetch_repo_counters(names(2)))
    assert sorted(paths) == ["/repos/org0/repo0", "/repos/org1/repo1"]
    counters = result["org0/repo0"]
    assert isinstance(counters, RepoCounters) and counters.stars == 42 and counters.watchers == 42
    assert isinstance(result["org1/repo1"], NotFound)
    assert gh.stats.graphql_queries == 0


def test_counters_query_asks_for_every_counter_and_its_cost() -> None:
    since = datetime(2025, 11, 30, tzinfo=UTC)
    query = counters_query(names(2), since)
    for fragment in (
        "stargazerCount",
        "forkCount",
        "watchers { totalCount }",
        "issues(states: OPEN) { totalCount }",
        "isArchived",
        "primaryLanguage { name }",
        "description",
        "createdAt",
        "databaseId",
        "nameWithOwner",
        "defaultBranchRef { name target { ... on Commit { history(since: $since) { totalCount } } } }",
        "pushedAt",
        "rateLimit { cost remaining resetAt }",
    ):
        assert fragment in query.text
    assert query.variables == {
        "since": "2025-11-30T00:00:00Z",
        "o0": "org0",
        "n0": "repo0",
        "o1": "org1",
        "n1": "repo1",
    }
    assert query.estimated_cost == 1


def test_counters_batches_stay_at_one_point() -> None:
    # Three connections per repository (watchers, issues, history): 49 make 147 requests, 1 point.
    assert (counters_per_query(50), counters_per_query(100), counters_per_query(10)) == (49, 49, 10)
    assert estimate_cost(3 * 49) == 1 and estimate_cost(3 * 50) == 2
    assert counters_per_query(0) == 1


def test_the_52_weeks_start_on_the_sunday_51_weeks_before_this_weeks() -> None:
    # 2026-11-20 is a Friday: its week began on Sunday 2026-11-15; /stats/commit_activity's first
    # week is 51 weeks before that one.
    assert stats_year_start(date(2026, 11, 20)) == datetime(2025, 11, 23, tzinfo=UTC)
    assert stats_year_start(date(2026, 11, 15)) == datetime(2025, 11, 23, tzinfo=UTC)
    assert stats_year_start(date(2026, 11, 14)) == datetime(2025, 11, 16, tzinfo=UTC)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content)["variables"]["since"])
        return graphql_handler(set())(request)

    run(handler, lambda gh: gh.fetch_repo_counters(names(1), today=date(2026, 11, 20)), "t")
    assert seen == ["2025-11-23T00:00:00Z"]


def test_an_empty_repository_has_no_commits_and_a_node_without_the_count_leaves_it_unknown() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        node = gql_node(parse_repo_name("org0/repo0"), 100)
        node["defaultBranchRef"] = None if "org0" in request.content.decode() else {"name": "main"}
        data = {"r0": node, "rateLimit": {"cost": 1, "remaining": 4000, "resetAt": "2030-01-01T00:00:00Z"}}
        return httpx.Response(200, json={"data": data})

    result, _ = run(handler, lambda gh: gh.fetch_repo_counters([parse_repo_name("org0/repo0")]), "t")
    empty = result["org0/repo0"]
    assert isinstance(empty, RepoCounters) and empty.commits_52w == 0
    result, _ = run(handler, lambda gh: gh.fetch_repo_counters([parse_repo_name("org1/repo1")]), "t")
    unknown = result["org1/repo1"]
    assert isinstance(unknown, RepoCounters) and unknown.commits_52w is None


def test_commit_walk_pages_by_cursor_with_identities() -> None:
    cursors: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        after = json.loads(request.content)["variables"]["after"]
        cursors.append(after)
        nodes = [
            {
                "oid": "a" * 40,
                "authoredDate": "2017-01-03T10:00:00Z",
                "committedDate": "2017-01-08T01:00:00+02:00",
                "parents": {"totalCount": 2},
                "author": {"email": "X@Y.org", "user": None},
            },
            {
                "oid": "b" * 40,
                "authoredDate": "2017-01-02T10:00:00+01:00",
                "committedDate": "2017-01-02T10:00:00+01:00",
                "parents": {"totalCount": 1},
                "author": {"user": {"databaseId": 9}},
            },
        ]
        info = {"hasNextPage": after is None, "endCursor": "c1" if after is None else "c2"}
        history = {"totalCount": 4, "pageInfo": info, "nodes": nodes}
        data = {
            "repository": {"defaultBranchRef": {"target": {"history": history}}},
            "rateLimit": {"cost": 1},
        }
        return httpx.Response(200, json={"data": data})

    async def walk(gh: GitHubAPI) -> list[Any]:
        return [page async for page in gh.fetch_commits(NAME)]

    pages, _ = run(handler, walk, "t")
    assert cursors == [None, "c1"]
    assert [c.identity for c in pages[0].commits] == ["e:x@y.org", "u:9"]
    assert pages[0].commits[1].authored_at == datetime(2017, 1, 2, 9, 0, tzinfo=UTC)
    merge = pages[0].commits[0]
    assert merge.committed_at == datetime(2017, 1, 7, 23, 0, tzinfo=UTC) and merge.is_merge
    assert not pages[0].commits[1].is_merge
    assert pages[-1].has_next is False and pages[0].end_cursor == "c1" and pages[0].total_count == 4


def test_star_history_404_is_endpoint_unavailable_for_an_existing_repo_and_not_found_otherwise() -> None:
    def ghes(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/stargazers/history"):
            return httpx.Response(404, json={"message": "Not Found"})
        return httpx.Response(200, json={"id": 7, "full_name": "octo/hello"})

    async def walk(gh: GitHubAPI) -> list[Any]:
        return [page async for page in gh.fetch_star_history(NAME)]

    with pytest.raises(EndpointUnavailable, match="stargazers/history"):
        run(ghes, walk, "t")
    with pytest.raises(NotFound):
        run(lambda r: httpx.Response(404, json={"message": "Not Found"}), walk, "t")


def test_legacy_stargazers_forbidden_or_empty() -> None:
    async def walk(gh: GitHubAPI) -> list[Any]:
        return [page async for page in gh.fetch_stargazer_dates(NAME)]

    with pytest.raises(Forbidden, match="collaborators"):
        run(lambda r: httpx.Response(403, json={"message": "Must have push access"}), walk, "t")
    with pytest.raises(Forbidden, match="empty"):
        run(lambda r: httpx.Response(200, json=[]), walk, "t")


# -- real recordings through the client and the parsers --------------------------------------------


def _recorded(file: str) -> list[tuple[str, str, int, dict[str, str], bytes]]:
    """(method, url, status, headers, body) of every exchange in a recording, any of the three formats."""
    data = json.loads((FIXTURES / file).read_text())
    out = []
    if isinstance(data, list):  # octokit/fixtures
        for x in data:
            body = json.dumps(x["response"]).encode() if x["response"] != "" else b""
            out.append((x["method"].upper(), x["scope"] + x["path"], x["status"], dict(x["headers"]), body))
        return out
    for it in data["http_interactions"]:  # Betamax / VCR
        response = it["response"]
        raw = response["body"]
        if raw.get("base64_string"):
            content = base64.b64decode(raw["base64_string"])
            content = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
        else:
            content = (raw.get("string") or "").encode()
        headers = {k: v[0] if isinstance(v, list) else v for k, v in response["headers"].items()}
        out.append(
            (it["request"]["method"], it["request"]["uri"], response["status"]["code"], headers, content)
        )
    return out


def replay(file: str) -> Any:
    """A handler answering each (method, path, page) with the recorded response, moved to our test host."""
    table = {}
    for method, url, status, headers, body in _recorded(file):
        parsed = httpx.URL(url)
        keep = {k: str(v).replace("https://api.github.com", API) for k, v in headers.items()}
        keep = {k: v for k, v in keep.items() if k.lower() not in ("content-encoding", "content-length")}
        key = (method, parsed.path, parsed.params.get("page", "1"))
        table[key] = (status, keep, body.replace(b"https://api.github.com", API.encode()))

    def handler(request: httpx.Request) -> httpx.Response:
        status, headers, body = table[(request.method, request.url.path, request.url.params.get("page", "1"))]
        return httpx.Response(status, headers=headers, content=body)

    return handler


def test_recorded_repository_parses() -> None:
    body = json.loads((FIXTURES / "client-octokit-get-repository.json").read_text())[0]["response"]
    repo = parse_repository(body)
    assert (repo.github_id, repo.full_name, repo.default_branch) == (
        1000,
        "octokit-fixture-org/hello-world",
        "master",
    )
    assert repo.created_at == datetime(2017, 10, 10, 16, 0, tzinfo=UTC)
    counters = parse_rest_counters(body)
    assert (counters.stars, counters.forks, counters.watchers, counters.open_issues) == (42, 42, 42, 42)


def test_recorded_rename_is_followed_to_the_new_name_and_same_id() -> None:
    repo, gh = run(
        replay("client-octokit-rename-repository.json"),
        lambda gh: gh.fetch_repository(parse_repo_name("octokit-fixture-org/rename-repository")),
        "t",
    )
    assert (repo.full_name, repo.github_id) == ("octokit-fixture-org/rename-repository-newname", 1000)
    assert gh.stats.requests["GET /repositories/{id} 200"] == 1


def test_recorded_links_paginate_via_repositories_id() -> None:
    handler = replay("client-octokit-paginate-issues.json")

    async def walk(gh: GitHubAPI) -> list[str]:
        urls = []
        async for page in gh.client.paginate(
            "/repos/octokit-fixture-org/paginate-issues/issues", params={"per_page": 3}
        ):
            urls.append(page.url)
        return urls

    urls, _ = run(handler, walk, "t")
    assert len(urls) == 5 and all("/repositories/1000/issues" in u for u in urls[1:])


def test_recorded_forks_walk_all_pages() -> None:
    async def walk(gh: GitHubAPI) -> list[Any]:
        return [page async for page in gh.fetch_forks(parse_repo_name("sigmavirus24/github3.py"))]

    pages, _ = run(replay("client-github3py-Repository_forks.json"), walk, "t")
    forks = [f for p in pages for f in p.forks]
    assert len(pages) == 3 and pages[0].last_page == 3
    assert len(forks) == len({f.github_id for f in forks}) > 200
    assert all(f.created_at.tzinfo is UTC for f in forks)


def test_recorded_stargazers_with_dates_after_a_rename() -> None:
    handler = replay("client-github3py-Repository_stargazers.json")

    async def walk(gh: GitHubAPI) -> list[Any]:
        repo = await gh.fetch_repository(parse_repo_name("sigmavirus24/betamax"))
        return [page async for page in gh.fetch_stargazer_dates(parse_repo_name(repo.full_name))]

    pages, _ = run(handler, walk, "t")
    dates = [d for p in pages for d in p.starred_at]
    assert len(pages) == 5 and pages[0].last_page == 5
    assert dates[0] == datetime(2013, 7, 22, 18, 9, 13, tzinfo=UTC) and dates == sorted(dates)


def test_recorded_contributors_rel_last_and_commit_activity() -> None:
    link = dict(_recorded("client-github3py-Repository_contributors.json")[1][3])["Link"]
    response = ApiResponse("GET", "https://api.github.com/x", 200, httpx.Headers({"link": link}), b"[]")
    assert response.links["last"].endswith("page=2")

    recorded_202 = _recorded("client-github3py-Repository_commit_activity.json")[1]
    weeks_body = _recorded("client-octokitrb-commit_activity_stats.json")[0][4]
    answers = iter([(recorded_202[2], recorded_202[4]), (200, weeks_body)])

    def handler(request: httpx.Request) -> httpx.Response:
        status, body = next(answers)
        return httpx.Response(status, content=body)

    fake = FakeTime()
    weeks, _ = run(handler, lambda gh: gh.fetch_commit_activity(NAME), "t", time=fake)
    assert recorded_202[2] == 202 and fake.sleeps == [1.0]
    assert len(weeks) == 52 and all(len(w.days) == 7 and w.total == sum(w.days) for w in weeks)


def test_recorded_304_is_replayed_from_the_cache() -> None:
    from collector.github.cache import MemoryCache

    (_, _, _, headers_304, _) = _recorded("client-github3py-Branch_latest_sha.json")[2]
    etag = headers_304["ETag"]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers=headers_304)
        return httpx.Response(200, json=[{"sha": "1254fe8"}], headers={"ETag": etag})

    async def twice(gh: GitHubAPI) -> list[Any]:
        return [
            (await gh.client.get("/repos/PyCQA/flake8/commits", conditional=True)).json() for _ in range(2)
        ]

    bodies, gh = run(handler, twice, "t", cache=MemoryCache())
    assert bodies[0] == bodies[1] == [{"sha": "1254fe8"}]
    assert gh.stats.not_modified == 1
