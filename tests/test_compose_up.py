"""The README's compose steps for real, as a project of its own, with nothing the README does not ask for.

`--profile demo up -d simulator db-demo config-check-demo collector-demo`: the demo daemon
(deploy/demo/collector.toml) collects at start and writes a report every minute into its volume; the test
waits for both, then reads what a user would: the published port (`port collector-demo 8080`), /healthz and
/metrics there, `repo_latest` in the demo's PostgreSQL, the report copied out with `docker cp`. Then
`--scale collector-demo=2`, and the real service's config check: a missing collector.toml is no config, a
broken one stops `up` once with its one-line reason and the daemon never starts. It skips when no docker
engine answers or the base images are missing: ../shared/compose/standin-images.sh starts the engine and
builds local stand-ins for them (no registry is reachable here), and .ci/run runs it. Everything is torn
down even on failure: containers, network, volumes and the images built under the project's name (their
layers stay as build cache).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector.config import DEFAULT_GROUP, load_config
from tests.conftest import REPO_ROOT

# The fixture builds the image (about a minute with a cold cache) and waits for a collect and a report.
pytestmark = [pytest.mark.compose, pytest.mark.timeout(900)]

DEMO_SERVICES = ("simulator", "db-demo", "config-check-demo", "collector-demo")
DEMO_CONFIG = load_config(REPO_ROOT / "deploy" / "demo" / "collector.toml", required=True)
REPORT_JOB = next(iter(DEMO_CONFIG.reports.values()))
BASE_IMAGES = ("python:3.11-slim", "postgres:16")
WAIT_SECONDS = 360  # for the first collect and the first report, after `up`
COMPARED = ("stars", "forks", "contributors")  # what the dashboard draws, in _stored's column order
PSQL = ("psql", "-U", "collector", "-d", "collector", "-At", "-F", "|", "-c")


def _docker_problem() -> str | None:
    """Why the test cannot run here, or None."""
    for tool in ("docker", "docker-compose"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (../shared/compose/standin-images.sh installs it)"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "no usable docker engine: `docker info` did not answer in 30s"
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["no output"])[-1]
        return f"no usable docker engine: `docker info` failed ({reason})"
    missing = [
        image
        for image in BASE_IMAGES
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0
    ]
    if missing:
        return (
            f"base images {', '.join(missing)} are not present and no registry can be reached: "
            "run ../shared/compose/standin-images.sh"
        )
    return None


@dataclass
class Demo:
    """The running demo project: how to reach it and how to call docker-compose on it."""

    project: str
    env: dict[str, str]
    base: str = ""  # http://127.0.0.1:PORT, the port `port collector-demo 8080` names

    def compose(
        self, *args: str, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = ["docker-compose", "-f", str(REPO_ROOT / "docker-compose.yml"), "-p", self.project]
        return subprocess.run(
            [*command, "--profile", "demo", *args],
            cwd=REPO_ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def checked(self, *args: str, timeout: float = 120) -> str:
        done = self.compose(*args, timeout=timeout)
        assert done.returncode == 0, f"docker-compose {' '.join(args)}:\n{done.stderr[-3000:]}"
        return done.stdout

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "200", *DEMO_SERVICES).stdout

    def sql(self, query: str) -> list[list[str]]:
        out = self.checked("exec", "-T", "db-demo", *PSQL, query)
        return [line.split("|") for line in out.splitlines() if line]

    def wait_for_jobs(self, jobs: tuple[str, ...]) -> None:
        """Until the daemon logged `job_finished` for each of `jobs` (a bounded wait)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            log = self.compose("logs", "--no-color", "collector-demo").stdout
            if all(f"event=job_finished job={job} " in log for job in jobs):
                return
            time.sleep(3)
        pytest.fail(f"no job_finished for all of {jobs} within {WAIT_SECONDS}s:\n{self.logs()[-6000:]}")

    def published(self, service: str) -> list[str]:
        """`http://HOST:PORT` of each running container of `service` (`port --index N SERVICE 8080`)."""
        count = len(self.checked("ps", "-q", service).split())
        ports = [
            self.checked("port", "--index", str(i), service, "8080").strip() for i in range(1, count + 1)
        ]
        return [f"http://{address}" for address in ports]


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    problem = _docker_problem()
    if problem:
        pytest.skip(problem)
    running = Demo(f"collectortest{uuid.uuid4().hex[:10]}", dict(os.environ))
    try:
        running.checked("build", "simulator", "config-check-demo", "collector-demo", timeout=600)
        running.checked("up", "-d", *DEMO_SERVICES, timeout=180)
        (running.base,) = running.published("collector-demo")
        running.wait_for_jobs(("collect", f"report:{REPORT_JOB.name}"))
        yield running
    finally:
        running.compose("down", "-v", "--remove-orphans", "-t", "10", timeout=180)
        _remove_images(running.project)


