"""The HTTP endpoints on a real port against PostgreSQL: `collector serve` and the daemon's listener.

What a user checks: Prometheus reads the same numbers as `repo_latest`; badges and charts are SVG that show
the stored values; health answers; bad requests get a one-line reason.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from collector.reports.badge import short_number
from collector.store.engine import make_engine
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from tests.conftest import UNPACED_CLIENT, PgServer, cli_env, run_cli

pytestmark = pytest.mark.postgres

SCENARIO = "synthetic-3"
METRICS = ("stars", "forks", "watchers", "open_issues", "contributors", "commits_52w")


@dataclass
class Service:
    base: str
    url: str
    names: list[str]

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.base + path, timeout=30, **kw)

    def latest(self) -> list[Any]:
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text("SELECT * FROM repo_latest ORDER BY repo")))
        finally:
            engine.dispose()


@dataclass
class Process:
    proc: subprocess.Popen[str]
    lines: list[str]

    def drain(self) -> None:
        """Keep reading its log, so that a full pipe never blocks it."""
        assert self.proc.stderr is not None
        threading.Thread(target=lambda: self.lines.extend(self.proc.stderr or ()), daemon=True).start()

    def stop(self) -> int:
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=15)
        finally:
            self.proc.kill()
            if self.proc.stderr is not None:
                self.proc.stderr.close()


def start(
    cwd: Path, env: dict[str, str], *args: str, wait_for: str = "http_listening"
) -> tuple[Process, str]:
    """Start `collector ARGS --listen 127.0.0.1:0`; returns it and its base URL once it logged `wait_for`."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector.cli", *args, "--listen", "127.0.0.1:0"],
        cwd=cwd,
        env=cli_env(env),
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    running, base, deadline = Process(proc, []), "", time.monotonic() + 60
    for line in proc.stderr:
        running.lines.append(line)
        found = re.search(r"event=http_listening address=(\S+)", line)
        if found:
            base = f"http://{found.group(1)}"
        if f"event={wait_for}" in line or time.monotonic() > deadline:
            break
    assert base, "".join(running.lines)
    running.drain()
    return running, base


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, pg_server: PgServer
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A store synced from the simulator (3 repositories in the group `small`), and its environment."""
    scenario = load_scenario(SCENARIO)
    names = [r.full_name for r in scenario.repos]
    url = pg_server.create_database()
    cwd = tmp_path_factory.mktemp("served")
    group = ", ".join(f'"{n}"' for n in names)
    (cwd / "collector.toml").write_text(f"[groups]\nsmall = [{group}]\n" + UNPACED_CLIENT, encoding="utf-8")
    with running_simulator(SimulatorApp(scenario, points_per_minute=100_000)) as base:
        env = {"GITHUB_API_URL": base, "GITHUB_TOKEN": "ghp_servicetest0001", "COLLECTOR_DATABASE_URL": url}
        done = run_cli(cwd, env, "sync")
        assert done.returncode == 0, done.stderr[-2000:]
        yield cwd, env
    pg_server.drop_database(url)


@pytest.fixture(scope="module")
def service(world: tuple[Path, dict[str, str]]) -> Iterator[Service]:
    cwd, env = world
    running, base = start(cwd, env, "serve")
    names = [r.full_name for r in load_scenario(SCENARIO).repos]
    yield Service(base, env["COLLECTOR_DATABASE_URL"], names)
    assert running.stop() == 0, "".join(running.lines)


def test_health_and_readiness(service: Service) -> None:
    assert service.get("/healthz").status_code == 200
    ready = service.get("/readyz")
    assert ready.status_code == 200 and "ready" in ready.text


def test_metrics_read_by_prometheus_equal_repo_latest(service: Service) -> None:
    response = service.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    rows = service.latest()
    assert len(rows) == 3
    for metric in METRICS:
        scraped = {s.labels["repo"]: s.value for s in families[f"collector_repo_{metric}"].samples}
        stored = {r.repo: float(getattr(r, metric)) for r in rows if getattr(r, metric) is not None}
        assert scraped == stored and stored, metric
    groups = {(s.labels["repo"], s.labels["group"]) for s in families["collector_repo_group_info"].samples}
    assert groups == {(name, "small") for name in service.names}
    since = {s.labels["task"]: s.value for s in families["collector_seconds_since_last_success"].samples}
    assert set(since) == {"collect", "backfill"} and all(0 <= v < 600 for v in since.values())
    budgets = families["collector_token_budget_remaining"].samples
    assert budgets and all(s.labels["token"] == "#1" for s in budgets)
    assert "ghp_servicetest0001" not in response.text


def test_a_badge_shows_the_latest_value_and_honours_if_none_match(service: Service) -> None:
    row = service.latest()[0]
    owner, name = row.repo.split("/")
    response = service.get(f"/badge/{owner}/{name}/stars.svg")
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    svg = ET.fromstring(response.content)
    shown = " ".join(t.strip() for t in svg.itertext())
    assert "stars" in shown and short_number(row.stars) in shown  # 41.6k, as tested in test_charts_badges
    assert "max-age" in response.headers["cache-control"]
    again = service.get(
        f"/badge/{owner}/{name}/stars.svg", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    head = httpx.head(service.base + f"/badge/{owner}/{name}/stars.svg")
    assert head.status_code == 200 and head.content == b""


def test_a_chart_is_a_standalone_svg_of_the_stored_history(service: Service) -> None:
    repos = ",".join(service.names[:2])
    for extra in ("", "&scale=log", "&theme=dark&every=week"):
        response = service.get(f"/chart.svg?repos={repos}&metric=stars&since=2024-01{extra}")
        assert response.status_code == 200, response.text
        svg = ET.fromstring(response.content)
        assert svg.tag.endswith("svg")
        shown = " ".join(svg.itertext())
        assert all(name in shown for name in service.names[:2])
        assert response.headers["etag"]


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/badge/nobody/nothing/stars.svg", 404, "not tracked"),
        ("/badge/a/b/likes.svg", 400, "METRIC one of"),
        ("/badge/not a name/x/stars.svg", 400, "invalid repository name"),
        ("/chart.svg?metric=stars", 400, "repos="),
        ("/chart.svg?repos=nobody/nothing&since=2024-01", 404, "nobody/nothing"),
        ("/chart.svg?repos=a/b&metric=likes", 400, "metric="),
        ("/chart.svg?repos=a/b&since=yesterday", 400, "since"),
        ("/chart.svg?repos=a/b&scale=cubic", 400, "scale"),
        ("/chart.svg?repos=" + ",".join(f"o/r{i}" for i in range(21)), 400, "1 to 20"),
        ("/nowhere", 404, "no such endpoint"),
    ],
)
def test_bad_requests_get_a_one_line_reason(service: Service, path: str, status: int, reason: str) -> None:
    response = service.get(path)
    assert response.status_code == status, response.text
    assert reason in response.text and response.text.count("\n") == 1


def test_only_get_and_head(service: Service) -> None:
    response = httpx.post(service.base + "/metrics")
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"


def test_a_store_not_migrated_is_not_ready(tmp_path: Path, pg_url: str) -> None:
    running, base = start(tmp_path, {"COLLECTOR_DATABASE_URL": pg_url}, "serve")
    try:
        assert httpx.get(base + "/healthz").status_code == 200
        ready = httpx.get(base + "/readyz")
        assert ready.status_code == 503 and "revision none" in ready.text
        assert httpx.get(base + "/metrics").status_code == 503
    finally:
        assert running.stop() == 0


def test_a_port_in_use_is_one_line_and_exit_2(world: tuple[Path, dict[str, str]], service: Service) -> None:
    cwd, env = world
    taken = service.base.removeprefix("http://")
    done = run_cli(cwd, env, "serve", "--listen", taken, timeout=30)
    assert done.returncode != 0
    assert done.stderr.strip().startswith("error: cannot listen on") and "Traceback" not in done.stderr


def test_the_daemon_serves_its_own_request_counts(world: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    cwd, env = world
    # A cycle of its own (the sync collected this 6-hour cycle already): the daemon's first pass sends.
    config = (cwd / "collector.toml").read_text(encoding="utf-8") + '\n[schedules]\ncollect = "3s"\n'
    (tmp_path / "collector.toml").write_text(config, encoding="utf-8")
    running, base = start(tmp_path, env, "daemon", wait_for="job_finished")
    try:
        families = {f.name: f for f in text_string_to_metric_families(httpx.get(base + "/metrics").text)}
        sent = {
            (s.labels["resource"], s.labels["status"]): s.value
            for s in families["collector_github_requests"].samples
            if s.name.endswith("_total")
        }
        assert sent.get(("graphql", "200"), 0) >= 1, sent
        assert httpx.get(base + "/healthz").status_code == 200
    finally:
        assert running.stop() == 0, "".join(running.lines)


def test_status_as_json_for_scripts(world: tuple[Path, dict[str, str]], service: Service) -> None:
    import json

    cwd, env = world
    done = run_cli(cwd, env, "status", "--format", "json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    observed = {r["repo"]: r["stars"]["observed"] for r in status["repositories"]}
    assert observed == {r.repo: r.stars for r in service.latest()}
    assert all(r["series"] for r in status["repositories"])
    assert status["tokens"] and status["tokens"][0]["token"] == "#1"
