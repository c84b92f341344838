"""`python -m collector.testing.simulator`: serve a built-in scenario over HTTP on loopback."""

from __future__ import annotations

import argparse
import signal
import time
from collections.abc import Sequence

from collector.testing.core import SimulatorApp
from collector.testing.graphql_api import load_schema
from collector.testing.transport import running_simulator


def serve(argv: Sequence[str] | None = None) -> int:
    """Serve a scenario over HTTP on loopback until interrupted."""
    p = argparse.ArgumentParser(prog="python -m collector.testing.simulator", description=serve.__doc__)
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--scenario", default="frameworks", help="frameworks, edge, synthetic-N or catalog-N")
    p.add_argument("--latency-ms", type=float, default=0)
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--rate-limit", type=int, default=5000)
    p.add_argument("--graphql-limit", type=int, default=5000)
    p.add_argument("--reset-seconds", type=float, default=3600)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--search-incomplete-rate",
        type=float,
        default=0.0,
        help="share of /search answers that time out: incomplete_results true, fewer matches",
    )
    args = p.parse_args(argv)
    from collector.testing.scenarios import load_scenario  # only the CLI needs the built-in data

    try:
        scenario = load_scenario(args.scenario)
    except ValueError as exc:
        p.error(str(exc))
    app = SimulatorApp(
        scenario,
        rate_limit=args.rate_limit,
        graphql_limit=args.graphql_limit,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        reset_seconds=args.reset_seconds,
        seed=args.seed,
        search_incomplete_rate=args.search_incomplete_rate,
    )
    load_schema()
    # Stop on SIGINT and SIGTERM whatever this process inherited: a shell that starts a background job
    # without job control (`nohup ... &`, CI runners) has it ignore SIGINT, and Python then installs no
    # KeyboardInterrupt handler, so Ctrl-C or `kill -INT` never stopped it.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    with running_simulator(app, port=args.port, host=args.host) as base_url:
        print(
            f"GitHub simulator: {len(scenario.repos)} repositories ({args.scenario}) at {base_url}",
            flush=True,
        )
        print(f"  REST {base_url}/ and {base_url}/api/v3/, GraphQL {base_url}/graphql", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
