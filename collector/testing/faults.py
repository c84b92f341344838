"""Injected faults and secondary-limit answers, worded and shaped like GitHub's.

Secondary limits [D-SEC in the facts sheet]: 403 or 429, with `retry-after` when GitHub gives one (it may
not: then a client must wait at least a minute); GraphQL may answer them with HTTP 200 and an error.
"""

from __future__ import annotations

from dataclasses import replace

from collector.testing.limits import Budget
from collector.testing.replies import Ctx, SimResponse

RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
FAULTS = (
    "500",
    "502",
    "503",
    "timeout",
    "malformed",
    "drop",
    "secondary403",
    "secondary429",
    "graphql_secondary200",
)
GRAPHQL_ONLY = frozenset({"graphql_secondary200"})
ON_THE_ANSWER = frozenset({"malformed", "drop"})  # these spoil the real answer rather than replace it


def applicable(kinds: tuple[str, ...], graphql: bool) -> tuple[str, ...]:
    """The configured kinds that can happen to this request."""
    return kinds if graphql else tuple(k for k in kinds if k not in GRAPHQL_ONLY)


def secondary_message(rid: str) -> str:
    """GitHub's secondary-limit message (D-SEC), naming the request id."""
    return (
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
        f"If you reach out to GitHub Support for help, please include the request ID {rid}."
    )


def secondary_limited(ctx: Ctx, budget: Budget, retry_after: int | None, *, status: int = 403) -> SimResponse:
    """A secondary-limit answer: 403 or 429, with `retry-after` only when given."""
    ctx.stats.secondary_limited += 1
    body = {
        "message": secondary_message(ctx.rid),
        "documentation_url": f"{RATE_DOCS}#about-secondary-rate-limits",
    }
    extra = {"retry-after": str(retry_after)} if retry_after is not None else None
    return ctx.finish(status, body, budget, extra=extra)


def fault_answer(ctx: Ctx, fault: str, budget: Budget, retry_after: int | None) -> SimResponse:
    """The answer for a fault that replaces the real one (everything but malformed and drop)."""
    if fault == "timeout":
        message = (
            "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your "
            "request and contact us if the problem persists."
        )
        return replace(ctx.finish(504, {"message": message}, budget), hang=True)
    if fault == "secondary403":
        return secondary_limited(ctx, budget, retry_after)
    if fault == "secondary429":
        # GitHub documents secondary limits without retry-after while x-ratelimit-remaining is above 0.
        return secondary_limited(ctx, budget, None, status=429)
    if fault == "graphql_secondary200":
        ctx.stats.secondary_limited += 1
        error = {"type": "SECONDARY_RATE_LIMIT", "message": secondary_message(ctx.rid)}
        return ctx.finish(200, {"errors": [error]}, budget)
    if ctx.resource == "graphql" and fault == "502":
        message = (
            "Something went wrong while executing your query. This may be the result of a timeout, or "
            "it could be a GitHub bug. Please include `" + ctx.rid + "` when reporting this issue."
        )
        return ctx.finish(502, {"data": None, "errors": [{"message": message}]}, budget)
    messages = {"500": "Server Error", "502": "Server Error", "503": "Service Unavailable"}
    return ctx.finish(int(fault), {"message": messages[fault]}, budget)


def cut_short(ctx: Ctx, resp: SimResponse) -> SimResponse:
    """A malformed answer: the body cut in half. A 200 or 201 keeps its status; anything else becomes 200."""
    cut = resp.body[: max(1, len(resp.body) // 2)] if len(resp.body) > 1 else b'{"message":"Ser'
    headers = {k: v for k, v in resp.headers.items() if k not in ("etag", "content-length")}
    headers["content-type"] = "application/json; charset=utf-8"
    status = resp.status if resp.status in (200, 201) else 200
    if status != resp.status:
        ctx.stats.requests[(ctx.method, ctx.template, resp.status)] -= 1  # it is answered 200 instead
        ctx.stats.requests[(ctx.method, ctx.template, status)] += 1
    return SimResponse(status, {**headers, "content-length": str(len(cut))}, cut)


def dropped(resp: SimResponse) -> SimResponse | None:
    """The answer with its connection dropped mid-body, or None when it has no body to break."""
    if len(resp.body) < 2 or resp.hang:
        return None
    return replace(resp, drop=True)
