"""The GitHub client: transport policy on top of an injected httpx transport.

Each request goes through named steps, outermost first: `request` (URL, error translation) ->
`_send_handling_redirects` (same-host 301/302/307 only) -> `_send_handling_limits` (token choice, rate
limits, retries) -> `_send_single_request` (headers, conditional cache, concurrency cap, instrumentation).
Retries and waits happen here and nowhere else; they sleep through the injected `sleep`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from collector import __version__
from collector.domain import RepoName, Repository
from collector.github import fetchers
from collector.github.app_auth import AppSession, renew_at
from collector.github.cache import CachedResponse, ConditionalCache
from collector.github.errors import (
    BadCredentials,
    Blocked,
    Forbidden,
    GitHubError,
    GraphQLError,
    MalformedResponse,
    NotFound,
    NotReady,
    OffHostRedirect,
    RateLimited,
    ServerError,
    TooLarge,
)
from collector.github.pacing import MinutePacer, request_points
from collector.github.parsers import parse_link_header
from collector.github.tokens import UNKNOWN_RESET_WAIT, TokenPool, TokenState
from collector.github.types import (
    CommitPage,
    ForkPage,
    RepoCounters,
    StargazerPage,
    StarHistoryPage,
    WeekActivity,
)
from collector.settings import Settings

log = logging.getLogger("collector.github")

REDIRECT_STATUSES = frozenset({301, 302, 307, 308})
MAX_REDIRECTS = 5
REPLAYED_HEADERS = ("link", "content-type")  # what a 304 must give back from the cached 200
CLEAN_ANSWERS_TO_GROW = 20  # answers without a secondary limit before one more request may fly
SECONDARY_BASE_WAIT = 60.0  # GitHub: without retry-after, wait at least a minute [D-SEC]
SECONDARY_MAX_WAIT = 900.0
BACKOFF_BASE = 1.0
BACKOFF_MAX = 60.0
# GraphQL's primary limit: HTTP 200 with errors[].type RATE_LIMITED [D-GQL], or since 2026 RATE_LIMIT /
# code graphql_rate_limit, sometimes while x-ratelimit-remaining is still above 0 (githubkit #271/#272,
# octokit/plugin-throttling.js #848). Any of them means: nothing more with that token until the reset.
GRAPHQL_RATE_LIMIT_TYPES = frozenset({"RATE_LIMITED", "RATE_LIMIT"})
GRAPHQL_RATE_LIMIT_CODES = frozenset({"graphql_rate_limit"})
SECONDARY_WORDS = ("secondary rate limit", "abuse")


class _TransientBody(Exception):
    """A 200/201 whose body is not the JSON it claims to be (cut short): retried like a 502."""

    def __init__(self, status: int) -> None:
        super().__init__(f"{status} with a body that is not JSON")
        self.status = status


def origin(url: str) -> str:
    """scheme://host[:port] of a URL: the unit the token is confined to."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def endpoint_template(url: str, base_path: str = "") -> str:
    """The endpoint a URL belongs to, for counting: /repos/{owner}/{repo}/forks, /repositories/{id}."""
    path = urlsplit(url).path
    if base_path and path.startswith(base_path + "/"):
        path = path[len(base_path) :]
    parts = path.strip("/").split("/")
    if parts[0] == "repos" and len(parts) >= 3:
        parts[1:3] = ["{owner}", "{repo}"]
    elif parts[0] == "repositories" and len(parts) >= 2:
        parts[1] = "{id}"
    return "/" + "/".join(parts)


