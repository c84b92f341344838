"""Prometheus metrics (prometheus_client writes the exposition format).

Two sources: the store, read at each scrape (the latest observation per repository, group membership,
token budgets, and per task the config schedules or `runs` holds: its last success and latest run), so
`collector serve` on a replica shows the same numbers as the daemon; and this process's own counters
(GitHub requests by resource and status, and the process's start time), which only a daemon has.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from collector.config import Config, Schedule, cron_trigger
from collector.github.responses import ClientStats
from collector.store.groups import load_current_memberships, load_groups
from collector.store.latest import LATEST_METRICS, load_job_health, load_latest
from collector.store.repos import load_current_names
from collector.store.runs import load_token_budgets

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_HELP = {
    "stars": "Stargazers at the latest observation.",
    "forks": "Forks (GitHub's forkCount: the whole fork network) at the latest observation.",
    "watchers": "Watchers at the latest observation.",
    "open_issues": "Open issues at the latest observation.",
    "contributors": "Contributors (GitHub's anon=1 count) at the latest observation.",
    "commits_52w": "Commits on the default branch over the last 52 weeks, at the latest observation.",
    "downloads_30d": "Package downloads (PyPI, npm) over the 30 days ending on the latest day known.",
}


class Telemetry:
    """This process's own counters, on the registry `/metrics` serves."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "collector_github_requests",
            "Requests sent to the GitHub API by this process, by resource (core, graphql) and status.",
            ["resource", "status"],
            registry=self.registry,
        )
        self.web_answers = Counter(
            "collector_web_answers",
            "Pages and API answers by this process: computed, or kept from an earlier request (its max-age).",
            ["served"],
            registry=self.registry,
        )
        # process_start_time_seconds and friends: the alert rules tell a task that has not run yet since
        # this process started from one that never succeeds.
        ProcessCollector(registry=self.registry)

    def record(self, stats: ClientStats) -> None:
        """Add what one job's client sent (its stats count `METHOD /endpoint outcome`)."""
        for key, count in stats.requests.items():
            _method, endpoint, outcome = key.rsplit(" ", 2)
            resource = "graphql" if endpoint.endswith("/graphql") else "core"
            self.requests.labels(resource, outcome).inc(count)

    def watch_store(self, sessions: Callable[[], sessionmaker[Session]], config: Config) -> None:
        """Also serve what the store holds, read at each scrape."""
        self.registry.register(StoreMetrics(sessions, config))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class StoreMetrics(Collector):
    """The store's numbers as gauges, read when Prometheus scrapes."""

    def __init__(self, sessions: Callable[[], sessionmaker[Session]], config: Config) -> None:
        self.sessions = sessions
        self.config = config

    def collect(self) -> Iterator[Metric]:
        with self.sessions()() as session:
            yield from _repo_gauges(session)
            yield _group_info(session, self.config)
            yield from _budget_gauges(session)
            yield from _job_gauges(session, self.config)


def _repo_gauges(session: Session) -> Iterable[Metric]:
    families = {
        m: GaugeMetricFamily(f"collector_repo_{m}", _HELP[m], labels=["repo"]) for m in LATEST_METRICS
    }
    for row in load_latest(session):
        for metric, value in row.values.items():
            if value is not None:
                families[metric].add_metric([row.repo], value)
    return families.values()


def _group_info(session: Session, config: Config) -> Metric:
    info = GaugeMetricFamily(
        "collector_repo_group_info",
        "1 for each repository of each group (config lists and rule groups' current members).",
        labels=["repo", "group"],
    )
    # Former names resolve to the current one; two queries whatever the number of repositories.
    current = load_current_names(session, [n for names in config.groups.values() for n in names])
    members = {g: {current[n.key] for n in names if n.key in current} for g, names in config.groups.items()}
    for group, found in load_current_memberships(session).items():
        members.setdefault(group, set()).update(found)
    for group, names in sorted(members.items()):
        for full_name in sorted(names):
            info.add_metric([full_name, group], 1)
    return info


