"""The GitHub operations the jobs need, built on the client: each asks GitHub one question and returns
our types. The client below knows transport (tokens, limits, caching, retries); this layer knows
endpoints, queries and shapes, and what each question costs (`plan.py` asks it, never guesses).

Nothing here touches the store: incremental work is the caller's (stop iterating at a stored week, resume
from a stored next URL or cursor).
"""

from __future__ import annotations

import asyncio
import base64
import math
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from types import TracebackType
from typing import Any, TypeVar

from collector import domain
from collector.domain import RepoName
from collector.github.client import GitHubClient
from collector.github.errors import (
    BadCredentials,
    Blocked,
    EndpointUnavailable,
    Forbidden,
    GitHubError,
    GraphQLError,
    MalformedResponse,
    NotFound,
)
from collector.github.graphql import (
    COMMIT_PAGE_SIZE,
    commits_query,
    counters_per_query,
    counters_query,
    plan_query,
    run_batched,
)
from collector.github.parsers import (
    page_number,
    parse_commit_activity,
    parse_commit_history,
    parse_forks,
    parse_graphql_counters,
    parse_plan_inputs,
    parse_rate_limits,
    parse_releases,
    parse_repository,
    parse_rest_counters,
    parse_star_history,
    parse_stargazer_dates,
)
from collector.github.responses import ApiResponse, ClientStats
from collector.github.types import (
    CommitPage,
    ForkPage,
    PlanInputs,
    RateLimits,
    RepoCounters,
    StargazerPage,
    StarHistoryPage,
    WeekActivity,
)
from collector.settings import Settings

R = TypeVar("R")

STAR_JSON = "application/vnd.github.star+json"  # adds starred_at to the stargazers listing
STAR_WEEKS_PER_PAGE = 30  # /stargazers/history's maximum
STARGAZERS_PER_PAGE = 100
FORKS_PER_PAGE = 100
RELEASES_PER_PAGE = 100  # /releases' maximum
STATS_WEEKS = 52  # /stats/commit_activity's year: this week and the 51 before it [D-STAT]


def _parsed(response: ApiResponse, parse: Callable[[Any], R]) -> R:
    """Parse a response body, turning any shape problem into MalformedResponse (URL and status)."""
    body = response.json()
    try:
        return parse(body)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
        raise response.malformed(f"an unexpected body ({type(exc).__name__}: {exc})") from exc


def _repo_path(name: RepoName) -> str:
    return f"/repos/{name.owner}/{name.name}"


def _full_name(name: RepoName) -> str:
    return name.full_name


def _as_list(body: Any) -> list[Any]:
    if not isinstance(body, list):
        raise TypeError(f"expected an array, got {type(body).__name__}")
    return body


def stats_year_start(today: date) -> datetime:
    """Where /stats/commit_activity's 52 weeks begin: the Sunday 00:00 UTC 51 weeks before this week's."""
    first = domain.week_start(today) - timedelta(weeks=STATS_WEEKS - 1)
    return datetime.combine(first, time(0), tzinfo=UTC)


def _int_field(body: Any, key: str) -> int:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key} is {value!r}, not an integer")
    return value


