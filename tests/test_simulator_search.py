"""Repository search and account listings, over the simulator's real loopback HTTP server.

A small hand-made world states every qualifier's answer literally; catalog-10000 (2,500 repositories
with one topic) shows the 1,000-result cap and how slicing by stars gets past it.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from collector.testing.catalog_repos import CATALOG_TOPIC, catalog_topic_count
from collector.testing.model import Scenario, SimAccount, SimCommit, SimFork, SimRepo
from collector.testing.scenarios import _catalog_cached, catalog_scenario, frameworks_scenario, load_scenario
from collector.testing.simulator import SimulatorApp, running_simulator

TODAY = date(2024, 6, 1)
AUTH = {"Authorization": "Bearer t-search"}
LINK = re.compile(r'<([^>]+)>; rel="(\w+)"')
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def _repo(
    github_id: int,
    full_name: str,
    created: str,
    stars: int,
    *,
    topics: tuple[str, ...] = (),
    language: str | None = "Python",
    description: str | None = None,
    archived: bool = False,
    fork_parent: int | None = None,
) -> SimRepo:
    owner, name = full_name.split("/")
    commit = SimCommit(
        f"{github_id:040x}", _at(created) + timedelta(days=30), "A", "a@example.com", None, None
    )
    return SimRepo(
        github_id=github_id,
        owner=owner,
        name=name,
        created_at=_at(created),
        description=description,
        language=language,
        archived=archived,
        star_days={_at(created).date(): stars} if stars else {},
        commits=[commit],
        topics=topics,
        fork_parent=fork_parent,
    )


def small_world() -> Scenario:
    """An organization and two users; two of the eight repositories are forks, one is archived."""
    dl = "deep-learning"
    repos = [
        _repo(101, "tensorlab/tensorkit", "2016-03-01", 500, topics=(dl, "machine-learning"),
              description="A deep learning toolkit"),
        _repo(102, "tensorlab/visionnet", "2018-07-15", 120, topics=(dl, "computer-vision"), language="C++"),
        _repo(103, "tensorlab/oldnet", "2014-01-10", 80, topics=(dl,), archived=True),
        _repo(104, "tensorlab/docs", "2019-01-01", 5, language="HTML", description="Documentation site"),
        _repo(105, "ada/smallgrad", "2020-04-13", 120, topics=(dl, "neural-network")),
        _repo(106, "ada/tensorkit", "2021-01-01", 2, fork_parent=101, description="A deep learning toolkit"),
        _repo(107, "bob/notes", "2022-02-02", 0, language="Jupyter Notebook"),
        _repo(108, "bob/visionnet", "2022-05-05", 1, topics=(dl,), language="C++", fork_parent=102),
    ]  # fmt: skip
    repos[0].forks = [SimFork(106, "ada", repos[5].created_at)]
    repos[1].forks = [SimFork(108, "bob", repos[7].created_at)]
    accounts = [SimAccount("tensorlab"), SimAccount("ada", "User"), SimAccount("bob", "User")]
    return Scenario(name="small-world", repos=repos, today=TODAY, accounts=accounts)


@pytest.fixture(scope="module")
def world() -> Iterator[httpx.Client]:
    app = SimulatorApp(small_world(), search_limit=100_000)
    with running_simulator(app) as base_url, httpx.Client(base_url=base_url, headers=AUTH) as gh:
        yield gh


@pytest.fixture(scope="module")
def catalog() -> Iterator[httpx.Client]:
    app = SimulatorApp(catalog_scenario(10_000, TODAY), search_limit=100_000)
    with running_simulator(app) as base_url, httpx.Client(base_url=base_url, headers=AUTH) as gh:
        yield gh


def found(gh: httpx.Client, q: str, **params: Any) -> set[str]:
    resp = gh.get("/search/repositories", params={"q": q, **params})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["incomplete_results"] is False and body["total_count"] == len(body["items"])
    return {item["full_name"] for item in body["items"]}


def links(resp: httpx.Response) -> dict[str, str]:
    return {rel: url for url, rel in LINK.findall(resp.headers.get("link", ""))}


# --- qualifiers ----------------------------------------------------------------------------------------

TOPICAL = {"tensorlab/tensorkit", "tensorlab/visionnet", "tensorlab/oldnet", "ada/smallgrad"}
QUALIFIED = [
    ("topic:deep-learning", TOPICAL),
    ("topic:deep-learning fork:true", TOPICAL | {"bob/visionnet"}),
    ("fork:only", {"ada/tensorkit", "bob/visionnet"}),
    ("topic:deep-learning topic:computer-vision", {"tensorlab/visionnet"}),
    ("org:tensorlab", {"tensorlab/tensorkit", "tensorlab/visionnet", "tensorlab/oldnet", "tensorlab/docs"}),
    ("user:ada", {"ada/smallgrad"}),
    ("user:ada fork:true", {"ada/smallgrad", "ada/tensorkit"}),
    ("user:ada user:bob", {"ada/smallgrad", "bob/notes"}),
    ("stars:120", {"tensorlab/visionnet", "ada/smallgrad"}),
    ("stars:>120", {"tensorlab/tensorkit"}),
    ("stars:>=120", {"tensorlab/tensorkit", "tensorlab/visionnet", "ada/smallgrad"}),
    ("stars:<80", {"tensorlab/docs", "bob/notes"}),
    ("stars:<=80", {"tensorlab/oldnet", "tensorlab/docs", "bob/notes"}),
    ("stars:80..120", {"tensorlab/oldnet", "tensorlab/visionnet", "ada/smallgrad"}),
    ("stars:100..*", {"tensorlab/tensorkit", "tensorlab/visionnet", "ada/smallgrad"}),
    ("stars:*..5", {"tensorlab/docs", "bob/notes"}),
    ("archived:true", {"tensorlab/oldnet"}),
    ("archived:false org:tensorlab", {"tensorlab/tensorkit", "tensorlab/visionnet", "tensorlab/docs"}),
    ("language:python", {"tensorlab/tensorkit", "tensorlab/oldnet", "ada/smallgrad"}),
    ("language:C++ fork:true", {"tensorlab/visionnet", "bob/visionnet"}),
    ("created:2018-07-15", {"tensorlab/visionnet"}),
    ("created:>2018-07-15", {"tensorlab/docs", "ada/smallgrad", "bob/notes"}),
    ("created:>=2019-01-01", {"tensorlab/docs", "ada/smallgrad", "bob/notes"}),
    ("created:<2016-03-01", {"tensorlab/oldnet"}),
    ("created:<=2016-03-01", {"tensorlab/oldnet", "tensorlab/tensorkit"}),
    ("created:2016-01-01..2018-12-31", {"tensorlab/tensorkit", "tensorlab/visionnet"}),
    ("created:2020-01-01..*", {"ada/smallgrad", "bob/notes"}),
    ("created:*..2014-12-31", {"tensorlab/oldnet"}),
    ("is:public user:bob", {"bob/notes"}),
    ("toolkit", {"tensorlab/tensorkit"}),
    ("TOOLKIT fork:true", {"tensorlab/tensorkit", "ada/tensorkit"}),
    ("documentation", {"tensorlab/docs"}),
    ("grad neural", {"ada/smallgrad"}),
    ("topic:deep-learning language:python stars:>100", {"tensorlab/tensorkit", "ada/smallgrad"}),
    ("topic:deep-learning -org:tensorlab", {"ada/smallgrad"}),
]  # fmt: skip


@pytest.mark.parametrize(("q", "expected"), QUALIFIED)
def test_each_qualifier_finds_what_github_documents(world: httpx.Client, q: str, expected: set[str]) -> None:
    assert found(world, q) == expected


def test_items_are_repository_objects_with_topics_score_and_the_owner_type(world: httpx.Client) -> None:
    resp = world.get("/search/repositories", params={"q": "user:ada fork:true", "sort": "stars"})
    assert resp.headers["x-ratelimit-resource"] == "search" and "etag" not in resp.headers
    smallgrad, fork = resp.json()["items"]
    assert (smallgrad["full_name"], smallgrad["stargazers_count"], smallgrad["fork"]) == (
        "ada/smallgrad",
        120,
        False,
    )
    assert smallgrad["topics"] == ["deep-learning", "neural-network"] and smallgrad["score"] == 1.0
    assert smallgrad["owner"]["login"] == "ada" and smallgrad["owner"]["type"] == "User"
    assert (fork["full_name"], fork["fork"], fork["topics"]) == ("ada/tensorkit", True, [])
    assert {"permissions", "organization", "parent"}.isdisjoint(smallgrad)
    org = world.get("/search/repositories", params={"q": "repo:tensorlab/docs"}).json()["items"][0]
    assert org["owner"]["type"] == "Organization" and org["topics"] == []


def test_sort_and_order(world: httpx.Client) -> None:
    def names(**params: str) -> list[str]:
        resp = world.get("/search/repositories", params={"q": "org:tensorlab", **params})
        return [item["name"] for item in resp.json()["items"]]

    assert names(sort="stars") == ["tensorkit", "visionnet", "oldnet", "docs"]
    assert names(sort="stars", order="asc") == ["docs", "oldnet", "visionnet", "tensorkit"]
    assert names(sort="updated", order="asc") == ["oldnet", "tensorkit", "visionnet", "docs"]
    assert names(order="asc") == names()  # order is ignored without sort (best match)


def test_validation_failures_are_422_with_githubs_bodies(world: httpx.Client) -> None:
    for params in ({}, {"q": ""}, {"q": "   "}):
        resp = world.get("/search/repositories", params=params)
        assert resp.status_code == 422
        assert resp.json() == {
            "message": "Validation Failed",
            "errors": [{"resource": "Search", "field": "q", "code": "missing"}],
            "documentation_url": "https://docs.github.com/v3/search",
        }
    unknown = world.get("/search/repositories", params={"q": "user:nobody-at-all"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["code"] == "invalid"
    assert "cannot be searched" in unknown.json()["errors"][0]["message"]
    assert found(world, "user:nobody-at-all user:bob") == {"bob/notes"}  # one known name is enough
    long = world.get("/search/repositories", params={"q": " ".join(["word"] * 60)})
    assert long.status_code == 422
    assert long.json()["errors"][0]["message"] == "The search is longer than 256 characters."


# --- the 1,000-result cap and Link headers -------------------------------------------------------------


def test_total_count_reports_every_match_but_only_the_first_1000_are_reachable(catalog: httpx.Client) -> None:
    first = catalog.get("/search/repositories", params={"q": f"topic:{CATALOG_TOPIC}", "sort": "stars"})
    assert first.status_code == 200 and first.json()["total_count"] == catalog_topic_count(10_000) == 2500
    rels = links(first)
    assert set(rels) == {"next", "last"}
    assert rels["last"].endswith("/search/repositories?q=topic%3Adeep-learning&sort=stars&page=34")
    last = catalog.get(rels["last"])
    assert len(last.json()["items"]) == 10  # results 991..1000
    assert set(links(last)) == {"prev", "first"}
    beyond = catalog.get(rels["last"].replace("page=34", "page=35"))
    assert beyond.status_code == 422
    assert beyond.json() == {
        "message": "Only the first 1000 search results are available",
        "documentation_url": "https://docs.github.com/v3/search/",
    }
    big: dict[str, str | int] = {"q": f"topic:{CATALOG_TOPIC}", "per_page": 100}
    assert catalog.get("/search/repositories", params={**big, "page": 10}).status_code == 200
    assert catalog.get("/search/repositories", params={**big, "page": 11}).status_code == 422
    assert links(catalog.get("/search/repositories", params=big))["last"].endswith("per_page=100&page=10")


def test_following_next_walks_the_first_1000_in_star_order(catalog: httpx.Client) -> None:
    url: str | None = "/search/repositories"
    params: dict[str, Any] | None = {"q": f"topic:{CATALOG_TOPIC}", "sort": "stars", "per_page": 100}
    stars: list[int] = []
    while url is not None:
        resp = catalog.get(url, params=params)
        stars += [item["stargazers_count"] for item in resp.json()["items"]]
        url, params = links(resp).get("next"), None
    assert len(stars) == 1000 and stars == sorted(stars, reverse=True)


def test_slicing_by_stars_reaches_all_2500(catalog: httpx.Client) -> None:
    """What a client must do: slices of fewer than 1,000 matches each (no exact count has 1,000), each
    asked again until its unique ids number its total (ties come in a fresh order on each request)."""
    seen: set[int] = set()
    for lo, hi in ((0, 30), (31, 300), (301, 3000), (3001, 30_000), (30_001, None)):
        q = f"topic:{CATALOG_TOPIC} stars:{lo}..{'*' if hi is None else hi}"
        ids: set[int] = set()
        for _ in range(10):
            page, total = 1, None
            while True:
                params = {"q": q, "per_page": 100, "page": page}
                body = catalog.get("/search/repositories", params=params).json()
                total = body["total_count"]
                assert total < 1000, q
                ids |= {item["id"] for item in body["items"]}
                if page * 100 >= total:
                    break
                page += 1
            if len(ids) == total:
                break
        seen |= ids
    assert len(seen) == 2500


# --- the search rate limit -----------------------------------------------------------------------------


def test_search_has_its_own_limit_of_30_a_minute_and_core_is_unaffected() -> None:
    now = [1_700_000_000.0]
    app = SimulatorApp(small_world(), clock=lambda: now[0])
    with running_simulator(app) as base_url, httpx.Client(base_url=base_url, headers=AUTH) as gh:
        for n in range(30):
            resp = gh.get("/search/repositories", params={"q": "topic:deep-learning"})
            assert resp.status_code == 200
            assert resp.headers["x-ratelimit-resource"] == "search"
            assert (resp.headers["x-ratelimit-limit"], resp.headers["x-ratelimit-remaining"]) == (
                "30",
                str(29 - n),
            )
            assert 0 < int(resp.headers["x-ratelimit-reset"]) - now[0] <= 60
        refused = gh.get("/search/repositories", params={"q": "topic:deep-learning"})
        assert refused.status_code == 403
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert refused.headers["x-ratelimit-resource"] == "search"
        assert refused.json()["message"].startswith("API rate limit exceeded for user ID ")
        assert refused.json()["documentation_url"].startswith(RATE_DOCS)
        core = gh.get("/repos/tensorlab/tensorkit")
        assert core.status_code == 200
        assert (core.headers["x-ratelimit-resource"], core.headers["x-ratelimit-remaining"]) == (
            "core",
            "4999",
        )
        listed = gh.get("/orgs/tensorlab/repos")
        assert listed.status_code == 200 and listed.headers["x-ratelimit-resource"] == "core"
        resources = gh.get("/rate_limit").json()["resources"]
        assert resources["search"]["remaining"] == 0 and resources["search"]["limit"] == 30
        assert resources["core"]["used"] == 2
        now[0] += 61  # a new minute
        again = gh.get("/search/repositories", params={"q": "topic:deep-learning"})
        assert again.status_code == 200 and again.headers["x-ratelimit-remaining"] == "29"


def test_without_a_token_search_allows_10_a_minute() -> None:
    app = SimulatorApp(small_world())
    with running_simulator(app) as base_url, httpx.Client(base_url=base_url) as gh:
        codes = [gh.get("/search/repositories", params={"q": "org:tensorlab"}).status_code for _ in range(11)]
        assert codes == [200] * 10 + [403]
        assert gh.get("/repos/tensorlab/tensorkit").headers["x-ratelimit-limit"] == "60"


# --- incomplete results --------------------------------------------------------------------------------


def test_incomplete_results_come_with_fewer_matches() -> None:
    app = SimulatorApp(catalog_scenario(2_000, TODAY), search_incomplete_rate=0.5, seed=3)
    complete = catalog_topic_count(2_000)
    with running_simulator(app) as base_url, httpx.Client(base_url=base_url, headers=AUTH) as gh:
        answers = [
            gh.get("/search/repositories", params={"q": f"topic:{CATALOG_TOPIC}", "per_page": 100}).json()
            for _ in range(12)
        ]
    flagged = [a for a in answers if a["incomplete_results"]]
    assert 0 < len(flagged) < len(answers)
    assert all(a["total_count"] < complete for a in flagged)
    assert all(a["total_count"] == complete for a in answers if not a["incomplete_results"])
    always = SimulatorApp(small_world(), search_incomplete_rate=1.0)
    with running_simulator(always) as base_url, httpx.Client(base_url=base_url, headers=AUTH) as gh:
        body = gh.get("/search/repositories", params={"q": "topic:deep-learning"}).json()
    assert body["incomplete_results"] is True and len(body["items"]) < 4


# --- accounts and their listings -----------------------------------------------------------------------


def test_orgs_endpoints_answer_404_for_users_and_unknown_logins(world: httpx.Client) -> None:
    for path in ("/orgs/ada", "/orgs/ada/repos", "/orgs/nobody-at-all/repos", "/users/nobody-at-all/repos"):
        resp = world.get(path)
        assert resp.status_code == 404 and resp.json()["message"] == "Not Found", path
        assert resp.json()["documentation_url"].startswith("https://docs.github.com/rest/")
    assert world.get("/users/ada").json()["type"] == "User"
    org = world.get("/orgs/tensorlab").json()
    assert (org["type"], org["public_repos"]) == ("Organization", 4)
    as_user = world.get("/users/tensorlab").json()
    assert (as_user["type"], as_user["id"]) == ("Organization", org["id"])
    assert world.get(f"/organizations/{org['id']}").json()["login"] == "tensorlab"


def walk(gh: httpx.Client, path: str, **params: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Every item of a listing by following rel="next", and the URLs followed."""
    items: list[dict[str, Any]] = []
    urls: list[str] = []
    url: str | None = path
    query: dict[str, Any] | None = params
    while url is not None:
        resp = gh.get(url, params=query)
        assert resp.status_code == 200, resp.text
        items += resp.json()
        url, query = links(resp).get("next"), None
        urls += [url] if url else []
    return items, urls


