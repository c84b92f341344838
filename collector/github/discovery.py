"""Finding a rule group's repositories on GitHub: searches walked down under the 1,000-result cap
(search_walk.py), organisation and user listings.
"""

from __future__ import annotations

from datetime import date

from collector.domain import GroupRule
from collector.github.api import GitHubAPI
from collector.github.errors import NotFound
from collector.github.found import Discovery
from collector.github.search_walk import MAX_SEARCH_REQUESTS, PER_PAGE, SearchWalk


async def fetch_rule_members(
    api: GitHubAPI, rule: GroupRule, today: date, max_requests: int = MAX_SEARCH_REQUESTS
) -> Discovery:
    """Every repository the rule matches today (GitHubError when the rule cannot be answered at all);
    a search answer that may miss some is marked incomplete, with notes saying why."""
    if rule.kind in ("org", "user"):
        return await _fetch_listing(api, rule)
    discovery = Discovery()
    await SearchWalk(api, rule, rule.search_query(), today, discovery, max_requests).walk()
    return discovery


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
