"""Time the web app and `collector report` as people use them: every page and API call through a real HTTP
client (httpx) against `collector serve` (uvicorn serving collector.web.app.build_app) on loopback, over
a PostgreSQL store of 1,000 (or --repos 10000) repositories x 10 years filled as bench_reports.py fills it.

    python bench/bench_web.py [--repos 1000|10000] [--runs 30] [--markdown docs/benchmarks.md]
    python bench/bench_web.py --db-url URL   # a database an earlier bench_reports.py --keep left filled

Each URL is asked twice to warm up, then --runs times in a row (one client, keep-alive); the table gives
p50 and p95 of the whole request (the status, headers and body read), first with every answer computed
(`[server] cache_seconds = 0`: what the first visitor after a change waits), then as served by default
(answers kept for their 60 s max-age: what the visitors after the first wait). `collector report` with
every row is timed both as its work in one process (building the report, and rendering it as CSV) and as the
command a user types (a new process, its start-up included), each the median of --report-runs.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_reports

from collector.config import Config
from collector.reports.build import make_report
from collector.reports.model import parse_request
from collector.reports.output import render_report
from collector.store.engine import make_engine, session_factory

REPO_ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- bench_web:begin -->", "<!-- bench_web:end -->"
TARGETS = {"page": 0.300, "ranking": 0.500, "report": 1.0}  # seconds, issue 20


def urls(repos: int, end: date) -> list[tuple[str, str, float]]:
    """(label, path, p95 target in seconds) of every page and API call timed."""
    # The 15th, not any day: a date inside a month computes that month's days live for every repository,
    # the slower case (a month's last day reads month_values alone).
    at = (end - timedelta(days=400)).replace(day=15).isoformat()
    one = "owner1/repo1"
    five = ",".join(f"owner{i}/repo{i}" for i in (1, 2, 3, 5, 8))
    since = (end - timedelta(days=365 * 10)).strftime("%Y-%m")
    page, ranking = TARGETS["page"], TARGETS["ranking"]
    return [
        ("GET /healthz (no store query: the machine's floor)", "/healthz", page),
        ("page /", "/", page),
        ("page /compare, 5 repositories", f"/compare?repos={five}&metric=stars&since={since}", page),
        ("page /repos/X", f"/repos/{one}", page),
        (f"page /groups/NAME?at= ({repos:,} members)", f"/groups/{bench_reports.GROUP}?at={at}", page),
        ("GET /api/v1/repos", "/api/v1/repos", page),
        ("GET /api/v1/repos/X/series", f"/api/v1/repos/{one}/series?metric=stars", page),
        (f"GET /api/v1/ranking ({repos:,} rows)", f"/api/v1/ranking?at={at}&metric=stars", ranking),
        (
            "GET /api/v1/compare, 5 repositories",
            f"/api/v1/compare?repos={five}&metric=stars&since={since}",
            page,
        ),
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(db_url: str, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLLECTOR_", "GITHUB_"))}
    env.update({"COLLECTOR_DATABASE_URL": db_url, "COLLECTOR_CONFIG": str(config)})
    return env


@contextmanager
def serving(db_url: str, config: Path) -> Iterator[str]:
    """`collector serve` on a free loopback port, until the block ends; yields its base URL."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "collector.cli", "serve", "--listen", f"127.0.0.1:{port}"],
        env=_env(db_url, config),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"collector serve stopped: {process.stderr.read() if process.stderr else ''}"
                )
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("collector serve did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def time_urls(base: str, cases: list[tuple[str, str, float]], runs: int) -> list[dict[str, Any]]:
    """p50 and p95 seconds of each URL, asked `runs` times after two warm-ups, with its status and size."""
    out = []
    with httpx.Client(base_url=base, timeout=120) as client:
        for label, path, target in cases:
            timings, status, size = [], 0, 0
            for k in range(runs + 2):
                began = time.perf_counter()
                response = client.get(path)
                body = response.read()
                if k >= 2:
                    timings.append(time.perf_counter() - began)
                status, size = response.status_code, len(body)
            p50, p95 = np.percentile(timings, [50, 95]).tolist()
            row = {"label": label, "path": path, "status": status, "bytes": size, "p50_s": p50, "p95_s": p95}
            out.append(row | {"target_s": target})
            print(
                f"{label}: {status}, {size:,} bytes, p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms",
                flush=True,
            )
    return out


def time_report(db_url: str, config: Path, end: date, runs: int) -> list[dict[str, Any]]:
    """`collector report --since` (monthly trend, every row): built in one process, rendered as CSV, and
    as the command (a new process writing the CSV file)."""
    since = (end - timedelta(days=365 * 10)).strftime("%Y-%m")
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    request = parse_request({"since": since}, datetime.now(UTC).date())
    built, rendered = [], []
    try:
        for _ in range(runs):
            began = time.perf_counter()
            with sessions() as session:
                report = make_report(session, request, Config())
            built.append(time.perf_counter() - began)
            render_report(report, "csv")
            rendered.append(time.perf_counter() - began)
    finally:
        engine.dispose()
    rows = len(report.table)
    command = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            began = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "collector.cli",
                    "report",
                    "--since",
                    since,
                    "--output",
                    f"{tmp}/t.csv",
                ],
                env=_env(db_url, config),
                check=True,
                capture_output=True,
            )
            command.append(time.perf_counter() - began)
    label = f"collector report --since {since}, every row ({rows:,} rows)"
    out = [
        {"label": f"{label}: built", "median_s": statistics.median(built)},
        {"label": f"{label}: built + CSV rendered", "median_s": statistics.median(rendered)},
        {"label": f"{label}: the command, start-up included", "median_s": statistics.median(command)},
    ]
    for row in out:
        print(f"{row['label']}: {row['median_s']:.3f}s (median of {runs})", flush=True)
    return out