def test_org_listing_pages_through_organizations_id_links(world: httpx.Client) -> None:
    org_id = world.get("/orgs/tensorlab").json()["id"]
    items, urls = walk(world, "/orgs/tensorlab/repos", per_page=1)
    assert [i["name"] for i in items] == ["docs", "visionnet", "tensorkit", "oldnet"]  # created, newest first
    assert urls and all(re.search(rf"/organizations/{org_id}/repos\?per_page=1&page=\d$", u) for u in urls)
    first = items[2]
    assert first["topics"] == ["deep-learning", "machine-learning"] and first["fork"] is False
    assert first["owner"] == {**first["owner"], "login": "tensorlab", "type": "Organization"}
    assert first["permissions"]["pull"] is True
    by_name, _ = walk(world, "/orgs/tensorlab/repos", sort="full_name", per_page=3)
    assert [i["name"] for i in by_name] == ["docs", "oldnet", "tensorkit", "visionnet"]
    assert walk(world, "/orgs/tensorlab/repos", type="forks")[0] == []
    assert len(walk(world, "/orgs/tensorlab/repos", type="sources")[0]) == 4


def test_user_listing_has_forks_and_follows_user_id_links(world: httpx.Client) -> None:
    ada_id = world.get("/users/ada").json()["id"]
    items, urls = walk(world, "/users/ada/repos", per_page=1)
    assert [(i["full_name"], i["fork"]) for i in items] == [("ada/smallgrad", False), ("ada/tensorkit", True)]
    assert urls == [f"{world.base_url}/user/{ada_id}/repos?per_page=1&page=2"]
    assert walk(world, "/users/ada/repos", type="member")[0] == []
    org_items, _ = walk(world, "/users/tensorlab/repos")  # organizations too
    assert len(org_items) == 4


