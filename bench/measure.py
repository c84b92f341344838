"""What the HTTP benchmarks share: the simulator each side talks to, and what a side cost as it counted.

Both sides get their own simulator of the same scenario and settings: 50 ms latency, limits raised so that
neither waits for a reset (docs/benchmarks.md says why). The simulator's counters are the measurements.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from collector.testing.model import Scenario
from collector.testing.simulator import SimulatorApp

TOKEN = "ghp_benchmarkToken000000000000000000"  # the simulator accepts any token
LATENCY_MS = 50
CONCURRENCY = 4  # the client's default (`[client] concurrency`)
UNLIMITED = 10**9
UNPAUSED = "baseline without its pause"  # PyGithub with seconds_between_requests=None


@dataclass
class Measure:
    """What one side cost in one case, as the simulator counted it; `scale` > 1 when extrapolated.

    `peak_rss_mb` is the collector process's peak resident memory where the case ran it in a process of
    its own; `start_rss_mb` what that process held before the work began (interpreter and imports).
    """

    requests: int
    rest_charged: int
    graphql_points: int
    not_modified: int
    wall_s: float
    ok: int
    repos: int
    scale: float = 1.0
    peak_rss_mb: float | None = None
    start_rss_mb: float | None = None

    @property
    def budget(self) -> int:
        return self.rest_charged + self.graphql_points

    def value(self, metric: str) -> float | None:
        """A metric, extrapolated to the whole case (None where this side has no such number)."""
        if metric == "304 share":
            return self.not_modified / self.requests if self.requests else 0.0
        if metric == "peak RSS MB":
            return self.peak_rss_mb
        if metric == "RSS before the pass MB":
            return self.start_rss_mb
        raw = {
            "requests": self.requests,
            "REST charged": self.rest_charged,
            "GraphQL points": self.graphql_points,
            "budget (REST + points)": self.budget,
            "wall s": self.wall_s,
        }[metric]
        return raw * self.scale


@dataclass
class Case:
    """One benchmark case: the collector, and the baseline where there is one."""

    name: str
    collector: Measure
    baseline: Measure | None
    notes: list[str] = field(default_factory=list)


class Meter:
    """Deltas of the simulator's counters around one side's work."""

    def __init__(self, app: SimulatorApp) -> None:
        self.app = app
        self.start = self._now()

    def _now(self) -> tuple[int, int, int, int, float]:
        stats, limits = self.app.stats, self.app.limits
        core = limits.budget(TOKEN, "core").used
        return stats.total, stats.not_modified, core, stats.graphql_points, time.perf_counter()

    def measure(self, ok: int, repos: int, scale: float = 1.0) -> Measure:
        """What happened since the last call."""
        end = self._now()
        d = [b - a for a, b in zip(self.start, end, strict=True)]
        self.start = end
        return Measure(int(d[0]), int(d[2]), int(d[3]), int(d[1]), round(d[4], 2), ok, repos, scale)


def make_app(scenario: Scenario, warm_stats: bool) -> SimulatorApp:
    """The simulator for one side: 50 ms latency; limits raised so neither side waits for a reset."""
    # GitHub's 900 points/min per endpoint would pause both sides for a minute at a time (the collector
    # sends ~25 requests/s); the primary limits would stop the baseline's 1,000-repository passes.
    return SimulatorApp(
        scenario,
        latency_ms=LATENCY_MS,
        rate_limit=UNLIMITED,
        graphql_limit=UNLIMITED,
        points_per_minute=UNLIMITED,
        graphql_points_per_minute=UNLIMITED,
        stats_compute_requests=0 if warm_stats else 1,  # warm: GitHub has the statistics cached already
    )


def sample_of(names: list[str], cap: int) -> list[str]:
    """Evenly spaced names, at most `cap`."""
    if len(names) <= cap:
        return names
    step = len(names) / cap
    return [names[int(i * step)] for i in range(cap)]
