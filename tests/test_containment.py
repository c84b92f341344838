"""Issue 18, items 2 and 6: a failure stays where it happened and is never shown as success.

- One repository whose value the store refuses fails alone: the others are collected, the pass is stored
  as partial, the command prints one line for it and exits 1, and its lease is released (due again), not
  done for the cycle.
- GitHub unreachable is an outage, named in words; a daemon that started while GitHub was unreachable
  stores no `ok` run, and once restarted with GitHub back it observes every repository within a minute.
- Only connection-level store errors are outages: a DataError is a failure of what it concerns.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError, ProgrammingError

from collector.domain import parse_repo_name
from collector.errors import StoreUnavailable
from collector.github.errors import NotFound, ServerError, Unreachable
from collector.github.transport_errors import describe_transport_error
from collector.jobs.outages import describe_failure, is_outage
from collector.store import migrate
from collector.store.engine import make_engine, session_factory
from collector.store.repos import save_tracked_name
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from tests.clock_skew import clock_ahead_env
from tests.conftest import UNPACED_CLIENT, PgServer, run_cli
from tests.test_daemon import DaemonProcess, world


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _transport_error(url: str) -> httpx.TransportError:
    async with httpx.AsyncClient(timeout=5) as client:
        try:
            await client.get(url)
        except httpx.TransportError as exc:
            return exc
    raise AssertionError(f"{url} answered")


def test_an_unreachable_github_is_named_in_words() -> None:
    port = _free_port()
    refused = asyncio.run(_transport_error(f"http://127.0.0.1:{port}/repos/a/b"))
    assert describe_transport_error(refused, f"http://127.0.0.1:{port}/x") == (
        f"connection refused by 127.0.0.1:{port}"
    )
    unknown = asyncio.run(_transport_error("https://api.no-such-host.invalid/repos/a/b"))
    assert describe_transport_error(unknown, "https://api.no-such-host.invalid/x") == (
        "name resolution failed for api.no-such-host.invalid"
    )


def test_only_connection_level_errors_are_outages() -> None:
    orig = Exception("value too long for type character varying(80)\nDETAIL: more")
    assert not is_outage(DataError("INSERT ...", {}, orig))
    assert not is_outage(IntegrityError("INSERT ...", {}, orig))
    assert not is_outage(ProgrammingError("SELECT ...", {}, orig))
    assert is_outage(OperationalError("SELECT 1", {}, Exception("connection refused")))
    assert is_outage(InterfaceError("SELECT 1", {}, Exception("connection already closed")))
    assert is_outage(StoreUnavailable("the store is down"))
    assert is_outage(Unreachable("GitHub unreachable: connection refused by 127.0.0.1:1"))
    assert not is_outage(ServerError("GET /x failed 5 times (502)"))
    assert not is_outage(NotFound("a/b not found"))
    # One line, the driver's first line, named as a refusal: never the SQL or its parameters.
    line = describe_failure(DataError("INSERT INTO x VALUES (%(v)s)", {"v": "secret-ish"}, orig))
    assert line == "the store refused it (Exception: value too long for type character varying(80))"


@pytest.mark.postgres
def test_a_value_the_store_refuses_fails_that_repository_alone(pg_server: PgServer, tmp_path: Path) -> None:
    scenario = load_scenario("synthetic-6")
    bad = scenario.repos[2]
    # Past PostgreSQL's integer: a DataError for this repository only. (GraphQL's Int refuses it first, so
    # the REST counters are used: no token.)
    bad.open_issues = 3_000_000_000
    url = pg_server.create_database()
    engine = make_engine(url)
    migrate.upgrade(engine)
    names = ", ".join(f'"{r.full_name}"' for r in scenario.repos)
    (tmp_path / "collector.toml").write_text(f"[groups]\nall = [{names}]\n{UNPACED_CLIENT}", encoding="utf-8")
    sim = SimulatorApp(scenario, points_per_minute=100_000)
    try:
        with running_simulator(sim) as base:
            env = {"GITHUB_API_URL": base, "COLLECTOR_DATABASE_URL": url}
            out = run_cli(tmp_path, env, "collect", timeout=180)
            assert out.returncode == 1, out.stderr
            assert "Traceback" not in out.stderr
            errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
            assert errors == [
                f"error: {bad.full_name}: the store refused it (NumericValueOutOfRange: integer out of range)"
            ], out.stderr
            assert out.stdout.startswith("collected 5/6 repositories;"), out.stdout
            with engine.connect() as conn:
                observed = set(
                    conn.exec_driver_sql(
                        "SELECT repo FROM repo_latest WHERE observed_at IS NOT NULL"
                    ).scalars()
                )
                assert observed == {r.full_name for r in scenario.repos} - {bad.full_name}
                run = conn.exec_driver_sql("SELECT id, status FROM runs WHERE job = 'collect'").one()
                assert run.status == "partial"
                items = conn.exec_driver_sql(
                    "SELECT r.full_name, i.status, i.error_kind, i.message FROM run_items i "
                    "JOIN repositories r ON r.id = i.repo_id WHERE i.run_id = %(run)s AND i.status <> 'ok'",
                    {"run": run.id},
                ).all()
                assert [(i.full_name, i.status, i.error_kind) for i in items] == [
                    (bad.full_name, "error", "store:NumericValueOutOfRange")
                ]
                # Released, not done for the cycle: the next pass (or a restart) takes it again.
                leases = dict(
                    conn.exec_driver_sql(
                        "SELECT r.full_name, l.done_at IS NOT NULL FROM leases l "
                        "JOIN repositories r ON r.id = l.repo_id WHERE l.job = 'collect'"
                    ).all()
                )
                assert leases == {r.full_name: r is not bad for r in scenario.repos}
            # GitHub (here: the simulator) no longer sends the value: the next pass collects it.
            bad.open_issues = 7
            again = run_cli(tmp_path, env, "collect", timeout=180)
            assert again.returncode == 0, again.stderr
            assert again.stdout.startswith("collected 6/6 repositories;"), again.stdout
    finally:
        engine.dispose()
        pg_server.drop_database(url)


@pytest.mark.postgres
def test_collect_with_github_unreachable_says_so_in_one_line_and_stores_a_failed_run(
    pg_server: PgServer, tmp_path: Path
) -> None:
    with world(pg_server, tmp_path, "synthetic-3") as w:
        port = _free_port()
        out = run_cli(w.cwd, {**w.env, "GITHUB_API_URL": f"http://127.0.0.1:{port}"}, "collect", timeout=180)
        assert out.returncode == 1, out.stderr
        assert "Traceback" not in out.stderr
        assert out.stderr.strip().splitlines()[-1] == (
            f"error: GitHub unreachable: connection refused by 127.0.0.1:{port}"
        ), out.stderr
        runs = w.rows("SELECT status, stats FROM runs WHERE job = 'collect'")
        assert [r.status for r in runs] == ["failed"]
        assert "connection refused" in str(runs[0].stats)
        assert w.value("SELECT count(*) FROM leases WHERE job = 'collect' AND done_at IS NOT NULL") == 0
        assert w.value("SELECT count(*) FROM run_items") == 0  # nobody is blamed for the outage


@pytest.mark.postgres
def test_a_daemon_started_while_github_is_unreachable_collects_everything_once_restarted(
    pg_server: PgServer, tmp_path: Path
) -> None:
    with world(pg_server, tmp_path, "synthetic-8", collect="6h") as w:
        n = len(w.scenario.repos)
        port = _free_port()
        w.env["GITHUB_API_URL"] = f"http://127.0.0.1:{port}"  # nothing listens there yet
        first = w.daemon()
        try:
            first.wait_for("the outage is logged", lambda: bool(first.named("github_unreachable")), 60)
            code, _ = first.stop()
        finally:
            first.kill()
        assert code == 0, first.tail()
        outage = first.named("github_unreachable")
        assert len(outage) == 1 and outage[0]["level"] == "warning", first.tail()
        assert outage[0]["error"] == f"GitHub unreachable: connection refused by 127.0.0.1:{port}"
        assert not first.named("job_finished", job="collect"), first.tail()
        statuses = {r.status for r in w.rows("SELECT status FROM runs WHERE job = 'collect'")}
        assert "ok" not in statuses and statuses, statuses
        assert w.value("SELECT count(*) FROM leases WHERE job = 'collect' AND done_at IS NOT NULL") == 0

        # GitHub is back (the simulator now answers on that port): the restarted daemon observes every
        # repository within a minute, in the same 6-hour cycle.
        with running_simulator(w.app, port=port):
            second = w.daemon()
            try:
                second.wait_for(
                    "every repository observed",
                    lambda: w.value("SELECT count(*) FROM repo_latest WHERE observed_at IS NOT NULL") == n,
                    60,
                )
                second.wait_for(
                    "the pass is logged", lambda: bool(second.named("job_finished", job="collect")), 30
                )
                code, _ = second.stop()
            finally:
                second.kill()
        assert code == 0, second.tail()
        finished = second.named("job_finished", job="collect")[0]
        assert (finished["repositories"], finished["failed"]) == (str(n), "0"), second.tail()
        assert w.value("SELECT status FROM runs WHERE job = 'collect' ORDER BY id DESC LIMIT 1") == "ok"


@pytest.mark.postgres
def test_two_daemons_write_each_report_once_per_cycle(pg_server: PgServer, tmp_path: Path) -> None:
    every = 10
    report = f'\n[reports.ranking]\noutput = "reports/ranking.csv"\ngroup = "all"\nschedule = "{every}s"\n'
    with world(pg_server, tmp_path, "synthetic-3", extra_config=report) as w:
        daemons = [w.daemon(), w.daemon()]
        try:
            for d in daemons:
                d.wait_for(
                    "the first collect ends", lambda d=d: bool(d.named("job_finished", job="collect")), 60
                )
            daemons[0].wait_for(
                "three report cycles",
                lambda: (
                    w.value("SELECT count(*) FROM runs WHERE job = 'report:ranking' AND status = 'ok'") >= 3
                ),
                6 * every,
            )
            codes = [d.stop()[0] for d in daemons]
        finally:
            for d in daemons:
                d.kill()
        assert codes == [0, 0]
        runs = w.rows(
            "SELECT started_at, status, worker FROM runs WHERE job = 'report:ranking' ORDER BY started_at"
        )
        cycles = [int(r.started_at.timestamp()) // every for r in runs]
        assert len(cycles) == len(set(cycles)), runs  # never two in one cycle
        # Each ended ok, or was interrupted by the stop at the end: none is left "running".
        assert {r.status for r in runs[:3]} == {"ok"} and {r.status for r in runs} <= {"ok", "interrupted"}
        skipped = [
            e for d in daemons for e in d.named("job_finished", job="report:ranking") if "skipped" in e
        ]
        assert skipped, "the other daemon never stood aside"


@pytest.mark.postgres
def test_a_value_the_store_refuses_in_a_command_is_one_line_and_debug_shows_the_traceback(
    pg_url: str, tmp_path: Path
) -> None:
    engine = make_engine(pg_url)
    migrate.upgrade(engine)
    with session_factory(engine).begin() as session:
        save_tracked_name(session, parse_repo_name("octo/hello"))
    with engine.begin() as conn:  # an operator's own rule the command does not know about
        conn.exec_driver_sql("ALTER TABLE packages ADD CONSTRAINT house_rule CHECK (name <> 'refused')")
    engine.dispose()
    env = {"COLLECTOR_DATABASE_URL": pg_url}
    out = run_cli(tmp_path, env, "packages", "add", "octo/hello", "pypi:refused")
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("error: the store refused it (CheckViolation: new row for relation"), line
    assert "INSERT" not in line  # neither the SQL nor its parameters
    debug = run_cli(tmp_path, env, "--debug", "packages", "add", "octo/hello", "pypi:refused")
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "CheckViolation" in debug.stderr


@pytest.mark.postgres
def test_a_daemon_whose_clock_runs_ahead_does_not_redo_the_cycle_others_finished(
    pg_server: PgServer, tmp_path: Path
) -> None:
    every = 600  # a 10-minute cycle; the second daemon's clock is one cycle ahead
    to_boundary = every - time.time() % every
    if to_boundary < 150:  # the test's minutes must stay in one cycle of the database's clock
        time.sleep(to_boundary + 1)
    with world(pg_server, tmp_path, "synthetic-4", collect="10m") as w:
        n = len(w.scenario.repos)
        first = w.daemon()
        try:
            first.wait_for("a pass", lambda: bool(first.named("job_finished", job="collect")), 60)
            assert first.stop()[0] == 0
        finally:
            first.kill()
        assert first.named("job_finished", job="collect")[0]["repositories"] == str(n)
        ahead = DaemonProcess(w.cwd, {**w.env, **clock_ahead_env("+10m")})
        try:
            ahead.wait_for("its pass", lambda: bool(ahead.named("job_finished", job="collect")), 60)
            assert ahead.stop()[0] == 0
        finally:
            ahead.kill()
        # By its own clock a new cycle has begun; by the store's, every repository is done for this one.
        assert ahead.named("job_finished", job="collect")[0]["repositories"] == "0", ahead.tail()
        assert w.value("SELECT count(*) FROM snapshots") == n


@pytest.mark.postgres
def test_backfill_with_github_unreachable_ends_the_pass_in_one_line_and_blames_no_repository(
    pg_server: PgServer, tmp_path: Path
) -> None:
    with world(pg_server, tmp_path, "synthetic-3") as w:
        assert w.cli("collect").returncode == 0  # resolved: the backfill goes straight to its series
        port = _free_port()
        out = run_cli(w.cwd, {**w.env, "GITHUB_API_URL": f"http://127.0.0.1:{port}"}, "backfill", timeout=300)
        assert out.returncode == 1, out.stderr
        assert "Traceback" not in out.stderr
        errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
        assert errors == [f"error: GitHub unreachable: connection refused by 127.0.0.1:{port}"], out.stderr
        assert [r.status for r in w.rows("SELECT status FROM runs WHERE job = 'backfill'")] != ["ok"]
        assert w.value("SELECT count(*) FROM run_items WHERE job = 'backfill'") == 0
        assert w.value("SELECT count(*) FROM leases WHERE job = 'backfill' AND done_at IS NOT NULL") == 0
