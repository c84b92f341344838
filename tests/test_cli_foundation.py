"""The CLI as a user runs it: a real subprocess in an empty working directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from tests.conftest import run_cli


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, env, *args, timeout=120)


def test_help_lists_commands(tmp_path: Path) -> None:
    out = run(tmp_path, "--help")
    assert out.returncode == 0
    assert "db" in out.stdout and "repos" in out.stdout


def test_upgrade_then_repos_round_trip_on_embedded_default(tmp_path: Path) -> None:
    with running_simulator(SimulatorApp(load_scenario("frameworks"))) as base:
        github = {"GITHUB_API_URL": base, "GITHUB_TOKEN": "foundation-token"}
        first = run(tmp_path, "db", "upgrade")
        assert first.returncode == 0, first.stderr
        assert "upgraded from revision none" in first.stdout
        assert (tmp_path / "collector.db").exists()
        second = run(tmp_path, "db", "upgrade")
        assert second.returncode == 0 and "up to date" in second.stdout

        added = run(
            tmp_path, "repos", "add", "tensorflow/tensorflow", "bad/..", "a b/c", "BVLC/caffe", env=github
        )
        assert added.returncode == 2
        assert "tensorflow/tensorflow" in added.stdout and "BVLC/caffe" in added.stdout
        errors = added.stderr.strip().splitlines()
        assert len(errors) == 2 and all(line.startswith("error: invalid repository name") for line in errors)

        listed = run(tmp_path, "repos", "list")
        assert [line.split()[0] for line in listed.stdout.splitlines()] == [
            "BVLC/caffe",
            "tensorflow/tensorflow",
        ]

        removed = run(tmp_path, "repos", "remove", "bvlc/caffe")
        assert removed.returncode == 0 and "history kept" in removed.stdout
        assert run(tmp_path, "repos", "list").stdout.split()[0] == "tensorflow/tensorflow"
        unknown = run(tmp_path, "repos", "remove", "nobody/nothing")
        assert unknown.returncode == 2 and "not tracked" in unknown.stderr


def test_store_not_migrated_says_what_to_run(tmp_path: Path) -> None:
    out = run(tmp_path, "repos", "list")
    assert out.returncode != 0
    assert "collector db upgrade" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_broken_config_exit_code_2(tmp_path: Path) -> None:
    (tmp_path / "collector.toml").write_text("[groups\n")
    out = run(tmp_path, "db", "upgrade")
    assert out.returncode == 2
    assert "collector.toml" in out.stderr and "not valid TOML" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_database_down_is_one_clear_line(tmp_path: Path) -> None:
    out = run(
        tmp_path, "db", "upgrade", env={"COLLECTOR_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}
    )
    assert out.returncode == 3
    assert "unreachable" in out.stderr and "COLLECTOR_DATABASE_URL" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.postgres
def test_upgrade_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    out = run(tmp_path, "db", "upgrade", env={"COLLECTOR_DATABASE_URL": pg_url})
    assert out.returncode == 0, out.stderr
    again = run(tmp_path, "db", "upgrade", env={"COLLECTOR_DATABASE_URL": pg_url})
    assert "up to date" in again.stdout