def test_a_fork_names_its_parent_and_its_parent_lists_it(world: httpx.Client) -> None:
    fork = world.get("/repos/ada/tensorkit").json()
    assert fork["fork"] is True and "organization" not in fork
    assert fork["parent"]["full_name"] == fork["source"]["full_name"] == "tensorlab/tensorkit"
    parent = world.get("/repos/tensorlab/tensorkit").json()
    assert parent["organization"]["login"] == "tensorlab" and parent["forks_count"] == 1
    listed = world.get("/repos/tensorlab/tensorkit/forks").json()
    assert [(f["full_name"], f["stargazers_count"]) for f in listed] == [("ada/tensorkit", 2)]


# --- the built-in scenarios ----------------------------------------------------------------------------


def test_frameworks_carry_topics_and_are_searchable_by_them() -> None:
    app = SimulatorApp(frameworks_scenario(TODAY))
    with running_simulator(app) as base_url, httpx.Client(base_url=base_url, headers=AUTH) as gh:
        tf = gh.get("/repos/tensorflow/tensorflow").json()
        assert {"deep-learning", "machine-learning", "neural-network"} <= set(tf["topics"])
        assert tf["owner"]["type"] == "Organization"
        names = found(gh, "topic:deep-learning", per_page=100)
        assert "tensorflow/tensorflow" in names and "torch/torch7" not in names
        assert found(gh, "topic:deep-learning archived:true", per_page=100) <= names
        assert gh.get("/orgs/tensorflow/repos").json()[0]["full_name"] == "tensorflow/tensorflow"
        assert gh.get("/users/fchollet").json()["type"] == "User"  # keras's former owner
        assert gh.get("/orgs/fchollet").status_code == 404