def _budget_gauges(session: Session) -> Iterable[Metric]:
    remaining = GaugeMetricFamily(
        "collector_token_budget_remaining",
        "Budget left at the last answer, by token position in GITHUB_TOKEN (or App installation).",
        labels=["token", "resource"],
    )
    limit = GaugeMetricFamily(
        "collector_token_budget_limit", "The budget's size.", labels=["token", "resource"]
    )
    for budget in load_token_budgets(session):
        remaining.add_metric([budget.label, budget.resource], budget.remaining)
        limit.add_metric([budget.label, budget.resource], budget.limit)
    return remaining, limit


def deployment_tasks(session: Session, config: Config) -> dict[str, Schedule]:
    """The tasks `collector daemon` runs with this config, and their schedules (as cli/jobs.py builds them):
    collect and backfill, discover when a rule group exists, and each scheduled report job."""
    tasks = {"collect": config.schedules["collect"], "backfill": config.schedules["backfill"]}
    if config.rules or load_groups(session):
        tasks["discover"] = config.schedules["discover"]
    tasks.update({f"report:{n}": job.schedule for n, job in config.reports.items() if job.schedule})
    return tasks


def schedule_interval(schedule: Schedule, now: datetime) -> float:
    """Seconds between two runs; for a cron schedule the longest gap among its next 50 fire times, so a
    weekdays-only job is not taken for stale over a weekend."""
    if schedule.interval_seconds:
        return float(schedule.interval_seconds)
    trigger = cron_trigger(str(schedule.cron))
    fires: list[datetime] = [trigger.get_next_fire_time(None, now)]
    for _ in range(50):
        fires.append(trigger.get_next_fire_time(fires[-1], fires[-1]))
    return max(float((b - a).total_seconds()) for a, b in itertools.pairwise(fires))


def _job_gauges(session: Session, config: Config) -> Iterable[Metric]:
    # The label is `task`, not `job` or `instance`: Prometheus sets those on every target, and would rename
    # ours to exported_job.
    last_success = GaugeMetricFamily(
        "collector_last_success_timestamp_seconds",
        "When a run of the task last ended ok (Unix time); 0 until one has.",
        labels=["task"],
    )
    since = GaugeMetricFamily(
        "collector_seconds_since_last_success",
        "Seconds since a run of the task last ended ok (absent until one has).",
        labels=["task"],
    )
    interval = GaugeMetricFamily(
        "collector_task_interval_seconds",
        "Seconds between two scheduled runs of the task (a cron schedule's longest gap).",
        labels=["task"],
    )
    succeeded = GaugeMetricFamily(
        "collector_last_run_succeeded",
        "1 if the task's latest finished run ended ok, 0 if it was partial or failed.",
        labels=["task"],
    )
    duration = GaugeMetricFamily(
        "collector_last_run_duration_seconds", "How long the task's latest run took.", labels=["task"]
    )
    failed = GaugeMetricFamily(
        "collector_last_run_failed_repositories",
        "Repositories that failed in the task's latest run.",
        labels=["task"],
    )
    now = datetime.now(UTC)
    schedules = deployment_tasks(session, config)
    for task, schedule in schedules.items():
        interval.add_metric([task], schedule_interval(schedule, now))
    for job in load_job_health(session, schedules):
        success = job.last_success_at
        last_success.add_metric([job.task], success.timestamp() if success else 0.0)
        if success is not None:
            since.add_metric([job.task], (now - success).total_seconds())
        if job.last_status is not None:
            succeeded.add_metric([job.task], 1.0 if job.last_status == "ok" else 0.0)
            failed.add_metric([job.task], job.last_failed_items)
        if job.last_duration_seconds is not None:
            duration.add_metric([job.task], job.last_duration_seconds)
    return last_success, since, interval, succeeded, duration, failed