@dataclass(frozen=True)
class ApiResponse:
    """A final response (after redirects and retries); a 304 comes back as the cached 200."""

    method: str
    url: str
    status: int
    headers: httpx.Headers
    content: bytes
    from_cache: bool = False
    parsed: Any = field(default=None, compare=False, repr=False)  # the JSON body, when already decoded

    def json(self) -> Any:
        """The body as JSON, or MalformedResponse naming the URL and status."""
        if self.parsed is not None:
            return self.parsed
        try:
            return json.loads(self.content)
        except ValueError as exc:
            raise self.malformed("a body that is not JSON") from exc

    def malformed(self, what: str) -> MalformedResponse:
        """A MalformedResponse for this response: `what` says what was wrong."""
        return MalformedResponse(
            f"{self.method} {self.url} answered {self.status} with {what}", url=self.url, status=self.status
        )

    @property
    def links(self) -> dict[str, str]:
        """The Link header as {rel: url}."""
        return parse_link_header(self.headers.get("link"))

    def message(self) -> str:
        """GitHub's error `message`, or the start of the body."""
        try:
            body = json.loads(self.content)
        except ValueError:
            return self.content[:200].decode("utf-8", "replace").strip()
        message = body.get("message") if isinstance(body, dict) else None
        return message if isinstance(message, str) else ""


