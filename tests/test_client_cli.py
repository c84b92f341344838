"""`collector repos add` resolves names against GitHub (a loopback simulator here) before tracking them."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from tests.conftest import run_cli


def cli(cwd: Path, base: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, {"GITHUB_API_URL": base, "GITHUB_TOKEN": "cli-token"}, *args, timeout=120)


def test_repos_add_stores_canonical_name_and_id_and_refuses_unknown_names(tmp_path: Path) -> None:
    scenario = load_scenario("frameworks", today=date(2026, 11, 20))
    keras = next(r for r in scenario.repos if r.full_name == "keras-team/keras")
    app = SimulatorApp(scenario)
    with running_simulator(app) as base:
        assert cli(tmp_path, base, "db", "upgrade").returncode == 0
        added = cli(
            tmp_path, base, "repos", "add", "fchollet/keras", "nobody/nothing-here", "bad/..", "BVLC/caffe"
        )
        again = cli(tmp_path, base, "repos", "add", "keras-team/keras")
        listed = cli(tmp_path, base, "repos", "list")

    assert added.returncode == 2
    assert "tracking: keras-team/keras (requested as fchollet/keras)" in added.stdout
    assert "tracking: BVLC/caffe" in added.stdout
    errors = added.stderr.strip().splitlines()
    assert len(errors) == 2
    assert any("nobody/nothing-here was not found on GitHub" in line for line in errors)
    assert any(line.startswith("error: invalid repository name") for line in errors)

    assert again.returncode == 0 and "already tracked: keras-team/keras" in again.stdout
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert set(lines) == {"BVLC/caffe", "keras-team/keras"}
    assert (
        f"id={keras.github_id}" in lines["keras-team/keras"]
        and "formerly fchollet/keras" in lines["keras-team/keras"]
    )
    assert "cli-token" not in added.stdout + added.stderr
    assert all(h == "Bearer cli-token" for h in app.stats.authorization_headers)
