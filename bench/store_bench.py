"""Store benchmarks on a throwaway PostgreSQL database: write rate of the backfill series, report latency.

`throwaway_database(admin_url)` creates a migrated database and drops it afterwards; the collector side of
the HTTP benchmarks uses it too.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from collector.config import Config
from collector.domain import ForkInfo, HistoryPoint, parse_repo_name
from collector.reports.build import make_report
from collector.reports.model import parse_request
from collector.reports.output import render_report
from collector.store import migrate
from collector.store.checkpoints import (
    Checkpoint,
    SeriesStatus,
    rebuild_contributor_days,
    rebuild_fork_days,
    replace_daily,
    save_checkpoint,
    save_forks,
    save_identities,
)
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.history import add_history_weekly, fill_history_weekly, save_history_daily
from collector.store.repos import save_tracked_name

PARTIAL = SeriesStatus.PARTIAL  # every checkpoint the benchmark writes is mid-walk

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def throwaway_database(admin_url: str, *, migrated: bool = True) -> Iterator[str]:
    """A new PostgreSQL database on the server of `admin_url` (migrated unless told not to); dropped after."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"collector_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        if migrated:
            engine = make_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _timed(action: Callable[[], int]) -> tuple[int, float]:
    began = time.perf_counter()
    rows = action()
    return rows, time.perf_counter() - began