@dataclass(frozen=True)
class GraphQLResponse:
    """`data` of a GraphQL answer, its `errors[]` (partial errors are the caller's), and its cost."""

    data: dict[str, Any]
    errors: tuple[dict[str, Any], ...]
    cost: int

    def errors_by_alias(self) -> dict[str, list[dict[str, Any]]]:
        """errors[] grouped by the first element of their `path` (the alias)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for err in self.errors:
            path = err.get("path") or [""]
            out.setdefault(str(path[0]), []).append(err)
        return out


@dataclass
class ClientStats:
    """What the client did: for logs, `collector status` and benchmarks."""

    requests: Counter[str] = field(default_factory=Counter)  # "GET /repos/{owner}/{repo} 200" -> n
    not_modified: int = 0
    retries: int = 0
    waited_seconds: float = 0.0  # summed over concurrent requests
    rest_charged: int = 0  # REST requests that count against the primary limit (not 304s)
    graphql_points: int = 0
    graphql_queries: int = 0
    paced_seconds: float = 0.0  # waited to stay under the per-minute limits (summed over requests)

    def snapshot(self) -> dict[str, Any]:
        """A plain dict (JSON-serialisable)."""
        return {
            "requests": dict(sorted(self.requests.items())),
            "requests_total": sum(self.requests.values()),
            "not_modified": self.not_modified,
            "retries": self.retries,
            "waited_seconds": round(self.waited_seconds, 3),
            "rest_charged": self.rest_charged,
            "graphql_points": self.graphql_points,
            "graphql_queries": self.graphql_queries,
            "paced_seconds": round(self.paced_seconds, 3),
        }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class GitHubClient:
    """One async client with a shared connection pool; use as `async with GitHubClient(...) as gh:`."""

    def __init__(
        self,
        settings: Settings,
        *,
        cache: ConditionalCache | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = 4,
        reserve: int = 50,
        graphql_batch: int = 50,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        max_attempts: int = 5,
        stats_wait: float = 30.0,
        timeout: float = 30.0,
        max_query_cost: int = 100,
        seed: int | None = None,
        pacer: MinutePacer | None = None,
        secondary_wait: float = SECONDARY_BASE_WAIT,
        backoff_base: float = BACKOFF_BASE,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.concurrency = min(100, max(1, concurrency))  # GitHub allows 100 concurrent requests
        self.graphql_batch = max(1, graphql_batch)
        self.max_attempts = max(1, max_attempts)
        self.stats_wait = stats_wait
        self.max_query_cost = max_query_cost
        self.secondary_wait = secondary_wait  # the first pause on a secondary limit without retry-after
        self.backoff_base = backoff_base  # the first wait before retrying a 5xx, a timeout or a cut body
        self._unsupported_versions: set[str] = set()
        self._secondary_streak = 0
        self.pool = TokenPool(settings.tokens, reserve)
        self._app = settings.github_app
        self._app_ready = self._app is None
        self._app_lock = asyncio.Lock()
        self._renewals: dict[int, asyncio.Lock] = {}
        self.stats = ClientStats()
        self._sleep = sleep
        self._clock = clock
        self._random = random.Random(seed)
        # Requests in flight are capped at `allowed`: `concurrency` at first, halved on every secondary
        # limit and grown back by one after a run of clean answers (GitHub asks clients to slow down).
        self._allowed = self.concurrency
        self._in_flight = 0
        self._clean_answers = 0
        self._gate = asyncio.Condition()
        self._origins = {origin(settings.api_url), origin(settings.graphql_url)}
        self._base_path = urlsplit(settings.api_url).path.rstrip("/")
        self._paused_until = 0.0
        # Each token's points per minute stay under GitHub's secondary limits. Clients that run at the
        # same time in one process (a sync's collect then backfill, overlapping daemon jobs) must share
        # one pacer: GitHub counts the token's minute, not the client's.
        self._pacer = pacer or MinutePacer()
        self._announced_wait: dict[str, float] = {}
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,  # we follow them ourselves, after checking the host
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
        )
        self._app_session = (
            AppSession(self._app, settings.api_url, self._http, clock, sleep) if self._app else None
        )

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Persist the budgets seen and close the connection pool."""
        self.flush_budgets()
        await self._http.aclose()

    def flush_budgets(self) -> None:
        """Write the token budgets seen so far to the cache's store (position and key, never the value)."""
        if self.cache is not None:
            records = self.pool.records()
            if records:
                self.cache.save_budgets(records)

    @property
    def authenticated(self) -> bool:
        """Whether at least one token (or a GitHub App) was configured."""
        return self.pool.authenticated or self._app is not None

    def url(self, path: str, params: Mapping[str, str | int] | None = None) -> str:
        """An absolute URL: `path` under the REST base, or an absolute URL (a Link, a cursor) as given."""
        base = path if path.startswith(("http://", "https://")) else self.settings.api_url + path
        if not params:
            return base
        return str(httpx.URL(base).copy_merge_params(dict(params)))

    # -- public verbs -------------------------------------------------------------------------------

    async def get(
        self,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        accept: str | None = None,
        api_version: str | None = None,
        conditional: bool = False,
        wait_computed: bool = False,
    ) -> ApiResponse:
        """GET a REST resource; with `wait_computed`, retry 202 (statistics) within `stats_wait` seconds."""
        url = self.url(path, params)
        waited, attempt = 0.0, 0
        while True:
            response = await self.request(
                "GET", url, accept=accept, api_version=api_version, conditional=conditional
            )
            if response.status != 202 or not wait_computed:
                return response
            attempt += 1
            delay = min(BACKOFF_BASE * 2 ** (attempt - 1), self.stats_wait - waited)
            if delay <= 0:
                raise NotReady(
                    f"GET {url}: GitHub is still computing these statistics (202) after {waited:.0f}s; "
                    "they will be ready on a later run",
                    url=url,
                    status=202,
                )
            self.stats.retries += 1
            await self._wait(delay)
            waited += delay

    async def paginate(
        self,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        accept: str | None = None,
        api_version: str | None = None,
        conditional: bool = False,
    ) -> AsyncIterator[ApiResponse]:
        """Pages of a listing, following Link rel="next" exactly as given (often /repositories/{id}/...)."""
        url: str | None = self.url(path, params)
        while url:
            response = await self.get(url, accept=accept, api_version=api_version, conditional=conditional)
            yield response
            url = response.links.get("next")

    async def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, retry_gateway: bool = True
    ) -> GraphQLResponse:
        """Run a GraphQL query; per-alias errors come back in `errors` for the caller to handle."""
        if not self.authenticated:
            raise GitHubError(
                "the GraphQL API needs a token: set GITHUB_TOKEN (REST-only features work without one)",
                url=self.settings.graphql_url,
            )
        content = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        response = await self.request(
            "POST",
            self.settings.graphql_url,
            resource="graphql",
            content=content,
            retry_gateway=retry_gateway,
        )
        body = response.json()
        if not isinstance(body, dict):
            raise response.malformed("a GraphQL body that is not an object")
        errors = tuple(e for e in body.get("errors") or () if isinstance(e, dict))
        data = body.get("data")
        if not isinstance(data, dict):
            first = errors[0].get("message", "no message") if errors else "no data and no errors"
            raise GraphQLError(f"GraphQL query failed: {first}", url=response.url, status=response.status)
        rate = data.get("rateLimit")
        cost = rate.get("cost") if isinstance(rate, dict) else None
        cost = cost if isinstance(cost, int) else 1
        self.stats.graphql_points += cost
        self.stats.graphql_queries += 1
        return GraphQLResponse(data, errors, cost)

    async def request(
        self,
        method: str,
        path: str,
        *,
        resource: str = "core",
        params: Mapping[str, str | int] | None = None,
        accept: str | None = None,
        api_version: str | None = None,
        content: bytes | None = None,
        conditional: bool = False,
        retry_gateway: bool = True,
    ) -> ApiResponse:
        """Send one logical request (redirects, limits and retries included); errors translated once."""
        response = await self._send_handling_redirects(
            method,
            self.url(path, params),
            resource=resource,
            accept=accept,
            api_version=api_version,
            content=content,
            conditional=conditional,
            retry_gateway=retry_gateway,
        )
        _raise_for_status(response)
        return response

    # -- fetchers (collector.github.fetchers), as methods so jobs need only the client ---------------

    async def fetch_repository(self, name: RepoName | int) -> Repository:
        """The repository by name (renames followed: new name, same id) or by GitHub id."""
        return await fetchers.fetch_repository(self, name)

    async def fetch_repo_counters(self, names: Sequence[RepoName]) -> dict[str, RepoCounters | GitHubError]:
        """Current counters keyed by each requested `name.key` (GraphQL batches; REST without a token)."""
        return await fetchers.fetch_repo_counters(self, names)

    async def fetch_contributor_count(self, name: RepoName) -> int:
        """Contributors including anonymous ones (rel="last" with per_page=1)."""
        return await fetchers.fetch_contributor_count(self, name)

    async def fetch_commit_activity(self, name: RepoName) -> list[WeekActivity]:
        """The last 52 weeks of commits, oldest first ([] for an empty repository)."""
        return await fetchers.fetch_commit_activity(self, name)

    def fetch_star_history(
        self, name: RepoName, start_url: str | None = None
    ) -> AsyncIterator[StarHistoryPage]:
        """Pages of weekly star additions, newest week first."""
        return fetchers.fetch_star_history(self, name, start_url)

    async def fetch_star_count(self, name: RepoName) -> int | None:
        """Today's stargazer count (None where the server lacks /stargazers/count)."""
        return await fetchers.fetch_star_count(self, name)

    def fetch_stargazer_dates(
        self, name: RepoName, start_url: str | None = None
    ) -> AsyncIterator[StargazerPage]:
        """The legacy stargazers listing with dates (collaborators only on GitHub.com since 2026)."""
        return fetchers.fetch_stargazer_dates(self, name, start_url)

    def fetch_forks(
        self, name: RepoName, start_url: str | None = None, sort: str = "oldest"
    ) -> AsyncIterator[ForkPage]:
        """Direct forks, 100 a page, resumable from a stored next URL."""
        return fetchers.fetch_forks(self, name, start_url, sort)

    async def fetch_weekly_commit_counts(
        self, name: RepoName, weeks: Sequence[date], branch: str | None = None
    ) -> dict[date, int]:
        """Commits per week (week start -> count), many weeks per GraphQL query."""
        return await fetchers.fetch_weekly_commit_counts(self, name, weeks, branch)

    def fetch_commits(
        self, name: RepoName, after: str | None = None, since: datetime | None = None
    ) -> AsyncIterator[CommitPage]:
        """The default branch's commits, newest first, 100 a page, resumable by cursor."""
        return fetchers.fetch_commits(self, name, after, since)

    # -- the steps ----------------------------------------------------------------------------------

    async def _send_handling_redirects(self, method: str, url: str, **kw: Any) -> ApiResponse:
        for _ in range(MAX_REDIRECTS + 1):
            if origin(url) not in self._origins:
                raise OffHostRedirect(
                    f"{url} is not on the configured GitHub API host ({', '.join(sorted(self._origins))}); "
                    "refused, and no token was sent there",
                    url=url,
                )
            response = await self._send_handling_versions(method, url, **kw)
            if response.status not in REDIRECT_STATUSES:
                return response
            location = response.headers.get("location")
            if not location:
                raise response.malformed("a redirect without a Location header")
            target = str(httpx.URL(url).join(location))
            if origin(target) != origin(url):
                raise OffHostRedirect(
                    f"{method} {url} redirects to another host ({origin(target)}); refused, and no token "
                    "was sent there",
                    url=target,
                    status=response.status,
                )
            url = target
        raise GitHubError(f"{method} {url}: more than {MAX_REDIRECTS} redirects", url=url)

    async def _send_handling_versions(
        self, method: str, url: str, *, api_version: str | None, **kw: Any
    ) -> ApiResponse:
        # A server that does not support the X-GitHub-Api-Version sent answers 400 (docs: api-versions;
        # older GHES for 2026-03-10): ask again without the header, for its default version, and stop
        # sending that version to this server.
        version = api_version or self.settings.api_version
        if version in self._unsupported_versions:
            return await self._send_handling_limits(method, url, api_version=None, **kw)
        response = await self._send_handling_limits(method, url, api_version=version, **kw)
        if response.status == 400 and "version" in response.message().lower():
            self._unsupported_versions.add(version)
            log.warning("the API server does not support X-GitHub-Api-Version %s; using its default", version)
            response = await self._send_handling_limits(method, url, api_version=None, **kw)
        return response

    async def _send_handling_limits(
        self, method: str, url: str, *, resource: str, retry_gateway: bool, **kw: Any
    ) -> ApiResponse:
        attempt, renewed = 0, False
        while True:
            # Take a concurrency slot first, then the token: a token is chosen from the budget known
            # right before sending, not while queueing behind other requests (which would overspend it).
            await self._enter()
            try:
                state = await self._acquire_token(resource, request_points(method, resource))
            except BaseException:
                await self._leave()
                raise
            used = state.token
            try:
                response = await self._send_single_request(method, url, state, resource, **kw)
            except (httpx.TransportError, httpx.DecodingError, _TransientBody) as exc:
                # Timeouts, refused or dropped connections, bodies cut short: GitHub answers them in full
                # on a retry, so they are retried like a 502, a bounded number of times.
                if not isinstance(exc, _TransientBody):
                    self._count(method, url, type(exc).__name__)
                attempt += 1
                if attempt >= self.max_attempts and isinstance(exc, _TransientBody):
                    raise MalformedResponse(
                        f"{method} {url} answered {exc.status} with a body that is not JSON, "
                        f"{attempt} times; giving up on it",
                        url=url,
                        status=exc.status,
                    ) from exc
                if attempt >= self.max_attempts:
                    raise ServerError(
                        f"{method} {url} failed {attempt} times ({type(exc).__name__}); giving up on it",
                        url=url,
                    ) from exc
                await self._backoff(attempt)
                continue
            finally:
                self.pool.release(state, resource)
                await self._leave()
            status = response.status
            if status == 401:
                if state.installation is not None and not renewed and state.token is used:
                    # An installation token that worked may have expired early (or been revoked):
                    # one renewal and one retry, not the end of the installation.
                    renewed, state.renew_at = True, 0.0
                    continue
                self._stop_token(state, response)
                continue
            limited = self._rate_limit_wait(response, state, resource)
            if limited == "primary":
                continue  # `_acquire_token` waits for the reset
            if limited == "secondary" or (status >= 500 and (retry_gateway or status not in (502, 504))):
                attempt += 1
                if attempt >= self.max_attempts:
                    if limited:
                        raise RateLimited(
                            f"{method} {url}: still secondary-rate-limited after {attempt} attempts; "
                            "lower client.concurrency and retry later",
                            url=url,
                        )
                    return response  # translated to ServerError by the caller
                if limited:
                    self._pause(response)
                else:
                    await self._backoff(attempt)
                continue
            self._answered_cleanly()
            return response

    async def _send_single_request(
        self,
        method: str,
        url: str,
        state: TokenState,
        resource: str,
        *,
        accept: str | None,
        api_version: str | None,
        content: bytes | None,
        conditional: bool,
    ) -> ApiResponse:
        headers = {
            "Accept": accept or "application/vnd.github+json",
            "User-Agent": f"collector/{__version__}",
        }
        if api_version is not None and resource != "graphql":
            headers["X-GitHub-Api-Version"] = api_version
        if state.token is not None and origin(url) in self._origins:
            headers["Authorization"] = f"Bearer {state.token.reveal()}"
        if content is not None:
            headers["Content-Type"] = "application/json"
        cached = None
        use_cache = conditional and self.cache is not None and method == "GET"
        if use_cache and self.cache is not None:
            cached = self.cache.get(state.key, url)
            if cached is not None and cached.etag:
                headers["If-None-Match"] = cached.etag
            if cached is not None and cached.last_modified:
                headers["If-Modified-Since"] = cached.last_modified
        raw = await self._http.request(method, url, headers=headers, content=content)
        observed = self.pool.observe(state, resource, raw.headers, self._clock())
        self._count(method, url, str(raw.status_code))
        if raw.status_code == 304 and cached is not None:
            self.stats.not_modified += 1
            replay = httpx.Headers(raw.headers)
            replay.update(cached.headers)
            return ApiResponse(method, url, cached.status, replay, cached.body, from_cache=True)
        if observed == "core" and raw.status_code != 304:
            self.stats.rest_charged += 1
        parsed = _decoded_body(raw)
        etag, modified = raw.headers.get("etag"), raw.headers.get("last-modified")
        if use_cache and self.cache is not None and raw.status_code == 200 and (etag or modified):
            keep = {h: raw.headers[h] for h in REPLAYED_HEADERS if h in raw.headers}
            self.cache.put(state.key, url, CachedResponse(200, etag, modified, keep, raw.content))
        return ApiResponse(method, url, raw.status_code, raw.headers, raw.content, parsed=parsed)

    def _count(self, method: str, url: str, outcome: str) -> None:
        self.stats.requests[f"{method} {endpoint_template(url, self._base_path)} {outcome}"] += 1

    # -- waiting ------------------------------------------------------------------------------------

    async def _acquire_token(self, resource: str, points: int) -> TokenState:
        if not self._app_ready:
            await self._add_installations()
        while True:
            now = self._clock()
            if self._paused_until > now:
                await self._wait(self._paused_until - now)
                continue
            choice = self.pool.pick(resource, now)
            if isinstance(choice, TokenState):
                pace = self._pacer.delay(choice.key, resource, points, now)
                if pace <= 0:
                    if choice.installation is not None and now >= choice.renew_at:
                        try:
                            await self._renew(choice)
                        except BaseException:
                            self.pool.release(choice, resource)
                            raise
                    return choice
                # This token's last minute is full: give the pick back and look again when it frees up
                # (another token, or this one a little later).
                self.pool.release(choice, resource)
                self.stats.paced_seconds += pace
                await self._wait(pace)
                continue
            if choice - now > 1.0 and self._announced_wait.get(resource) != choice:
                # Once per exhaustion, with the time; short polls while requests are in flight say nothing.
                self._announced_wait[resource] = choice
                log.warning(
                    "every token's %s budget is spent; sending nothing until %s", resource, _iso(choice)
                )
            await self._wait(max(0.0, choice - now))

    async def _add_installations(self) -> None:
        """The App's installations join the pool: those configured, else every one GitHub lists."""
        async with self._app_lock:
            if self._app_ready or self._app is None or self._app_session is None:
                return
            ids = list(self._app.installation_ids) or await self._app_session.fetch_installation_ids()
            self.pool.add_installations(ids)
            self._app_ready = True

    async def _renew(self, state: TokenState) -> None:
        """A new token for an App installation (one renewal at a time per installation)."""
        assert state.installation is not None and self._app_session is not None
        lock = self._renewals.setdefault(state.installation, asyncio.Lock())
        async with lock:
            if self._clock() < state.renew_at:
                return  # renewed while this request waited for the lock
            issued = self._clock()
            token, expires_at = await self._app_session.fetch_installation_token(state.installation)
            state.token, state.renew_at, state.dead = token, renew_at(issued, expires_at), False
            log.info("%s has a new token, valid until %s", state.label, _iso(expires_at))

    def _stop_token(self, state: TokenState, response: ApiResponse) -> None:
        state.dead = True
        log.error("%s was refused (401 Bad credentials); it will not be used again", state.label)
        if all(s.dead for s in self.pool.states):
            if state.anonymous:
                raise BadCredentials(f"{response.url} requires authentication (401); set GITHUB_TOKEN")
            if state.installation is not None:
                raise BadCredentials(
                    f"{state.label} was refused (401 Bad credentials) even with a new token, and no other "
                    "credential is left; check the App's installation and GITHUB_APP_INSTALLATION_ID",
                    url=response.url,
                )
            raise BadCredentials(
                f"{state.label} was refused (401 Bad credentials) and no other token is left; "
                "replace it in GITHUB_TOKEN",
                position=state.position,
                url=response.url,
            )

    def _rate_limit_wait(self, response: ApiResponse, state: TokenState, resource: str) -> str | None:
        """'primary' (budget spent; token marked), 'secondary' (pause needed), or None."""
        status, headers = response.status, response.headers
        if status == 200 and resource == "graphql":
            errors = _graphql_errors(response)
            if any(_is_graphql_rate_limit(e) for e in errors):
                # Even with x-ratelimit-remaining above 0: GitHub has said no, so wait for the reset.
                self._exhaust(state, headers.get("x-ratelimit-resource") or resource, headers, response)
                return "primary"
            if any(_mentions_secondary(str(e.get("message", ""))) for e in errors):
                return "secondary"  # GraphQL's secondary limit may come as a 200 [D-SEC]
            return None
        if status not in (403, 429):
            return None
        if headers.get("retry-after") is None and headers.get("x-ratelimit-remaining") == "0":
            self._exhaust(state, headers.get("x-ratelimit-resource") or resource, headers, response)
            return "primary"
        if status == 429 or headers.get("retry-after") is not None:
            return "secondary"
        return "secondary" if _mentions_secondary(response.message()) else None

    def _exhaust(
        self, state: TokenState, resource: str, headers: httpx.Headers, response: ApiResponse
    ) -> None:
        now = self._clock()
        reset_at = _reset_time(headers, response)
        # A reset in the past or not given at all (proxies, odd servers) must neither spin nor hang: look
        # again after a bounded wait, and keep doing so while the answer stays the same.
        if reset_at is None or reset_at <= now:
            reset_at = now + UNKNOWN_RESET_WAIT
        self.pool.exhaust(state, resource, reset_at)

    async def _enter(self) -> None:
        async with self._gate:
            await self._gate.wait_for(lambda: self._in_flight < self._allowed)
            self._in_flight += 1

    async def _leave(self) -> None:
        async with self._gate:
            self._in_flight -= 1
            self._gate.notify_all()

    def _answered_cleanly(self) -> None:
        self._secondary_streak = 0
        self._clean_answers += 1
        if self._allowed < self.concurrency and self._clean_answers >= CLEAN_ANSWERS_TO_GROW:
            self._allowed += 1
            self._clean_answers = 0

    def _pause(self, response: ApiResponse) -> None:
        self.stats.retries += 1
        now = self._clock()
        if now < self._paused_until:
            return  # sent before the pause began: the pause already covers it
        retry_after = response.headers.get("retry-after")
        try:
            delay = float(retry_after) if retry_after is not None else -1.0
        except ValueError:
            delay = -1.0
        self._secondary_streak += 1
        if delay < 0:
            # GitHub: without retry-after wait at least a minute, and back off exponentially while the
            # limit repeats [D-SEC]. The streak ends with the next clean answer.
            delay = min(SECONDARY_MAX_WAIT, self.secondary_wait * 2 ** (self._secondary_streak - 1))
        # Every request pauses, not only this one: continuing while limited can get us banned [D-SEC].
        self._paused_until = now + delay
        self._allowed = max(1, self._allowed // 2)
        self._clean_answers = 0
        log.warning("secondary rate limit on %s; pausing all requests for %.0fs", response.url, delay)

    async def _backoff(self, attempt: int) -> None:
        self.stats.retries += 1
        delay = min(BACKOFF_MAX, self.backoff_base * 2 ** (attempt - 1)) * (0.5 + self._random.random() / 2)
        await self._wait(delay)

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.stats.waited_seconds += seconds
            await self._sleep(seconds)
        await asyncio.sleep(0)  # let requests in flight finish, whatever `sleep` was injected


def _graphql_errors(response: ApiResponse) -> list[dict[str, Any]]:
    """errors[] of a GraphQL answer ([] when the body has none or is not an object)."""
    body = response.parsed
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors or () if isinstance(e, dict)]


