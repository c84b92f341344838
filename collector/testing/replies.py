"""What the simulator answers: the response type, the stats it keeps, and the headers every answer carries."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from collector.testing.limits import Budget

EXPOSE = (
    "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, "
    "X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, "
    "X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset"
)

DEFAULT_API_VERSION = "2022-11-28"  # what GitHub selects when a request names none
GITHUB_API_VERSIONS = ("2022-11-28", "2026-03-10")
GHES_LEGACY_API_VERSIONS = ("2022-11-28",)


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names this etag (weak or strong, or *)."""
    if not header:
        return False
    bare = etag.removeprefix("W/")
    return any(t.strip() == "*" or t.strip().removeprefix("W/") == bare for t in header.split(","))


def unsupported_version(requested: str, supported: Sequence[str]) -> dict[str, str]:
    """The 400 body for an X-GitHub-Api-Version the server does not support."""
    # Worded as GitHub answered an unsupported version (expipiplus1/update-nix-fetchgit #79, 2023).
    newest, *older = sorted(supported, reverse=True)
    listed = ", ".join([f'"{newest}" (most recent)', *(f'"{v}"' for v in older)])
    message = (
        f'The version you specified in the "X-GitHub-API-Version" request header, "{requested}", is not a '
        f"supported version. The following versions are currently supported: {listed}."
    )
    return {"message": message, "documentation_url": "https://docs.github.com/rest"}


@dataclass(frozen=True)
class SimResponse:
    """What the app answers.

    `hang`: the server should not answer in time (a timeout fault). `drop`: the connection breaks after
    the headers and part of the body (`content-length` still announces all of it).
    """

    status: int
    headers: dict[str, str]
    body: bytes
    hang: bool = False
    drop: bool = False


@dataclass
class SimStats:
    """What the simulator saw: tests and benchmarks read these."""

    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)  # (method, template, status)
    not_modified: int = 0
    while_exhausted: int = 0  # requests that arrived while the token was refused: a good client sends none
    secondary_limited: int = 0
    graphql_points: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    installation_tokens_issued: int = 0  # 201s from POST /app/installations/{id}/access_tokens
    expired_token_refusals: int = 0  # 401s for installation tokens past expires_at: one per renewal at most
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
            f"graphql_points={self.graphql_points}, faults={dict(self.faults)}, "
            f"installation_tokens_issued={self.installation_tokens_issued}, "
            f"expired_token_refusals={self.expired_token_refusals})"
        )


def to_json(body: Any) -> bytes:
    """GitHub's compact JSON."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Ctx:
    """Per-request bits every answer needs: common headers and the stats line."""

    stats: SimStats
    now: float
    method: str
    template: str
    rid: str
    resource: str  # core | search | graphql
    headers: dict[str, str]  # the request's, lower-cased
    rate_headers: bool = True  # False: GHES with rate limiting off sends no x-ratelimit-* at all
    api_version: str = "2022-11-28"  # the version selected for this request

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
        """The answer with GitHub's common headers, counted in the stats."""
        data = payload if payload is not None else (b"" if body is None else to_json(body))
        if status in (204, 304) or self.method == "HEAD":
            data = b""
        graphql = self.resource == "graphql"
        when = datetime.fromtimestamp(self.now, UTC)
        h: dict[str, str] = {"date": format_datetime(when, usegmt=True), "server": "github.com (simulator)"}
        if data or (body is not None and status not in (204, 304)):
            h["content-type"] = "application/json; charset=utf-8"
        h["x-github-media-type"] = "github.v4; format=json" if graphql else "github.v3; format=json"
        if not graphql:
            h["x-github-api-version-selected"] = self.api_version
        if self.rate_headers:
            h.update(
                {
                    "x-ratelimit-limit": str(budget.limit),
                    "x-ratelimit-remaining": str(0 if remaining_zero else budget.remaining),
                    "x-ratelimit-reset": str(budget.reset_at),
                    "x-ratelimit-used": str(budget.used),
                    "x-ratelimit-resource": self.resource,
                }
            )
        h.update(
            {
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
        self.stats.requests[(self.method, self.template, status)] += 1
        return SimResponse(status, h, data)
