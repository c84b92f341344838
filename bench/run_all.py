"""Every benchmark in one command: the collector against a plain PyGithub loop, on the same simulator.

    python bench/run_all.py [--short] [--pg-url ADMIN_URL] [--markdown docs/benchmarks.md] [--json OUT]

Both sides talk HTTP to the GitHub simulator on loopback (`running_simulator`) with 50 ms injected latency;
each side gets its own fresh instance of the same scenario and settings, so both see the same 202s and the
counts separate. The simulator counts requests, 304s, REST budget charged and GraphQL points. The
collector runs its real jobs into a throwaway PostgreSQL database; the baseline (bench/baseline_pygithub.py)
keeps its results in memory. `--short` (what CI runs) uses smaller sizes and says so in the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import baseline_pygithub as baseline
import collector_side
import store_bench
from sqlalchemy import create_engine, text

from collector.config import DEFAULT_GROUP
from collector.testing.graphql_api import load_schema
from collector.testing.model import Scenario
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator

TOKEN = "ghp_benchmarkToken000000000000000000"  # the simulator accepts any token
LATENCY_MS = 50
CONCURRENCY = 4  # the client's default (`[client] concurrency`)
UNLIMITED = 10**9
UNPAUSED = "baseline without its pause"  # PyGithub with seconds_between_requests=None
# The smallest default repositories: a short backfill that still walks every series.
SHORT_BACKFILL = ["autumnai/leaf", "amazon-archives/amazon-dsstne"]


@dataclass(frozen=True)
class Mode:
    """Sizes of one run."""

    name: str
    many: int  # the large collection case: synthetic-N
    sample: int  # the baseline runs on at most this many of the N repositories, the rest is extrapolated
    backfill: list[str] | None  # None: the 14 default repositories
    warm_stats: bool  # statistics already computed (no 202 on the first request)
    unpaused_backfill: bool  # also time the baseline's backfill without PyGithub's pause
    report: tuple[int, int, int]  # repositories, years, runs
    writes: tuple[int, int]  # repositories, years


FULL = Mode("full", 1000, 100, None, False, True, (1000, 10, 5), (40, 10))
SHORT = Mode("short", 100, 10, SHORT_BACKFILL, True, False, (100, 10, 3), (4, 3))


@dataclass
class Measure:
    """What one side cost in one case, as the simulator counted it; `scale` > 1 when extrapolated."""

    requests: int
    rest_charged: int
    graphql_points: int
    not_modified: int
    wall_s: float
    ok: int
    repos: int
    scale: float = 1.0

    @property
    def budget(self) -> int:
        return self.rest_charged + self.graphql_points

    def value(self, metric: str) -> float:
        """A metric, extrapolated to the whole case."""
        if metric == "304 share":
            return self.not_modified / self.requests if self.requests else 0.0
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


def collect_cases(label: str, scenario: Scenario, mode: Mode, pg_url: str) -> list[Case]:
    """Two collection passes (the second over unchanged data) by each side."""
    names = [r.full_name for r in scenario.repos]
    app = make_app(scenario, mode.warm_stats)
    with store_bench.throwaway_database(pg_url) as db, running_simulator(app) as base:
        collector_side.track(db, names)
        meter = Meter(app)
        passes = []
        for _ in range(2):
            result = asyncio.run(collector_side.collect_pass(base, TOKEN, db, CONCURRENCY))
            passes.append(meter.measure(result.ok, result.total))

    sample = sample_of(names, mode.sample) if len(names) > 14 else names
    scale = len(names) / len(sample)
    app = make_app(scenario, mode.warm_stats)
    with running_simulator(app) as base:
        gh = baseline.make_github(base, TOKEN)
        meter = Meter(app)
        base_passes = []
        for _ in range(2):
            rows, _errors = baseline.collect_pass(gh, sample)
            base_passes.append(meter.measure(len(rows), len(sample), scale))
        gh.close()
    notes = [f"{len(names)} repositories ({label})"]
    if scale > 1:
        notes.append(
            f"baseline measured on {len(sample)} evenly spaced repositories, extrapolated x{scale:g}"
        )
    notes.append("statistics already computed" if mode.warm_stats else "first request per repo answers 202")
    cases = [
        Case(f"collect {len(names)}, pass 1", passes[0], base_passes[0], notes),
        Case(f"collect {len(names)}, pass 2 (unchanged)", passes[1], base_passes[1], []),
    ]
    if scale == 1:
        # How much of the baseline's time is PyGithub's default 0.25 s pause between requests.
        app = make_app(scenario, mode.warm_stats)
        with running_simulator(app) as base:
            gh = baseline.make_github(base, TOKEN, seconds_between_requests=None)
            meter = Meter(app)
            rows, _errors = baseline.collect_pass(gh, names)
            unpaused = meter.measure(len(rows), len(names))
            gh.close()
        cases.append(Case(f"collect {len(names)}, pass 1, {UNPAUSED}", passes[0], unpaused, []))
    return cases


def backfill_cases(scenario: Scenario, names: list[str], mode: Mode, pg_url: str) -> list[Case]:
    """A full backfill (stars, forks, weekly commits, contributors) by each side."""
    app = make_app(scenario, mode.warm_stats)
    with store_bench.throwaway_database(pg_url) as db, running_simulator(app) as base:
        collector_side.track(db, names)
        meter = Meter(app)
        result = asyncio.run(collector_side.backfill(base, TOKEN, db, CONCURRENCY))
        ours = meter.measure(result.ok, result.total)
    app = make_app(scenario, mode.warm_stats)
    with running_simulator(app) as base:
        gh = baseline.make_github(base, TOKEN)
        meter = Meter(app)
        histories, _errors = baseline.backfill(gh, names)
        theirs = meter.measure(len(histories), len(names))
        gh.close()
    label = "the 14 default repositories" if len(names) == 14 else f"{len(names)} small default repositories"
    cases = [Case(f"backfill {len(names)}", ours, theirs, [label])]
    if mode.unpaused_backfill:
        app = make_app(scenario, mode.warm_stats)
        with running_simulator(app) as base:
            gh = baseline.make_github(base, TOKEN, seconds_between_requests=None)
            meter = Meter(app)
            histories, _errors = baseline.backfill(gh, names)
            unpaused = meter.measure(len(histories), len(names))
            gh.close()
        cases.append(Case(f"backfill {len(names)}, {UNPAUSED}", ours, unpaused))
    return cases


def efficiency(m: Measure, concurrency: int) -> float:
    """Wall time over the least time the requests need: requests x latency / concurrency (issue 5)."""
    return m.wall_s / (m.requests * LATENCY_MS / 1000 / concurrency) if m.requests else 0.0


COLLECT_METRICS = [
    "requests",
    "REST charged",
    "GraphQL points",
    "budget (REST + points)",
    "304 share",
    "wall s",
]
BACKFILL_METRICS = ["requests", "REST charged", "GraphQL points", "budget (REST + points)", "wall s"]


def fmt(value: float | None, metric: str) -> str:
    """A cell."""
    if value is None:
        return "—"
    if metric == "304 share":
        return f"{100 * value:.0f}%"
    if metric in ("wall s", "ratio") or "median" in metric or "/ (requests" in metric:
        return f"{value:.2f}"
    return f"{value:,.0f}"


def table_rows(cases: list[Case], reports: dict[str, Any], writes: dict[str, Any]) -> list[list[str]]:
    """[case, metric, collector, baseline, collector / baseline] rows."""
    out: list[list[str]] = []
    for case in cases:
        metrics = BACKFILL_METRICS if case.name.startswith("backfill") else COLLECT_METRICS
        if UNPAUSED in case.name:
            metrics = ["wall s"]  # the requests are the same as with the pause
        for metric in metrics:
            ours = case.collector.value(metric)
            theirs = case.baseline.value(metric) if case.baseline else None
            ratio = f"{ours / theirs:.3f}" if theirs else "—"
            cell = fmt(theirs, metric)
            if case.baseline and case.baseline.scale > 1 and metric != "304 share":
                cell += " (extrapolated)"
            out.append([case.name, metric, fmt(ours, metric), cell, ratio])
        ok = f"{case.collector.ok}/{case.collector.repos}"
        base_ok = f"{case.baseline.ok}/{case.baseline.repos}" if case.baseline else "—"
        if UNPAUSED not in case.name:
            out.append([case.name, "repositories done", ok, base_ok, "—"])
        if case.name.startswith("backfill") and case.baseline:
            metric = "wall / (requests x 50 ms / concurrency)"
            ours, theirs = efficiency(case.collector, CONCURRENCY), efficiency(case.baseline, 1)
            out.append(
                [
                    case.name,
                    metric + f" ({CONCURRENCY} vs 1)",
                    f"{ours:.2f}",
                    f"{theirs:.2f}",
                    f"{ours / theirs:.3f}",
                ]
            )
    size = f"{reports['repos']:,} repos x {reports['years']} years"
    for key, label in (("monthly_trend", "monthly trend"), ("ranking", "ranking")):
        r = reports[key]
        runs = reports["runs"]
        query = f"{label}: query, median s of {runs}"
        out.append([f"report, {size}", query, f"{r['median_s']:.3f}", "—", "—"])
        out.append(
            [
                f"report, {size}",
                f"{label}: query + terminal table, median s of {runs}",
                f"{r['printed_median_s']:.3f}",
                "—",
                "—",
            ]
        )
    for label, w in writes.items():
        out.append(["store writes (PostgreSQL)", f"{label}: rows/s", f"{w['rows_per_s']:,.0f}", "—", "—"])
    return out


def render_text(rows: list[list[str]]) -> str:
    """A plain aligned table."""
    head = ["case", "metric", "collector", "baseline (PyGithub)", "collector / baseline"]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
    lines = ("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [head, *rows])
    return "\n".join(line.rstrip() for line in lines)


def render_markdown(rows: list[list[str]]) -> str:
    """The same table in Markdown."""
    head = ["case", "metric", "collector", "baseline (PyGithub)", "collector / baseline"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * 3]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def machine(pg_url: str) -> str:
    """CPU, Python and PostgreSQL versions, for the notes."""
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            pg = str(conn.execute(text("SHOW server_version")).scalar())
    finally:
        engine.dispose()
    cpu = platform.processor() or platform.machine()
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} CPUs ({cpu}), {system}, Python {platform.python_version()}, PostgreSQL {pg}"


def write_markdown(path: Path, mode: Mode, body: str) -> None:
    """Replace this mode's generated section of `path` (between markers), or append it."""
    begin, end = f"<!-- run_all:{mode.name}:begin -->", f"<!-- run_all:{mode.name}:end -->"
    section = f"{begin}\n{body}\n{end}"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin in old and end in old:
        new = old[: old.index(begin)] + section + old[old.index(end) + len(end) :]
    else:
        new = old.rstrip("\n") + ("\n\n" if old else "") + section + "\n"
    path.write_text(new, encoding="utf-8")


