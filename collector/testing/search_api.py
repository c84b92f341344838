"""`GET /search/repositories`, as GitHub answers it (docs: rest/search/search; recordings in PyGithub).

At most the first 1,000 results are reachable: a page that starts past them is 422, `total_count` still
counts every match and `rel="last"` stops at the page holding the 1,000th (the 2018 recording: 31,140
matches, 30 a page, last page 34). Search answers carry no ETag (same recording). The `search` rate
limit is the app's job.

GitHub promises an order by the sort key and nothing among equal keys: the same search asked twice can
order ties differently, so across pages one repository can come twice and another not at all (PyGithub
issues 1748 and 2812). By default ties are ordered afresh on every request, from a generator seeded with
the scenario's seed and the request's number so a run is reproducible; `stable_order` orders ties by id.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from collector.testing.objects import search_item
from collector.testing.paging import bounded_int, page_links
from collector.testing.repo_index import Entry
from collector.testing.rest import NOT_FOUND, Reply, RestApi, RestRequest
from collector.testing.search_query import MAX_TEXT, Query, parse_query

MAX_RESULTS = 1000
SEARCH_DOCS = "https://docs.github.com/v3/search"  # as GitHub's 422 bodies name it
TEMPLATE = "/search/repositories"
CAPPED = "Only the first 1000 search results are available"
UNSEARCHABLE = (
    "The listed users and repositories cannot be searched either because the resources do not exist or "
    "you do not have permission to view them."
)
_SORTS: dict[str, Callable[[Entry], Any]] = {
    "stars": lambda e: e.stars,
    "forks": lambda e: e.forks,
    "help-wanted-issues": lambda e: e.help_wanted,
    "updated": lambda e: e.pushed_at,
}


def _invalid(error: dict[str, str], docs: str = SEARCH_DOCS) -> Reply:
    """GitHub's 422 "Validation Failed" for a bad `q`."""
    body = {"message": "Validation Failed", "errors": [{**error}], "documentation_url": docs}
    return Reply(422, body, TEMPLATE)


class SearchApi:
    """Repository search over the scenario's visible repositories."""

    def __init__(
        self, rest: RestApi, *, incomplete_rate: float = 0.0, seed: int = 0, stable_order: bool = False
    ) -> None:
        self.rest = rest
        self.incomplete_rate = incomplete_rate
        self.stable_order = stable_order
        self._seed = seed
        self._asked = 0  # requests answered, for each one's own tie order
        self._rng = random.Random(f"search-incomplete/{seed}")

    def route(self, req: RestRequest) -> Reply | None:
        """The answer to a request under /search; None for any other path."""
        if req.path != "/search" and not req.path.startswith("/search/"):
            return None
        if req.path.rstrip("/") != TEMPLATE or req.method not in ("GET", "HEAD"):
            return Reply(404, NOT_FOUND, req.path)
        return self.repositories(req)

    def repositories(self, req: RestRequest) -> Reply:
        """`GET /search/repositories?q=&sort=&order=&per_page=&page=`."""
        q = req.param("q")
        if q is None or not q.strip():
            return _invalid({"resource": "Search", "field": "q", "code": "missing"})
        query = parse_query(q)
        if query.text_length > MAX_TEXT:
            message = "The search is longer than 256 characters."
            return _invalid({"message": message, "resource": "Search", "field": "q", "code": "invalid"})
        per_page = bounded_int(req.param("per_page"), 30, 1, 100)
        page = bounded_int(req.param("page"), 1, 1, 1_000_000)
        if (page - 1) * per_page >= MAX_RESULTS:
            return Reply(422, {"message": CAPPED, "documentation_url": f"{SEARCH_DOCS}/"}, TEMPLATE)
        entries = self.rest.entries()
        if not self._searchable(query, entries):
            error = {"message": UNSEARCHABLE, "resource": "Search", "field": "q", "code": "invalid"}
            return _invalid(error, f"{SEARCH_DOCS}/")
        found = [e for e in entries if query.matches(e)]
        incomplete = self._rng.random() < self.incomplete_rate
        if incomplete:
            found = self._timed_out(found)
        self._asked += 1
        found = self._sorted(found, query, req)
        reachable = found[:MAX_RESULTS]
        shown = reachable[(page - 1) * per_page : page * per_page]
        last = max(1, math.ceil(len(reachable) / per_page))
        headers = page_links(f"{req.api}{TEMPLATE}", req.query, page, last) if reachable else {}
        items = [self._item(req, e, query) for e in shown]
        body = {"total_count": len(found), "incomplete_results": incomplete, "items": items}
        return Reply(200, body, TEMPLATE, headers, cacheable=False)

    def _searchable(self, query: Query, entries: list[Entry]) -> bool:
        """False when every user, org and repository the query names is unknown (GitHub's 422)."""
        named = [*query.owners, *query.repos]
        if not named:
            return True
        owners = {o for o in query.owners if self.rest.accounts.get(o) is not None}
        repos = {e.full_name for e in entries} & set(query.repos)
        return bool(owners or repos)

    def _timed_out(self, found: list[Entry]) -> list[Entry]:
        """The matches a timed-out search had found: a random part, never all of them."""
        if not found:
            return found
        keep = self._rng.uniform(0.3, 0.9)
        kept = [e for e in found if self._rng.random() < keep]
        if len(kept) == len(found):
            kept.pop(self._rng.randrange(len(kept)))
        return kept

    def _sorted(self, found: list[Entry], query: Query, req: RestRequest) -> list[Entry]:
        """By `sort` (`order` desc unless asc), else best match: score, then stars; ties in this request's
        own order (by id with `stable_order`)."""
        ties = self._tie_order(found)
        key = _SORTS.get(req.param("sort") or "")
        if key is None:  # best match; `order` is ignored without `sort` (docs)
            return sorted(found, key=lambda e: (-query.score(e), -e.stars, ties[e.repo.github_id]))
        ascending = (req.param("order") or "desc").lower() == "asc"
        by_tie = sorted(found, key=lambda e: ties[e.repo.github_id], reverse=not ascending)
        return sorted(by_tie, key=key, reverse=not ascending)

    def _tie_order(self, found: list[Entry]) -> dict[int, int]:
        """A rank per repository that breaks ties: by id when stable, else drawn afresh for this request."""
        ids = sorted(e.repo.github_id for e in found)
        if not self.stable_order:
            random.Random(f"search-ties/{self._seed}/{self._asked}").shuffle(ids)
        return {github_id: rank for rank, github_id in enumerate(ids)}

    def _item(self, req: RestRequest, e: Entry, query: Query) -> dict[str, Any]:
        owner = self.rest.accounts.owner(e.repo.owner)
        return search_item(req.api, self.rest.view(e.repo), owner, query.score(e))
