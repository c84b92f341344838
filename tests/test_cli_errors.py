"""Typos and bad settings as a user meets them: `collector` in a subprocess answers each with exactly one
line naming the problem and the fix, the documented exit code, no traceback, and no file left behind."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from collector.domain import make_group_rule
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.groups import save_group_rule
from tests.conftest import run_cli
from tests.test_service_http import start


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, env, *args, timeout=120)


def one_line(out: subprocess.CompletedProcess[str], code: int) -> str:
    """The single stderr line of a failed command, checked to be the whole story."""
    assert out.returncode == code, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    return lines[0]


def write_config(cwd: Path, body: str) -> Path:
    path = cwd / "collector.toml"
    path.write_text(body, encoding="utf-8")
    return path


# --- the config file: checked when it is read, by every command and the daemon ---------------------------


@pytest.mark.parametrize("command", [("status",), ("daemon",)])
def test_a_bad_report_job_stops_every_command_at_start(tmp_path: Path, command: tuple[str, ...]) -> None:
    config = write_config(tmp_path, '[reports.weekly]\noutput = "r.html"\nsince = "2017-13"\n')
    line = one_line(run(tmp_path, *command), 2)
    assert line == (
        f"error: {config}: key 'reports.weekly.since': '2017-13' is not a valid month "
        "(month must be in 1..12)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["collector.toml"]  # no store was made


def test_an_unknown_report_option_is_named_with_the_nearest(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[reports.weekly]\noutput = "r.html"\nsinse = "2017-01"\n')
    line = one_line(run(tmp_path, "status"), 2)
    assert line.startswith(
        f"error: {config}: unknown key 'reports.weekly.sinse'; did you mean 'reports.weekly.since'? "
        "expected one of "
    )


def test_a_client_typo_is_named_with_the_nearest_key(tmp_path: Path) -> None:
    # Every key's message is checked in test_settings_config.py; here, that the command shows it so.
    config = write_config(tmp_path, "[client]\nconcurency = 4\n")
    line = one_line(run(tmp_path, "status"), 2)
    assert line.startswith(
        f"error: {config}: unknown key 'client.concurency'; did you mean 'client.concurrency'? "
        "expected one of "
    )


def _store_with_rule_group(cwd: Path, group: str) -> None:
    """A store holding the rule group `group`, as `repos add --topic ... --group NAME` leaves it."""
    assert run(cwd, "db", "upgrade").returncode == 0
    engine = make_engine(f"sqlite:///{cwd / 'collector.db'}")
    try:
        with transaction(session_factory(engine)) as session:
            rule = make_group_rule("topic", "deep-learning")
            save_group_rule(session, group, rule, "cli", datetime.now(UTC))
    finally:
        engine.dispose()


def test_a_report_job_may_name_a_group_kept_only_in_the_store(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        '[reports.dl]\noutput = "dl.csv"\ngroup = "dl"\n[reports.typo]\noutput = "t.csv"\ngroup = "dll"\n',
    )
    _store_with_rule_group(tmp_path, "dl")
    out = run(tmp_path, "report", "--job", "dl")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "dl.csv").exists()
    # A group in neither place is refused when the job runs, naming the job and the groups there are.
    line = one_line(run(tmp_path, "report", "--job", "typo"), 2)
    assert line.startswith("error: reports.typo: group: 'dll' is not in the config or the store")
    assert "'dl'" in line and not (tmp_path / "t.csv").exists()


# --- the database URL ----------------------------------------------------------------------------------


def test_an_unsupported_database_names_the_supported_ones(tmp_path: Path) -> None:
    url = "mysql://user:hunter2@db.example/collector"
    line = one_line(run(tmp_path, "status", env={"COLLECTOR_DATABASE_URL": url}), 2)
    assert line == (
        "error: COLLECTOR_DATABASE_URL: mysql:// is not supported; collector stores its data in SQLite "
        "or PostgreSQL: use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def test_a_database_that_is_down_names_the_host_not_the_credentials(tmp_path: Path) -> None:
    url = "postgresql://reader:hunter2@127.0.0.1:1/metrics"
    for command in (("status",), ("db", "upgrade")):
        line = one_line(run(tmp_path, *command, env={"COLLECTOR_DATABASE_URL": url}), 3)
        assert line == (
            "error: the database at 127.0.0.1:1/metrics is unreachable (Connection refused); start it or "
            "fix COLLECTOR_DATABASE_URL"
        )


# --- read commands never create a store; a read-only store is said to be one --------------------------

READ_COMMANDS = [("status",), ("report",), ("repos", "list"), ("alerts", "list")]


@pytest.mark.parametrize("command", READ_COMMANDS)
def test_a_read_command_on_a_missing_store_creates_nothing(tmp_path: Path, command: tuple[str, ...]) -> None:
    line = one_line(run(tmp_path, *command), 2)
    store = tmp_path / "collector.db"
    assert line == f"error: no store at {store}: run `collector sync` (or `collector db upgrade`) first"
    assert list(tmp_path.iterdir()) == []


def test_a_read_command_on_a_store_leaves_it_as_it_was(tmp_path: Path) -> None:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    before = (tmp_path / "collector.db").read_bytes()
    for command in READ_COMMANDS:
        out = run(tmp_path, *command)
        assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["collector.db"]  # no -wal or -shm left either
    assert (tmp_path / "collector.db").read_bytes() == before


@pytest.fixture
def immutable_store(tmp_path: Path) -> Iterator[Path]:
    """A migrated SQLite store that nobody, root included, may write (`chattr +i`)."""
    assert run(tmp_path, "db", "upgrade").returncode == 0
    store = tmp_path / "collector.db"
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(store)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")  # permission bits do not stop root
    try:
        yield store
    finally:
        subprocess.run([chattr, "-i", str(store)], check=True)


def test_a_write_command_on_a_read_only_store_says_so(immutable_store: Path) -> None:
    cwd = immutable_store.parent
    for command in (("db", "upgrade"), ("repos", "remove", "a/b")):
        line = one_line(run(cwd, *command), 2)
        assert line == (
            f"error: {immutable_store} is read-only; make it writable (chmod u+w {immutable_store}) or point "
            "COLLECTOR_DATABASE_URL at a store this user may write"
        )
    # Reading it still works.
    out = run(cwd, "repos", "list")
    assert out.returncode == 0, out.stderr


def test_serve_without_a_store_is_not_ready_and_creates_none(tmp_path: Path) -> None:
    running, base = start(tmp_path, {}, "serve")
    try:
        assert httpx.get(base + "/healthz").status_code == 200
        assert httpx.get(base + "/readyz").status_code == 503
        assert httpx.get(base + "/metrics").status_code == 503
    finally:
        assert running.stop() == 0
    assert f"no store at {tmp_path / 'collector.db'}" in "".join(running.lines)  # the reason, in the log
    assert list(tmp_path.iterdir()) == []