def write_rates(url: str, repos: int, years: int, seed: int = 7) -> dict[str, dict[str, float]]:
    """Rows per second for each backfill series, written the way the backfill writes them (page by page)."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    rng = random.Random(seed)
    end = date(2026, 11, 21)  # a Saturday: whole weeks
    start = end - timedelta(days=365 * years)
    with transaction(sessions) as s:
        ids = [save_tracked_name(s, parse_repo_name(f"bench{i}/repo{i}"))[0].id for i in range(repos)]

    def stars() -> int:
        # /stargazers/history: 30 weeks a page, newest first; each page replaces its days and its checkpoint.
        rows = 0
        for repo_id in ids:
            last = end
            while last > start:
                first = max(start, last - timedelta(days=30 * 7 - 1))
                values = {
                    first + timedelta(days=i): rng.randint(1, 40)
                    for i in range((last - first).days + 1)
                    if rng.random() < 0.6
                }
                with transaction(sessions) as s:
                    replace_daily(s, repo_id, "stars", first, last, values, "star_history")
                    save_checkpoint(
                        s, repo_id, "stars", Checkpoint(PARTIAL, f"page-{first}", None, None, None)
                    )
                rows += len(values)
                last = first - timedelta(days=1)
        return rows

    def forks() -> int:
        # /forks?sort=oldest: 100 forks a page, each upserted with its cursor; the days rebuilt at the end.
        rows, serial = 0, 0
        for repo_id in ids:
            at = datetime.combine(start, datetime.min.time(), UTC)
            for _ in range(8):
                page = []
                for _ in range(100):
                    serial += 1
                    at += timedelta(minutes=rng.randint(1, 3000))
                    page.append(ForkInfo(serial, at))
                with transaction(sessions) as s:
                    save_forks(s, repo_id, page)
                    save_checkpoint(s, repo_id, "forks", Checkpoint(PARTIAL, f"f{serial}", None, None, None))
                rows += len(page)
            with transaction(sessions) as s:
                rebuild_fork_days(s, repo_id)
        return rows

    def contributors() -> int:
        # The commit walk: 100 commits a page, their identities merged; the days rebuilt at the end.
        rows = 0
        for repo_id in ids:
            for page in range(10):
                firsts = {
                    f"e:dev{rng.randint(0, 400)}@example.com": datetime.combine(
                        start + timedelta(days=rng.randint(0, 365 * years)), datetime.min.time(), UTC
                    )
                    for _ in range(100)
                }
                with transaction(sessions) as s:
                    save_identities(s, repo_id, firsts)
                    save_checkpoint(
                        s, repo_id, "contributors", Checkpoint(PARTIAL, f"c{page}", None, None, None)
                    )
                rows += len(firsts)
            with transaction(sessions) as s:
                rows += rebuild_contributor_days(s, repo_id)
        return rows

    def commits() -> int:
        # The commit walk's weekly counts: each 100-commit page adds to the weeks it touched, with the
        # walk's checkpoint (the first page drops the weeks it recounts); the gaps become zeros at the end.
        rows = 0
        weeks = [start + timedelta(days=7 * i) for i in range(52 * years)]
        per_page = max(1, len(weeks) // 10)
        for repo_id in ids:
            for page in range(10):
                touched = weeks[len(weeks) - (page + 1) * per_page : len(weeks) - page * per_page]
                counts = {w: rng.randint(0, 12) for w in touched if rng.random() < 0.8}
                with transaction(sessions) as s:
                    reset = weeks[0] if page == 0 else None
                    add_history_weekly(s, repo_id, "commits", "commit_walk", counts, reset_from=reset)
                    save_checkpoint(
                        s, repo_id, "contributors", Checkpoint(PARTIAL, f"c{page}", None, None, None)
                    )
                rows += len(counts)
            with transaction(sessions) as s:
                fill_history_weekly(s, repo_id, "commits", "commit_walk", weeks[0], weeks[-1])
        return rows

    def bulk_daily() -> int:
        # save_history_daily in one transaction per repository and metric (the upper bound per statement).
        rows = 0
        for repo_id in ids:
            points = [
                HistoryPoint("forks", start + timedelta(days=i), rng.randint(1, 9), "bench")
                for i in range(365 * years)
            ]
            with transaction(sessions) as s:
                rows += save_history_daily(s, repo_id, points)
        return rows

    results: dict[str, dict[str, float]] = {}
    try:
        for label, action in (
            ("stars: replace_daily per 30-week page", stars),
            ("forks: save_forks per 100-fork page + rebuild", forks),
            ("contributors: save_identities per 100 commits + rebuild", contributors),
            ("commits: add_history_weekly per 100-commit walk page", commits),
            ("save_history_daily, one transaction per repository", bulk_daily),
        ):
            rows, seconds = _timed(action)
            results[label] = {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": rows / seconds}
    finally:
        engine.dispose()
    return results


def report_latency(admin_url: str, repos: int, years: int, runs: int) -> dict[str, Any]:
    """Median seconds of the monthly trend and the ranking over `repos` x `years` (bench/bench_reports.py):
    building the report (queries and tables), and building it and rendering the terminal table."""
    import bench_reports  # bench/ is on sys.path when run_all.py runs as a script

    out: dict[str, Any] = {"repos": repos, "years": years, "runs": runs}
    with throwaway_database(admin_url) as url:
        engine = make_engine(url)
        try:
            end = datetime.now(UTC).date() - timedelta(days=1)
            began = time.perf_counter()
            out["rows"] = bench_reports.fill(engine, repos, years, end)
            out["load_s"] = round(time.perf_counter() - began, 1)
            sessions = session_factory(engine)
            today = datetime.now(UTC).date()
            since = (end - timedelta(days=365 * years)).strftime("%Y-%m")
            at = (end - timedelta(days=400)).isoformat()
            for key, options in (("monthly_trend", {"since": since}), ("ranking", {"at": at})):
                request = parse_request(options, today)
                timings, printed = [], []
                for _ in range(runs):
                    began = time.perf_counter()
                    with sessions() as session:
                        report = make_report(session, request, Config())
                    timings.append(time.perf_counter() - began)
                    render_report(report, "table")  # what `collector report` prints by default
                    printed.append(time.perf_counter() - began)
                out[key] = {
                    "median_s": statistics.median(timings),
                    "printed_median_s": statistics.median(printed),
                    "rows": len(report.table),
                    "options": options,
                }
        finally:
            engine.dispose()
    return out
