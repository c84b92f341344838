"""Keep under GitHub's secondary limits instead of tripping them: points per rolling minute, per token.

GitHub allows at most 900 points a minute on REST endpoints and 2,000 on GraphQL (a GET or a query is
one point, a write five) and asks clients that trip the limit to stop and wait; integrations that keep
tripping it can be banned [github-api-facts.md section 3]. The client asks the pacer before every send
and waits when the token's last minute is full, so a long backfill spreads its requests instead of
bursting into a 403 and a minute's pause.
"""

from __future__ import annotations

from collections import deque

# GitHub's documented per-minute limits; the client's defaults.
REST_POINTS_PER_MINUTE = 900
GRAPHQL_POINTS_PER_MINUTE = 2000
# The search resource's own primary limit is 30 requests a minute with a token [facts section 12]: paced
# here too, so a discovery of several thousand repositories spreads its pages instead of hitting 403s.
SEARCH_REQUESTS_PER_MINUTE = 30
# A request is counted when sent but GitHub counts it when it arrives: a second of slack keeps a request
# sent just after the window moved on from being counted in GitHub's previous minute.
WINDOW_SECONDS = 61.0


def request_points(method: str, resource: str) -> int:
    """Secondary-limit points of one request: 1 for a read or a GraphQL query, 5 for a REST write."""
    return 1 if resource == "graphql" or method in ("GET", "HEAD", "OPTIONS") else 5


class MinutePacer:
    """Points sent per token and resource over the last WINDOW_SECONDS, held to `rest` (the "core"
    resource), `graphql` and `search` points a minute: GitHub's limits unless told otherwise; 0 turns
    one off."""

    def __init__(
        self,
        rest: int = REST_POINTS_PER_MINUTE,
        graphql: int = GRAPHQL_POINTS_PER_MINUTE,
        search: int = SEARCH_REQUESTS_PER_MINUTE,
    ) -> None:
        limits = {"core": rest, "graphql": graphql, "search": search}
        self.limits = {resource: limit for resource, limit in limits.items() if limit > 0}
        self._sent: dict[tuple[str, str], deque[tuple[float, int]]] = {}
        self._totals: dict[tuple[str, str], int] = {}

    def delay(self, key: str, resource: str, points: int, now: float) -> float:
        """Seconds to wait before `points` more fit; 0.0 means they were recorded and may go now."""
        limit = self.limits.get(resource)
        if limit is None:
            return 0.0
        slot = (key, resource)
        sent = self._sent.setdefault(slot, deque())
        total = self._totals.get(slot, 0)
        while sent and sent[0][0] <= now - WINDOW_SECONDS:
            total -= sent.popleft()[1]
        self._totals[slot] = total
        if sent and total + points > limit:
            # Wait until enough of the oldest sends have left the window (all of them, for a request
            # worth more points than the limit: it goes alone).
            needed, freed, leaves = total + points - limit, 0, sent[-1][0]
            for at, spent in sent:
                freed += spent
                if freed >= needed:
                    leaves = at
                    break
            return max(0.001, leaves + WINDOW_SECONDS - now)
        sent.append((now, points))
        self._totals[slot] = total + points
        return 0.0
