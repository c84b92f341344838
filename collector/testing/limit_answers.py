"""What GitHub answers about the primary rate limit: its refusals once a budget is spent, and /rate_limit.

REST refuses with 403 (or 429) and a message naming the user or IP; GraphQL with HTTP 200 and a
RATE_LIMIT error, possibly before x-ratelimit-remaining reaches 0 (facts sheet §12).
"""

from __future__ import annotations

from typing import Any

from collector.testing.faults import RATE_DOCS
from collector.testing.limits import Budget, Limits
from collector.testing.options import SimOptions
from collector.testing.replies import Ctx, SimResponse


class LimitAnswers:
    """The primary limit's answers, worded per key (a token, an installation or `ip:<address>`)."""

    def __init__(self, limits: Limits, options: SimOptions) -> None:
        self.limits = limits
        self.options = options
        self._user_ids: dict[str, int] = {}
        self._refused: dict[str, int] = {}  # key -> reset of the GraphQL window refused early

    def _user_id(self, key: str) -> int:
        return self._user_ids.setdefault(key, 583231 + len(self._user_ids))

    def graphql_limited(self, key: str) -> dict[str, Any]:
        """The GraphQL body (HTTP 200) for a query the budget does not cover."""
        message = f"API rate limit already exceeded for user ID {self._user_id(key)}."
        kind = self.options.graphql_rate_limit_type
        error: dict[str, Any] = {"type": kind}
        if kind == "RATE_LIMIT":
            error["code"] = "graphql_rate_limit"  # the 2026 shape (facts sheet §12)
        error["message"] = message
        return {"errors": [error]}

    def refuse_early(self, ctx: Ctx, key: str, budget: Budget) -> SimResponse | None:
        """GitHub may refuse GraphQL while x-ratelimit-remaining is still above 0 (facts sheet §12)."""
        early = self.options.graphql_early_limit
        if self._refused.get(key) == budget.reset_at:
            ctx.stats.while_exhausted += 1  # it was told already: a good client waits for the reset
        elif 0 < early and budget.remaining <= early:
            self._refused[key] = budget.reset_at
        else:
            return None
        return ctx.finish(200, self.graphql_limited(key), budget)  # the true remaining and reset

    def primary_limited(self, ctx: Ctx, key: str, budget: Budget, ip: str) -> SimResponse:
        """The answer to a request that arrives with its budget spent."""
        if ctx.resource == "graphql":
            return ctx.finish(200, self.graphql_limited(key), budget)
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
        return ctx.finish(self.options.primary_status, body, budget)

    def rate_limit(self, ctx: Ctx, key: str) -> SimResponse:
        """`GET /rate_limit`: every resource's budget for the key; it costs nothing."""
        budget = self.limits.budget(key, "core")
        if not self.options.rate_limit_headers:
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
