"""The client's tunable options, each default written once: the config's [client] table fills them."""

from __future__ import annotations

from dataclasses import dataclass

from collector.github.pacing import (
    GRAPHQL_POINTS_PER_MINUTE,
    REST_POINTS_PER_MINUTE,
    SEARCH_REQUESTS_PER_MINUTE,
)

MAX_CONCURRENCY = 100  # GitHub allows 100 concurrent requests


@dataclass(frozen=True)
class ClientOptions:
    """How hard and how patiently the client talks to GitHub."""

    concurrency: int = 4  # requests in flight
    reserve: int = 50  # budget units kept untouched per token
    graphql_batch: int = 50  # repositories (or weeks) per GraphQL query
    rest_points_per_minute: int = REST_POINTS_PER_MINUTE  # per token; 0 turns pacing off
    graphql_points_per_minute: int = GRAPHQL_POINTS_PER_MINUTE
    search_requests_per_minute: int = SEARCH_REQUESTS_PER_MINUTE
    max_attempts: int = 5  # per request, for 5xx, timeouts, cut bodies and secondary limits
    stats_wait: float = 30.0  # seconds to wait for statistics GitHub is still computing (202)
    timeout: float = 30.0  # per HTTP request
    max_query_cost: int = 100  # a GraphQL batch estimated above this is split before sending
    secondary_wait: float = 60.0  # the first pause on a secondary limit without retry-after [D-SEC]
    backoff_base: float = 1.0  # the first wait before retrying a 5xx, a timeout or a cut body
    seed: int | None = None  # for the backoff's jitter (tests)

    def pacing(self) -> tuple[int, int, int]:
        """Points a minute per token for MinutePacer: REST ("core"), GraphQL and search."""
        return self.rest_points_per_minute, self.graphql_points_per_minute, self.search_requests_per_minute

    def __post_init__(self) -> None:
        object.__setattr__(self, "concurrency", min(MAX_CONCURRENCY, max(1, self.concurrency)))
        object.__setattr__(self, "graphql_batch", max(1, self.graphql_batch))
        object.__setattr__(self, "max_attempts", max(1, self.max_attempts))


# What a user may set in the config's [client] table (the rest are for tests and benchmarks).
CONFIG_KEYS = (
    "concurrency",
    "reserve",
    "graphql_batch",
    "rest_points_per_minute",
    "graphql_points_per_minute",
    "search_requests_per_minute",
)
