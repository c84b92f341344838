"""Every benchmark in one command: the collector against a plain PyGithub loop, on the same simulator.

    python bench/run_all.py [--short] [--only PART[,PART...]] [--pg-url ADMIN_URL]
                            [--markdown docs/benchmarks.md] [--json OUT]

Both sides talk HTTP to the GitHub simulator on loopback (`running_simulator`) with 50 ms injected latency;
each side gets its own fresh instance of the same scenario and settings, so both see the same 202s and the
counts separate. The simulator counts requests, 304s, REST budget charged and GraphQL points. The
collector runs its real jobs into a throwaway PostgreSQL database; the baseline (bench/baseline_pygithub.py)
keeps its results in memory. `--short` (what CI runs) uses smaller sizes and says so in the table.
`--only` runs some parts alone (see PARTS), e.g. `--only collect10k`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import http_cases
import store_bench
from measure import CONCURRENCY, LATENCY_MS, UNPAUSED, Case, Measure
from sqlalchemy import create_engine, text

from collector.config import DEFAULT_GROUP
from collector.testing.graphql_api import load_schema
from collector.testing.scenarios import load_scenario

# The smallest default repositories: a short backfill that still walks every series.
SHORT_BACKFILL = ["autumnai/leaf", "amazon-archives/amazon-dsstne"]
SCALE = 10_000  # the scale case: collect only, the collector in a process of its own
PARTS = {
    "collect14": "collect the 14 frameworks",
    "collectmany": "collect the mode's synthetic-N (1,000; 100 with --short)",
    "collect10k": f"collect synthetic-{SCALE:,} (also wall time and the collector's peak memory)",
    "backfill": "backfill the default repositories (2 small ones with --short)",
    "reports": "report latency",
    "writes": "store write rates",
}


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
    default_parts: tuple[str, ...]  # what runs without --only


FULL = Mode("full", 1000, 100, None, False, True, (1000, 10, 5), (40, 10), tuple(PARTS))
SMALL_PARTS = tuple(p for p in PARTS if p != "collect10k")
SHORT = Mode("short", 100, 10, SHORT_BACKFILL, True, False, (100, 10, 3), (4, 3), SMALL_PARTS)


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


def case_rows(case: Case) -> list[list[str]]:
    """[case, metric, collector, baseline, collector / baseline] rows of one HTTP case."""
    out: list[list[str]] = []
    metrics = BACKFILL_METRICS if case.name.startswith("backfill") else COLLECT_METRICS
    if UNPAUSED in case.name:
        metrics = ["wall s"]  # the requests are the same as with the pause
    elif case.collector.peak_rss_mb is not None:
        metrics = [*metrics, "RSS before the pass MB", "peak RSS MB"]
    for metric in metrics:
        ours = case.collector.value(metric)
        theirs = case.baseline.value(metric) if case.baseline else None
        ratio = f"{ours / theirs:.3f}" if theirs and ours is not None else "—"
        cell = fmt(theirs, metric)
        if theirs is not None and case.baseline and case.baseline.scale > 1 and metric != "304 share":
            cell += " (extrapolated)"
        out.append([case.name, metric, fmt(ours, metric), cell, ratio])
    ok = f"{case.collector.ok}/{case.collector.repos}"
    base_ok = f"{case.baseline.ok}/{case.baseline.repos}" if case.baseline else "—"
    if UNPAUSED not in case.name:
        out.append([case.name, "repositories done", ok, base_ok, "—"])
    if case.name.startswith("backfill") and case.baseline:
        metric = f"wall / (requests x 50 ms / concurrency) ({CONCURRENCY} vs 1)"
        ours_e, theirs_e = efficiency(case.collector, CONCURRENCY), efficiency(case.baseline, 1)
        out.append([case.name, metric, f"{ours_e:.2f}", f"{theirs_e:.2f}", f"{ours_e / theirs_e:.3f}"])
    return out


def store_rows(reports: dict[str, Any] | None, writes: dict[str, Any] | None) -> list[list[str]]:
    """Rows of the collector-only store benchmarks that ran."""
    out: list[list[str]] = []
    if reports is not None:
        size = f"{reports['repos']:,} repos x {reports['years']} years"
        runs = reports["runs"]
        for key, label in (("monthly_trend", "monthly trend"), ("ranking", "ranking")):
            r = reports[key]
            out.append(
                [f"report, {size}", f"{label}: query, median s of {runs}", f"{r['median_s']:.3f}", "—", "—"]
            )
            printed = f"{label}: query + terminal table, median s of {runs}"
            out.append([f"report, {size}", printed, f"{r['printed_median_s']:.3f}", "—", "—"])
    for label, w in (writes or {}).items():
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


def write_markdown(path: Path, section_name: str, body: str) -> None:
    """Replace this run's generated section of `path` (between markers), or append it."""
    begin, end = f"<!-- run_all:{section_name}:begin -->", f"<!-- run_all:{section_name}:end -->"
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--short", action="store_true", help="smaller sizes (CI): see SHORT in this file")
    p.add_argument(
        "--only",
        type=lambda text: [part.strip() for part in text.split(",") if part.strip()],
        help="comma-separated parts to run alone: " + "; ".join(f"{k}: {v}" for k, v in PARTS.items()),
    )
    p.add_argument(
        "--pg-url",
        default=os.environ.get("COLLECTOR_TEST_PG_URL", store_bench.DEFAULT_ADMIN_URL),
        help="admin URL of a PostgreSQL server; throwaway databases are created and dropped on it",
    )
    p.add_argument("--markdown", type=Path, help="write the table into this file's generated section")
    p.add_argument("--json", type=Path, help="write every measurement as JSON")
    args = p.parse_args(argv)
    unknown = [part for part in args.only or () if part not in PARTS]
    if unknown:
        p.error(f"unknown part(s) {', '.join(unknown)}; known: {', '.join(PARTS)}")
    return args


