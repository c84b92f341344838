"""Primary and secondary rate limits of the simulator, per token (or per IP without one).

Primary: a budget per resource (`core`, `graphql`) that resets `reset_seconds` after the window's first
request, as GitHub's rolling hour does; `search` has its own, 30 a minute with a token and 10 without
(docs: rest/search/search "Rate limit"). Secondary: in-flight requests per token and points per minute
per resource, answered with `retry-after` (github/docs secondary-rate-limit-rest-graphql.md).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

SEARCH_LIMIT = 30  # recorded X-RateLimit-Limit of /search (PyGithub SpecificExceptions recordings)
UNAUTH_SEARCH_LIMIT = 10
SEARCH_RESET_SECONDS = 60.0  # a minute (docs; the /rate_limit recording resets search 60 s ahead)


@dataclass
class Budget:
    """One token's budget for one resource in the current window."""

    limit: int
    used: int
    reset_at: int  # epoch seconds

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class Limits:
    """Budgets, in-flight counts and per-minute points, keyed by token or `ip:<address>`."""

    def __init__(
        self,
        *,
        rate_limit: int,
        graphql_limit: int,
        unauth_limit: int,
        reset_seconds: float,
        max_concurrency: int,
        points_per_minute: int,
        graphql_points_per_minute: int,
        clock: Callable[[], float],
        search_limit: int = SEARCH_LIMIT,
        unauth_search_limit: int = UNAUTH_SEARCH_LIMIT,
        search_reset_seconds: float = SEARCH_RESET_SECONDS,
    ) -> None:
        self._limits = {"core": rate_limit, "graphql": graphql_limit, "search": search_limit}
        self._unauth = {"core": unauth_limit, "graphql": 0, "search": unauth_search_limit}
        self._reset_seconds = {"search": search_reset_seconds}
        self._default_reset_seconds = reset_seconds
        self.max_concurrency = max_concurrency
        self._per_minute = {"core": points_per_minute, "graphql": graphql_points_per_minute}
        self._clock = clock
        self._budgets: dict[tuple[str, str], Budget] = {}
        self._inflight: dict[str, int] = {}
        self._recent: dict[tuple[str, str], deque[tuple[float, int]]] = {}

    def budget(self, key: str, resource: str) -> Budget:
        """The current window's budget, starting a new window once the previous one has reset."""
        now = self._clock()
        found = self._budgets.get((key, resource))
        if found is None or now >= found.reset_at:
            table = self._unauth if key.startswith("ip:") else self._limits
            seconds = self._reset_seconds.get(resource, self._default_reset_seconds)
            found = Budget(table.get(resource, 0), 0, math.ceil(now + seconds))
            self._budgets[(key, resource)] = found
        return found

    def charge(self, key: str, resource: str, points: int) -> Budget:
        """Spend `points` of the budget (never below zero remaining)."""
        b = self.budget(key, resource)
        b.used = min(b.limit, b.used + points)
        return b

    def enter(self, key: str) -> bool:
        """Count one more in-flight request; False (and not counted) if over `max_concurrency`."""
        n = self._inflight.get(key, 0)
        if n >= self.max_concurrency:
            return False
        self._inflight[key] = n + 1
        return True

    def leave(self, key: str) -> None:
        """The request has been answered."""
        self._inflight[key] = max(0, self._inflight.get(key, 0) - 1)

    def per_minute_retry_after(self, key: str, resource: str, points: int) -> int | None:
        """Seconds to wait if `points` more would exceed the per-minute limit, else record them."""
        limit = self._per_minute.get(resource)
        if limit is None:
            return None
        now = self._clock()
        recent = self._recent.setdefault((key, resource), deque())
        while recent and recent[0][0] <= now - 60:
            recent.popleft()
        if sum(p for _, p in recent) + points > limit:
            oldest = recent[0][0] if recent else now
            return max(1, math.ceil(oldest + 60 - now))
        recent.append((now, points))
        return None
