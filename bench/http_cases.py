"""The HTTP cases: collection (two passes, the second over unchanged data) and the backfill, each run by
the collector and by the PyGithub baseline against its own simulator of the same scenario."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import baseline_pygithub as baseline
import collector_side
import store_bench
from measure import CONCURRENCY, TOKEN, UNPAUSED, Case, Measure, Meter, make_app, sample_of

from collector.testing.model import Scenario
from collector.testing.transport import running_simulator

HERE = Path(__file__).resolve().parent


def _pass_in_a_process(base: str, db: str) -> tuple[collector_side.JobResult, dict[str, float]]:
    """One collect pass in a child process, so that its memory is measured apart from the simulator's."""
    argv = [sys.executable, str(HERE / "collector_side.py"), "collect", base, TOKEN, db, str(CONCURRENCY)]
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    got = json.loads(done.stdout.strip().splitlines()[-1])
    return collector_side.JobResult(got["ok"], got["total"]), got


def collector_passes(scenario: Scenario, warm_stats: bool, pg_url: str, own_process: bool) -> list[Measure]:
    """Two collect passes by the collector into a throwaway database (`own_process`: each in a child)."""
    names = [r.full_name for r in scenario.repos]
    app = make_app(scenario, warm_stats)
    passes = []
    with store_bench.throwaway_database(pg_url) as db, running_simulator(app) as base:
        collector_side.track(db, names)
        meter = Meter(app)
        for _ in range(2):
            if own_process:
                result, got = _pass_in_a_process(base, db)
                m = meter.measure(result.ok, result.total)
                # The pass's own time (the child's start-up is not the collector's work), and its memory.
                m.wall_s, m.peak_rss_mb, m.start_rss_mb = (
                    got["wall_s"],
                    got["peak_rss_mb"],
                    got["start_rss_mb"],
                )
            else:
                result = asyncio.run(collector_side.collect_pass(base, TOKEN, db, CONCURRENCY))
                m = meter.measure(result.ok, result.total)
            passes.append(m)
    return passes


def baseline_passes(scenario: Scenario, warm_stats: bool, sample: list[str], scale: float) -> list[Measure]:
    """Two passes of the PyGithub loop over `sample`, extrapolated by `scale`."""
    app = make_app(scenario, warm_stats)
    out = []
    with running_simulator(app) as base:
        gh = baseline.make_github(base, TOKEN)
        meter = Meter(app)
        for _ in range(2):
            rows, _errors = baseline.collect_pass(gh, sample)
            out.append(meter.measure(len(rows), len(sample), scale))
        gh.close()
    return out


def collect_cases(
    label: str,
    scenario: Scenario,
    warm_stats: bool,
    pg_url: str,
    *,
    sample_cap: int,
    own_process: bool = False,
) -> list[Case]:
    """Two collection passes (the second over unchanged data) by each side."""
    names = [r.full_name for r in scenario.repos]
    passes = collector_passes(scenario, warm_stats, pg_url, own_process)
    sample = sample_of(names, sample_cap)
    scale = len(names) / len(sample)
    base_passes = baseline_passes(scenario, warm_stats, sample, scale)
    notes = [f"{len(names):,} repositories ({label})"]
    if scale > 1:
        notes.append(
            f"baseline measured on {len(sample)} evenly spaced repositories, extrapolated x{scale:g}"
        )
    notes.append("statistics already computed" if warm_stats else "first request per repo answers 202")
    if own_process:
        notes.append("each collector pass in a process of its own (wall time and memory are the pass's)")
    cases = [
        Case(f"collect {len(names)}, pass 1", passes[0], base_passes[0], notes),
        Case(f"collect {len(names)}, pass 2 (unchanged)", passes[1], base_passes[1], []),
    ]
    if scale == 1:
        # How much of the baseline's time is PyGithub's default 0.25 s pause between requests.
        app = make_app(scenario, warm_stats)
        with running_simulator(app) as base:
            gh = baseline.make_github(base, TOKEN, seconds_between_requests=None)
            meter = Meter(app)
            rows, _errors = baseline.collect_pass(gh, names)
            unpaused = meter.measure(len(rows), len(names))
            gh.close()
        cases.append(Case(f"collect {len(names)}, pass 1, {UNPAUSED}", passes[0], unpaused, []))
    return cases


def backfill_cases(
    scenario: Scenario, names: list[str], warm_stats: bool, unpaused_too: bool, pg_url: str
) -> list[Case]:
    """A full backfill (stars, forks, the commit walk: weekly commits and contributors) by each side."""
    app = make_app(scenario, warm_stats)
    with store_bench.throwaway_database(pg_url) as db, running_simulator(app) as base:
        collector_side.track(db, names)
        meter = Meter(app)
        result = asyncio.run(collector_side.backfill(base, TOKEN, db, CONCURRENCY))
        ours = meter.measure(result.ok, result.total)
    app = make_app(scenario, warm_stats)
    with running_simulator(app) as base:
        gh = baseline.make_github(base, TOKEN)
        meter = Meter(app)
        histories, _errors = baseline.backfill(gh, names)
        theirs = meter.measure(len(histories), len(names))
        gh.close()
    label = "the 14 default repositories" if len(names) == 14 else f"{len(names)} small default repositories"
    cases = [Case(f"backfill {len(names)}", ours, theirs, [label])]
    if unpaused_too:
        app = make_app(scenario, warm_stats)
        with running_simulator(app) as base:
            gh = baseline.make_github(base, TOKEN, seconds_between_requests=None)
            meter = Meter(app)
            histories, _errors = baseline.backfill(gh, names)
            unpaused = meter.measure(len(histories), len(names))
            gh.close()
        cases.append(Case(f"backfill {len(names)}, {UNPAUSED}", ours, unpaused))
    return cases
