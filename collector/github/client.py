"""The GitHub client: transport policy on top of an injected httpx transport.

Each request goes through named steps, outermost first: `request` (URL, error translation) ->
`_send_handling_redirects` (same host only) -> `_send_handling_versions` -> `_send_handling_limits`
(token choice, rate limits, retries) -> `_send_single_request` (headers, conditional cache, counting).
Retries and waits happen here only (through the injected `sleep`); endpoints are `collector.github.api`'s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from collector import __version__
from collector.domain import CachedResponse
from collector.github.cache import ConditionalCache
from collector.github.credentials import Credentials, repo_route
from collector.github.errors import (
    GitHubError,
    NotReady,
    OffHostRedirect,
    RateLimited,
)
from collector.github.options import ClientOptions
from collector.github.pacing import MinutePacer, request_points
from collector.github.responses import (
    ApiResponse,
    ClientStats,
    GraphQLResponse,
    TransientBody,
    decoded_body,
    endpoint_template,
    graphql_answer,
    limit_signal,
    origin,
    raise_for_status,
)
from collector.github.throttle import Throttle
from collector.github.tokens import TokenState
from collector.github.transport_errors import gave_up
from collector.settings import Settings

log = logging.getLogger("collector.github")

REDIRECT_STATUSES = frozenset({301, 302, 307, 308})
MAX_REDIRECTS = 5
REPLAYED_HEADERS = ("link", "content-type")  # what a 304 must give back from the cached 200


class GitHubClient:
    """One async client with a shared connection pool; use as `async with GitHubClient(...) as gh:`."""

    def __init__(
        self,
        settings: Settings,
        options: ClientOptions | None = None,
        *,
        cache: ConditionalCache | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        pacer: MinutePacer | None = None,
    ) -> None:
        self.settings = settings
        self.options = options = options or ClientOptions()
        self.cache = cache
        self.stats = ClientStats()
        self.throttle = Throttle(
            options.concurrency,
            self.stats,
            sleep=sleep,
            clock=clock,
            secondary_wait=options.secondary_wait,
            backoff_base=options.backoff_base,
            seed=options.seed,
        )
        self._unsupported_versions: set[str] = set()
        self._clock = clock
        self._origins = {origin(settings.api_url), origin(settings.graphql_url)}
        self._base_path = urlsplit(settings.api_url).path.rstrip("/")
        pacer = pacer or MinutePacer(*options.pacing())
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=options.timeout,
            follow_redirects=False,  # we follow them ourselves, after checking the host
            limits=httpx.Limits(
                max_connections=options.concurrency, max_keepalive_connections=options.concurrency
            ),
        )
        self.credentials = Credentials(
            settings, options.reserve, self._http, self.throttle, pacer, clock=clock, sleep=sleep
        )
        self.pool = self.credentials.pool

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
        return self.credentials.authenticated

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
            delay = min(2.0 ** (attempt - 1), self.options.stats_wait - waited)
            if delay <= 0:
                raise NotReady(
                    f"GET {url}: GitHub is still computing these statistics (202) after {waited:.0f}s; "
                    "they will be ready on a later run",
                    url=url,
                    status=202,
                )
            self.stats.retries += 1
            await self.throttle.wait(delay)
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
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        retry_gateway: bool = True,
        route: str | None = None,
    ) -> GraphQLResponse:
        """Run a GraphQL query (about repository `route`, if given); per-alias errors come in `errors`."""
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
            route=route,
        )
        answer = graphql_answer(response)
        self.stats.graphql_points += answer.cost
        self.stats.graphql_queries += 1
        return answer

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
        route: str | None = None,
    ) -> ApiResponse:
        """Send one logical request (redirects, limits and retries included); errors translated once.
        `route`: the repository it is about (default: the one a /repos/{owner}/{name} URL names)."""
        response = await self._send_handling_redirects(
            method,
            self.url(path, params),
            resource=resource,
            accept=accept,
            api_version=api_version,
            content=content,
            conditional=conditional,
            retry_gateway=retry_gateway,
            route=route or repo_route(self.url(path, params), self._base_path),
        )
        raise_for_status(response)
        return response

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
        self, method: str, url: str, *, resource: str, retry_gateway: bool, route: str | None, **kw: Any
    ) -> ApiResponse:
        attempt, renewed, tried = 0, False, frozenset[int]()
        while True:
            # A slot first, then the token: a token is chosen from the budget known right before
            await self.throttle.enter()  # sending, not while queueing (which would overspend it).
            try:
                points = request_points(method, resource)
                state = await self.credentials.acquire(resource, points, route, tried)
            except BaseException:
                await self.throttle.leave()
                raise
            used = state.token
            try:
                response = await self._send_single_request(method, url, state, resource, **kw)
            except (httpx.TransportError, httpx.DecodingError, TransientBody) as exc:
                # Timeouts, refused or dropped connections, bodies cut short: GitHub answers them in full
                # on a retry, so they are retried like a 502, a bounded number of times.
                if not isinstance(exc, TransientBody):
                    self._count(method, url, type(exc).__name__)
                attempt += 1
                if attempt >= self.options.max_attempts:
                    raise gave_up(method, url, attempt, exc) from exc
                await self.throttle.backoff(attempt, f"{method} {url} failed ({type(exc).__name__})")
                continue
            finally:
                self.pool.release(state, resource)
                await self.throttle.leave()
            status = response.status
            if status == 401:
                # An installation token expired early or revoked: renewed once for all, each retried once.
                renewed = await self.credentials.refused(state, used, response, renewed)
                continue
            if status == 404 and route and (more := self.credentials.untried(route, state, tried)):
                tried = more  # asked through an installation not known to see it: another may
                continue
            limited = limit_signal(response, resource)
            if limited == "primary":
                self.credentials.exhaust(
                    state, response.headers.get("x-ratelimit-resource") or resource, response
                )
                continue  # `acquire` waits for the reset
            if limited == "secondary" or (status >= 500 and (retry_gateway or status not in (502, 504))):
                attempt += 1
                if attempt >= self.options.max_attempts:
                    if limited:
                        raise RateLimited(
                            f"{method} {url}: still secondary-rate-limited after {attempt} attempts; "
                            "lower client.concurrency and retry later",
                            url=url,
                        )
                    return response  # translated to ServerError by the caller
                if limited:
                    self.throttle.pause(response.url, response.headers.get("retry-after"))
                else:
                    await self.throttle.backoff(attempt)
                continue
            self.throttle.answered_cleanly()
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
        parsed = decoded_body(raw)
        etag, modified = raw.headers.get("etag"), raw.headers.get("last-modified")
        if use_cache and self.cache is not None and raw.status_code == 200 and (etag or modified):
            keep = {h: raw.headers[h] for h in REPLAYED_HEADERS if h in raw.headers}
            self.cache.put(state.key, url, CachedResponse(200, etag, modified, keep, raw.content))
        return ApiResponse(method, url, raw.status_code, raw.headers, raw.content, parsed=parsed)

    def _count(self, method: str, url: str, outcome: str) -> None:
        self.stats.requests[f"{method} {endpoint_template(url, self._base_path)} {outcome}"] += 1
