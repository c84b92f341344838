"""Task health on /metrics, read from the `runs` table: every task the config schedules is there from the
start (last success 0), labelled `task` (never `job` or `instance`, which Prometheus owns), and a partial
or failed run shows as not succeeded with its failed repositories."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from collector.config import Config, Schedule, load_config
from collector.domain import parse_repo_name
from collector.service.metrics import Telemetry, schedule_interval
from collector.store.repos import save_tracked_name
from collector.store.runs import finish_run, save_run_item, start_run
from tests.conftest import Store

CONFIG = """
[groups]
small = ["octo/one", "octo/two"]

[schedules]
collect = "30m"

[reports.weekly]
output = "reports/weekly-{date}.md"
group = "small"
schedule = "0 9 * * 1-5"
"""

RULES = """
[groups.ml]
topic = "machine-learning"
"""


def scrape(store: Store, config: Config) -> dict[str, dict[str, float]]:
    """The task gauges a scrape shows: family name -> {task: value}."""
    telemetry = Telemetry()
    telemetry.watch_store(lambda: store.sessions, config)
    out: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(telemetry.exposition().decode()):
        for sample in family.samples:
            assert "job" not in sample.labels and "instance" not in sample.labels, sample
            if "task" in sample.labels:
                out.setdefault(sample.name, {})[sample.labels["task"]] = sample.value
    return out


def config_file(tmp_path: Path, text: str) -> Config:
    (tmp_path / "collector.toml").write_text(text, encoding="utf-8")
    return load_config(tmp_path / "collector.toml", required=True)


def test_every_scheduled_task_is_exported_before_it_ever_ran(store: Store, tmp_path: Path) -> None:
    shown = scrape(store, config_file(tmp_path, CONFIG))
    tasks = {"collect", "backfill", "report:weekly"}  # no rule group: no discover
    assert shown["collector_last_success_timestamp_seconds"] == dict.fromkeys(tasks, 0.0)
    assert shown["collector_task_interval_seconds"] == {
        "collect": 1800.0,
        "backfill": 86400.0,
        "report:weekly": 3 * 86400.0,  # Friday 09:00 to Monday 09:00, the longest gap
    }
    assert "collector_seconds_since_last_success" not in shown
    assert "collector_last_run_succeeded" not in shown  # no run has finished


def test_a_rule_group_adds_discover(store: Store, tmp_path: Path) -> None:
    shown = scrape(store, config_file(tmp_path, RULES))
    assert set(shown["collector_last_success_timestamp_seconds"]) == {"collect", "backfill", "discover"}


def test_runs_give_last_success_and_the_latest_runs_outcome(store: Store, tmp_path: Path) -> None:
    config = config_file(tmp_path, CONFIG)
    with store.sessions.begin() as session:
        repo, _ = save_tracked_name(session, parse_repo_name("octo/one"))
        ok = start_run(session, "collect")
        finish_run(session, ok, "ok")
        partial = start_run(session, "collect")
        save_run_item(session, partial, repo.id, "collect", "error", "http", "GitHub answered 502")
        finish_run(session, partial, "partial")
        failed = start_run(session, "report:weekly")
        finish_run(session, failed, "failed")
        start_run(session, "sync")  # still running, and not a task the daemon schedules
    before = datetime.now(UTC).timestamp()
    shown = scrape(store, config)
    last_success = shown["collector_last_success_timestamp_seconds"]
    assert set(last_success) == {"collect", "backfill", "report:weekly", "sync"}
    assert before - 60 < last_success["collect"] <= before  # the ok run, not the partial one after it
    assert last_success["report:weekly"] == last_success["backfill"] == last_success["sync"] == 0.0
    assert shown["collector_last_run_succeeded"] == {"collect": 0.0, "report:weekly": 0.0}
    assert shown["collector_last_run_failed_repositories"] == {"collect": 1.0, "report:weekly": 0.0}
    assert set(shown["collector_seconds_since_last_success"]) == {"collect"}

    with store.sessions.begin() as session:
        finish_run(session, start_run(session, "collect"), "ok")
    again = scrape(store, config)
    assert again["collector_last_run_succeeded"]["collect"] == 1.0
    assert again["collector_last_run_failed_repositories"]["collect"] == 0.0
    assert again["collector_last_success_timestamp_seconds"]["collect"] >= last_success["collect"]


def test_interval_schedules_are_their_interval_and_crons_their_longest_gap() -> None:
    monday = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert schedule_interval(Schedule(interval_seconds=300), monday) == 300.0
    assert schedule_interval(Schedule(cron="0 */6 * * *"), monday) == 6 * 3600.0
    assert schedule_interval(Schedule(cron="0 9 * * 1-5"), monday) == 3 * 86400.0
    assert schedule_interval(Schedule(cron="30 2 1 * *"), monday) == 31 * 86400.0
