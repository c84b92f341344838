"""The GitHub simulator: one app core with no transport, served in-process or over loopback HTTP.

    app = SimulatorApp(scenario, rate_limit=100, reset_seconds=2)
    httpx.AsyncClient(transport=SimulatorTransport(app), base_url="https://api.github.com")
    with running_simulator(app) as base_url: ...      # a real server on 127.0.0.1
    python -m collector.testing.simulator --port 8765 --scenario frameworks

REST is served at the root and under /api/v3 (GHES); GraphQL at /graphql and /api/graphql.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from collector.testing.app_auth import NOT_DECODED, AppAuth, SimApp, looks_like_jwt
from collector.testing.app_routes import app_template, route_app, route_installation
from collector.testing.faults import (
    FAULTS,
    ON_THE_ANSWER,
    RATE_DOCS,
    applicable,
    cut_short,
    dropped,
    fault_answer,
    secondary_limited,
)
from collector.testing.graphql_api import plan_query, run_query
from collector.testing.limits import Budget, Limits
from collector.testing.model import Scenario
from collector.testing.replies import (
    DEFAULT_API_VERSION,
    GHES_LEGACY_API_VERSIONS,
    GITHUB_API_VERSIONS,
    Ctx,
    SimResponse,
    SimStats,
    etag_matches,
    to_json,
    unsupported_version,
)
from collector.testing.rest import DOCS, Reply, RestApi, RestRequest
from collector.testing.transport import SimulatorTransport, running_simulator

__all__ = [
    "FAULTS",
    "SimResponse",
    "SimStats",
    "SimulatorApp",
    "SimulatorTransport",
    "main",
    "running_simulator",
]


class SimulatorApp:
    """GitHub's REST and GraphQL APIs over a Scenario: `handle(method, url, headers, body)`.

    Every option defaults to what api.github.com does. Among them: `fault_kinds` (see faults.FAULTS),
    `secondary_retry_after` (None: secondary limits without retry-after), `graphql_rate_limit_type`
    ("RATE_LIMIT" since 2026, or "RATE_LIMITED"), `graphql_early_limit` (refuse GraphQL once remaining
    <= it, headers still showing the true remaining), `stats_compute_requests` (202s before a /stats
    answer), `rate_limit_headers` (False: GHES with rate limiting off), `api_versions` (supported
    X-GitHub-Api-Version values; others get 400), `star_history_timezone`, `linked_email_cap`,
    `github_app` (a SimApp: JWT endpoints under /app and `ghs_` installation tokens that expire after
    `installation_token_seconds`; every token of one installation shares its rate limit).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        rate_limit: int = 5000,
        graphql_limit: int = 5000,
        unauth_limit: int = 60,
        latency_ms: float = 0,
        fault_rate: float = 0.0,
        fault_kinds: Sequence[str] = FAULTS,
        seed: int = 0,
        tokens: Iterable[str] | None = None,
        revoked: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
        reset_seconds: float = 3600,
        max_concurrency: int = 100,
        points_per_minute: int = 900,
        graphql_points_per_minute: int = 2000,
        secondary_retry_after: int | None = 60,
        primary_status: int = 403,
        hang_seconds: float = 30.0,
        ghes_legacy: bool = False,
        collaborator_tokens: Sequence[str] = (),
        stargazers_policy: str = "forbidden",
        graphql_rate_limit_type: str = "RATE_LIMIT",
        graphql_early_limit: int = 0,
        stats_compute_requests: int = 1,
        rate_limit_headers: bool = True,
        api_versions: Sequence[str] | None = None,
        star_history_timezone: str = "UTC",
        linked_email_cap: int = 500,
        github_app: SimApp | None = None,
        installation_token_seconds: float = 3600.0,
    ) -> None:
        self.scenario = scenario
        self.rest = RestApi(
            scenario,
            ghes_legacy=ghes_legacy,
            collaborator_tokens=collaborator_tokens,
            stargazers_policy=stargazers_policy,
            stats_compute_requests=stats_compute_requests,
            linked_email_cap=linked_email_cap,
            star_history_timezone=star_history_timezone,
        )
        if graphql_rate_limit_type not in ("RATE_LIMIT", "RATE_LIMITED"):
            raise ValueError("graphql_rate_limit_type must be RATE_LIMIT or RATE_LIMITED")
        self.graphql_rate_limit_type = graphql_rate_limit_type
        self.graphql_early_limit = graphql_early_limit
        self.rate_limit_headers = rate_limit_headers
        if api_versions is None:
            api_versions = GHES_LEGACY_API_VERSIONS if ghes_legacy else GITHUB_API_VERSIONS
        if not api_versions:
            raise ValueError("api_versions must name at least one version")
        self.api_versions = tuple(api_versions)
        # Without the header GitHub selects 2022-11-28; a server without it selects its oldest.
        supported = DEFAULT_API_VERSION in self.api_versions
        self.default_api_version = DEFAULT_API_VERSION if supported else min(self.api_versions)
        self.limits = Limits(
            rate_limit=rate_limit,
            graphql_limit=graphql_limit,
            unauth_limit=unauth_limit,
            reset_seconds=reset_seconds,
            max_concurrency=max_concurrency,
            points_per_minute=points_per_minute,
            graphql_points_per_minute=graphql_points_per_minute,
            clock=clock,
        )
        self.latency = latency_ms / 1000
        self.fault_rate = fault_rate
        unknown = set(fault_kinds) - set(FAULTS)
        if unknown or not fault_kinds:
            raise ValueError(f"fault_kinds must be a non-empty subset of {FAULTS}, not {sorted(unknown)}")
        self.fault_kinds = tuple(fault_kinds)
        self.tokens = None if tokens is None else set(tokens)
        self.revoked = set(revoked)
        self.app_auth = AppAuth(github_app, installation_token_seconds)
        self.clock = clock
        self.secondary_retry_after = secondary_retry_after
        self.primary_status = primary_status
        self.hang_seconds = hang_seconds
        self.stats = SimStats()
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._serial = 0
        self._user_ids: dict[str, int] = {}
        self._refused: dict[str, int] = {}  # token -> reset of the GraphQL window refused early
        self._stopping = threading.Event()

    # --- moving the world -----------------------------------------------------------------------

    def set_today(self, day: date) -> None:
        """Move the scenario's today (a new week may begin between two passes); views are recomputed."""
        with self._lock:
            self.rest.set_today(day)

    def withdraw_stars(self, full_name: str, given_on: date, count: int) -> None:
        """Withdraw `count` stars given on `given_on`: that old day shrinks and every star count drops."""
        with self._lock:
            self.rest.withdraw_stars(full_name, given_on, count)

    def revoke(self, token: str) -> None:
        """Revoke a token (personal or installation): from now on it gets 401 Bad credentials."""
        with self._lock:
            self.revoked.add(token)
            self.app_auth.revoke(token)

    # --- entry points ---------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        *,
        client_ip: str = "127.0.0.1",
    ) -> SimResponse:
        """Answer one request, sleeping the injected latency (the request counts as in flight meanwhile)."""
        resp, key = self._process(method, url, headers, body, client_ip)
        try:
            if self.latency:
                time.sleep(self.latency)
        finally:
            self._leave(key)
        return resp

    async def handle_async(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        *,
        client_ip: str = "127.0.0.1",
    ) -> SimResponse:
        """As `handle`, with the latency slept on the event loop."""
        resp, key = self._process(method, url, headers, body, client_ip)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
        finally:
            self._leave(key)
        return resp

    def wait_hang(self) -> None:
        """Block as a hanging GitHub would (until `hang_seconds` pass or the server stops)."""
        self._stopping.wait(self.hang_seconds)

    def stop_hangs(self) -> None:
        """Release every hanging response (the server is shutting down)."""
        self._stopping.set()

    # --- the pipeline ---------------------------------------------------------------------------

    def _leave(self, key: str | None) -> None:
        if key is not None:
            with self._lock:
                self.limits.leave(key)

    def _process(
        self, method: str, url: str, raw_headers: Mapping[str, str], body: bytes, client_ip: str
    ) -> tuple[SimResponse, str | None]:
        with self._lock:
            self._serial += 1
            rid = f"5E{self._serial:02X}:{self._serial * 7919 % 65536:04X}:{self._serial:07X}:SIM"
            headers = {k.lower(): v for k, v in raw_headers.items()}
            method = method.upper()
            parts = urlsplit(url if "://" in url else f"https://api.github.com{url}")
            path = parts.path or "/"
            graphql = path in ("/graphql", "/api/graphql")
            prefix = "/api/v3" if path == "/api/v3" or path.startswith("/api/v3/") else ""
            rest_path = path[len(prefix) :] or "/"
            api = f"{parts.scheme}://{parts.netloc}{prefix}"
            resource = "graphql" if graphql else "core"
            version = headers.get("x-github-api-version") or self.default_api_version
            ctx = Ctx(
                self.stats,
                self.clock(),
                method,
                path if graphql else rest_path,
                rid,
                resource,
                headers,
                rate_headers=self.rate_limit_headers,
                api_version=version,
            )

            auth = headers.get("authorization")
            token: str | None = None
            if auth is not None:
                self.stats.authorization_headers.append(auth)
                scheme, _, value = auth.partition(" ")
                token = value.strip() if scheme.lower() in ("bearer", "token") and value.strip() else ""
            ip_key = f"ip:{client_ip}"
            query = parse_qsl(parts.query, keep_blank_values=True)
            req = RestRequest(method, rest_path, query, api, headers.get("accept", ""), token)
            on_app = not graphql and (rest_path == "/app" or rest_path.startswith("/app/"))
            if on_app or (token and looks_like_jwt(token)):
                return self._as_app(ctx, req, on_app, ip_key), None
            installation, refusal = self.app_auth.check_token(token, ctx.now) if token else (None, None)
            if refusal == "expired":
                self.stats.expired_token_refusals += 1
            if token is not None and (
                token == ""
                or refusal is not None
                or token in self.revoked
                or (installation is None and self.tokens is not None and token not in self.tokens)
            ):
                return ctx.finish(
                    401,
                    {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
                    self.limits.budget(ip_key, "core"),
                ), None
            if graphql and token is None:
                message = "This endpoint requires you to be authenticated."
                doc = "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
                return ctx.finish(
                    401, {"message": message, "documentation_url": doc}, self.limits.budget(ip_key, "graphql")
                ), None
            key = installation or token or ip_key

            if not graphql and version not in self.api_versions:
                # An unsupported X-GitHub-Api-Version is a 400 (docs: rest/about-the-rest-api/api-versions).
                ctx.api_version = ""
                body400 = unsupported_version(version, self.api_versions)
                return ctx.finish(400, body400, self.limits.budget(key, "core")), None
            if not graphql and rest_path == "/rate_limit":
                return self._rate_limit(ctx, key), None

            budget = self.limits.budget(key, resource)
            enforced = self.rate_limit_headers  # GHES with rate limiting off enforces no primary limit
            if enforced and budget.remaining == 0:
                self.stats.while_exhausted += 1
                return self._primary_limited(ctx, key, budget, client_ip), None
            if enforced and graphql:
                refused = self._refuse_early(ctx, key, budget)
                if refused is not None:
                    return refused, None
            if not self.limits.enter(key):
                return secondary_limited(ctx, budget, self.secondary_retry_after), None
            points = 5 if method not in ("GET", "HEAD", "OPTIONS") and not graphql else 1
            wait = self.limits.per_minute_retry_after(key, resource, points)
            if wait is not None:
                self.limits.leave(key)
                return secondary_limited(ctx, budget, wait), None

            fault = None
            kinds = applicable(self.fault_kinds, graphql)
            if self._rng.random() < self.fault_rate and kinds:
                fault = kinds[self._rng.randrange(len(kinds))]
            if fault is not None and fault not in ON_THE_ANSWER:
                self.stats.faults[fault] += 1
                charged = self.limits.charge(key, resource, 1)  # a fault costs one point, as today
                return fault_answer(ctx, fault, charged, self.secondary_retry_after), key

            if graphql:
                resp = self._graphql(ctx, key, body)
            else:
                reply = route_installation(req, self.app_auth, key, self.rest) or self.rest.route(req)
                ctx.template = reply.template or rest_path
                resp = self._rest(ctx, key, reply)
            if fault == "malformed":
                self.stats.faults[fault] += 1
                resp = cut_short(ctx, resp)
            elif fault == "drop":
                broken = dropped(resp)
                if broken is not None:  # an answer without a body has nothing to break
                    self.stats.faults[fault] += 1
                    resp = broken
            return resp, key

    def _as_app(self, ctx: Ctx, req: RestRequest, on_app: bool, ip_key: str) -> SimResponse:
        """A request carrying a JWT, or any request under /app: only the App's JWT opens those."""
        ctx.template = app_template(req.path) if on_app else ctx.template
        token, app = req.token, self.app_auth.app
        if not on_app or not token or not looks_like_jwt(token):
            # A JWT elsewhere is "Bad credentials" (GitHub Community forum: "How to call API v3 endpoints
            # as a Github application"); a non-JWT on /app cannot be decoded as one (kubevalidator #48).
            body = {"message": NOT_DECODED if on_app else "Bad credentials", "documentation_url": DOCS}
            return ctx.finish(401, body, self.limits.budget(ip_key, ctx.resource))
        refused = self.app_auth.check_jwt(token, ctx.now)
        if refused is not None or app is None:  # without an App every JWT is refused
            message = refused.message if refused is not None else "Integration not found"
            body = {"message": message, "documentation_url": DOCS}
            return ctx.finish(refused.status if refused else 404, body, self.limits.budget(ip_key, "core"))
        reply = route_app(req, self.app_auth, ctx.now)
        if reply.status == 201:
            self.stats.installation_tokens_issued += 1
        # The App's own budget, never an installation's.
        budget = self.limits.charge(f"app:{app.app_id}", "core", 1)
        return ctx.finish(reply.status, reply.body, budget, extra=reply.headers)

    def _rest(self, ctx: Ctx, key: str, reply: Reply) -> SimResponse:
        etag: str | None = None
        payload = b"" if reply.body is None else to_json(reply.body)
        if ctx.method in ("GET", "HEAD") and reply.status == 200:
            digest = hashlib.sha256(payload).hexdigest()
            etag = f'W/"{digest[:32]}"' if reply.weak_etag else f'"{digest}"'
            if etag_matches(ctx.headers.get("if-none-match"), etag):
                # A 304 costs no budget and carries the unchanged remaining (recordings; D-BP).
                self.stats.not_modified += 1
                budget = self.limits.budget(key, "core")
                return ctx.finish(304, None, budget, extra={"etag": etag}, etag=False)
        budget = self.limits.charge(key, "core", 1)
        return ctx.finish(
            reply.status,
            reply.body,
            budget,
            extra={**reply.headers, **({"etag": etag} if etag else {})},
            etag=False,
            payload=payload,
        )

    def _graphql(self, ctx: Ctx, key: str, body: bytes) -> SimResponse:
        if ctx.method != "POST":
            return ctx.finish(
                404,
                {"message": "Not Found", "documentation_url": "https://docs.github.com/graphql"},
                self.limits.budget(key, "graphql"),
            )
        plan = plan_query(body)
        if isinstance(plan, tuple):
            return ctx.finish(plan[0], plan[1], self.limits.budget(key, "graphql"))
        budget = self.limits.budget(key, "graphql")
        if self.rate_limit_headers and not plan.dry_run and plan.cost > budget.remaining:
            return ctx.finish(200, self._rate_limited_graphql(key), budget, remaining_zero=True)
        if not plan.dry_run:
            budget = self.limits.charge(key, "graphql", plan.cost)
            self.stats.graphql_points += plan.cost
        return ctx.finish(200, run_query(plan, self.rest, budget), budget)

    # --- limit answers --------------------------------------------------------------------------

    def _user_id(self, key: str) -> int:
        return self._user_ids.setdefault(key, 583231 + len(self._user_ids))

    def _rate_limited_graphql(self, key: str) -> dict[str, Any]:
        message = f"API rate limit already exceeded for user ID {self._user_id(key)}."
        error: dict[str, Any] = {"type": self.graphql_rate_limit_type}
        if self.graphql_rate_limit_type == "RATE_LIMIT":
            error["code"] = "graphql_rate_limit"  # the 2026 shape (facts sheet §12)
        error["message"] = message
        return {"errors": [error]}

    def _refuse_early(self, ctx: Ctx, key: str, budget: Budget) -> SimResponse | None:
        """GitHub may refuse GraphQL while x-ratelimit-remaining is still above 0 (facts sheet §12)."""
        if self._refused.get(key) == budget.reset_at:
            self.stats.while_exhausted += 1  # it was told already: a good client waits for the reset
        elif 0 < self.graphql_early_limit and budget.remaining <= self.graphql_early_limit:
            self._refused[key] = budget.reset_at
        else:
            return None
        return ctx.finish(200, self._rate_limited_graphql(key), budget)  # the true remaining and reset

    def _primary_limited(self, ctx: Ctx, key: str, budget: Budget, ip: str) -> SimResponse:
        if ctx.resource == "graphql":
            return ctx.finish(200, self._rate_limited_graphql(key), budget)
        if key.startswith("ip:"):
            message = (
                f"API rate limit exceeded for {ip}. (But here's the good news: Authenticated requests get a "
                "higher rate limit. Check out the documentation for more details.)"
            )
        else:
            message = f"API rate limit exceeded for user ID {self._user_id(key)}."
        body = {
            "message": message,
            "documentation_url": f"{RATE_DOCS}#about-the-rate-limits-for-the-rest-api",
        }
        return ctx.finish(self.primary_status, body, budget)

    def _rate_limit(self, ctx: Ctx, key: str) -> SimResponse:
        budget = self.limits.budget(key, "core")
        if not self.rate_limit_headers:
            # GHES with rate limiting off (magithub #104, github-exporter #17 recordings).
            body = {
                "message": "Rate limiting is not enabled.",
                "documentation_url": "https://docs.github.com/rest",
            }
            return ctx.finish(404, body, budget)
        resources = {}
        for name in ("core", "search", "graphql"):
            b = self.limits.budget(key, name)
            resources[name] = {
                "limit": b.limit,
                "used": b.used,
                "remaining": b.remaining,
                "reset": b.reset_at,
            }
        # No legacy "rate" key: removed in API version 2026-03-10 (facts sheet §2).
        return ctx.finish(200, {"resources": resources}, budget, etag=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a scenario over HTTP on loopback until interrupted."""
    from collector.testing.serve import serve  # the command line lives apart (it builds a SimulatorApp)

    return serve(argv)


if __name__ == "__main__":
    raise SystemExit(main())
