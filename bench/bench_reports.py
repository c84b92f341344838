"""Time `collector report` on PostgreSQL: a monthly trend and a ranking over 1,000 (or --repos 10000)
repositories x 10 years, and the monthly trend of a rule group of all of them (total, movers, joins);
each as a terminal prints it (its top 25), with --top 50, and with every row (the file formats).

    python bench/bench_reports.py [--pg-url URL] [--repos 1000|10000] [--years 10] [--runs 5] [--keep]
    python bench/bench_reports.py --db-url URL   # time a database an earlier --keep left filled

Creates a throwaway database on the server, migrates it, bulk-loads realistic data (a quarter of the
repositories created over the years; sparse daily star, fork and contributor additions, dense weekly
commits, weekly snapshots; the rule group `bench` of every repository, min_stars 100), times building the
reports and rendering them (median of --runs; --no-render: building only) and drops the database (unless
--keep). 10,000 repositories take about ten minutes to load.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from collector.config import Config
from collector.domain import GroupRule
from collector.reports.build import make_report
from collector.reports.model import (
    FORMATS,
    TERMINAL_ROWS,
    Report,
    ReportRequest,
    cap_for_format,
    parse_request,
)
from collector.reports.output import render_report
from collector.store import migrate
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.groups import save_group_rule
from collector.store.history import rebuild_monthly
from collector.store.reports import refresh_month_values
from collector.store.rollups import rebuild_report_rollups

T = TypeVar("T")
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
GROUP = "bench"
GROUP_MIN_STARS = 100
CHUNK = 500  # repositories generated and copied at a time: 10,000 x 10 years stays within memory


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
    """Bulk-load `repos` repositories with up to `years` of history ending on `end`, and the rule group
    `bench` of all of them; returns row counts."""
    rng = np.random.default_rng(2017)
    start = end - timedelta(days=365 * years)
    days = pd.date_range(start, end, freq="D")
    # Most repositories exist from the start; a quarter are created later (the group's joins per period).
    created = np.where(rng.random(repos) < 0.75, 0, rng.integers(0, len(days) - 30, repos))
    # Popularity is heavy-tailed: a few repositories get hundreds of stars a day, most a handful a week.
    rates = rng.lognormal(mean=-0.5, sigma=1.5, size=repos)
    counts = dict.fromkeys(("repositories", "history_daily", "history_weekly", "snapshots"), 0)
    for first in range(0, repos, CHUNK):
        block = np.arange(first, min(repos, first + CHUNK))
        for table, frame in _chunk(rng, block, created[block], rates[block], days, end):
            _copy(engine, table, frame)
            counts[table] += len(frame)
    now = datetime.now(UTC)
    with transaction(session_factory(engine)) as session:
        # COPY bypasses the store functions that keep the monthly rollups in step: rebuild them once.
        rebuild_monthly(session)
        rebuild_report_rollups(session)
        save_group_rule(session, GROUP, GroupRule("topic", GROUP, min_stars=GROUP_MIN_STARS), "cli", now)
    members = pd.DataFrame(
        {"group_name": GROUP, "repo_id": np.arange(1, repos + 1), "joined_on": now.date().isoformat()}
    )
    members["fixed"] = False
    _copy(engine, "group_members", members)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    # What a collect or backfill does after writing: pack the monthly report values (month_values).
    began = time.perf_counter()
    packed = refresh_month_values(session_factory(engine), end + timedelta(days=1))
    print(f"packed the monthly values of {packed:,} repositories in {time.perf_counter() - began:.1f}s")
    return counts


def _chunk(
    rng: np.random.Generator,
    block: np.ndarray[Any, np.dtype[np.int64]],
    created: np.ndarray[Any, np.dtype[np.int64]],
    rates: np.ndarray[Any, np.dtype[np.float64]],
    days: pd.DatetimeIndex,
    end: date,
) -> list[tuple[str, pd.DataFrame]]:
    """The rows of one block of repositories (0-based `block`; ids are one more), table by table."""
    ids = block + 1
    alive = np.arange(len(days))[np.newaxis, :] >= created[:, np.newaxis]  # repositories x days
    names = pd.DataFrame(
        {
            "id": ids,
            "github_id": ids + 10_000_000,
            "full_name": [f"owner{i}/repo{i}" for i in ids],
            "created_at": [days[c].strftime("%Y-%m-%dT%H:%M:%S+00:00") for c in created],
            "tracked": True,
            "archived": False,
            "added_at": datetime.now(UTC).isoformat(),
        }
    )
    names["name_key"] = names["full_name"].str.lower()
    out = [("repositories", names)]
    totals = np.zeros((len(block), 3), dtype=np.int64)
    labels = np.asarray(days.strftime("%Y-%m-%d"), dtype=object)
    for column, (metric, share) in enumerate((("stars", 1.0), ("forks", 0.2), ("contributors", 0.02))):
        values = rng.poisson(np.outer(rates * share, np.ones(len(days)))) * alive
        repo_idx, day_idx = np.nonzero(values)
        totals[:, column] = values.sum(axis=1)
        daily = {"repo_id": ids[repo_idx], "metric": metric, "day": labels[day_idx]}
        frame = pd.DataFrame(daily | {"value": values[repo_idx, day_idx], "source": "bench"})
        out.append(("history_daily", frame))
    sundays = days[days.day_of_week == 6]
    commits = rng.poisson(np.outer(rates * 3, np.ones(len(sundays))))
    keep = (np.searchsorted(days, sundays)[np.newaxis, :] >= created[:, np.newaxis]).ravel()
    weekly = pd.DataFrame(
        {
            "repo_id": np.repeat(ids, len(sundays)),
            "metric": "commits",
            "week_start": np.tile(sundays.strftime("%Y-%m-%d"), len(block)),
            "value": commits.ravel(),
            "source": "bench",
        }
    )
    out.append(("history_weekly", weekly[keep]))
    # Weekly snapshots on Saturdays: observed totals a little above the reconstruction (unstars etc.).
    saturdays = (sundays + pd.Timedelta(days=6))[sundays + pd.Timedelta(days=6) <= pd.Timestamp(end)]
    fraction = np.linspace(0.0, 1.0, len(saturdays))
    keep = (np.searchsorted(days, saturdays)[np.newaxis, :] >= created[:, np.newaxis]).ravel()
    snap = pd.DataFrame(
        {
            "repo_id": np.repeat(ids, len(saturdays)),
            "observed_day": np.tile(saturdays.strftime("%Y-%m-%d"), len(block)),
            "observed_at": np.tile(
                (saturdays + pd.Timedelta(hours=12)).strftime("%Y-%m-%d %H:%M:%S+00"), len(block)
            ),
            "stars": (np.outer(totals[:, 0], fraction) * 1.01).astype(np.int64).ravel(),
            "forks": np.outer(totals[:, 1], fraction).astype(np.int64).ravel(),
            "watchers": 1,
            "open_issues": 1,
            "contributors": np.outer(totals[:, 2], fraction).astype(np.int64).ravel(),
            "archived": False,
        }
    )
    out.append(("snapshots", snap[keep]))
    return out


@contextmanager
def filled_database(admin_url: str, repos: int, years: int, keep: bool = False) -> Iterator[str]:
    """A new database on the server of `admin_url`, migrated and filled (`fill`, ending yesterday); its URL
    is printed when kept, else it is dropped after the block."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"collector_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        began = time.perf_counter()
        counts = fill(engine, repos, years, datetime.now(UTC).date() - timedelta(days=1))
        print(f"loaded {counts} in {time.perf_counter() - began:.1f}s", flush=True)
        if keep:
            print(f"kept: --db-url {url}", flush=True)
        engine.dispose()
        yield url
    finally:
        engine.dispose()
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _median_seconds(action: Callable[[], T], runs: int) -> tuple[float, T]:
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings), result