class GitHubAPI:
    """The operations, over one client; use as `async with GitHubAPI(client) as api:` to close both."""

    def __init__(self, client: GitHubClient) -> None:
        self.client = client

    async def __aenter__(self) -> GitHubAPI:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.client.aclose()

    @property
    def stats(self) -> ClientStats:
        """What the client did so far (requests, 304s, points, retries)."""
        return self.client.stats

    @property
    def settings(self) -> Settings:
        return self.client.settings

    # -- what each question costs (the plan asks these) --------------------------------------------

    def star_history_pages(self, weeks: int) -> int:
        """Requests for `weeks` weeks of /stargazers/history."""
        return math.ceil(weeks / STAR_WEEKS_PER_PAGE)

    def fork_pages(self, forks: int) -> int:
        """Requests to list `forks` direct forks (one even for none)."""
        return max(1, math.ceil(forks / FORKS_PER_PAGE))

    @property
    def repos_per_counters_query(self) -> int:
        """Repositories in one counters query: at most the client's `graphql_batch`, a point's worth."""
        return counters_per_query(self.client.options.graphql_batch)

    def commit_walk_pages(self, commits: int) -> int:
        """GraphQL pages (a point each) to walk `commits` commits (one even for none)."""
        return max(1, math.ceil(commits / COMMIT_PAGE_SIZE))

    # -- the questions -----------------------------------------------------------------------------

    async def fetch_repository(self, name: RepoName | int) -> domain.Repository:
        """The repository by name (renames followed: the new name, same id) or by GitHub id."""
        path = f"/repositories/{name}" if isinstance(name, int) else _repo_path(name)
        return _parsed(await self.client.get(path, conditional=True), parse_repository)

    async def fetch_repo_counters(
        self, names: Sequence[RepoName], today: date | None = None
    ) -> dict[str, RepoCounters | GitHubError]:
        """Counters keyed by each requested `name.key`, with the commits of /stats/commit_activity's 52 weeks
        up to `today` (default: UTC today): GraphQL aliases in batches; REST without a token (no commits)."""
        unique = list({name.key: name for name in names}.values())
        if not self.client.authenticated:
            return await self._rest_counters(unique)
        since = stats_year_start(today or domain.utc_now().date())
        size = self.repos_per_counters_query
        out: dict[str, RepoCounters | GitHubError] = {}
        batches = await run_batched(
            self.client, unique, lambda part: counters_query(part, since), size, route=_full_name
        )
        for result in batches:
            response = result.response
            if isinstance(response, GitHubError):
                for name in result.query.aliases.values():
                    out[name.key] = response
                continue
            by_alias = response.errors_by_alias()
            for alias, name in result.query.aliases.items():
                out[name.key] = self._alias_counters(name, response.data.get(alias), by_alias.get(alias, []))
        return out

    def _alias_counters(
        self, name: RepoName, node: Any, errors: list[dict[str, Any]]
    ) -> RepoCounters | GitHubError:
        url = self.client.settings.graphql_url
        if node is None:
            return self._graphql_missing(name, errors)
        try:
            return parse_graphql_counters(node)
        except (KeyError, TypeError, ValueError) as exc:
            return MalformedResponse(f"POST {url}: unexpected data for {name} ({exc})", url=url, status=200)

    async def _rest_counters(self, names: Sequence[RepoName]) -> dict[str, RepoCounters | GitHubError]:
        async def one(name: RepoName) -> RepoCounters | GitHubError:
            try:
                return _parsed(await self.client.get(_repo_path(name), conditional=True), parse_rest_counters)
            except BadCredentials:
                raise
            except GitHubError as exc:
                return exc

        results = await asyncio.gather(*(one(name) for name in names))
        return {name.key: result for name, result in zip(names, results, strict=True)}

    async def fetch_contributor_count(self, name: RepoName) -> int:
        """Contributors including anonymous ones: the page number of rel="last" with per_page=1."""
        path = f"{_repo_path(name)}/contributors"
        response = await self.client.get(path, params={"per_page": 1, "anon": 1}, conditional=True)
        if response.status == 204:  # an empty repository
            return 0
        last = page_number(response.links.get("last"))
        if last is not None:
            return last
        if "next" not in response.links:  # everything on one page: 0 or 1
            return len(_parsed(response, _as_list))
        # GitHub leaves rel="last" out when it cannot compute it: count the long way.
        total = 0
        async for page in self.client.paginate(path, params={"per_page": 100, "anon": 1}):
            total += 0 if page.status == 204 else len(_parsed(page, _as_list))
        return total

    async def fetch_commit_activity(self, name: RepoName) -> list[WeekActivity]:
        """The last 52 weeks of commits, oldest first; [] for an empty repository; NotReady while
        GitHub is still computing them. Collect needs it only without a token (no GraphQL)."""
        path = f"{_repo_path(name)}/stats/commit_activity"
        response = await self.client.get(path, conditional=True, wait_computed=True)
        if response.status == 204:
            return []
        return _parsed(response, parse_commit_activity)

    async def fetch_star_history(
        self, name: RepoName, start_url: str | None = None
    ) -> AsyncIterator[StarHistoryPage]:
        """Pages of weekly star additions, newest week first; stop iterating once you reach a stored week."""
        path = start_url or f"{_repo_path(name)}/stargazers/history"
        params = None if start_url else {"per_page": STAR_WEEKS_PER_PAGE}
        version = self.client.settings.star_history_api_version
        try:
            async for response in self.client.paginate(
                path, params=params, api_version=version, conditional=True
            ):
                if response.status == 204:
                    return
                links = response.links
                yield StarHistoryPage(
                    weeks=_parsed(response, parse_star_history),
                    next_url=links.get("next"),
                    last_page=page_number(links.get("last")),
                )
        except NotFound as exc:
            # Older GHES has no such endpoint: tell that apart from a missing repository.
            await self.fetch_repository(name)
            raise EndpointUnavailable(
                f"{name}: this server has no /stargazers/history endpoint (404 for an existing repository)",
                url=exc.url,
                status=404,
            ) from exc

    async def fetch_star_count(self, name: RepoName) -> int | None:
        """Today's stargazer count from /stargazers/count (conditional: free while unchanged); None where
        the server has no such endpoint (older GHES)."""
        path = f"{_repo_path(name)}/stargazers/count"
        version = self.client.settings.star_history_api_version
        try:
            response = await self.client.get(path, api_version=version, conditional=True)
        except NotFound:
            return None
        return _parsed(response, lambda body: _int_field(body, "count"))

    async def fetch_stargazer_dates(
        self, name: RepoName, start_url: str | None = None
    ) -> AsyncIterator[StargazerPage]:
        """The legacy stargazers listing with dates (GHES); GitHub.com shows it to collaborators only."""
        path = start_url or f"{_repo_path(name)}/stargazers"
        params = None if start_url else {"per_page": STARGAZERS_PER_PAGE}
        first = True
        try:
            async for response in self.client.paginate(path, params=params, accept=STAR_JSON):
                dates = _parsed(response, parse_stargazer_dates) if response.status != 204 else ()
                if first and not dates:
                    raise Forbidden(
                        f"{name}: the stargazers listing is empty; GitHub restricts it to collaborators "
                        "since 2026-06-30 (or the repository has no stars)",
                        url=response.url,
                        status=response.status,
                    )
                first = False
                links = response.links
                yield StargazerPage(dates, links.get("next"), page_number(links.get("last")))
        except Forbidden as exc:
            if exc.status == 200 or exc.status == 204:
                raise
            raise Forbidden(
                f"{name}: listing stargazers is not allowed for this token ({exc.status}); since 2026-06-30 "
                "GitHub restricts it to collaborators",
                url=exc.url,
                status=exc.status,
            ) from exc

    async def fetch_forks(
        self, name: RepoName, start_url: str | None = None, sort: str = "oldest"
    ) -> AsyncIterator[ForkPage]:
        """Direct forks (`sort=oldest` first by default), 100 a page; resume from a stored `next_url`."""
        path = start_url or f"{_repo_path(name)}/forks"
        params: dict[str, str | int] | None = (
            None if start_url else {"sort": sort, "per_page": FORKS_PER_PAGE}
        )
        async for response in self.client.paginate(path, params=params):
            links = response.links
            forks = _parsed(response, parse_forks) if response.status != 204 else ()
            yield ForkPage(forks, links.get("next"), page_number(links.get("last")))

    async def fetch_releases(self, name: RepoName) -> list[domain.Release]:
        """Published releases, newest first, with their assets' download totals: REST (releaseAssets in the
        counters query would multiply its node count), conditional (unchanged, a 304 costs no budget)."""
        found: list[domain.Release] = []
        path, params = f"{_repo_path(name)}/releases", {"per_page": RELEASES_PER_PAGE}
        async for page in self.client.paginate(path, params=params, conditional=True):
            found.extend(_parsed(page, parse_releases) if page.status != 204 else ())
        return found

    def _graphql_missing(self, name: RepoName, errors: Sequence[dict[str, Any]]) -> GitHubError:
        url = self.client.settings.graphql_url
        if not errors or any(e.get("type") == "NOT_FOUND" for e in errors):
            return NotFound(f"{name}: not found on GitHub (GraphQL NOT_FOUND)", url=url, status=200)
        message = str(errors[0].get("message", "GraphQL error"))
        if "access blocked" in message.lower():  # DMCA: REST says 451, GraphQL a FORBIDDEN error
            return Blocked(f"{name}: {message}", url=url, status=200)
        return GraphQLError(f"{name}: {message}", url=url, status=200)

    async def fetch_commits(
        self, name: RepoName, after: str | None = None, since: datetime | None = None
    ) -> AsyncIterator[CommitPage]:
        """The default branch's commits, newest first, 100 a page; resume with a stored `end_cursor`."""
        cursor = after
        while True:
            query = commits_query(name, cursor, since)
            response = await self.client.graphql(query.text, query.variables, route=name.full_name)
            repo = response.data.get("repository")
            if repo is None:
                raise self._graphql_missing(name, response.errors)
            ref = repo.get("defaultBranchRef")
            if ref is None:  # an empty repository has no default branch yet
                yield CommitPage((), None, False, 0)
                return
            try:
                page = parse_commit_history(ref["target"]["history"])
            except (KeyError, TypeError, ValueError) as exc:
                url = self.client.settings.graphql_url
                raise MalformedResponse(
                    f"POST {url}: unexpected commit history for {name} ({exc})", url=url, status=200
                ) from exc
            yield page
            if not page.has_next or page.end_cursor is None:
                return
            cursor = page.end_cursor

    async def fetch_plan_inputs(self, names: Sequence[RepoName]) -> dict[str, PlanInputs | GitHubError]:
        """What a backfill plan needs (created, forks, commits), keyed by `name.key`; a point a batch."""
        out: dict[str, PlanInputs | GitHubError] = {}
        for result in await run_batched(self.client, list(names), plan_query, route=_full_name):
            response = result.response
            for alias, name in result.query.aliases.items():
                if isinstance(response, GitHubError):
                    out[name.key] = response
                    continue
                node = response.data.get(alias)
                if node is None:
                    out[name.key] = self._graphql_missing(name, response.errors_by_alias().get(alias, []))
                    continue
                try:
                    out[name.key] = parse_plan_inputs(node)
                except (KeyError, TypeError, ValueError) as exc:
                    url = self.client.settings.graphql_url
                    out[name.key] = MalformedResponse(f"POST {url}: {name}: {exc}", url=url, status=200)
        return out

    async def fetch_rate_limits(self) -> RateLimits | None:
        """The budgets left (/rate_limit, free); None where the server has none (GHES without limits)."""
        try:
            return _parsed(await self.client.get("/rate_limit"), parse_rate_limits)
        except (NotFound, MalformedResponse):
            return None

    async def fetch_file_text(self, name: RepoName, path: str) -> str | None:
        """A file of the default branch as text (the contents API's base64, decoded); None when there is
        no such file (or it is a directory, or too large for the contents API's JSON)."""
        try:
            response = await self.client.get(f"{_repo_path(name)}/contents/{path}", conditional=True)
        except NotFound:
            return None
        body = response.json()
        if not isinstance(body, dict) or body.get("type") != "file" or body.get("encoding") != "base64":
            return None
        return _parsed(response, lambda b: base64.b64decode(b["content"]).decode("utf-8", "replace"))