Rows = list[dict[str, Any]]


def markdown(repos: int, pages: Rows, kept: Rows, reports: Rows, runs: int) -> str:
    """The section for docs/benchmarks.md: each URL computed on every request, and kept by the server."""
    lines = [
        f"#### {repos:,} repositories x 10 years, PostgreSQL (`bench/bench_web.py`, {runs} requests each)",
        "",
        "| request | status | size | computed p50 | computed p95 | target (p95), computed | kept p95 |",
        "|---|---|---|---|---|---|---|",
    ]
    for p, k in zip(pages, kept, strict=True):
        met = "met" if p["status"] == 200 and p["p95_s"] <= p["target_s"] else "**missed**"
        lines.append(
            f"| {p['label']} | {p['status']} | {p['bytes']:,} B | {p['p50_s'] * 1000:.0f} ms"
            f" | {p['p95_s'] * 1000:.0f} ms | {p['target_s'] * 1000:.0f} ms, {met}"
            f" | {k['p95_s'] * 1000:.0f} ms |"
        )
    lines += ["", "| `collector report`, monthly trend | median |", "|---|---|"]
    lines += [f"| {r['label']} | {r['median_s']:.3f} s |" for r in reports]
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, repos: int, section: str) -> None:
    """Replace this size's section between the bench_web markers (added at the end when missing)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    begin, end = f"{BEGIN[:-4]}:{repos} -->", f"{END[:-4]}:{repos} -->"
    block = f"{begin}\n{section}{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def run(
    db_url: str, repos: int, runs: int, report_runs: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Serve the store computing every answer and time every URL, then as configured by default (answers
    kept for their max-age: after the warm-ups every request is served from memory), then the report."""
    end = datetime.now(UTC).date() - timedelta(days=1)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "collector.toml"
        config.write_text("[server]\ncache_seconds = 0\n", encoding="utf-8")
        print("every answer computed ([server] cache_seconds = 0):", flush=True)
        with serving(db_url, config) as base:
            pages = time_urls(base, urls(repos, end), runs)
        config.write_text("", encoding="utf-8")
        print("answers kept for their max-age (the default):", flush=True)
        with serving(db_url, config) as base:
            kept = time_urls(base, urls(repos, end), runs)
        reports = time_report(db_url, config, end, report_runs)
    return pages, kept, reports


def main() -> None:
    """Fill (or reuse) a store, time it, print and optionally write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pg-url", default=bench_reports.DEFAULT_SERVER, help="admin URL of the server")
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30, help="requests per URL (after two warm-ups)")
    parser.add_argument("--report-runs", type=int, default=3)
    parser.add_argument("--db-url", help="time this database, filled by bench_reports.py --keep, as it is")
    parser.add_argument("--markdown", type=Path, help="write the table into this file (its own section)")
    args = parser.parse_args()
    if args.db_url:
        pages, kept, reports = run(args.db_url, args.repos, args.runs, args.report_runs)
    else:
        with bench_reports.filled_database(args.pg_url, args.repos, 10) as url:
            pages, kept, reports = run(url, args.repos, args.runs, args.report_runs)
    section = markdown(args.repos, pages, kept, reports, args.runs)
    print(section)
    if args.markdown:
        write_markdown(args.markdown, args.repos, section)


if __name__ == "__main__":
    main()