def cases(end: date, years: int) -> dict[str, tuple[dict[str, Any], str | None, tuple[str, ...]]]:
    """The reports timed, by label: options for parse_request, the format whose default cap applies
    (None: none) and the formats rendered."""
    since = (end - timedelta(days=365 * years)).strftime("%Y-%m")
    at = (end - timedelta(days=400)).isoformat()
    files = ("csv", "json", "markdown", "html")
    trend, group, ranking = {"since": since}, {"since": since, "group": GROUP}, {"at": at}
    out: dict[str, tuple[dict[str, Any], str | None, tuple[str, ...]]] = {}
    for label, options in (
        (f"monthly trend since {since}", trend),
        (f"monthly trend since {since} of group {GROUP} (totals, movers, joins)", group),
        (f"ranking at {at}", ranking),
    ):
        out[f"{label}: terminal (top {TERMINAL_ROWS})"] = (options, "table", ("table",))
        out[f"{label}: --top 50"] = ({**options, "top": 50}, None, FORMATS)
        out[f"{label}: every row"] = (options, None, files)
    return out


def time_reports(engine: Engine, end: date, years: int, runs: int, render: bool) -> None:
    """Print the median build (and render) times of every case."""
    sessions = session_factory(engine)
    today = datetime.now(UTC).date()
    for label, (options, capped, formats) in cases(end, years).items():
        request = parse_request(options, today)
        if capped is not None:
            request = cap_for_format(request, capped)

        def build(request: ReportRequest = request) -> Report:
            with sessions() as session:
                return make_report(session, request, Config())

        seconds, report = _median_seconds(build, runs)
        line = f"{label}: query+tables {seconds:.3f}s (median of {runs}, {len(report.table):,} rows)"
        if render:
            renders = {fmt: _median_seconds(partial(render_report, report, fmt), runs)[0] for fmt in formats}
            line += "; render " + ", ".join(f"{fmt} {s:.3f}s" for fmt, s in renders.items())
        print(line, flush=True)


def main() -> None:
    """Create, fill, time, drop (or time an existing database)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pg-url", default=DEFAULT_SERVER, help="admin URL of the PostgreSQL server")
    parser.add_argument("--repos", type=int, default=1000, help="repositories to load (e.g. 1000 or 10000)")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the filled database and print its URL")
    parser.add_argument("--db-url", help="time this database, filled by an earlier --keep run, as it is")
    parser.add_argument("--no-render", action="store_true", help="time building the reports only")
    args = parser.parse_args()
    end = datetime.now(UTC).date() - timedelta(days=1)
    if args.db_url:
        engine = make_engine(args.db_url)
        try:
            time_reports(engine, end, args.years, args.runs, not args.no_render)
        finally:
            engine.dispose()
        return
    with filled_database(args.pg_url, args.repos, args.years, keep=args.keep) as url:
        engine = make_engine(url)
        try:
            time_reports(engine, end, args.years, args.runs, not args.no_render)
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
