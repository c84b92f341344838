"""`docker compose --profile monitoring`: Prometheus's and Grafana's files in deploy/, without their images.

promtool (Debian's prometheus package) checks the scrape config and the dashboard's PromQL; the dashboard may
only name series that a real daemon's /metrics exports; the panels use the provisioned data source; and the
paths the provisioning names are the ones docker-compose.yml mounts.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from tests.conftest import REPO_ROOT, UNPACED_CLIENT, PgServer, cli_env, run_cli
from tests.test_compose import compose, mounts

DEPLOY = REPO_ROOT / "deploy"
PROMETHEUS_YML = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "collector.json"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "collector.yml"
# What the issue asks the dashboard to show.
REQUIRED = {
    "collector_repo_stars",
    "collector_repo_forks",
    "collector_repo_contributors",
    "collector_token_budget_remaining",
    "collector_github_requests_total",
    "collector_seconds_since_last_success",
}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_WORD = re.compile(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "inf", "nan"}
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*\w+\s*\)\s*$")
_GRAFANA_INTERVALS = re.compile(r"\$__(?:rate_interval|interval|range)\b")


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects (not functions, labels, keywords or literals)."""
    values = _LABEL_VALUES.match(expr)  # Grafana's label_values(SELECTOR, LABEL) for variables
    if values:
        expr = values.group(1)
    text = _STRING.sub('""', expr)
    for pattern in (_MATCHERS, _RANGE, _GROUPING):
        text = pattern.sub(" ", text)
    return {
        m.group()
        for m in _WORD.finditer(text)
        if m.group().lower() not in _KEYWORDS and not text[m.end() :].lstrip().startswith("(")
    }


def test_metric_names_of_literal_expressions() -> None:
    expr = 'sum by (instance, status) (increase(requests_total{status!~"2..|304"}[$__rate_interval]))'
    assert metric_names(expr) == {"requests_total"}
    assert metric_names("a_remaining / on (token) group_left () a_limit > bool 0.5e3") == {
        "a_remaining",
        "a_limit",
    }
    assert metric_names('x{job="collect"} offset 5m or y') == {"x", "y"}
    assert metric_names("label_values(collector_repo_stars, repo)") == {"collector_repo_stars"}


def dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def queries() -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable of the dashboard."""
    out = [(f"panel {p['title']!r}", t["expr"]) for p in dashboard()["panels"] for t in p.get("targets", [])]
    for var in dashboard()["templating"]["list"]:
        if var["type"] == "query":
            query = var["query"]
            out.append((f"variable {var['name']}", query["query"] if isinstance(query, dict) else query))
    return out


def yaml_file(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed (Debian's prometheus package; .ci/run installs it)")
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_scrape_config() -> None:
    done = promtool("check", "config", str(PROMETHEUS_YML))
    assert done.returncode == 0, done.stdout + done.stderr


def test_prometheus_scrapes_both_daemons_where_they_listen() -> None:
    services = compose()["services"]
    assert (
        mounts(services["prometheus"])["/etc/prometheus/prometheus.yml"]
        == "./deploy/prometheus/prometheus.yml"
    )
    (job,) = yaml_file(PROMETHEUS_YML)["scrape_configs"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = [t for group in job["static_configs"] for t in group["targets"]]
    assert sorted(targets) == ["collector-demo:8080", "collector:8080"]
    for target in targets:
        host, port = target.split(":")
        assert f"--listen 0.0.0.0:{port}" in services[host]["command"][-1]


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    rules = [
        # Grafana fills in its $__ intervals before Prometheus sees the query.
        {"record": f"dashboard:query_{i}", "expr": _GRAFANA_INTERVALS.sub("5m", expr)}
        for i, (_where, expr) in enumerate(queries())
        if not _LABEL_VALUES.match(expr)
    ]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    done = promtool("check", "rules", str(path))
    assert done.returncode == 0 and f"{len(rules)} rules found" in done.stdout, done.stdout + done.stderr


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, pg_server: PgServer) -> Iterator[set[str]]:
    """The series names a daemon's /metrics shows after its first collect (a store of 3 repositories)."""
    scenario = load_scenario("synthetic-3")
    cwd = tmp_path_factory.mktemp("scraped")
    group = ", ".join(f'"{r.full_name}"' for r in scenario.repos)
    (cwd / "collector.toml").write_text(f"[groups]\nsmall = [{group}]\n" + UNPACED_CLIENT, encoding="utf-8")
    url = pg_server.create_database()
    with running_simulator(SimulatorApp(scenario, points_per_minute=100_000)) as base:
        env = {"GITHUB_API_URL": base, "GITHUB_TOKEN": "ghp_monitoringtest01", "COLLECTOR_DATABASE_URL": url}
        assert run_cli(cwd, env, "db", "upgrade").returncode == 0
        yield _scrape_after_first_collect(cwd, env)
    pg_server.drop_database(url)


def _scrape_after_first_collect(cwd: Path, env: dict[str, str]) -> set[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector.cli", "daemon", "--listen", "127.0.0.1:0"],
        cwd=cwd,
        env=cli_env(env),
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    lines, base, deadline = [], "", time.monotonic() + 120
    try:
        for line in proc.stderr:
            lines.append(line)
            found = re.search(r"event=http_listening address=(\S+)", line)
            base = f"http://{found.group(1)}" if found else base
            if "event=job_finished job=collect" in line or time.monotonic() > deadline:
                break
        assert base and "event=job_finished job=collect" in lines[-1], "".join(lines)
        text = httpx.get(base + "/metrics", timeout=30).text
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        proc.stderr.close()
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.mark.postgres
def test_the_dashboard_names_only_exported_series(exported: set[str]) -> None:
    assert REQUIRED <= exported  # the scrape had what the panels need, or this test proves nothing
    used: set[str] = set()
    for where, expr in queries():
        names = metric_names(expr)
        assert names, f"{where}: no series in {expr!r}"
        assert names <= exported, f"{where}: {sorted(names - exported)} are not on /metrics"
        used |= names
    assert used >= REQUIRED, sorted(REQUIRED - used)


def test_every_panel_uses_the_provisioned_data_source() -> None:
    (source,) = yaml_file(DATASOURCES)["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    assert "prometheus" in compose()["services"]
    expected = {"type": "prometheus", "uid": source["uid"]}
    panels = dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["datasource"] == expected, panel["title"]
        assert panel["targets"] and all(t["datasource"] == expected for t in panel["targets"]), panel["title"]
    for var in dashboard()["templating"]["list"]:
        assert var.get("datasource", expected) == expected, var["name"]


def test_grafana_loads_the_dashboard_from_where_compose_mounts_it() -> None:
    grafana = mounts(compose()["services"]["grafana"])
    assert grafana["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    (provider,) = yaml_file(PROVIDERS)["providers"]
    assert provider["type"] == "file"
    folder = grafana[provider["options"]["path"]]
    assert (REPO_ROOT / folder / DASHBOARD.name).samefile(DASHBOARD)


def test_monitoring_is_a_profile_of_its_own() -> None:
    services = compose()["services"]
    assert services["prometheus"]["profiles"] == ["monitoring"] == services["grafana"]["profiles"]
    assert services["prometheus"]["image"].startswith("prom/prometheus:")
    assert services["grafana"]["image"].startswith("grafana/grafana:")