def test_catalog_10000_builds_fast_with_users_orgs_forks_and_archived() -> None:
    started = time.perf_counter()
    world = _catalog_cached.__wrapped__(10_000, TODAY, 1)
    assert time.perf_counter() - started < 8.0  # about 1.2 s here
    assert load_scenario("catalog-50", TODAY).name == "catalog-50"
    repos = world.repos
    assert len(repos) == 10_000 and len({r.full_name.lower() for r in repos}) == 10_000
    topical = [r for r in repos if CATALOG_TOPIC in r.topics]
    assert len(topical) == 2500 and not any(r.fork_parent for r in topical)
    assert max(Counter(r.stars for r in topical).values()) < 1000
    assert max(r.stars for r in topical) > 50_000 and min(r.stars for r in topical) <= 2
    assert 300 <= sum(r.fork_parent is not None for r in repos) <= 900
    assert 500 <= sum(r.archived for r in repos) <= 1100
    kinds = Counter(a.kind for a in world.accounts)
    assert kinds["User"] > 100 and kinds["Organization"] > 100
    by_id = {r.github_id: r for r in repos}
    for r in repos:
        if r.fork_parent is not None:
            parent = by_id[r.fork_parent]
            assert r.github_id in {f.github_id for f in parent.forks} and r.created_at > parent.created_at
        assert all(r.created_at.date() <= d <= TODAY for d in r.star_days)
