"""Several `collector backfill` processes at once on one PostgreSQL (issue 18, item 5). Three leased ones,
one with its clock 12 minutes ahead (libfaketime) and one killed with SIGKILL mid-run and started again;
and two given the same repositories by name (no leases: the checkpoint compare-and-set alone). Every
daily and weekly value must equal a single process's run: no page counted twice, none lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from collector.store.engine import make_engine
from collector.testing.model import Scenario
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from tests.clock_skew import clock_ahead_env
from tests.conftest import PgServer, cli_env, run_cli, unpaced
from tests.test_backfill_kill import env_for, prepare

# Whole backfills of the scenario, several processes at once: more than the default timeout.
pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.timeout(900)]

# The 2017 frameworks but TensorFlow: commit walks of 13 to 31 pages, long enough for two processes'
# walks of one repository to overlap (synthetic repositories' walks are mostly one page).
FULL = load_scenario("frameworks")
SCENARIO = Scenario(FULL.name, [r for r in FULL.repos if r.full_name != "tensorflow/tensorflow"], FULL.today)
VALUES = {
    "daily": "SELECT r.github_id, h.metric, h.day, h.value FROM history_daily h "
    "JOIN repositories r ON r.id = h.repo_id",
    "weekly": "SELECT r.github_id, h.metric, h.week_start, h.value FROM history_weekly h "
    "JOIN repositories r ON r.id = h.repo_id",
}
NAMES = [r.full_name for r in SCENARIO.repos if r.status == "ok"]


def values(url: str) -> tuple[dict[tuple[Any, ...], int], dict[str, int]]:
    """Every daily and weekly value by (kind, GitHub id, metric, day), and the runs by status."""
    engine = make_engine(url)
    with engine.connect() as conn:
        out = {(kind, *row[:3]): row[3] for kind, sql in VALUES.items() for row in conn.execute(text(sql))}
        runs = dict(conn.execute(text("SELECT status, COUNT(*) FROM runs GROUP BY status")).all())
    engine.dispose()
    return out, runs


def compare(expected: dict[tuple[Any, ...], int], got: dict[tuple[Any, ...], int], what: str) -> int:
    """How many values differ (missing and extra ones included); prints the numbers."""
    keys = expected.keys() | got.keys()
    wrong = sum(1 for k in keys if expected.get(k) != got.get(k))
    doubled = sum(1 for k, v in expected.items() if v and got.get(k) == 2 * v)
    print(f"\n{what}: {len(keys)} values compared, {wrong} wrong ({doubled} doubled)")
    assert len(keys) > 1000  # the comparison covers real work
    return wrong


def start(cwd: Path, env: dict[str, str], *names: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "collector.cli", "backfill", *names],
        cwd=cwd,
        env=cli_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclass
class Single:
    values: dict[tuple[Any, ...], int]
    duration: float


def _app() -> SimulatorApp:
    return SimulatorApp(
        SCENARIO, latency_ms=8, points_per_minute=1_000_000, graphql_points_per_minute=1_000_000
    )


@pytest.fixture(scope="module")
def single(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Single]:
    """One process's backfill of the scenario: what every concurrent run must store."""
    url, cwd = pg_server.create_database(), tmp_path_factory.mktemp("single")
    unpaced(cwd)
    with running_simulator(_app()) as base:
        env = env_for(base, url)
        prepare(cwd, env, NAMES)
        started = time.monotonic()
        done = run_cli(cwd, env, "backfill")
        duration = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    yield Single(values(url)[0], duration)
    pg_server.drop_database(url)


@pytest.fixture
def shared(pg_server: PgServer) -> Iterator[str]:
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


def test_three_backfills_at_once_one_clock_ahead_one_killed_store_one_run(
    tmp_path: Path, single: Single, shared: str
) -> None:
    ahead = clock_ahead_env("+12m")
    unpaced(tmp_path)
    with running_simulator(_app()) as base:
        env = env_for(base, shared)
        prepare(tmp_path, env, NAMES)
        plain, skewed, killed = start(tmp_path, env), start(tmp_path, env | ahead), start(tmp_path, env)
        time.sleep(max(1.5, single.duration * 0.3))  # past start-up, inside the work
        assert killed.poll() is None, "the backfill to kill ended before the kill"
        os.kill(killed.pid, signal.SIGKILL)
        killed.communicate(timeout=30)
        restarted = start(tmp_path, env)
        outcomes = {
            name: (proc.communicate(timeout=600)[1], proc.returncode)
            for name, proc in (("plain", plain), ("clock ahead", skewed), ("restarted", restarted))
        }
    for name, (err, code) in outcomes.items():
        assert code == 0, f"{name}: exit {code}: {err[-2000:]}"
    got, runs = values(shared)
    assert compare(single.values, got, f"three leased backfills ({single.duration:.1f}s alone)") == 0
    assert runs.get("running", 0) == 0  # the killed process's run was closed as interrupted
    assert runs.get("interrupted", 0) <= 1  # none when the kill landed before its run began


def test_two_backfills_of_the_same_named_repositories_store_one_run(
    tmp_path: Path, single: Single, shared: str
) -> None:
    unpaced(tmp_path)
    with running_simulator(_app()) as base:
        env = env_for(base, shared)
        prepare(tmp_path, env, NAMES)
        both = [start(tmp_path, env, *NAMES), start(tmp_path, env, *NAMES)]
        outcomes = [(proc.communicate(timeout=600)[1], proc.returncode) for proc in both]
        # Where one process found the checkpoint moved by the other, it stopped that series and said so;
        # a later run resumes from the stored checkpoint.
        for err, code in outcomes:
            assert code == 0 or "another process advanced" in err, err[-2000:]
        again = run_cli(tmp_path, env, "backfill", *NAMES)
        assert again.returncode == 0, again.stderr[-2000:]
    got, _ = values(shared)
    stopped = sum(err.count("another process advanced") for err, _ in outcomes)
    print(f"\nnamed backfills: {stopped} series stopped because the other process had advanced them")
    assert compare(single.values, got, "two named backfills") == 0
