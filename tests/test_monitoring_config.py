"""`docker compose --profile monitoring`: Prometheus's and Grafana's files in deploy/, without their images.

promtool (Debian's prometheus package) checks the scrape config, the alert rules (and runs them on input
series: `promtool test rules`) and the dashboard's PromQL; the dashboard and the rules may only name series
that a real daemon's /metrics exports; the panels use the provisioned data source; and the paths the
provisioning names are the ones docker-compose.yml mounts.
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
ALERTS_YML = DEPLOY / "prometheus" / "collector-alerts.yml"
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
    "collector_last_run_failed_repositories",
    "collector_last_success_timestamp_seconds",
    "collector_task_interval_seconds",
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
    # Every replica is a target (docker's DNS answers a service name with each container's address).
    (dns,) = job["dns_sd_configs"]
    assert sorted(dns["names"]) == ["collector", "collector-demo"] and dns["type"] == "A"
    for host in dns["names"]:
        assert f"--listen 0.0.0.0:{dns['port']}" in services[host]["command"][-1]
    deployments = {r["regex"]: r["replacement"] for r in job["relabel_configs"]}
    assert deployments == {"collector": "github", "collector-demo": "demo"}
    assert all(r["target_label"] == "deployment" for r in job["relabel_configs"])


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


@pytest.mark.postgres
def test_the_alert_rules_name_only_exported_series(exported: set[str]) -> None:
    for rule in alert_rules():
        names = metric_names(rule["expr"])
        assert names and names <= exported, (rule["alert"], sorted(names - exported))


def test_no_query_or_legend_reads_a_job_label_of_ours() -> None:
    """`job` and `instance` are Prometheus's; ours would arrive as exported_job and match nothing."""
    for where, expr in queries():
        assert "exported_" not in expr and not re.search(r"\bjob\s*(=|!=|=~|!~)", expr), where
    legends = [t.get("legendFormat", "") for p in dashboard()["panels"] for t in p.get("targets", [])]
    assert not any("{{job}}" in legend for legend in legends)
    assert "failed repositories: {{task}} ({{deployment}})" in legends


def test_every_panel_shows_one_series_per_deployment_whatever_its_replicas() -> None:
    """Each replica is a target and the store's gauges are the same from each: panels aggregate them."""
    for panel in dashboard()["panels"]:
        for target in panel["targets"]:
            assert " by (deployment" in target["expr"], (panel["title"], target["expr"])


def test_the_staleness_panel_turns_red_past_two_schedule_intervals() -> None:
    (panel,) = [p for p in dashboard()["panels"] if p["title"] == "Since the last success"]
    exprs = {t["refId"]: t["expr"] for t in panel["targets"]}
    since = "time() - max by (deployment, task) (collector_last_success_timestamp_seconds)"
    assert exprs == {
        "A": since,
        "B": f"({since}) / max by (deployment, task) (collector_task_interval_seconds)",
    }
    renamed = {t["id"]: t["options"] for t in panel["transformations"]}["organize"]["renameByName"]
    assert renamed == {"Value #A": "since the last success", "Value #B": "schedule intervals"}
    overrides = {o["matcher"]["options"]: o["properties"] for o in panel["fieldConfig"]["overrides"]}
    assert {"id": "unit", "value": "s"} in overrides["since the last success"]
    ratio = {p["id"]: p["value"] for p in overrides["schedule intervals"]}
    assert ratio["thresholds"]["steps"][-1] == {"color": "red", "value": 2}
    assert ratio["custom.cellOptions"]["type"] == "color-background"
    (stale,) = [r for r in alert_rules() if r["alert"] == "CollectorTaskStale"]
    # The panel's red is the alert's line.
    assert "> 2 * max by (deployment, task) (collector_task_interval_seconds)" in stale["expr"]


def alert_rules() -> list[dict[str, Any]]:
    (group,) = yaml_file(ALERTS_YML)["groups"]
    return list(group["rules"])


