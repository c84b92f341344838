"""Time `collector report` on PostgreSQL: a monthly trend and a ranking over 1,000 repositories x 10 years.

    python bench/bench_reports.py [--pg-url URL] [--repos 1000] [--years 10] [--runs 5]

Creates a throwaway database on the server, migrates it, bulk-loads realistic data (sparse daily star, fork
and contributor additions, dense weekly commits, weekly snapshots), times the reports (median of --runs)
and drops the database.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from collector.config import Config
from collector.reports.build import make_report
from collector.reports.model import FORMATS, Report, parse_request
from collector.reports.output import render_report
from collector.store import migrate
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.history import rebuild_monthly
from collector.store.rollups import rebuild_report_rollups

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _copy(engine: Engine, table: str, frame: pd.DataFrame) -> None:
    """COPY a frame into a table (tab-separated, the fast path)."""
    buffer = io.StringIO()
    frame.to_csv(buffer, sep="\t", header=False, index=False)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()


def fill(engine: Engine, repos: int, years: int, end: date) -> dict[str, int]:
    """Bulk-load `repos` repositories with `years` of history ending on `end`; returns row counts."""
    rng = np.random.default_rng(2017)
    start = end - timedelta(days=365 * years)
    days = pd.date_range(start, end, freq="D")
    sundays = pd.date_range(start + timedelta(days=(6 - start.weekday()) % 7), end, freq="7D")
    now = datetime.now(UTC).isoformat()
    names = pd.DataFrame(
        {
            "id": np.arange(1, repos + 1),
            "github_id": np.arange(1, repos + 1) + 10_000_000,
            "full_name": [f"owner{i}/repo{i}" for i in range(1, repos + 1)],
            "created_at": [datetime.combine(start, datetime.min.time(), UTC).isoformat()] * repos,
            "tracked": True,
            "archived": False,
            "added_at": now,
        }
    )
    names["name_key"] = names["full_name"].str.lower()
    _copy(engine, "repositories", names)

    # Popularity is heavy-tailed: a few repositories get hundreds of stars a day, most a handful a week.
    rates = rng.lognormal(mean=-0.5, sigma=1.5, size=repos)
    counts = {"repositories": repos}
    daily_parts, totals = [], np.zeros((repos, 3), dtype=np.int64)
    for metric, share, column in (("stars", 1.0, 0), ("forks", 0.2, 1), ("contributors", 0.02, 2)):
        values = rng.poisson(np.outer(rates * share, np.ones(len(days))))
        repo_idx, day_idx = np.nonzero(values)
        totals[:, column] = values.sum(axis=1)
        daily_parts.append(
            pd.DataFrame(
                {
                    "repo_id": repo_idx + 1,
                    "metric": metric,
                    "day": days[day_idx].strftime("%Y-%m-%d"),
                    "value": values[repo_idx, day_idx],
                    "source": "bench",
                }
            )
        )
    daily = pd.concat(daily_parts, ignore_index=True)
    _copy(engine, "history_daily", daily)
    counts["history_daily"] = len(daily)
    # COPY bypasses the store functions that keep the monthly rollup in step: rebuild it once.
    with transaction(session_factory(engine)) as session:
        rebuild_monthly(session)

    commits = rng.poisson(np.outer(rates * 3, np.ones(len(sundays))))
    weekly = pd.DataFrame(
        {
            "repo_id": np.repeat(np.arange(1, repos + 1), len(sundays)),
            "metric": "commits",
            "week_start": np.tile(sundays.strftime("%Y-%m-%d"), repos),
            "value": commits.ravel(),
            "source": "bench",
        }
    )
    _copy(engine, "history_weekly", weekly)
    counts["history_weekly"] = len(weekly)

    # Weekly snapshots on Saturdays: observed totals a little above the reconstruction (unstars etc.).
    saturdays = sundays + pd.Timedelta(days=6)
    saturdays = saturdays[saturdays <= pd.Timestamp(end)]
    fraction = np.linspace(0.0, 1.0, len(saturdays))
    snap = pd.DataFrame(
        {
            "repo_id": np.repeat(np.arange(1, repos + 1), len(saturdays)),
            "observed_day": np.tile(saturdays.strftime("%Y-%m-%d"), repos),
            "observed_at": np.tile(
                (saturdays + pd.Timedelta(hours=12)).strftime("%Y-%m-%d %H:%M:%S+00"), repos
            ),
            "stars": (np.outer(totals[:, 0], fraction) * 1.01).astype(np.int64).ravel(),
            "forks": np.outer(totals[:, 1], fraction).astype(np.int64).ravel(),
            "watchers": 1,
            "open_issues": 1,
            "contributors": np.outer(totals[:, 2], fraction).astype(np.int64).ravel(),
            "archived": False,
        }
    )
    _copy(engine, "snapshots", snap)
    counts["snapshots"] = len(snap)
    # COPY bypassed save_history_weekly and save_snapshot too: rebuild their monthly rollups.
    with transaction(session_factory(engine)) as session:
        rebuild_report_rollups(session)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return counts


def _median_seconds(action: Callable[[], object], runs: int) -> tuple[float, object]:
    timings, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings), result


def main() -> None:
    """Create, fill, time, drop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pg-url", default=DEFAULT_SERVER, help="admin URL of the PostgreSQL server")
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    name = f"collector_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        end = datetime.now(UTC).date() - timedelta(days=1)
        began = time.perf_counter()
        counts = fill(engine, args.repos, args.years, end)
        print(f"loaded {counts} in {time.perf_counter() - began:.1f}s")
        sessions = session_factory(engine)
        today = datetime.now(UTC).date()
        since = (end - timedelta(days=365 * args.years)).strftime("%Y-%m")
        cases = {
            f"monthly trend since {since}": {"since": since},
            f"ranking at {end - timedelta(days=400)}": {"at": (end - timedelta(days=400)).isoformat()},
        }
        for label, options in cases.items():
            request = parse_request(options, today)

            def build(request: object = request) -> object:
                with sessions() as session:
                    return make_report(session, request, Config())  # type: ignore[arg-type]

            seconds, built = _median_seconds(build, args.runs)
            report: Report = built  # type: ignore[assignment]
            renders = {
                fmt: _median_seconds(partial(render_report, report, fmt), args.runs)[0] for fmt in FORMATS
            }
            rows = len(report.table)
            print(
                f"{label}: query+tables {seconds:.3f}s (median of {args.runs}, {rows} rows); render "
                + ", ".join(f"{fmt} {s:.3f}s" for fmt, s in renders.items())
            )
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
