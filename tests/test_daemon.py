"""End to end: `collector daemon` as a real process, the simulator as a loopback server, real PostgreSQL.

Issue 4's "Done when" for the daemon and issue 7's restart fault: a signal mid-pass stops it within 10 s
with nothing half-written; two daemons on one PostgreSQL collect every repository exactly once per cycle;
a PostgreSQL restart under it is logged once and recovered from; report jobs write their files; logs are
one parseable line per event (key=value or JSON) and never show the token.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from collector.store import migrate
from collector.store.engine import make_engine
from collector.testing.app_auth import SimApp, make_test_app
from collector.testing.model import Scenario
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimResponse, SimulatorApp
from collector.testing.transport import running_simulator
from tests.conftest import UNPACED_CLIENT, PgServer, cli_env, run_cli

pytestmark = pytest.mark.postgres

TOKEN = "ghp_DaemonE2Etoken0123456789abcdefXYZ"
STOP_LIMIT = 10.0  # seconds from the signal to the exit (issue 4)
Event = dict[str, Any]


class CountingSimulator(SimulatorApp):
    """The simulator, also counting answers per path, so a test can tell which repository was asked."""

    def __init__(self, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(scenario, **kwargs)
        self.paths: Counter[tuple[str, str, int]] = Counter()
        self._paths_lock = threading.Lock()

    def handle(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        *,
        client_ip: str = "127.0.0.1",
    ) -> SimResponse:
        """Answer as the simulator does, and count (method, path, status)."""
        resp = super().handle(method, url, headers, body, client_ip=client_ip)
        with self._paths_lock:
            self.paths[(method, urlsplit(url).path, resp.status)] += 1
        return resp


# --- log lines ------------------------------------------------------------------------------------------

_KV_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s"=]+)')


def parse_line(line: str, fmt: str) -> Event:
    """One log line as a dict; ValueError unless it is exactly one well-formed event."""
    if fmt == "json":
        value = json.loads(line)
        if not isinstance(value, dict):
            raise ValueError(f"not a JSON object: {line!r}")
        fields: Event = value
    else:
        fields, pos = {}, 0
        while pos < len(line):
            match = _KV_FIELD.match(line, pos)
            if match is None:
                raise ValueError(f"not key=value at {pos}: {line!r}")
            raw = match.group(2)
            fields[match.group(1)] = json.loads(raw) if raw.startswith('"') else raw
            pos = match.end()
            if pos < len(line):
                if line[pos] != " ":
                    raise ValueError(f"fields not separated by one space at {pos}: {line!r}")
                pos += 1
    if not {"ts", "level", "event"} <= set(fields):
        raise ValueError(f"missing ts, level or event: {line!r}")
    return fields


class DaemonProcess:
    """`collector daemon` in a subprocess; its stderr is read line by line as it comes."""

    def __init__(self, cwd: Path, env: dict[str, str], fmt: str = "kv") -> None:
        full = cli_env({**env, "COLLECTOR_LOG_FORMAT": fmt})
        self.fmt = fmt
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "collector.cli", "daemon", "--listen", "127.0.0.1:0"],
            cwd=cwd,
            env=full,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.stdout = ""
        self._readers = [
            threading.Thread(target=self._read_stderr, daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        self.stdout = self.proc.stdout.read()

    def events(self) -> list[Event]:
        """The events logged so far (lines that do not parse are left to `check_log`)."""
        out = []
        with self.changed:
            lines = list(self.lines)
        for line in lines:
            try:
                out.append(parse_line(line, self.fmt))
            except ValueError:
                continue
        return out

    def named(self, name: str, **fields: Any) -> list[Event]:
        """The logged events called `name` whose fields include `fields`."""
        return [
            e for e in self.events() if e["event"] == name and all(e.get(k) == v for k, v in fields.items())
        ]

    def wait_for(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        """Wait until `ready()` (re-checked on every new line and every 0.1 s), else fail with the log."""
        deadline = time.monotonic() + timeout
        while not ready():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                pytest.fail(f"{what}: not within {timeout}s (exit {self.proc.poll()}); log:\n{self.tail()}")
            with self.changed:
                self.changed.wait(min(0.1, remaining))

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> tuple[int, float]:
        """Send `sig`; returns the exit code and the seconds it took to exit."""
        started = time.monotonic()
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=STOP_LIMIT + 20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the daemon did not exit after {sig.name}; log:\n{self.tail()}")
        elapsed = time.monotonic() - started
        for reader in self._readers:
            reader.join(timeout=5)
        return code, elapsed

    def kill(self) -> None:
        """Make sure the process is gone and its pipes closed (test teardown, also after a failure)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for reader in self._readers:
            reader.join(timeout=5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()

    def tail(self, n: int = 40) -> str:
        with self.changed:
            return "\n".join(self.lines[-n:])

    def check_log(self) -> list[Event]:
        """Every stderr line is one event in the chosen format, and the token shows nowhere."""
        with self.changed:
            lines = list(self.lines)
        assert lines
        events = []
        for line in lines:
            try:
                events.append(parse_line(line, self.fmt))
            except ValueError as exc:
                pytest.fail(f"a log line is not one {self.fmt} event: {exc}\n{self.tail()}")
        failed = [e for e in events if e["event"] == "job_failed" or e["level"] == "critical"]
        assert not failed, self.tail()
        everything = "\n".join(lines) + self.stdout
        assert TOKEN not in everything and TOKEN[4:20] not in everything
        return events


# --- the world: a simulator, a PostgreSQL database, a config ---------------------------------------------


@dataclass
class World:
    cwd: Path
    env: dict[str, str]
    url: str
    engine: Engine
    app: CountingSimulator
    scenario: Scenario

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def value(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def daemon(self, fmt: str = "kv") -> DaemonProcess:
        return DaemonProcess(self.cwd, self.env, fmt)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(self.cwd, self.env, *args, timeout=120)


def away_from_midnight() -> None:
    """Daily schedules count from UTC midnight: do not let a test's first cycle straddle it."""
    now = datetime.now(UTC)
    to_midnight = (datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC) - now).seconds
    if to_midnight < 120:
        time.sleep(to_midnight + 1)


@contextmanager
def world(
    pg_server: PgServer,
    tmp_path: Path,
    scenario_name: str,
    *,
    latency_ms: float = 0,
    collect: str = "1d",
    extra_config: str = "",
    github_app: SimApp | None = None,
    token_seconds: float = 3600.0,
) -> Iterator[World]:
    """A migrated PostgreSQL database, a collector.toml tracking the scenario, the simulator serving it."""
    away_from_midnight()
    scenario = load_scenario(scenario_name)
    names = ", ".join(f'"{r.full_name}"' for r in scenario.repos)
    (tmp_path / "collector.toml").write_text(
        f'[groups]\nall = [{names}]\n\n[schedules]\ncollect = "{collect}"\nbackfill = "1d"\n{extra_config}'
        + UNPACED_CLIENT,
        encoding="utf-8",
    )
    url = pg_server.create_database()
    engine = make_engine(url)
    migrate.upgrade(engine)
    app = CountingSimulator(
        scenario,
        latency_ms=latency_ms,
        points_per_minute=100_000,
        github_app=github_app,
        installation_token_seconds=token_seconds,
    )
    try:
        with running_simulator(app) as base:
            env = {
                "GITHUB_API_URL": base,
                "GITHUB_TOKEN": TOKEN,
                "COLLECTOR_DATABASE_URL": url,
                "COLLECTOR_CONFIG": str(tmp_path / "collector.toml"),
            }
            if github_app is not None:  # an App beside the token: the pool holds both kinds
                key = tmp_path / "app.pem"
                key.write_text(github_app.private_key_pem, encoding="utf-8")
                env |= {"GITHUB_APP_ID": github_app.client_id, "GITHUB_APP_PRIVATE_KEY_FILE": str(key)}
            yield World(tmp_path, env, url, engine, app, scenario)
    finally:
        engine.dispose()
        pg_server.drop_database(url)


# --- 1. a signal during a pass -------------------------------------------------------------------------


@pytest.mark.parametrize(("sig", "fmt"), [(signal.SIGTERM, "kv"), (signal.SIGINT, "json")])
def test_a_signal_mid_pass_exits_0_within_10s_and_leaves_nothing_half_written(
    pg_server: PgServer, tmp_path: Path, sig: signal.Signals, fmt: str
) -> None:
    with world(pg_server, tmp_path, "synthetic-40", latency_ms=200) as w:
        n = len(w.scenario.repos)
        d = w.daemon(fmt)
        try:
            d.wait_for(
                "the first collect pass starts", lambda: bool(d.named("job_started", job="collect")), 30
            )
            # Mid-pass: some repositories saved, most still in hand.
            d.wait_for(
                "a few snapshots are written",
                lambda: w.value("SELECT count(*) FROM snapshots") >= 5,
                30,
            )
            code, elapsed = d.stop(sig)
        finally:
            d.kill()
        assert code == 0, d.tail()
        assert elapsed < STOP_LIMIT
        events = d.check_log()
        names = [e["event"] for e in events]
        assert names[-3:] == ["stopping", "job_cancelled", "daemon_stopped"], d.tail()
        assert "job_finished" not in names

        # The run is closed as interrupted; no run is left "running".
        runs = w.rows("SELECT job, status, finished_at, stats FROM runs")
        assert [(r.job, r.status) for r in runs] == [("collect", "interrupted")]
        assert runs[0].finished_at is not None
        # No lease is still held by the stopped daemon.
        assert w.value("SELECT count(*) FROM leases WHERE holder IS NOT NULL") == 0
        # Per repository, all or nothing: snapshot, run item, 52 weeks of commits and a done lease.
        snapped = {
            r.repo_id
            for r in w.rows(
                "SELECT repo_id FROM snapshots WHERE stars IS NOT NULL AND forks IS NOT NULL "
                "AND watchers IS NOT NULL AND open_issues IS NOT NULL AND contributors IS NOT NULL "
                "AND commits_52w IS NOT NULL"
            )
        }
        assert w.value("SELECT count(*) FROM snapshots") == len(snapped)  # every snapshot row complete
        assert 5 <= len(snapped) < n  # the signal came mid-pass
        ok_items = {r.repo_id for r in w.rows("SELECT repo_id FROM run_items WHERE status = 'ok'")}
        assert w.value("SELECT count(*) FROM run_items") == len(ok_items)
        weeks = {
            r.repo_id
            for r in w.rows(
                "SELECT repo_id FROM history_weekly WHERE metric = 'commits' GROUP BY repo_id "
                "HAVING count(*) >= 52"
            )
        }
        done = {r.repo_id for r in w.rows("SELECT repo_id FROM leases WHERE done_at IS NOT NULL")}
        assert snapped == ok_items == done
        # The interrupted run counts what it did, the batch cut short included (`collector status`).
        assert json.loads(runs[0].stats) == {"repositories": len(ok_items), "failed": 0}
        assert weeks <= snapped
        assert w.value("SELECT count(DISTINCT repo_id) FROM history_weekly") == len(weeks)

        # A following `collector collect` completes every repository.
        after = w.cli("collect")
        assert after.returncode == 0, after.stderr[-2000:]
        assert f"collected {n}/{n} repositories" in after.stdout
        assert w.value("SELECT count(*) FROM snapshots WHERE contributors IS NOT NULL") == n
        assert w.value("SELECT count(*) FROM repo_latest WHERE stars IS NULL") == 0
        assert TOKEN not in after.stdout + after.stderr


# --- 2. two daemons, one PostgreSQL ----------------------------------------------------------------------


def test_two_daemons_collect_every_repository_exactly_once_per_cycle(
    pg_server: PgServer, tmp_path: Path
) -> None:
    # 120 repositories: the collect job claims 50 per batch, so each daemon gets at least one batch.
    with world(pg_server, tmp_path, "synthetic-120", latency_ms=100) as w:
        n = len(w.scenario.repos)
        assert n > 100
        daemons = [w.daemon("json"), w.daemon("json")]
        try:
            for d in daemons:
                d.wait_for(
                    "the first collect cycle ends",
                    lambda d=d: bool(d.named("job_finished", job="collect")),  # type: ignore[misc]
                    90,
                )
            stops = [d.stop(signal.SIGTERM) for d in daemons]
        finally:
            for d in daemons:
                d.kill()
        assert [code for code, _ in stops] == [0, 0]
        assert all(elapsed < STOP_LIMIT for _, elapsed in stops)
        for d in daemons:
            d.check_log()

        runs = w.rows("SELECT id, worker, status FROM runs WHERE job = 'collect' ORDER BY id")
        assert len(runs) == 2 and {r.status for r in runs} == {"ok"}
        assert runs[0].worker != runs[1].worker
        per_repo = Counter(r.repo_id for r in w.rows("SELECT repo_id FROM run_items WHERE job = 'collect'"))
        tracked = {r.id for r in w.rows("SELECT id FROM repositories WHERE tracked")}
        assert len(tracked) == n
        assert set(per_repo) == tracked and set(per_repo.values()) == {1}
        per_run = Counter(r.run_id for r in w.rows("SELECT run_id FROM run_items"))
        assert all(per_run[r.id] > 0 for r in runs), per_run  # both daemons did some of the work
        assert sum(1 for e in daemons[0].named("job_finished", job="collect")) == 1
        reported = [d.named("job_finished", job="collect")[0]["repositories"] for d in daemons]
        assert sum(reported) == n

        # GitHub saw each repository's contributors asked for exactly once.
        asked = Counter(
            path
            for (method, path, _), count in w.app.paths.items()
            for _ in range(count)
            if method == "GET" and path.endswith("/contributors")
        )
        assert len(asked) == n and set(asked.values()) == {1}
        assert w.app.stats.count(template="/repos/{owner}/{repo}/contributors") == n


# --- 3. PostgreSQL restarted under a running daemon -------------------------------------------------------


def _cluster_version() -> str:
    return sorted(os.listdir("/etc/postgresql"))[0]


@dataclass(frozen=True)
class Cluster:
    """A PostgreSQL cluster of this test's own, so that restarting it disturbs no other test."""

    name: str
    port: int

    def ctl(self, action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", _cluster_version(), self.name, action],
            text=True,
            capture_output=True,
            timeout=60,
            check=False,
        )

    def ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        probe = ["pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-q"]
        while time.monotonic() < deadline:
            if subprocess.run(probe, check=False).returncode == 0:
                return True
            time.sleep(0.2)
        return False


@pytest.fixture
def own_cluster() -> Iterator[tuple[Cluster, PgServer]]:
    """A new cluster on a free port (trust auth, like the machine's), dropped afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cluster = Cluster(f"collector_test_{os.getpid()}", port)
    made = subprocess.run(
        ["pg_createcluster", _cluster_version(), cluster.name, "--port", str(port), "--", "--auth=trust"],
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    try:
        started = cluster.ctl("start")
        assert started.returncode == 0 and cluster.ready(30), started.stderr
        admin = create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", isolation_level="AUTOCOMMIT"
        )
        yield cluster, PgServer(admin)
        admin.dispose()
    finally:
        subprocess.run(
            ["pg_dropcluster", "--stop", _cluster_version(), cluster.name], capture_output=True, check=False
        )


@pytest.mark.skipif(
    not Path("/etc/postgresql").is_dir() or os.geteuid() != 0 or shutil.which("pg_createcluster") is None,
    reason="creates and restarts a PostgreSQL cluster: needs Debian's pg_createcluster and root",
)
def test_daemon_survives_a_postgresql_restart_and_the_next_cycle_is_complete(
    own_cluster: tuple[Cluster, PgServer], tmp_path: Path
) -> None:
    cluster, server = own_cluster
    # A pass is one GraphQL batch and two REST requests per repository (the repository and its releases
    # listing): at 250 ms and 4 in flight, about 4 s, long enough that the restart lands mid-pass (the
    # store must be lost while in use) and well inside the 10 s cycle.
    with world(server, tmp_path, "synthetic-30", latency_ms=250, collect="10s") as w:
        n = len(w.scenario.repos)
        d = w.daemon("kv")
        try:
            d.wait_for(
                "a first complete cycle", lambda: any(e["repositories"] == str(n) for e in _finished(d)), 30
            )
            first = w.value("SELECT max(id) FROM runs")
            # Restart mid-pass: the next run has saved a few repositories and holds the others' leases.
            d.wait_for("the next pass is under way", lambda: _items_of_newest_run(w, first) >= 3, 15)
            cut = w.value("SELECT max(id) FROM runs")
            # Down for 3 s, not a quick restart: a pass saves each repository in a short transaction of
            # its own, and a reconnect (pool_pre_ping) would hide a restart that fits between two.
            stop = cluster.ctl("stop")
            assert stop.returncode == 0, stop.stderr
            time.sleep(3)
            restart = cluster.ctl("start")
            assert restart.returncode == 0 and cluster.ready(30), restart.stderr
            server.admin.dispose()  # its pooled connections died with the restart
            w.engine.dispose()
            restarted = datetime.now(UTC)
            d.wait_for("store_recovered", lambda: bool(d.named("store_recovered")), 60)
            # The next cycle after the restart: a run with every repository ok. (A pass of 30 takes about
            # 4 s, inside the 10 s cycle; repositories a pass finishes after the next cycle began count as
            # done in that cycle, so a cycle shorter than a pass would never see a full run.)
            d.wait_for(
                "a complete run after the restart",
                lambda: _complete_run_after(w, restarted, n) is not None,
                50,
            )
            code, elapsed = d.stop(signal.SIGTERM)
        finally:
            d.kill()
        assert code == 0 and elapsed < STOP_LIMIT
        events = d.check_log()
        outage = [e for e in events if e["event"] == "store_unreachable"]
        assert len(outage) == 1, d.tail()  # once per outage, however many retries
        assert outage[0]["level"] == "error"
        assert len([e for e in events if e["event"] == "store_recovered"]) == 1
        # Nothing stays open: runs are closed, leases free.
        assert w.value("SELECT count(*) FROM runs WHERE status = 'running'") == 0, d.tail(80)
        # The run cut by the restart is closed as interrupted, with only part of the work.
        cut_run = w.rows("SELECT status, finished_at FROM runs WHERE id = :r", r=cut)[0]
        assert cut_run.status == "interrupted" and cut_run.finished_at is not None
        assert 3 <= w.value("SELECT count(*) FROM run_items WHERE run_id = :r", r=cut) < n
        # ... and nothing of it was saved once the server was back (its batch was stopped, not orphaned).
        last_item = w.value("SELECT max(finished_at) FROM run_items WHERE run_id = :r", r=cut)
        assert last_item < restarted
        assert w.value("SELECT count(*) FROM leases WHERE holder IS NOT NULL") == 0


def _items_of_newest_run(w: World, after: int) -> int:
    newest = w.value("SELECT max(id) FROM runs WHERE id > :after", after=after)
    if newest is None:
        return 0
    return int(w.value("SELECT count(*) FROM run_items WHERE run_id = :r", r=newest))


def _finished(d: DaemonProcess) -> list[Event]:
    return d.named("job_finished", job="collect")


def _complete_run_after(w: World, after: datetime, n: int) -> int | None:
    rows = w.rows(
        "SELECT r.id FROM runs r JOIN run_items i ON i.run_id = r.id "
        "WHERE r.job = 'collect' AND r.status = 'ok' AND r.started_at > :after AND i.status = 'ok' "
        "GROUP BY r.id HAVING count(*) = :n",
        after=after,
        n=n,
    )
    return rows[0].id if rows else None


# --- 4. report jobs ---------------------------------------------------------------------------------------


def test_a_report_job_writes_its_file_into_the_reports_dir(pg_server: PgServer, tmp_path: Path) -> None:
    report = '\n[reports.ranking]\noutput = "reports/ranking-{date}.csv"\ngroup = "all"\nschedule = "2s"\n'
    with world(pg_server, tmp_path, "synthetic-10", extra_config=report) as w:
        d = w.daemon("json")
        try:
            d.wait_for("the first collect cycle ends", lambda: bool(_finished(d)), 30)
            collected = _finished(d)[0]["ts"]
            # A report written after the collection, so it ranks every repository.
            d.wait_for(
                "a report after the collection",
                lambda: any(e["ts"] > collected for e in d.named("job_finished", job="report:ranking")),
                15,
            )
            code, _ = d.stop(signal.SIGTERM)
        finally:
            d.kill()
        assert code == 0
        d.check_log()
        files = list((tmp_path / "reports").glob("ranking-*.csv"))
        assert [f.name for f in files] == [f"ranking-{datetime.now(UTC).date().isoformat()}.csv"]
        body = files[0].read_text(encoding="utf-8")
        for repo in w.scenario.repos:
            assert repo.full_name in body


# --- GitHub App credentials whose tokens expire during the run (issue 14) ------------------------------


def test_a_daemon_with_app_credentials_renews_its_tokens_and_keeps_collecting(
    pg_server: PgServer, tmp_path: Path
) -> None:
    github_app = make_test_app(installation_ids=(5550001, 5550002))
    with world(
        pg_server, tmp_path, "synthetic-30", collect="8s", github_app=github_app, token_seconds=6
    ) as w:
        n = len(w.scenario.repos)
        d = w.daemon()
        try:
            d.wait_for("four collect passes", lambda: len(_finished(d)) >= 4, 120)
            code, _ = d.stop()
        finally:
            d.kill()
        assert code == 0
        events = d.check_log()
        finished = [e for e in events if e["event"] == "job_finished" and e["job"] == "collect"]
        assert all(int(e["failed"]) == 0 for e in finished), d.tail()
        assert w.value("SELECT count(*) FROM repo_latest WHERE stars IS NOT NULL") == n
        issued = w.app.stats.installation_tokens_issued
        assert issued >= 4  # both installations, renewed as the 6-second tokens ran out
        assert w.app.stats.expired_token_refusals <= issued - 2  # at most one per renewal
        status = w.cli("status")
        assert "installation 5550001" in status.stdout and "installation 5550002" in status.stdout
        secrets = {h.removeprefix("Bearer ") for h in w.app.stats.authorization_headers}
        secrets |= {github_app.private_key_pem.strip()}
        logged = "\n".join(d.lines) + d.stdout + status.stdout + status.stderr
        stored = "\n".join(
            str(r)
            for t in ("token_budgets", "http_cache", "runs", "run_items")
            for r in w.rows(f"SELECT * FROM {t}")  # noqa: S608
        )
        assert not [s[:12] for s in secrets if s in logged + stored]


def test_a_librarys_warning_is_logged_as_one_event_too(capsys: pytest.CaptureFixture[str]) -> None:
    """psycopg warns through the root logger when a connection drops mid-pipeline; it must stay parseable."""
    import logging

    from collector.logs import setup_logging

    for fmt in ("kv", "json"):
        setup_logging(fmt, secrets=["s3cret"])
        logging.getLogger("psycopg").warning("error ignored terminating %s: %s", "<Pipeline [BAD]>", "s3cret")
        lines = [line for line in capsys.readouterr().err.splitlines() if line]
        assert len(lines) == 1
        fields = parse_line(lines[0], fmt)
        assert fields["event"] == "library_log" and fields["source"] == "psycopg"
        assert fields["message"] == "error ignored terminating <Pipeline [BAD]>: ***"