def test_prometheus_loads_the_alert_rules_compose_mounts_beside_it() -> None:
    assert yaml_file(PROMETHEUS_YML)["rule_files"] == [ALERTS_YML.name]  # relative to prometheus.yml
    prometheus = mounts(compose()["services"]["prometheus"])
    assert prometheus[f"/etc/prometheus/{ALERTS_YML.name}"] == f"./deploy/prometheus/{ALERTS_YML.name}"
    done = promtool("check", "rules", str(ALERTS_YML))
    assert done.returncode == 0 and "2 rules found" in done.stdout, done.stdout + done.stderr
    assert {r["alert"] for r in alert_rules()} == {"CollectorTaskStale", "CollectorTaskFailing"}


# Two replicas of the demo, scraped as Prometheus labels them; the store's series are the same from both.
REPLICAS = [
    {"job": "collector", "instance": "172.18.0.5:8080", "deployment": "demo"},
    {"job": "collector", "instance": "172.18.0.6:8080", "deployment": "demo"},
]
# (series, task) -> promtool values, one a minute for an hour.
SERIES = {
    # collect every 10 minutes, whose last success stays at t=60s
    ("collector_last_success_timestamp_seconds", "collect"): "60x60",
    ("collector_task_interval_seconds", "collect"): "600x60",
    # a report every minute that keeps succeeding
    ("collector_last_success_timestamp_seconds", "report:daily"): "60+60x60",
    ("collector_task_interval_seconds", "report:daily"): "60x60",
    # never succeeded: discover every 2 minutes (stale once the process has run 4), a daily backfill (not yet)
    ("collector_last_success_timestamp_seconds", "discover"): "0x60",
    ("collector_task_interval_seconds", "discover"): "120x60",
    ("collector_last_success_timestamp_seconds", "backfill"): "0x60",
    ("collector_task_interval_seconds", "backfill"): "86400x60",
    # collect's latest run is partial from minute 11 on
    ("collector_last_run_succeeded", "collect"): "1x10 0x50",
    ("collector_last_run_succeeded", "report:daily"): "1x60",
}
EXPECTED = [
    ("15m", "CollectorTaskStale", ["discover"]),
    ("40m", "CollectorTaskStale", ["collect", "discover"]),
    ("15m", "CollectorTaskFailing", []),  # partial for 4 minutes: pending, not firing
    ("40m", "CollectorTaskFailing", ["collect"]),
]


def _selector(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _firing(rule: dict[str, Any], task: str) -> dict[str, Any]:
    """What promtool reports for `rule` firing on `task`: its labels and its annotations, rendered."""
    labels = {"deployment": "demo", "task": task, **rule["labels"]}
    annotations = {}
    for key, text in rule["annotations"].items():
        for label, value in labels.items():
            text = text.replace("{{ $labels." + label + " }}", value)
        annotations[key] = text
    return {"exp_labels": labels, "exp_annotations": annotations}


def test_the_alerts_fire_for_stale_never_succeeded_and_failing_tasks(tmp_path: Path) -> None:
    rules = {r["alert"]: r for r in alert_rules()}
    series = [
        {"series": _selector(name, {**scrape, "task": task}), "values": values}
        for (name, task), values in SERIES.items()
        for scrape in REPLICAS
    ]
    # The first replica has run since t=0, the second since minute 12: the longest-running one counts.
    for scrape, values in zip(REPLICAS, ["0x60", "_x11 720x49"], strict=True):
        series.append({"series": _selector("process_start_time_seconds", scrape), "values": values})
    cases = [
        {"eval_time": at, "alertname": alert, "exp_alerts": [_firing(rules[alert], t) for t in tasks]}
        for at, alert, tasks in EXPECTED
    ]
    spec = {
        "rule_files": [str(ALERTS_YML)],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": cases}],
    }
    path = tmp_path / "alerts-test.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    done = promtool("test", "rules", str(path))
    assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr
