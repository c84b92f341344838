"""SimulatorApp: the simulator's core, with no transport: a request in, a SimResponse out.

Requests go through named steps under one lock: parse, authenticate, admit (version, primary and
secondary limits), answer (REST or GraphQL, maybe replaced or spoiled by an injected fault).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
import time
from collections.abc import Mapping
from datetime import date
from typing import Unpack
from urllib.parse import parse_qsl, urlsplit

from collector.testing.account_routes import AccountRoutes
from collector.testing.app_auth import NOT_DECODED, AppAuth, looks_like_jwt
from collector.testing.app_routes import app_template, route_app, route_installation
from collector.testing.faults import (
    ON_THE_ANSWER,
    applicable,
    cut_short,
    dropped,
    fault_answer,
    secondary_limited,
)
from collector.testing.graphql_api import plan_query, run_query
from collector.testing.limit_answers import LimitAnswers
from collector.testing.limits import Limits
from collector.testing.model import Scenario
from collector.testing.options import SimOptionArgs, SimOptions
from collector.testing.replies import Ctx, SimResponse, SimStats, etag_matches, to_json, unsupported_version
from collector.testing.rest import DOCS, Reply, RestApi, RestRequest
from collector.testing.search_api import SearchApi


class SimulatorApp:
    """GitHub's REST and GraphQL APIs over a Scenario: `handle(method, url, headers, body)`.

    The keyword options are SimOptions's; each defaults to what api.github.com does.
    """

    def __init__(self, scenario: Scenario, **options: Unpack[SimOptionArgs]) -> None:
        self.scenario = scenario
        self.options = o = SimOptions(**options)
        self.rest = RestApi(
            scenario,
            ghes_legacy=o.ghes_legacy,
            collaborator_tokens=o.collaborator_tokens,
            stargazers_policy=o.stargazers_policy,
            stats_compute_requests=o.stats_compute_requests,
            linked_email_cap=o.linked_email_cap,
            star_history_timezone=o.star_history_timezone,
        )
        self.search = SearchApi(
            self.rest,
            incomplete_rate=o.search_incomplete_rate,
            seed=o.seed,
            stable_order=o.search_stable_order,
        )
        self.directory = AccountRoutes(self.rest)
        self.api_versions = o.supported_versions()
        self.default_api_version = o.default_api_version()
        self.limits = Limits(
            rate_limit=o.rate_limit,
            graphql_limit=o.graphql_limit,
            unauth_limit=o.unauth_limit,
            reset_seconds=o.reset_seconds,
            max_concurrency=o.max_concurrency,
            points_per_minute=o.points_per_minute,
            graphql_points_per_minute=o.graphql_points_per_minute,
            clock=self._server_clock,
            search_limit=o.search_limit,
            unauth_search_limit=o.unauth_search_limit,
            search_reset_seconds=o.search_reset_seconds,
        )
        self.answers = LimitAnswers(self.limits, o)
        self.latency = o.latency_ms / 1000
        self.fault_kinds = tuple(o.fault_kinds)
        self.tokens = None if o.tokens is None else set(o.tokens)
        self.revoked = set(o.revoked)
        self.app_auth = AppAuth(
            o.github_app, o.installation_token_seconds, o.revoke_installation_tokens_after
        )
        self.clock = self._server_clock
        self.stats = SimStats()
        self._rng = random.Random(o.seed)
        self._lock = threading.RLock()
        self._serial = 0
        self._stopping = threading.Event()

    def _server_clock(self) -> float:
        return self.options.clock() + self.options.server_clock_offset

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
        self._stopping.wait(self.options.hang_seconds)

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
        """Parse, authenticate, admit, answer; the key comes back only for a request left in flight."""
        with self._lock:
            ctx, req = self._parse(method, url, raw_headers)
            ip_key = f"ip:{client_ip}"
            on_app = ctx.resource == "core" and (req.path == "/app" or req.path.startswith("/app/"))
            if on_app or (req.token and looks_like_jwt(req.token)):
                return self._as_app(ctx, req, on_app, ip_key), None
            key = self._authenticate(ctx, req, ip_key)
            if isinstance(key, SimResponse):
                return key, None
            refused = self._admit(ctx, req, key, client_ip)
            if refused is not None:
                return refused, None
            return self._answer(ctx, req, key, body), key

    def _parse(self, method: str, url: str, raw_headers: Mapping[str, str]) -> tuple[Ctx, RestRequest]:
        """The request as the steps see it: a Ctx for the answer, a RestRequest for the REST routes."""
        self._serial += 1
        rid = f"5E{self._serial:02X}:{self._serial * 7919 % 65536:04X}:{self._serial:07X}:SIM"
        headers = {k.lower(): v for k, v in raw_headers.items()}
        method = method.upper()
        parts = urlsplit(url if "://" in url else f"https://api.github.com{url}")
        path = parts.path or "/"
        graphql = path in ("/graphql", "/api/graphql")
        prefix = "/api/v3" if path == "/api/v3" or path.startswith("/api/v3/") else ""
        rest_path = path[len(prefix) :] or "/"
        searching = rest_path == "/search" or rest_path.startswith("/search/")
        ctx = Ctx(
            self.stats,
            self.clock(),
            method,
            path if graphql else rest_path,
            rid,
            "graphql" if graphql else "search" if searching else "core",
            headers,
            rate_headers=self.options.rate_limit_headers,
            api_version=headers.get("x-github-api-version") or self.default_api_version,
        )
        token = self._token(headers.get("authorization"))
        query = parse_qsl(parts.query, keep_blank_values=True)
        api = f"{parts.scheme}://{parts.netloc}{prefix}"
        return ctx, RestRequest(method, rest_path, query, api, headers.get("accept", ""), token)

    def _token(self, authorization: str | None) -> str | None:
        """The header's token: None without one, "" when it names none; every header is recorded."""
        if authorization is None:
            return None
        self.stats.authorization_headers.append(authorization)
        scheme, _, value = authorization.partition(" ")
        return value.strip() if scheme.lower() in ("bearer", "token") and value.strip() else ""

    def _authenticate(self, ctx: Ctx, req: RestRequest, ip_key: str) -> str | SimResponse:
        """The key the request counts against (installation, token or IP), or GitHub's 401."""
        token = req.token
        installation, refusal = self.app_auth.check_token(token, ctx.now) if token else (None, None)
        if refusal == "expired":
            self.stats.expired_token_refusals += 1
        if token is not None and (
            token == ""
            or refusal is not None
            or token in self.revoked
            or (installation is None and self.tokens is not None and token not in self.tokens)
        ):
            body = {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
            return ctx.finish(401, body, self.limits.budget(ip_key, "core"))
        if ctx.resource == "graphql" and token is None:
            message = "This endpoint requires you to be authenticated."
            doc = "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
            return ctx.finish(
                401, {"message": message, "documentation_url": doc}, self.limits.budget(ip_key, "graphql")
            )
        return installation or token or ip_key

    def _admit(self, ctx: Ctx, req: RestRequest, key: str, client_ip: str) -> SimResponse | None:
        """What is answered before the request counts, then the limits; None once it is in flight."""
        graphql = ctx.resource == "graphql"
        if not graphql and ctx.api_version not in self.api_versions:
            # An unsupported X-GitHub-Api-Version is a 400 (docs: rest/about-the-rest-api/api-versions).
            body = unsupported_version(ctx.api_version, self.api_versions)
            ctx.api_version = ""
            return ctx.finish(400, body, self.limits.budget(key, "core"))
        if not graphql and req.path == "/rate_limit":
            return self.answers.rate_limit(ctx, key)
        budget = self.limits.budget(key, ctx.resource)
        enforced = self.options.rate_limit_headers  # GHES with rate limiting off enforces no primary limit
        if enforced and budget.remaining == 0:
            self.stats.while_exhausted += 1
            return self.answers.primary_limited(ctx, key, budget, client_ip)
        if enforced and graphql:
            refused = self.answers.refuse_early(ctx, key, budget)
            if refused is not None:
                return refused
        if not self.limits.enter(key):
            return secondary_limited(ctx, budget, self.options.secondary_retry_after)
        points = 5 if ctx.method not in ("GET", "HEAD", "OPTIONS") and not graphql else 1
        wait = self.limits.per_minute_retry_after(key, ctx.resource, points)
        if wait is not None:
            self.limits.leave(key)
            return secondary_limited(ctx, budget, wait)
        return None

    def _answer(self, ctx: Ctx, req: RestRequest, key: str, body: bytes) -> SimResponse:
        """The real answer, unless a fault replaces it or spoils it on the way out."""
        fault = self._fault(ctx.resource == "graphql")
        if fault is not None and fault not in ON_THE_ANSWER:
            self.stats.faults[fault] += 1
            charged = self.limits.charge(key, ctx.resource, 1)  # a fault costs one point, as today
            return fault_answer(ctx, fault, charged, self.options.secondary_retry_after)
        if ctx.resource == "graphql":
            resp = self._graphql(ctx, key, body)
        else:
            reply = (
                route_installation(req, self.app_auth, key, self.rest)
                or self.search.route(req)
                or self.directory.route(req)
                or self.rest.route(req)
            )
            ctx.template = reply.template or req.path
            resp = self._rest(ctx, key, reply)
        if fault == "malformed":
            self.stats.faults[fault] += 1
            resp = cut_short(ctx, resp)
        elif fault == "drop":
            broken = dropped(resp)
            if broken is not None:  # an answer without a body has nothing to break
                self.stats.faults[fault] += 1
                resp = broken
        return resp

    def _fault(self, graphql: bool) -> str | None:
        """The fault this request gets, if any (`fault_rate` of the requests, a kind picked at random)."""
        kinds = applicable(self.fault_kinds, graphql)
        if self._rng.random() < self.options.fault_rate and kinds:
            return kinds[self._rng.randrange(len(kinds))]
        return None

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
        if ctx.method in ("GET", "HEAD") and reply.status == 200 and reply.cacheable:
            digest = hashlib.sha256(payload).hexdigest()
            etag = f'W/"{digest[:32]}"' if reply.weak_etag else f'"{digest}"'
            if etag_matches(ctx.headers.get("if-none-match"), etag):
                # A 304 costs no budget and carries the unchanged remaining (recordings; D-BP).
                self.stats.not_modified += 1
                budget = self.limits.budget(key, ctx.resource)
                return ctx.finish(304, None, budget, extra={"etag": etag}, etag=False)
        budget = self.limits.charge(key, ctx.resource, 1)
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
        if self.options.rate_limit_headers and not plan.dry_run and plan.cost > budget.remaining:
            return ctx.finish(200, self.answers.graphql_limited(key), budget, remaining_zero=True)
        if not plan.dry_run:
            budget = self.limits.charge(key, "graphql", plan.cost)
            self.stats.graphql_points += plan.cost
        return ctx.finish(200, run_query(plan, self.rest, budget, self.app_auth.visible(key)), budget)
