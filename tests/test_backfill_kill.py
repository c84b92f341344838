"""kill -9 a backfill at random points, five times in a row, then let it finish: the store must equal an
uninterrupted run's, row for row (real PostgreSQL, the simulator as a loopback server)."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from collector.store.engine import make_engine
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from tests.conftest import PgServer, cli_env, run_cli, unpaced

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

SCENARIO = "synthetic-30"

# Every row a backfill writes, keyed by GitHub ids (surrogate ids differ between databases).
DUMPS = {
    "history_daily": "SELECT r.github_id, h.metric, h.day, h.value, h.source FROM history_daily h "
    "JOIN repositories r ON r.id = h.repo_id ORDER BY 1, 2, 3",
    "history_weekly": "SELECT r.github_id, h.metric, h.week_start, h.value, h.source FROM history_weekly h "
    "JOIN repositories r ON r.id = h.repo_id ORDER BY 1, 2, 3",
    "forks": "SELECT r.github_id, f.fork_github_id, f.created_at FROM forks f "
    "JOIN repositories r ON r.id = f.repo_id ORDER BY 1, 2",
    "contributor_identities": "SELECT r.github_id, c.identity, c.first_commit_at "
    "FROM contributor_identities c JOIN repositories r ON r.id = c.repo_id ORDER BY 1, 2",
    "series_state": "SELECT r.github_id, s.series, s.status, s.cursor, s.covered_from, s.covered_to, "
    "s.detail FROM series_state s JOIN repositories r ON r.id = s.repo_id ORDER BY 1, 2",
}


def env_for(base: str, url: str) -> dict[str, str]:
    return cli_env({"GITHUB_API_URL": base, "GITHUB_TOKEN": "kill-test-token", "COLLECTOR_DATABASE_URL": url})


def prepare(cwd: Path, env: dict[str, str], names: list[str]) -> None:
    assert run_cli(cwd, env, "db", "upgrade").returncode == 0
    added = run_cli(cwd, env, "repos", "add", *names)
    assert added.returncode == 0, added.stderr


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        out = {name: [tuple(row) for row in conn.execute(text(sql))] for name, sql in DUMPS.items()}
    engine.dispose()
    return out


@pytest.fixture
def two_databases(pg_server: PgServer) -> Iterator[tuple[str, str]]:
    urls = (pg_server.create_database(), pg_server.create_database())
    yield urls
    for url in urls:
        pg_server.drop_database(url)


def test_killed_five_times_then_finished_equals_uninterrupted(
    tmp_path: Path, two_databases: tuple[str, str]
) -> None:
    scenario = load_scenario(SCENARIO)
    names = [r.full_name for r in scenario.repos if r.status == "ok"]
    app = SimulatorApp(scenario, latency_ms=8, points_per_minute=1_000_000)
    clean_url, killed_url = two_databases
    unpaced(tmp_path)
    with running_simulator(app) as base:
        clean_env, killed_env = env_for(base, clean_url), env_for(base, killed_url)
        prepare(tmp_path, clean_env, names)
        prepare(tmp_path, killed_env, names)

        started = time.monotonic()
        clean = run_cli(tmp_path, clean_env, "backfill")
        duration = time.monotonic() - started
        assert clean.returncode == 0, clean.stderr[-2000:]

        rng = random.Random(20170103)
        kills = 0
        for _ in range(5):
            proc = subprocess.Popen(
                [sys.executable, "-m", "collector.cli", "backfill"],
                cwd=tmp_path,
                env=killed_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            # Past start-up (imports, migrations check), somewhere inside the work. Each attempt resumes
            # where the last one was killed, so kills land within the first 30% of an uninterrupted run's
            # time: three attempts cannot finish the work between them, and at least three are killed.
            time.sleep(rng.uniform(1.2, max(1.5, duration * 0.3)))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
        assert kills >= 3, f"the backfill ended before most kills ({duration:.1f}s uninterrupted)"
        finish = run_cli(tmp_path, killed_env, "backfill")
        assert finish.returncode == 0, finish.stderr[-2000:]

    clean_rows, killed_rows = dump(clean_url), dump(killed_url)
    engine = make_engine(killed_url)
    with engine.connect() as conn:
        runs = dict(conn.execute(text("SELECT status, COUNT(*) FROM runs GROUP BY status")).all())
    engine.dispose()
    # No run is left "running": the next attempt closed each killed one as interrupted. A kill during
    # start-up, before the run was recorded, leaves no row; a kill that lands after the run was closed
    # (while the process exits) leaves an ok one. The attempts that ended before their kill are ok too.
    assert runs.get("running", 0) == 0, runs
    assert 1 <= runs.get("interrupted", 0) <= kills, runs
    assert 1 + 5 - kills <= runs.get("ok", 0) <= 1 + 5 - runs["interrupted"], runs
    assert sum(len(rows) for rows in clean_rows.values()) > 1000  # the comparison covers real work
    for table in DUMPS:
        assert killed_rows[table] == clean_rows[table], table
