"""The GitHub simulator: one app core with no transport, served in-process or over loopback HTTP.

    app = SimulatorApp(scenario, rate_limit=100, reset_seconds=2)
    httpx.AsyncClient(transport=SimulatorTransport(app), base_url="https://api.github.com")
    with running_simulator(app) as base_url: ...      # a real server on 127.0.0.1
    python -m collector.testing.simulator --port 8765 --scenario frameworks

REST is served at the root and under /api/v3 (GHES), with repository search (its own `search` rate
limit) and the account listings (/users/{u}/repos, /orgs/{org}/repos); GraphQL at /graphql and
/api/graphql. The app lives in core, its options in options, the transports in transport and the
command line in serve.
"""

from __future__ import annotations

from collections.abc import Sequence

from collector.testing.core import SimulatorApp
from collector.testing.faults import FAULTS
from collector.testing.options import SimOptions
from collector.testing.replies import SimResponse, SimStats
from collector.testing.serve import serve
from collector.testing.transport import SimulatorTransport, running_simulator

__all__ = [
    "FAULTS",
    "SimOptions",
    "SimResponse",
    "SimStats",
    "SimulatorApp",
    "SimulatorTransport",
    "main",
    "running_simulator",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a scenario over HTTP on loopback until interrupted."""
    return serve(argv)


if __name__ == "__main__":
    raise SystemExit(main())
