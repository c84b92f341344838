"""The compose file's structure and the image's command, without docker (test_compose_up.py runs it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from collector.config import DEFAULT_GROUP, load_config

ROOT = Path(__file__).resolve().parent.parent
DEMO_SERVICES = {"simulator", "db-demo", "collector-demo"}


def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """A service's volumes as {container path: host path, volume name or `${VAR:-default}`}."""
    out = {}
    for volume in service.get("volumes", []):
        spec = volume.removesuffix(":ro").removesuffix(":rw")
        host, _, container = spec.rpartition(":")
        out[container] = host
    return out


def test_db_is_postgres_16_with_volume_and_healthcheck() -> None:
    db = compose()["services"]["db"]
    assert db["image"] == "postgres:16"
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert db["volumes"][0].split(":")[0] in compose()["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_collector_waits_for_healthy_db_and_runs_upgrade_then_daemon() -> None:
    c = compose()["services"]["collector"]
    assert c["build"] == "."
    assert c["depends_on"]["db"]["condition"] == "service_healthy"
    assert c["restart"] == "unless-stopped"
    assert c["command"][-1] == "collector db upgrade && exec collector daemon --listen 0.0.0.0:8080"
    assert "/healthz" in " ".join(c["healthcheck"]["test"])
    assert c["ports"] == ["127.0.0.1:${COLLECTOR_PORT:-8080}:8080"]
    assert c["environment"]["GITHUB_TOKEN"] == "${GITHUB_TOKEN:-}"  # from .env, never written here
    assert c["environment"]["COLLECTOR_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@db:5432/" in c["environment"]["COLLECTOR_DATABASE_URL"]
    assert "./reports:/app/reports" in c["volumes"]


def test_demo_profile_points_a_collector_at_the_simulator() -> None:
    services = compose()["services"]
    sim, demo = services["simulator"], services["collector-demo"]
    assert sim["profiles"] == ["demo"] and demo["profiles"] == ["demo"]
    assert sim["command"][:3] == ["python", "-m", "collector.testing.simulator"]
    port = sim["command"][sim["command"].index("--port") + 1]
    assert demo["environment"]["GITHUB_API_URL"] == f"http://simulator:{port}"
    assert "collector" not in [p for s in services.values() for p in s.get("profiles", [])]
    assert sim["stop_signal"] == "SIGINT"  # it stops on KeyboardInterrupt, and ignores SIGTERM as PID 1
    assert demo["ports"] == ["127.0.0.1:${COLLECTOR_DEMO_PORT:-8081}:8080"]


def test_the_demo_services_start_alone() -> None:
    """`up simulator db-demo collector-demo` starts nothing else: no dependency leaves the demo."""
    services = compose()["services"]
    for name in DEMO_SERVICES:
        assert services[name]["profiles"] == ["demo"]
        assert set(services[name].get("depends_on", {})) <= DEMO_SERVICES, name


def test_the_demo_config_tracks_the_default_group_on_short_schedules() -> None:
    demo = compose()["services"]["collector-demo"]
    assert mounts(demo)["/app/reports"] == "${COLLECTOR_DEMO_REPORTS:-./reports}"
    config = load_config(ROOT / mounts(demo)["/app/collector.toml"], required=True)
    assert [str(r) for r in config.all_repos()] == list(DEFAULT_GROUP)
    collect, backfill = config.schedules["collect"], config.schedules["backfill"]
    assert collect.interval_seconds and collect.interval_seconds <= 600
    assert backfill.interval_seconds and backfill.interval_seconds <= 3600
    (job,) = config.reports.values()
    assert job.output.startswith("reports/")  # the mounted directory, relative to the image's /app
    assert job.schedule is not None and job.schedule.interval_seconds == 60


def test_every_port_is_on_localhost_and_can_be_moved() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert re.fullmatch(r"127\.0\.0\.1:\$\{[A-Z_]+:-\d+\}:\d+", port), (name, port)


def test_every_mounted_repository_file_exists() -> None:
    for name, service in compose()["services"].items():
        for host in mounts(service).values():
            if host.startswith("./deploy/"):
                assert (ROOT / host).exists(), (name, host)


def test_dockerfile_runs_the_same_command() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["sh", "-c", "collector db upgrade && exec collector daemon --listen 0.0.0.0:8080"]' in text
    for needed in ("COPY collector", "COPY migrations", "pip install --no-deps --no-build-isolation ."):
        assert needed in text
    # The dependencies install from pyproject.toml before the code is copied (a code change is a fast build).
    assert text.index("COPY pyproject.toml") < text.index("pip install -r") < text.index("COPY collector")


def test_the_containers_command_runs_against_local_postgresql(tmp_path: Path, pg_url: str) -> None:
    """The collector service's command, run directly: migrate, start the daemon, collect, stop on TERM."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from sqlalchemy import text

    from collector.store.engine import make_engine
    from collector.testing.scenarios import load_scenario
    from collector.testing.simulator import SimulatorApp
    from collector.testing.transport import running_simulator
    from tests.conftest import cli_env

    service = compose()["services"]["collector"]
    (tmp_path / "collector.toml").write_text(
        '[groups]\nframeworks = ["tensorflow/tensorflow", "BVLC/caffe"]\n'
    )
    with running_simulator(SimulatorApp(load_scenario("frameworks"))) as base:
        env = cli_env(
            {
                "COLLECTOR_DATABASE_URL": pg_url,  # instead of the compose file's db service
                "COLLECTOR_CONFIG": str(tmp_path / "collector.toml"),
                "GITHUB_API_URL": base,
                "GITHUB_TOKEN": "compose-test-token",
                "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            }
        )
        proc = subprocess.Popen(
            # The container listens on 0.0.0.0:8080; here any free local port will do.
            [part.replace("0.0.0.0:8080", "127.0.0.1:0") for part in service["command"]],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        engine = make_engine(pg_url)
        deadline = time.monotonic() + 90
        collected = 0
        try:
            while time.monotonic() < deadline and collected < 2:
                time.sleep(1)
                try:
                    with engine.connect() as conn:
                        collected = (
                            conn.execute(
                                text("SELECT COUNT(*) FROM repo_latest WHERE stars IS NOT NULL")
                            ).scalar()
                            or 0
                        )
                except Exception:
                    continue  # not migrated yet
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=15)
            engine.dispose()
    assert collected == 2, err[-2000:]
    assert proc.returncode == 0, err[-2000:]
    assert "upgraded from revision none" in out
    assert "compose-test-token" not in out + err
