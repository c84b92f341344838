"""The compose file's structure and the image's command, without docker (test_compose_up.py runs it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from collector.config import DEFAULT_GROUP, load_config

ROOT = Path(__file__).resolve().parent.parent
DEMO_SERVICES = {"simulator", "db-demo", "config-check-demo", "collector-demo"}


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


DAEMON_COMMAND = "collector db upgrade && exec collector daemon --listen 0.0.0.0:8080"
CHECKS = {"collector": "config-check", "collector-demo": "config-check-demo"}  # daemon -> its config check


def test_collector_waits_for_healthy_db_and_a_good_config_then_upgrades_and_runs_the_daemon() -> None:
    c = compose()["services"]["collector"]
    assert c["build"] == "."
    assert c["depends_on"]["db"]["condition"] == "service_healthy"
    assert c["depends_on"]["config-check"]["condition"] == "service_completed_successfully"
    assert c["restart"] == "unless-stopped"
    assert c["command"][-1] == DAEMON_COMMAND
    assert "/healthz" in " ".join(c["healthcheck"]["test"])
    assert c["environment"]["GITHUB_TOKEN"] == "${GITHUB_TOKEN:-}"  # from .env, never written here
    assert c["environment"]["COLLECTOR_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@db:5432/" in c["environment"]["COLLECTOR_DATABASE_URL"]
    # Reports on a named volume the image's user owns, whoever owns the checkout.
    assert mounts(c)["/app/reports"] in compose()["volumes"]
    assert mounts(c)["/config"] == "${COLLECTOR_CONFIG_DIR:-./deploy/config}"


def test_each_daemon_waits_for_a_one_shot_check_of_the_same_config() -> None:
    services = compose()["services"]
    for daemon, check in CHECKS.items():
        assert services[daemon]["depends_on"][check] == {"condition": "service_completed_successfully"}
        assert services[check]["command"] == ["collector", "config", "check"]
        assert services[check]["restart"] == "no"  # a broken config fails once, never in a loop
        assert services[check]["environment"] == services[daemon]["environment"]
        assert mounts(services[check])["/config"] == mounts(services[daemon])["/config"]
        assert services[check].get("profiles") == services[daemon].get("profiles")


def test_every_long_running_service_restarts_and_has_a_healthcheck() -> None:
    for name, service in compose()["services"].items():
        if name in CHECKS.values():
            continue
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"], name


def test_every_store_keeps_its_data_on_a_named_volume() -> None:
    services, volumes = compose()["services"], compose()["volumes"]
    for name, path in [
        ("db", "/var/lib/postgresql/data"),
        ("db-demo", "/var/lib/postgresql/data"),
        ("collector", "/app/reports"),
        ("collector-demo", "/app/reports"),
        ("prometheus", "/prometheus"),
        ("grafana", "/var/lib/grafana"),
    ]:
        assert mounts(services[name])[path] in volumes, (name, path)
    named = [mounts(services[n])[p] for n in ("db", "db-demo") for p in ["/var/lib/postgresql/data"]]
    assert len(set(named)) == 2  # the demo's store is its own


def test_demo_profile_points_a_collector_at_the_simulator() -> None:
    services = compose()["services"]
    sim, demo = services["simulator"], services["collector-demo"]
    assert sim["profiles"] == ["demo"] and demo["profiles"] == ["demo"]
    assert sim["command"][:3] == ["python", "-m", "collector.testing.simulator"]
    port = sim["command"][sim["command"].index("--port") + 1]
    assert demo["environment"]["GITHUB_API_URL"] == f"http://simulator:{port}"
    assert f"127.0.0.1:{port}/rate_limit" in " ".join(sim["healthcheck"]["test"])
    assert demo["depends_on"]["simulator"]["condition"] == "service_healthy"
    assert "collector" not in [p for s in services.values() for p in s.get("profiles", [])]
    assert sim["stop_signal"] == "SIGINT"  # it stops on SIGINT (and SIGTERM) at once


def test_the_demo_services_start_alone() -> None:
    """`up simulator db-demo config-check-demo collector-demo` starts nothing else."""
    services = compose()["services"]
    for name in DEMO_SERVICES:
        assert services[name]["profiles"] == ["demo"]
        assert set(services[name].get("depends_on", {})) <= DEMO_SERVICES, name


def test_the_demo_config_tracks_the_default_group_on_short_schedules() -> None:
    demo = compose()["services"]["collector-demo"]
    config = load_config(ROOT / mounts(demo)["/config"] / "collector.toml", required=True)
    assert [str(r) for r in config.all_repos()] == list(DEFAULT_GROUP)
    collect, backfill = config.schedules["collect"], config.schedules["backfill"]
    assert collect.interval_seconds and collect.interval_seconds <= 600
    assert backfill.interval_seconds and backfill.interval_seconds <= 3600
    (job,) = config.reports.values()
    assert job.output.startswith("reports/")  # the mounted volume, relative to the image's /app
    assert job.schedule is not None and job.schedule.interval_seconds == 60


def test_every_port_is_on_localhost_can_be_moved_and_daemons_publish_a_range() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            found = re.fullmatch(r"127\.0\.0\.1:\$\{[A-Z_]+:-(\d+)(?:-(\d+))?\}:\d+", port)
            assert found, (name, port)
            if name in CHECKS:  # `--scale` needs a free host port for each replica
                assert found.group(2) and int(found.group(2)) > int(found.group(1)), (name, port)


def test_every_mounted_repository_path_exists() -> None:
    for name, service in compose()["services"].items():
        for host in mounts(service).values():
            host = re.sub(r"^\$\{[A-Z_]+:-(.*)\}$", r"\1", host)  # the default of ${VAR:-default}
            if host.startswith("./"):
                assert (ROOT / host).exists(), (name, host)
    assert (ROOT / "deploy" / "config" / ".gitignore").read_text().split() == ["collector.toml"]


def test_dockerfile_runs_the_same_command() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert f'CMD ["sh", "-c", "{DAEMON_COMMAND}"]' in text
    # The config is /config/collector.toml through the link the collector looks for in /app.
    assert "ln -s /config/collector.toml /app/collector.toml" in text
    assert "chown collector /app/reports" in text  # a new named volume there starts owned by the user
    for needed in ("COPY collector", "COPY migrations", "pip install --no-deps --no-build-isolation ."):
        assert needed in text
    # The dependencies install from pyproject.toml before the code is copied (a code change is a fast build).
    assert text.index("COPY pyproject.toml") < text.index("pip install -r") < text.index("COPY collector")


def test_the_images_config_link_reads_a_missing_file_as_no_config(tmp_path: Path) -> None:
    """The image's /app/collector.toml -> /config/collector.toml, with the mounted directory empty, then
    given a broken file, then a good one: what `collector config check` (compose's config-check) says."""
    from tests.conftest import run_cli

    app, config = tmp_path / "app", tmp_path / "config"
    app.mkdir()
    config.mkdir()
    (app / "collector.toml").symlink_to(config / "collector.toml")
    env = {"COLLECTOR_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}"}
    empty = run_cli(app, env, "config", "check")
    assert empty.returncode == 0 and empty.stdout.startswith("config ok: no config file:"), empty
    (config / "collector.toml").write_text('[groups]\nsmall = "octo/one"\n', encoding="utf-8")
    broken = run_cli(app, env, "config", "check")
    assert broken.returncode == 2 and broken.stdout == ""
    (line,) = broken.stderr.splitlines()  # one line naming the file and the key, no traceback
    assert "collector.toml: key 'groups.small'" in line
    (config / "collector.toml").write_text('[groups]\nsmall = ["octo/one"]\n', encoding="utf-8")
    good = run_cli(app, env, "config", "check")
    assert good.returncode == 0 and "1 group(s) of 1 repositories" in good.stdout, good


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
