"""`collector packages` as a user runs it: [packages] checked at load time, add/list/remove, and suggest
reading manifests through GitHub's contents API (the simulator over a real loopback server)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from collector.domain import parse_repo_name
from collector.store import migrate
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.repos import save_tracked_name
from collector.testing.model import Scenario, SimRepo
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from tests.conftest import run_cli

TOKEN = "ghp_packagesCLItoken0123456789"


def sqlite_store(tmp_path: Path, *tracked: str) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with transaction(session_factory(engine)) as s:
        for name in tracked:
            save_tracked_name(s, parse_repo_name(name))
    engine.dispose()
    return {"COLLECTOR_DATABASE_URL": url}


def test_a_bad_packages_entry_is_one_line_naming_file_key_and_form(tmp_path: Path) -> None:
    config = tmp_path / "collector.toml"
    config.write_text('[packages]\n"acme/rocket" = ["pypi:rocket", "gem:rails"]\n', encoding="utf-8")
    out = run_cli(tmp_path, sqlite_store(tmp_path), "packages", "list")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"error: {config}: key 'packages.acme/rocket': 'gem:rails' is not a package; expected pypi:NAME or "
        "npm:NAME (e.g. pypi:tensorflow, npm:@tensorflow/tfjs)"
    ]
    config.write_text('[packages]\n"acme/rocket" = "pypi:rocket"\n', encoding="utf-8")
    out = run_cli(tmp_path, sqlite_store(tmp_path), "packages", "list")
    assert (
        out.returncode == 2 and "key 'packages.acme/rocket' is 'pypi:rocket'; expected a list" in out.stderr
    )


def test_add_list_remove(tmp_path: Path) -> None:
    env = sqlite_store(tmp_path, "acme/rocket")
    assert run_cli(tmp_path, env, "packages", "add", "acme/rocket", "pypi:Rocket_Science").stdout == (
        "added: acme/rocket pypi:rocket-science\n"
    )
    assert (
        "already there"
        in run_cli(tmp_path, env, "packages", "add", "acme/rocket", "pypi:rocket.science").stdout
    )
    assert run_cli(tmp_path, env, "packages", "add", "acme/rocket", "npm:@acme/rocket").returncode == 0
    untracked = run_cli(tmp_path, env, "packages", "add", "acme/other", "npm:other")
    assert untracked.returncode == 1 and "acme/other is not tracked" in untracked.stderr
    listed = run_cli(tmp_path, env, "packages", "list").stdout.splitlines()
    assert listed == [
        "acme/rocket  npm:@acme/rocket  (cli)  no days yet  never asked",
        "acme/rocket  pypi:rocket-science  (cli)  no days yet  never asked",
    ]
    removed = run_cli(tmp_path, env, "packages", "remove", "acme/rocket", "npm:@acme/rocket")
    assert removed.stdout == "removed: acme/rocket npm:@acme/rocket (and its downloads)\n"
    again = run_cli(tmp_path, env, "packages", "remove", "acme/rocket", "npm:@acme/rocket")
    assert again.returncode == 1 and "has no package npm:@acme/rocket" in again.stderr


def _repo(github_id: int, name: str, files: dict[str, str]) -> SimRepo:
    return SimRepo(github_id, "acme", name, datetime(2020, 1, 1, tzinfo=UTC), files=files)


def test_suggest_reads_the_manifests_and_adds_nothing(tmp_path: Path) -> None:
    repos = [
        _repo(
            1, "py", {"pyproject.toml": '[project]\nname = "Foo_Bar"\n', "setup.py": "setup(name='foo-bar')"}
        ),
        _repo(2, "cfg", {"setup.cfg": "[metadata]\nname = Zope.Interface\n"}),
        _repo(3, "js", {"package.json": '{"name": "@acme/widget", "version": "1.0.0"}'}),
        _repo(4, "private", {"package.json": '{"name": "internal", "private": true}'}),
        _repo(5, "none", {"README.md": "nothing to publish"}),
    ]
    app = SimulatorApp(Scenario("manifests", repos, date(2026, 12, 6)))
    env = sqlite_store(tmp_path, *(r.full_name for r in repos))
    with running_simulator(app) as base:
        out = run_cli(tmp_path, {**env, "GITHUB_API_URL": base, "GITHUB_TOKEN": TOKEN}, "packages", "suggest")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "acme/cfg: pypi:zope-interface (from setup.cfg); add it: collector packages add acme/cfg "
        "pypi:zope-interface",
        "acme/js: npm:@acme/widget (from package.json); add it: collector packages add acme/js "
        "npm:@acme/widget",
        "acme/none: no package named in pyproject.toml, setup.cfg, setup.py, package.json at its root",
        "acme/private: no package named in pyproject.toml, setup.cfg, setup.py, package.json at its root",
        "acme/py: pypi:foo-bar (from pyproject.toml); add it: collector packages add acme/py pypi:foo-bar",
    ]
    assert "no packages" in run_cli(tmp_path, env, "packages", "list").stdout