def _remove_images(project: str) -> None:
    """The images built under the project's name; their layers stay as the next run's build cache."""
    listed = subprocess.run(
        ["docker", "images", "--filter", f"reference={project}*", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
    ).stdout.split()
    if listed:
        subprocess.run(["docker", "rmi", "--no-prune", *listed], capture_output=True)


def test_only_the_demo_services_run(demo: Demo) -> None:
    label = f"label=com.docker.compose.project={demo.project}"
    listed = subprocess.run(
        ["docker", "ps", "-a", "--filter", label, "--format", '{{.Label "com.docker.compose.service"}}'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(listed) == sorted(DEMO_SERVICES)  # not the real-GitHub `collector`, nor its `db`


def test_health_and_readiness_on_the_published_port(demo: Demo) -> None:
    assert httpx.get(demo.base + "/healthz", timeout=10).status_code == 200
    ready = httpx.get(demo.base + "/readyz", timeout=10)
    assert ready.status_code == 200, ready.text


def test_the_store_holds_the_default_frameworks(demo: Demo) -> None:
    rows = demo.sql("SELECT repo, stars FROM repo_latest WHERE stars IS NOT NULL ORDER BY repo")
    assert sorted(repo for repo, _ in rows) == sorted(DEFAULT_GROUP)
    runs = demo.sql("SELECT status FROM runs WHERE job = 'collect' AND finished_at IS NOT NULL")
    assert runs and all(status == "ok" for (status,) in runs), runs


def _scraped(demo: Demo) -> dict[tuple[str, str], float]:
    """The repository gauges on /metrics: (metric, repo) -> value."""
    response = httpx.get(demo.base + "/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert "demo-token-for-the-simulator" not in response.text
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    return {
        (metric, s.labels["repo"]): s.value
        for metric in COMPARED
        for s in families[f"collector_repo_{metric}"].samples
    }


def _stored(demo: Demo) -> dict[tuple[str, str], float]:
    """The same from `repo_latest` (NULL: not observed, so not exported)."""
    rows = demo.sql("SELECT repo, stars, forks, contributors FROM repo_latest")
    return {
        (metric, repo): float(value)
        for repo, *values in rows
        for metric, value in zip(COMPARED, values, strict=True)
        if value != ""
    }


def test_metrics_show_what_the_store_holds(demo: Demo) -> None:
    # The scrape and the query are two reads: a collect may land between them, so a few tries agree.
    for _ in range(3):
        scraped, stored = _scraped(demo), _stored(demo)
        if scraped == stored:
            break
        time.sleep(2)
    assert {repo for metric, repo in scraped if metric == "stars"} == set(DEFAULT_GROUP)
    assert scraped == stored


def test_the_report_job_wrote_its_file(demo: Demo, tmp_path: Path) -> None:
    # The README's step: `docker cp CONTAINER:/app/reports ./demo-reports` (`ps -q` names CONTAINER)
    container = demo.checked("ps", "-q", "collector-demo").split()[0]
    copied = tmp_path / "demo-reports"
    subprocess.run(
        ["docker", "cp", f"{container}:/app/reports", str(copied)], check=True, capture_output=True
    )
    pattern = Path(REPORT_JOB.output).name.replace("{date}", "*")
    written = sorted(copied.glob(pattern))
    assert written, f"nothing matching {pattern} in the reports volume:\n{demo.logs()[-3000:]}"
    html = written[-1].read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") and "tensorflow/tensorflow" in html


def test_task_health_is_labelled_task_for_every_scheduled_task(demo: Demo) -> None:
    """Prometheus keeps `job` and `instance` for its own labels: ours is `task`, on every task from start."""
    text = httpx.get(demo.base + "/metrics", timeout=10).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for family in families.values():
        for sample in family.samples:
            assert "job" not in sample.labels and "instance" not in sample.labels, sample
    last = {s.labels["task"]: s.value for s in families["collector_last_success_timestamp_seconds"].samples}
    assert set(last) >= {"collect", "backfill", f"report:{REPORT_JOB.name}"}
    assert last["collect"] > 0 and last["backfill"] >= 0
    interval = {s.labels["task"]: s.value for s in families["collector_task_interval_seconds"].samples}
    assert interval["collect"] == DEMO_CONFIG.schedules["collect"].interval_seconds


def _config_dir(tmp_path: Path) -> Path:
    """A directory for COLLECTOR_CONFIG_DIR, readable by the image's user as the README asks."""
    config = tmp_path / "config"
    config.mkdir(mode=0o755)
    config.chmod(0o755)  # mkdir's mode is cut by the umask
    return config


def test_a_missing_config_is_no_config_and_a_copied_one_is_read(demo: Demo, tmp_path: Path) -> None:
    env = {"COLLECTOR_CONFIG_DIR": str(_config_dir(tmp_path))}
    empty = demo.compose("run", "--rm", "config-check", env=env, timeout=300)
    assert empty.returncode == 0 and "config ok: no config file" in empty.stdout, empty.stdout + empty.stderr
    # The README's step: cp collector.toml.example deploy/config/collector.toml (here, the directory given).
    shutil.copy(REPO_ROOT / "collector.toml.example", Path(env["COLLECTOR_CONFIG_DIR"]) / "collector.toml")
    copied = demo.compose("run", "--rm", "config-check", env=env, timeout=120)
    assert copied.returncode == 0, copied.stdout + copied.stderr
    assert "config ok: /app/collector.toml:" in copied.stdout


def test_a_config_directory_the_image_cannot_read_is_one_line(demo: Demo, tmp_path: Path) -> None:
    config = tmp_path / "private"
    config.mkdir(mode=0o700)  # a checkout made with umask 077: uid 1000 may not enter it
    config.chmod(0o700)
    shutil.copy(REPO_ROOT / "collector.toml.example", config / "collector.toml")
    done = demo.compose("run", "--rm", "config-check", env={"COLLECTOR_CONFIG_DIR": str(config)})
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("error:")]
    assert "cannot be read (Permission denied)" in line and "Traceback" not in done.stderr


def test_a_broken_config_stops_up_once_and_the_daemon_never_starts(demo: Demo, tmp_path: Path) -> None:
    config = _config_dir(tmp_path)
    (config / "collector.toml").write_text('[groups]\nmine = "octo/one"\n', encoding="utf-8")
    env = {"COLLECTOR_CONFIG_DIR": str(config)}
    up = demo.compose("up", "-d", "collector", env=env, timeout=300)
    assert up.returncode != 0, up.stdout + up.stderr
    time.sleep(5)  # a restart policy would have started it again by now
    (check,) = demo.checked("ps", "-q", "config-check").split()
    state = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", check],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert state == ["exited", "2", "0"]
    lines = demo.checked("logs", "--no-color", "config-check").splitlines()
    reasons = [line for line in lines if "error:" in line]
    assert len(reasons) == 1 and "collector.toml: key 'groups.mine'" in reasons[0], lines
    assert "Traceback" not in "\n".join(lines)
    running = demo.checked("ps", "--services", "--filter", "status=running").split()
    assert "collector" not in running


def test_a_second_replica_gets_a_port_of_its_own(demo: Demo) -> None:
    demo.checked("up", "-d", "--scale", "collector-demo=2", *DEMO_SERVICES, timeout=180)
    bases = demo.published("collector-demo")
    assert len(bases) == 2 and len(set(bases)) == 2, bases
    deadline = time.monotonic() + 90
    answered: set[str] = set()
    while time.monotonic() < deadline and answered != set(bases):
        for base in set(bases) - answered:
            try:
                if httpx.get(base + "/healthz", timeout=5).status_code == 200:
                    answered.add(base)
            except httpx.TransportError:
                pass
        time.sleep(2)
    assert answered == set(bases), demo.logs()[-3000:]
