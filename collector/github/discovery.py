"""Finding a rule group's repositories on GitHub: searches sliced under the 1,000-result cap, organisation
and user listings.

GitHub's search returns at most 1,000 results per query (a page past them is 422) and has its own
`search` budget of 30 requests a minute [github-api-facts.md section 12]. A query with more matches is
walked down by stars: the first slice is sorted by stars, and the next one asks for `stars:MIN..S`, S
being the fewest stars seen, until a slice holds everything that is left. When 1,000 or more
repositories share one star count, that count is split by `created:` ranges instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from collector.domain import GroupRule, Repository
from collector.github.api import GitHubAPI
from collector.github.errors import NotFound
from collector.github.parsers import parse_repository

SEARCH_CAP = 1000  # results GitHub gives per query
PER_PAGE = 100
PAGES_PER_QUERY = SEARCH_CAP // PER_PAGE
INCOMPLETE_RETRIES = 2  # a page GitHub marks incomplete_results (a search that timed out) is asked again
GITHUB_FIRST_DAY = date(2007, 10, 1)  # no repository was created before GitHub existed


@dataclass(frozen=True)
class FoundRepo:
    """A repository a rule found, with what the rule filters on."""

    repo: Repository
    stars: int
    fork: bool


@dataclass
class Discovery:
    """What a rule found: repositories by GitHub id, whether the answer was whole, and how it was got."""

    found: dict[int, FoundRepo] = field(default_factory=dict)
    complete: bool = True
    requests: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, item: Any, rule: GroupRule) -> int | None:
        """Keep one repository object if the rule admits it; returns its stars (None when malformed)."""
        try:
            repo = parse_repository(item)
            stars = int(item["stargazers_count"])
            fork = bool(item.get("fork", False))
        except (KeyError, TypeError, ValueError):
            self.complete = False
            return None
        if rule.admits(stars, fork, repo.archived):
            self.found[repo.github_id] = FoundRepo(repo, stars, fork)
        return stars


async def fetch_rule_members(api: GitHubAPI, rule: GroupRule, today: date) -> Discovery:
    """Every repository the rule matches today (GitHubError when the rule cannot be answered at all)."""
    if rule.kind in ("org", "user"):
        return await _fetch_listing(api, rule)
    discovery = Discovery()
    query = rule.search_query()
    if "stars:" in query:  # the user's own stars qualifier: slice by creation day instead
        await _search_by_created(api, rule, query, GITHUB_FIRST_DAY, today, discovery)
    else:
        await _search_walking_stars(api, rule, query, today, discovery)
    return discovery


@dataclass(frozen=True)
class _Slice:
    total: int
    seen: int  # results received (admitted by the rule or not)
    fewest_stars: int | None


async def _search_walking_stars(
    api: GitHubAPI, rule: GroupRule, query: str, today: date, discovery: Discovery
) -> None:
    low, high = rule.min_stars, None
    while True:
        stars = f"stars:>={low}" if high is None else f"stars:{low}..{high}"
        got = await _search_slice(api, rule, f"{query} {stars}", discovery)
        if got.total <= got.seen or got.fewest_stars is None:
            return
        if got.fewest_stars == high:
            # 1,000 or more repositories at exactly this star count: split that count by creation day.
            await _search_by_created(api, rule, f"{query} stars:{high}", GITHUB_FIRST_DAY, today, discovery)
            high -= 1
        else:
            high = got.fewest_stars  # inclusive: those at the boundary that were cut off come again
        if high < low:
            return


async def _search_by_created(
    api: GitHubAPI, rule: GroupRule, query: str, first: date, last: date, discovery: Discovery
) -> None:
    got = await _search_slice(api, rule, f"{query} created:{first}..{last}", discovery)
    if got.total <= got.seen:
        return
    if first >= last:
        discovery.complete = False
        discovery.notes.append(
            f"more than {SEARCH_CAP} repositories match {query!r} created on {first}: only {SEARCH_CAP} seen"
        )
        return
    middle = first + timedelta(days=(last - first).days // 2)
    await _search_by_created(api, rule, query, first, middle, discovery)
    await _search_by_created(api, rule, query, middle + timedelta(days=1), last, discovery)


async def _search_slice(api: GitHubAPI, rule: GroupRule, query: str, discovery: Discovery) -> _Slice:
    """Up to 1,000 results of one query, most stars first."""
    total, seen, fewest = 0, 0, None
    for page in range(1, PAGES_PER_QUERY + 1):
        body = await _search_page(api, query, page, discovery)
        total = int(body.get("total_count", 0))
        items = body.get("items") or []
        for item in items:
            stars = discovery.add(item, rule)
            if stars is not None:
                fewest = stars if fewest is None else min(fewest, stars)
        seen += len(items)
        if len(items) < PER_PAGE or seen >= min(total, SEARCH_CAP):
            break
    return _Slice(total, seen, fewest)


async def _search_page(api: GitHubAPI, query: str, page: int, discovery: Discovery) -> dict[str, Any]:
    params: dict[str, str | int] = {
        "q": query,
        "sort": "stars",
        "order": "desc",
        "per_page": PER_PAGE,
        "page": page,
    }
    url = api.client.url("/search/repositories", params)
    for attempt in range(INCOMPLETE_RETRIES + 1):
        response = await api.client.request("GET", url, resource="search")
        discovery.requests += 1
        body: dict[str, Any] = response.json()
        if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
            raise response.malformed("a search result that is not {total_count, items}")
        if not body.get("incomplete_results"):
            return body
        if attempt == INCOMPLETE_RETRIES:
            # GitHub's search timed out and gave part of the answer: keep it, but mark nobody as gone.
            discovery.complete = False
            discovery.notes.append(f"GitHub's search gave incomplete results for {query!r} (page {page})")
    return body


async def _fetch_listing(api: GitHubAPI, rule: GroupRule) -> Discovery:
    """An organisation's or a user's repositories. A user given as an organisation is listed as a user
    (GitHub answers 404 on /orgs/ for a user account), with a note saying which rule to write."""
    discovery = Discovery()
    if rule.kind == "org":
        try:
            await _list(api, f"/orgs/{rule.value}/repos", {"type": "all"}, rule, discovery)
            return discovery
        except NotFound:
            if await _account_type(api, rule.value) != "User":
                raise
            discovery.notes.append(
                f"{rule.value} is a user account, not an organisation: listed as a user "
                f"(write --user {rule.value}, or user = {rule.value!r} in the config)"
            )
    try:
        await _list(api, f"/users/{rule.value}/repos", {"type": "owner"}, rule, discovery)
    except NotFound as exc:
        raise NotFound(f"{rule.value}: no GitHub user or organisation has this login", url=exc.url) from exc
    return discovery


async def _account_type(api: GitHubAPI, login: str) -> str | None:
    try:
        body = (await api.client.get(f"/users/{login}")).json()
    except NotFound as exc:
        raise NotFound(f"{login}: no GitHub organisation or user has this login", url=exc.url) from exc
    kind = body.get("type") if isinstance(body, dict) else None
    return kind if isinstance(kind, str) else None


async def _list(
    api: GitHubAPI, path: str, params: dict[str, str], rule: GroupRule, discovery: Discovery
) -> None:
    pages = api.client.paginate(path, params={**params, "per_page": PER_PAGE})
    async for response in pages:
        discovery.requests += 1
        body = response.json()
        if not isinstance(body, list):
            raise response.malformed("a repository listing that is not a list")
        for item in body:
            discovery.add(item, rule)