def _step(label: str, action: Callable[[], Any]) -> Any:
    began = time.perf_counter()
    print(f"... {label}", file=sys.stderr, flush=True)
    result = action()
    print(f"    done in {time.perf_counter() - began:.0f}s", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark, print one table, optionally write it as Markdown and JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--short", action="store_true", help="smaller sizes (CI): see SHORT in this file")
    p.add_argument(
        "--pg-url",
        default=os.environ.get("COLLECTOR_TEST_PG_URL", store_bench.DEFAULT_ADMIN_URL),
        help="admin URL of a PostgreSQL server; throwaway databases are created and dropped on it",
    )
    p.add_argument("--markdown", type=Path, help="write the table into this file's generated section")
    p.add_argument("--json", type=Path, help="write every measurement as JSON")
    args = p.parse_args(argv)
    mode = SHORT if args.short else FULL
    began = time.perf_counter()
    load_schema()  # the simulator builds GitHub's schema once per process: not part of anyone's time

    frameworks = load_scenario("frameworks")
    many = load_scenario(f"synthetic-{mode.many}")
    cases = _step(
        "collect, 14 frameworks", lambda: collect_cases("frameworks", frameworks, mode, args.pg_url)
    )
    cases += _step(
        f"collect, {mode.many} synthetic",
        lambda: collect_cases(f"synthetic-{mode.many}", many, mode, args.pg_url),
    )
    names = mode.backfill or list(DEFAULT_GROUP)
    cases += _step(f"backfill, {len(names)}", lambda: backfill_cases(frameworks, names, mode, args.pg_url))
    repos, years, runs = mode.report
    reports = _step("report latency", lambda: store_bench.report_latency(args.pg_url, repos, years, runs))
    w_repos, w_years = mode.writes

    def writes() -> dict[str, dict[str, float]]:
        with store_bench.throwaway_database(args.pg_url) as db:
            return store_bench.write_rates(db, w_repos, w_years)

    write = _step("store write rates", writes)

    rows = table_rows(cases, reports, write)
    print(render_text(rows))
    took = time.perf_counter() - began
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    notes = [
        f"Mode `{mode.name}`, measured {when} in {took:.0f}s on {machine(args.pg_url)}.",
        f"Command: `.venv/bin/python bench/run_all.py{' --short' if args.short else ''}"
        f" --markdown docs/benchmarks.md`.",
        *(f"`{c.name}`: {'; '.join(c.notes)}." for c in cases if c.notes),
        f"Store writes: {w_repos} repositories x {w_years} years of series; report: {repos:,} repositories"
        f" x {years} years.",
    ]
    print("\n" + "\n".join(notes))
    if args.markdown:
        write_markdown(args.markdown, mode, "\n".join(notes) + "\n\n" + render_markdown(rows))
    if args.json:
        payload = {
            "mode": mode.name,
            "cases": [
                {
                    "name": c.name,
                    "collector": asdict(c.collector),
                    "baseline": asdict(c.baseline) if c.baseline else None,
                    "notes": c.notes,
                }
                for c in cases
            ],
            "reports": reports,
            "writes": write,
            "latency_ms": LATENCY_MS,
            "concurrency": CONCURRENCY,
            "seconds": took,
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