@dataclass
class Results:
    """What the parts measured (None: the part did not run)."""

    cases: list[Case]
    reports: dict[str, Any] | None = None
    writes: dict[str, dict[str, float]] | None = None


def run_parts(mode: Mode, parts: list[str], pg_url: str) -> Results:
    """Run the chosen parts in their usual order."""
    out = Results([])
    if "collect14" in parts:
        frameworks = load_scenario("frameworks")
        out.cases += _step(
            "collect, 14 frameworks",
            lambda: http_cases.collect_cases(
                "frameworks", frameworks, mode.warm_stats, pg_url, sample_cap=14
            ),
        )
    for part, n, cap, alone in (
        ("collectmany", mode.many, mode.sample, False),
        ("collect10k", SCALE, 100, True),
    ):
        if part not in parts:
            continue
        many = _step(f"build synthetic-{n}", partial(load_scenario, f"synthetic-{n}"))
        collect = partial(
            http_cases.collect_cases,
            f"synthetic-{n}",
            many,
            mode.warm_stats,
            pg_url,
            sample_cap=cap,
            own_process=alone,
        )
        out.cases += _step(f"collect, {n} synthetic", collect)
    if "backfill" in parts:
        names = mode.backfill or list(DEFAULT_GROUP)
        frameworks = load_scenario("frameworks")
        out.cases += _step(
            f"backfill, {len(names)}",
            lambda: http_cases.backfill_cases(
                frameworks, names, mode.warm_stats, mode.unpaused_backfill, pg_url
            ),
        )
    if "reports" in parts:
        repos, years, runs = mode.report
        out.reports = _step("report latency", lambda: store_bench.report_latency(pg_url, repos, years, runs))
    if "writes" in parts:
        w_repos, w_years = mode.writes

        def writes() -> dict[str, dict[str, float]]:
            with store_bench.throwaway_database(pg_url) as db:
                return store_bench.write_rates(db, w_repos, w_years)

        out.writes = _step("store write rates", writes)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark (or the parts named), print one table, optionally write Markdown and JSON."""
    args = parse_args(argv)
    mode = SHORT if args.short else FULL
    parts = args.only or list(mode.default_parts)
    began = time.perf_counter()
    load_schema()  # the simulator builds GitHub's schema once per process: not part of anyone's time
    got = run_parts(mode, parts, args.pg_url)
    rows = [row for case in got.cases for row in case_rows(case)] + store_rows(got.reports, got.writes)
    print(render_text(rows))
    took = time.perf_counter() - began
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    only = f" --only {','.join(parts)}" if args.only else ""
    notes = [
        f"Mode `{mode.name}`{f' (parts: {only[8:]})' if only else ''}, measured {when} in {took:.0f}s on "
        f"{machine(args.pg_url)}.",
        f"Command: `.venv/bin/python bench/run_all.py{' --short' if args.short else ''}{only}"
        f" --markdown docs/benchmarks.md`.",
        *(f"`{c.name}`: {'; '.join(c.notes)}." for c in got.cases if c.notes),
    ]
    if got.writes is not None:
        notes.append(f"Store writes: {mode.writes[0]} repositories x {mode.writes[1]} years of series.")
    if got.reports is not None:
        notes.append(f"Report: {mode.report[0]:,} repositories x {mode.report[1]} years.")
    print("\n" + "\n".join(notes))
    if args.markdown:
        section = mode.name + (f":{'+'.join(parts)}" if args.only else "")
        write_markdown(args.markdown, section, "\n".join(notes) + "\n\n" + render_markdown(rows))
    if args.json:
        payload = {
            "mode": mode.name,
            "parts": parts,
            "cases": [
                {
                    "name": c.name,
                    "collector": asdict(c.collector),
                    "baseline": asdict(c.baseline) if c.baseline else None,
                    "notes": c.notes,
                }
                for c in got.cases
            ],
            "reports": got.reports,
            "writes": got.writes,
            "latency_ms": LATENCY_MS,
            "concurrency": CONCURRENCY,
            "seconds": took,
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