def _is_graphql_rate_limit(error: Mapping[str, Any]) -> bool:
    return error.get("type") in GRAPHQL_RATE_LIMIT_TYPES or error.get("code") in GRAPHQL_RATE_LIMIT_CODES


def _mentions_secondary(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in SECONDARY_WORDS)


def _reset_time(headers: httpx.Headers, response: ApiResponse) -> float | None:
    """When a spent budget comes back: x-ratelimit-reset, else GraphQL's rateLimit.resetAt, else None."""
    try:
        return float(headers["x-ratelimit-reset"])
    except (KeyError, ValueError):
        pass
    body = response.parsed  # decoded for 200s only: a GraphQL answer
    data = body.get("data") if isinstance(body, dict) else None
    rate = data.get("rateLimit") if isinstance(data, dict) else None
    reset = rate.get("resetAt") if isinstance(rate, dict) else None
    if isinstance(reset, str):
        try:
            return datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _decoded_body(raw: httpx.Response) -> Any:
    """The JSON body of a 200/201, decoded once; _TransientBody when it is cut short or not JSON."""
    if raw.status_code not in (200, 201) or not raw.content:
        return None
    kind = raw.headers.get("content-type", "json")
    if "json" not in kind:
        return None
    try:
        return json.loads(raw.content)
    except ValueError as exc:
        raise _TransientBody(raw.status_code) from exc


def _raise_for_status(response: ApiResponse) -> None:
    """Translate an error status into the GitHubError subclass that names it (once, here)."""
    status = response.status
    if status < 300 or status == 304:
        return
    message = response.message()
    lowered = message.lower()
    where = f"{response.method} {response.url}"
    kw: dict[str, Any] = {"url": response.url, "status": status}
    if status == 404:
        raise NotFound(f"{where}: not found (404): missing, deleted, or private without access", **kw)
    if status == 451 or "repository access blocked" in lowered:
        raise Blocked(f"{where}: repository access blocked ({status}), e.g. a DMCA takedown", **kw)
    if status == 403 and "too large" in lowered:
        raise TooLarge(f"{where}: {message or 'too large for the API'} (403; not retried)", **kw)
    if status == 401:
        raise BadCredentials(f"{where}: 401 {message or 'Bad credentials'}", url=response.url)
    if status in (403, 429):
        raise Forbidden(f"{where}: forbidden ({status}): {message or 'no message'}", **kw)
    if status >= 500:
        raise ServerError(f"{where}: GitHub answered {status} and kept failing; try again later", **kw)
    raise GitHubError(f"{where}: GitHub answered {status}: {message or 'no message'}", **kw)
