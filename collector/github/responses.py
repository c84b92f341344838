"""What comes back from GitHub, and what it means: responses, error translation, limit signals.

Pure functions of a response; the client (`collector.github.client`) decides what to do about them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from collector.github.errors import (
    BadCredentials,
    Blocked,
    Forbidden,
    GitHubError,
    GraphQLError,
    MalformedResponse,
    NotFound,
    ServerError,
    TooLarge,
)

# GraphQL's primary limit: HTTP 200 with errors[].type RATE_LIMITED [D-GQL], or since 2026 RATE_LIMIT /
# code graphql_rate_limit, sometimes while x-ratelimit-remaining is still above 0 (githubkit #271/#272,
# octokit/plugin-throttling.js #848). Any of them means: nothing more with that token until the reset.
GRAPHQL_RATE_LIMIT_TYPES = frozenset({"RATE_LIMITED", "RATE_LIMIT"})
GRAPHQL_RATE_LIMIT_CODES = frozenset({"graphql_rate_limit"})
SECONDARY_WORDS = ("secondary rate limit", "abuse")


class TransientBody(Exception):
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
        """The Link header as {rel: url} (httpx parses it)."""
        links = httpx.Response(self.status, headers=self.headers).links
        return {rel: link["url"] for rel, link in links.items() if rel}

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


def graphql_errors(response: ApiResponse) -> list[dict[str, Any]]:
    """errors[] of a GraphQL answer ([] when the body has none or is not an object)."""
    body = response.parsed
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors or () if isinstance(e, dict)]


def is_graphql_rate_limit(error: Mapping[str, Any]) -> bool:
    return error.get("type") in GRAPHQL_RATE_LIMIT_TYPES or error.get("code") in GRAPHQL_RATE_LIMIT_CODES


def mentions_secondary(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in SECONDARY_WORDS)


def reset_time(response: ApiResponse) -> float | None:
    """When a spent budget comes back: x-ratelimit-reset, else GraphQL's rateLimit.resetAt, else None."""
    try:
        return float(response.headers["x-ratelimit-reset"])
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


def decoded_body(raw: httpx.Response) -> Any:
    """The JSON body of a 200/201, decoded once; TransientBody when it is cut short or not JSON."""
    if raw.status_code not in (200, 201) or not raw.content:
        return None
    kind = raw.headers.get("content-type", "json")
    if "json" not in kind:
        return None
    try:
        return json.loads(raw.content)
    except ValueError as exc:
        raise TransientBody(raw.status_code) from exc


def raise_for_status(response: ApiResponse) -> None:
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


def limit_signal(response: ApiResponse, resource: str) -> Literal["primary", "secondary"] | None:
    """'primary' when the token's budget is spent (wait for its reset), 'secondary' when GitHub asks to
    slow down (pause), None when the answer is no rate limit at all."""
    status, headers = response.status, response.headers
    if status == 200 and resource == "graphql":
        errors = graphql_errors(response)
        if any(is_graphql_rate_limit(e) for e in errors):
            return "primary"  # even with x-ratelimit-remaining above 0: GitHub has said no
        if any(mentions_secondary(str(e.get("message", ""))) for e in errors):
            return "secondary"  # GraphQL's secondary limit may come as a 200 [D-SEC]
        return None
    if status not in (403, 429):
        return None
    if headers.get("retry-after") is None and headers.get("x-ratelimit-remaining") == "0":
        return "primary"
    if status == 429 or headers.get("retry-after") is not None:
        return "secondary"
    return "secondary" if mentions_secondary(response.message()) else None


def graphql_answer(response: ApiResponse) -> GraphQLResponse:
    """A GraphQL answer's data, errors[] and cost; GraphQLError when it has no data at all."""
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
    return GraphQLResponse(data, errors, cost if isinstance(cost, int) else 1)
