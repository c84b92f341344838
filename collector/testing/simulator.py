"""The GitHub simulator: one app core with no transport, served in-process or over loopback HTTP.

    app = SimulatorApp(scenario, rate_limit=100, reset_seconds=2)
    httpx.AsyncClient(transport=SimulatorTransport(app), base_url="https://api.github.com")
    with running_simulator(app) as base_url: ...      # a real server on 127.0.0.1
    python -m collector.testing.simulator --port 8765 --scenario frameworks

REST is served at the root and under /api/v3 (GHES); GraphQL at /graphql and /api/graphql.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from collector.testing.graphql_api import load_schema, plan_query, run_query
from collector.testing.limits import Budget, Limits
from collector.testing.model import Scenario
from collector.testing.rest import Reply, RestApi, RestRequest
from collector.testing.transport import SimulatorTransport, running_simulator

__all__ = ["SimResponse", "SimStats", "SimulatorApp", "SimulatorTransport", "main", "running_simulator"]

RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
EXPOSE = (
    "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, "
    "X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, "
    "X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset"
)
FAULTS = ("500", "502", "503", "timeout", "malformed")


@dataclass(frozen=True)
class SimResponse:
    """What the app answers. `hang`: the server should not answer in time (a timeout fault)."""

    status: int
    headers: dict[str, str]
    body: bytes
    hang: bool = False


@dataclass
class SimStats:
    """What the simulator saw: tests and benchmarks read these."""

    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)  # (method, template, status)
    not_modified: int = 0
    while_exhausted: int = 0  # requests that arrived with remaining 0: a good client sends none
    secondary_limited: int = 0
    graphql_points: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    authorization_headers: list[str] = field(default_factory=list)  # in memory only, never printed

    def count(
        self, *, method: str | None = None, template: str | None = None, status: int | None = None
    ) -> int:
        """Requests matching every given part of the key."""
        return sum(
            n
            for (m, t, s), n in self.requests.items()
            if (method is None or m == method)
            and (template is None or t == template)
            and (status is None or s == status)
        )

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def __repr__(self) -> str:  # keep Authorization values out of logs and assertion messages
        return (
            f"SimStats(total={self.total}, not_modified={self.not_modified}, "
            f"while_exhausted={self.while_exhausted}, secondary_limited={self.secondary_limited}, "
            f"graphql_points={self.graphql_points}, faults={dict(self.faults)})"
        )


def _json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    bare = etag.removeprefix("W/")
    return any(t.strip() == "*" or t.strip().removeprefix("W/") == bare for t in header.split(","))


class SimulatorApp:
    """GitHub's REST and GraphQL APIs over a Scenario: `handle(method, url, headers, body)`."""

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
        secondary_retry_after: int = 60,
        primary_status: int = 403,
        hang_seconds: float = 30.0,
        ghes_legacy: bool = False,
        collaborator_tokens: Sequence[str] = (),
        stargazers_policy: str = "forbidden",
    ) -> None:
        self.scenario = scenario
        self.rest = RestApi(
            scenario,
            ghes_legacy=ghes_legacy,
            collaborator_tokens=collaborator_tokens,
            stargazers_policy=stargazers_policy,
        )
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
        self.clock = clock
        self.secondary_retry_after = secondary_retry_after
        self.primary_status = primary_status
        self.hang_seconds = hang_seconds
        self.stats = SimStats()
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._serial = 0
        self._user_ids: dict[str, int] = {}
        self._stopping = threading.Event()

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
            template = path if graphql else rest_path
            ctx = _Ctx(self, method, template, rid, resource, headers)

            auth = headers.get("authorization")
            token: str | None = None
            if auth is not None:
                self.stats.authorization_headers.append(auth)
                scheme, _, value = auth.partition(" ")
                token = value.strip() if scheme.lower() in ("bearer", "token") and value.strip() else ""
            ip_key = f"ip:{client_ip}"
            if token is not None and (
                token == "" or token in self.revoked or (self.tokens is not None and token not in self.tokens)
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
            key = token or ip_key

            if not graphql and rest_path == "/rate_limit":
                return ctx.finish(
                    200, self._rate_limit_body(key), self.limits.budget(key, "core"), etag=False
                ), None

            budget = self.limits.budget(key, resource)
            if budget.remaining == 0:
                self.stats.while_exhausted += 1
                return self._primary_limited(ctx, key, budget, client_ip), None
            if not self.limits.enter(key):
                return self._secondary(ctx, budget, self.secondary_retry_after), None
            points = 5 if method not in ("GET", "HEAD", "OPTIONS") and not graphql else 1
            wait = self.limits.per_minute_retry_after(key, resource, points)
            if wait is not None:
                self.limits.leave(key)
                return self._secondary(ctx, budget, wait), None

            fault = None
            if self._rng.random() < self.fault_rate:
                fault = self.fault_kinds[self._rng.randrange(len(self.fault_kinds))]
            if fault is not None and fault != "malformed":
                self.stats.faults[fault] += 1
                return self._fault(ctx, fault, self.limits.charge(key, resource, 1)), key

            if graphql:
                resp = self._graphql(ctx, key, body)
            else:
                req = RestRequest(
                    method,
                    rest_path,
                    parse_qsl(parts.query, keep_blank_values=True),
                    api,
                    headers.get("accept", ""),
                    token,
                )
                reply = self.rest.route(req)
                ctx.template = reply.template or rest_path
                resp = self._rest(ctx, key, reply)
            if fault == "malformed":
                self.stats.faults[fault] += 1
                cut = resp.body[: max(1, len(resp.body) // 2)] if len(resp.body) > 1 else b'{"message":"Ser'
                hdrs = {k: v for k, v in resp.headers.items() if k not in ("etag", "content-length")}
                hdrs["content-type"] = "application/json; charset=utf-8"
                self.stats.requests[(method, ctx.template, resp.status)] -= 1  # it is answered 200 instead
                self.stats.requests[(method, ctx.template, 200)] += 1
                resp = SimResponse(200, {**hdrs, "content-length": str(len(cut))}, cut)
            return resp, key

    def _rest(self, ctx: _Ctx, key: str, reply: Reply) -> SimResponse:
        etag: str | None = None
        payload = b"" if reply.body is None else _json(reply.body)
        if ctx.method in ("GET", "HEAD") and reply.status == 200:
            digest = hashlib.sha256(payload).hexdigest()
            etag = f'W/"{digest[:32]}"' if reply.weak_etag else f'"{digest}"'
            if _etag_matches(ctx.headers.get("if-none-match"), etag):
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

    def _graphql(self, ctx: _Ctx, key: str, body: bytes) -> SimResponse:
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
        if not plan.dry_run and plan.cost > budget.remaining:
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
        return {"errors": [{"type": "RATE_LIMITED", "message": message}]}

    def _primary_limited(self, ctx: _Ctx, key: str, budget: Budget, ip: str) -> SimResponse:
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

    def _secondary(self, ctx: _Ctx, budget: Budget, retry_after: int) -> SimResponse:
        self.stats.secondary_limited += 1
        message = (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
            f"If you reach out to GitHub Support for help, please include the request ID {ctx.rid}."
        )
        body = {"message": message, "documentation_url": f"{RATE_DOCS}#about-secondary-rate-limits"}
        return ctx.finish(403, body, budget, extra={"retry-after": str(retry_after)})

    def _fault(self, ctx: _Ctx, fault: str, budget: Budget) -> SimResponse:
        if fault == "timeout":
            message = (
                "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your "
                "request and contact us if the problem persists."
            )
            resp = ctx.finish(504, {"message": message}, budget)
            return SimResponse(resp.status, resp.headers, resp.body, hang=True)
        if ctx.resource == "graphql" and fault == "502":
            message = (
                "Something went wrong while executing your query. This may be the result of a timeout, or "
                "it could be a GitHub bug. Please include `" + ctx.rid + "` when reporting this issue."
            )
            return ctx.finish(502, {"data": None, "errors": [{"message": message}]}, budget)
        messages = {"500": "Server Error", "502": "Server Error", "503": "Service Unavailable"}
        return ctx.finish(int(fault), {"message": messages[fault]}, budget)

    def _rate_limit_body(self, key: str) -> dict[str, Any]:
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
        return {"resources": resources}


class _Ctx:
    """Per-request bits every answer needs: common headers and the stats line."""

    def __init__(
        self, app: SimulatorApp, method: str, template: str, rid: str, resource: str, headers: dict[str, str]
    ) -> None:
        self.app, self.method, self.template, self.rid = app, method, template, rid
        self.resource, self.headers = resource, headers

    def finish(
        self,
        status: int,
        body: Any,
        budget: Budget,
        *,
        extra: Mapping[str, str] | None = None,
        etag: bool = True,
        remaining_zero: bool = False,
        payload: bytes | None = None,
    ) -> SimResponse:
        data = payload if payload is not None else (b"" if body is None else _json(body))
        if status in (204, 304) or self.method == "HEAD":
            data = b""
        now = datetime.fromtimestamp(self.app.clock(), UTC)
        graphql = self.resource == "graphql"
        h: dict[str, str] = {"date": format_datetime(now, usegmt=True), "server": "github.com (simulator)"}
        if data or (body is not None and status not in (204, 304)):
            h["content-type"] = "application/json; charset=utf-8"
        h["x-github-media-type"] = "github.v4; format=json" if graphql else "github.v3; format=json"
        if not graphql:
            h["x-github-api-version-selected"] = self.headers.get("x-github-api-version", "2022-11-28")
        remaining = 0 if remaining_zero else budget.remaining
        h.update(
            {
                "x-ratelimit-limit": str(budget.limit),
                "x-ratelimit-remaining": str(remaining),
                "x-ratelimit-reset": str(budget.reset_at),
                "x-ratelimit-used": str(budget.used),
                "x-ratelimit-resource": self.resource,
                "access-control-expose-headers": EXPOSE,
                "access-control-allow-origin": "*",
                "vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
                "x-github-request-id": self.rid,
            }
        )
        if etag and self.method in ("GET", "HEAD") and status == 200 and data:
            h["etag"] = f'W/"{hashlib.sha256(data).hexdigest()[:32]}"'
        if extra:
            h.update(extra)
        if status not in (204, 304):
            h["content-length"] = str(len(data))
        self.app.stats.requests[(self.method, self.template, status)] += 1
        return SimResponse(status, h, data)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a scenario over HTTP on loopback until interrupted."""
    p = argparse.ArgumentParser(prog="python -m collector.testing.simulator", description=main.__doc__)
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--scenario", default="frameworks", help="frameworks, edge or synthetic-N")
    p.add_argument("--latency-ms", type=float, default=0)
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--rate-limit", type=int, default=5000)
    p.add_argument("--graphql-limit", type=int, default=5000)
    p.add_argument("--reset-seconds", type=float, default=3600)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from collector.testing.scenarios import load_scenario  # only the CLI needs the built-in data

    try:
        scenario = load_scenario(args.scenario)
    except ValueError as exc:
        p.error(str(exc))
    app = SimulatorApp(
        scenario,
        rate_limit=args.rate_limit,
        graphql_limit=args.graphql_limit,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        reset_seconds=args.reset_seconds,
        seed=args.seed,
    )
    load_schema()
    with running_simulator(app, port=args.port, host=args.host) as base_url:
        print(
            f"GitHub simulator: {len(scenario.repos)} repositories ({args.scenario}) at {base_url}",
            flush=True,
        )
        print(f"  REST {base_url}/ and {base_url}/api/v3/, GraphQL {base_url}/graphql", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
