"""What operators meet when they run several services on one store, or run it in a container."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from collector.config import DEFAULT_SCHEDULES, load_config
from collector.errors import ConfigError
from collector.reports.model import ReportOptionError
from collector.reports.output import write_atomic
from collector.store import migrate
from collector.store.engine import make_engine
from tests.conftest import REPO_ROOT, cli_env, run_cli


@pytest.mark.postgres
def test_services_that_upgrade_the_store_together_take_turns(tmp_path: Path, pg_url: str) -> None:
    """Compose starts several services at once, each running `collector db upgrade` first."""
    with ThreadPoolExecutor(4) as pool:
        runs = list(
            pool.map(
                lambda _: run_cli(tmp_path, {"COLLECTOR_DATABASE_URL": pg_url}, "db", "upgrade"), range(4)
            )
        )
    for done in runs:
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    upgraded = [d for d in runs if "upgraded from revision none" in d.stdout]
    assert len(upgraded) == 1, [d.stdout for d in runs]  # one did the work, the others found it done
    engine = make_engine(pg_url)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision(engine)
    finally:
        engine.dispose()


def test_a_directory_where_the_config_would_be_means_no_config(tmp_path: Path) -> None:
    """docker leaves an empty directory when a bind-mounted collector.toml is missing on the host."""
    (tmp_path / "collector.toml").mkdir()
    config = load_config(tmp_path / "collector.toml")
    assert config.groups == {} and set(config.schedules) == set(DEFAULT_SCHEDULES)
    with pytest.raises(ConfigError, match="is a directory; point COLLECTOR_CONFIG at a collector.toml file"):
        load_config(tmp_path / "collector.toml", required=True)
    done = run_cli(tmp_path, {"COLLECTOR_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}, "db", "upgrade")
    assert done.returncode == 0, done.stderr


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c"]


def _as_nobody(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NOBODY, code], cwd=REPO_ROOT, env=cli_env(), capture_output=True, text=True, timeout=60
    )


def test_a_reports_directory_the_process_cannot_write_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a container's user meets writing into a directory mounted from the host, wherever the tests
    run (root may write anywhere, so the refusal is the operating system's answer, injected)."""

    def refused(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    reports = tmp_path / "reports"
    with pytest.raises(ReportOptionError) as caught:
        write_atomic(reports / "r.csv", "x")
    message = str(caught.value)
    assert "cannot write there (Permission denied); make" in message
    assert f"writable by uid {os.getuid()}" in message and "\n" not in message
    assert not list(reports.iterdir())


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to drop to nobody"
)
def test_nobody_writing_into_roots_reports_directory_gets_that_line(tmp_path: Path) -> None:
    """The same, for real: nobody writing into a directory of root's (when nobody can read this checkout;
    a clone in a private temporary directory cannot be)."""
    if _as_nobody("import collector.reports.output").returncode != 0:
        pytest.skip(f"uid 65534 cannot import collector from {REPO_ROOT} (a private directory)")
    reports = tmp_path / "reports"
    reports.mkdir(mode=0o755)
    tmp_path.chmod(0o755)
    code = "from pathlib import Path\nfrom collector.reports.output import write_atomic\n"
    code += f"write_atomic(Path({str(reports / 'r.csv')!r}), 'x')\n"
    done = _as_nobody(code)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "cannot write there (Permission denied); make" in last and "writable by uid 65534" in last
    assert not list(reports.iterdir())
