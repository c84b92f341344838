"""SimulatorApp's options, each default written once: every default is what api.github.com does."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypedDict

from collector.testing.app_auth import SimApp
from collector.testing.faults import FAULTS
from collector.testing.replies import DEFAULT_API_VERSION, GHES_LEGACY_API_VERSIONS, GITHUB_API_VERSIONS


@dataclass(frozen=True, kw_only=True)
class SimOptions:
    """How the simulated GitHub behaves: its limits, its faults, which tokens it takes, its quirks."""

    rate_limit: int = 5000  # core requests per window, per token
    graphql_limit: int = 5000  # GraphQL points per window, per token
    unauth_limit: int = 60  # core requests per window, per IP without a token
    latency_ms: float = 0
    fault_rate: float = 0.0
    fault_kinds: Sequence[str] = FAULTS  # see faults.FAULTS
    seed: int = 0  # for the faults
    tokens: Iterable[str] | None = field(default=None, repr=False)  # None: any token is accepted
    revoked: Iterable[str] = field(default=(), repr=False)
    clock: Callable[[], float] = time.time
    reset_seconds: float = 3600
    max_concurrency: int = 100
    points_per_minute: int = 900
    graphql_points_per_minute: int = 2000
    secondary_retry_after: int | None = 60  # None: secondary limits without retry-after
    primary_status: int = 403
    hang_seconds: float = 30.0
    ghes_legacy: bool = False
    collaborator_tokens: Sequence[str] = field(default=(), repr=False)
    stargazers_policy: str = "forbidden"
    graphql_rate_limit_type: str = "RATE_LIMIT"  # since 2026, or "RATE_LIMITED"
    # Refuse GraphQL once remaining <= it, headers still showing the true remaining (0: never early).
    graphql_early_limit: int = 0
    stats_compute_requests: int = 1  # 202s before a /stats answer
    rate_limit_headers: bool = True  # False: GHES with rate limiting off
    api_versions: Sequence[str] | None = None  # supported X-GitHub-Api-Version values; others get 400
    star_history_timezone: str = "UTC"
    linked_email_cap: int = 500
    # An App: JWT endpoints under /app and `ghs_` installation tokens that expire after
    # `installation_token_seconds`; every token of one installation shares its rate limit.
    github_app: SimApp | None = field(default=None, repr=False)
    installation_token_seconds: float = 3600.0
    # A test hook: every installation token is revoked right after this many requests made with one.
    revoke_installation_tokens_after: int | None = None
    # GitHub's clock runs this many seconds ahead of `clock` (negative: behind): its Date header, JWT
    # checks, token expiry and rate-limit resets all follow it, as a caller with a wrong clock sees them.
    server_clock_offset: float = 0.0
    # The `search` resource: its own budget per token (per IP without one) and window.
    search_limit: int = 30
    unauth_search_limit: int = 10
    search_reset_seconds: float = 60.0
    # Share of /search answers that come back as a timed-out search does: `incomplete_results: true`
    # with only the matches found before the timeout (docs: rest/search/search "Timeouts and incomplete
    # results"). Drawn from its own generator seeded with `seed`.
    search_incomplete_rate: float = 0.0
    # GitHub orders search results by the sort key only: ties come in a fresh order on each request, so
    # pages can repeat one repository and skip another. True orders ties by id (for tests of exact order).
    search_stable_order: bool = False

    def __post_init__(self) -> None:
        if self.graphql_rate_limit_type not in ("RATE_LIMIT", "RATE_LIMITED"):
            raise ValueError("graphql_rate_limit_type must be RATE_LIMIT or RATE_LIMITED")
        if self.api_versions is not None and not self.api_versions:
            raise ValueError("api_versions must name at least one version")
        if not 0.0 <= self.search_incomplete_rate <= 1.0:
            raise ValueError("search_incomplete_rate must be between 0 and 1")
        unknown = set(self.fault_kinds) - set(FAULTS)
        if unknown or not self.fault_kinds:
            raise ValueError(f"fault_kinds must be a non-empty subset of {FAULTS}, not {sorted(unknown)}")

    def supported_versions(self) -> tuple[str, ...]:
        """The X-GitHub-Api-Version values served: api.github.com's, or a legacy GHES's."""
        if self.api_versions is not None:
            return tuple(self.api_versions)
        return GHES_LEGACY_API_VERSIONS if self.ghes_legacy else GITHUB_API_VERSIONS

    def default_api_version(self) -> str:
        """The version a request without the header gets."""
        # GitHub selects 2022-11-28; a server without it selects its oldest.
        supported = self.supported_versions()
        return DEFAULT_API_VERSION if DEFAULT_API_VERSION in supported else min(supported)


class SimOptionArgs(TypedDict, total=False):
    """SimOptions as SimulatorApp's keyword arguments (mypy checks that the two agree)."""

    rate_limit: int
    graphql_limit: int
    unauth_limit: int
    latency_ms: float
    fault_rate: float
    fault_kinds: Sequence[str]
    seed: int
    tokens: Iterable[str] | None
    revoked: Iterable[str]
    clock: Callable[[], float]
    reset_seconds: float
    max_concurrency: int
    points_per_minute: int
    graphql_points_per_minute: int
    secondary_retry_after: int | None
    primary_status: int
    hang_seconds: float
    ghes_legacy: bool
    collaborator_tokens: Sequence[str]
    stargazers_policy: str
    graphql_rate_limit_type: str
    graphql_early_limit: int
    stats_compute_requests: int
    rate_limit_headers: bool
    api_versions: Sequence[str] | None
    star_history_timezone: str
    linked_email_cap: int
    github_app: SimApp | None
    installation_token_seconds: float
    revoke_installation_tokens_after: int | None
    server_clock_offset: float
    search_limit: int
    unauth_search_limit: int
    search_reset_seconds: float
    search_incomplete_rate: float
    search_stable_order: bool
