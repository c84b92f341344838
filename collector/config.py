"""The TOML config file: tracked repositories in named groups, schedules and report jobs."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector.domain import RepoName, parse_repo_name
from collector.errors import CollectorError, ConfigError

_INTERVAL_RE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

DEFAULT_SCHEDULES = {"collect": "6h", "backfill": "1d"}


@dataclass(frozen=True)
class Schedule:
    """Either a fixed interval in seconds or a five-field cron expression (UTC)."""

    interval_seconds: int | None = None
    cron: str | None = None

    def describe(self) -> str:
        return f"every {self.interval_seconds}s" if self.interval_seconds else f"cron {self.cron!r}"


@dataclass(frozen=True)
class ReportJob:
    """A named report the daemon writes on a schedule (arguments as for `collector report`)."""

    name: str
    output: str
    schedule: Schedule | None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    """The parsed config file; an empty one when there is no file."""

    path: Path | None = None
    groups: dict[str, tuple[RepoName, ...]] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    reports: dict[str, ReportJob] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=dict)

    def all_repos(self) -> tuple[RepoName, ...]:
        seen: dict[str, RepoName] = {}
        for names in self.groups.values():
            for repo in names:
                seen.setdefault(repo.key, repo)
        return tuple(seen.values())


def parse_schedule(value: Any, where: str) -> Schedule:
    """Parse '6h' / '30m' / '1d' or a five-field cron expression such as '0 */6 * * *'."""
    if isinstance(value, int) and value > 0:
        return Schedule(interval_seconds=value)
    if isinstance(value, str):
        text = value.strip()
        match = _INTERVAL_RE.fullmatch(text)
        if match:
            seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            if seconds > 0:
                return Schedule(interval_seconds=seconds)
        elif len(text.split()) == 5:
            _check_cron(text, where)
            return Schedule(cron=text)
    raise ConfigError(
        f"{where}: {value!r} is not a schedule; expected an interval like '6h', '30m', '1d' "
        "or a cron expression like '0 */6 * * *'"
    )


_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_trigger(text: str) -> Any:
    """An APScheduler CronTrigger (UTC) for a standard five-field crontab line.

    APScheduler 3 numbers weekdays from Monday = 0, while crontab uses Sunday = 0 (and 7): numeric
    weekdays are translated to names so that '0 7 * * 1' means Monday, as a crontab user expects.
    """
    from apscheduler.triggers.cron import CronTrigger

    minute, hour, day, month, dow = text.split()
    dow = re.sub(r"(?<![/\d])([0-7])(?!\d)", lambda m: _DOW_NAMES[int(m.group(1))], dow)
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=dow, timezone="UTC")


def _check_cron(text: str, where: str) -> None:
    try:
        cron_trigger(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: cron expression {text!r} is invalid ({exc})") from exc


def load_config(path: Path | None, required: bool = False) -> Config:
    """Read and validate the config file; raise ConfigError naming the file and key on any problem."""
    if path is None:
        return Config(schedules={k: parse_schedule(v, k) for k, v in DEFAULT_SCHEDULES.items()})
    if not path.exists():
        if required:
            raise ConfigError(
                f"{path}: config file not found; create it or unset COLLECTOR_CONFIG to run without one"
            )
        return load_config(None)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax at that position") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    return _parse(path, data)


# The [client] options, all non-negative integers: requests in flight, budget units kept in reserve per
# token, repositories per GraphQL query, and points a minute per token (0 turns pacing off).
CLIENT_KEYS = frozenset(
    ("concurrency", "reserve", "graphql_batch", "rest_points_per_minute", "graphql_points_per_minute")
)


def _expect(cond: bool, path: Path, key: str, expected: str, got: Any) -> None:
    if not cond:
        raise ConfigError(f"{path}: key {key!r} is {got!r}; expected {expected}")


def _parse(path: Path, data: dict[str, Any]) -> Config:
    known = {"groups", "schedules", "reports", "client"}
    for key in data:
        _expect(key in known, path, key, f"one of the sections {sorted(known)}", "an unknown section")

    groups: dict[str, tuple[RepoName, ...]] = {}
    raw_groups = data.get("groups", {})
    _expect(
        isinstance(raw_groups, dict), path, "groups", 'a table of group = ["owner/name", ...]', raw_groups
    )
    for group, names in raw_groups.items():
        key = f"groups.{group}"
        _expect(isinstance(names, list), path, key, 'a list of "owner/name" strings', names)
        parsed = []
        for item in names:
            _expect(isinstance(item, str), path, key, 'a list of "owner/name" strings', item)
            try:
                parsed.append(parse_repo_name(item))
            except CollectorError as exc:
                raise ConfigError(f"{path}: key {key!r}: {exc}") from exc
        groups[group] = tuple(parsed)

    schedules = {k: parse_schedule(v, k) for k, v in DEFAULT_SCHEDULES.items()}
    raw_sched = data.get("schedules", {})
    _expect(isinstance(raw_sched, dict), path, "schedules", "a table of job = schedule", raw_sched)
    for job, value in raw_sched.items():
        try:
            schedules[job] = parse_schedule(value, f"schedules.{job}")
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from exc

    reports: dict[str, ReportJob] = {}
    raw_reports = data.get("reports", {})
    _expect(isinstance(raw_reports, dict), path, "reports", "a table of [reports.NAME] tables", raw_reports)
    for name, spec in raw_reports.items():
        key = f"reports.{name}"
        _expect(isinstance(spec, dict), path, key, "a table with output = ... and report options", spec)
        output = spec.get("output")
        _expect(
            isinstance(output, str) and bool(output),
            path,
            f"{key}.output",
            "a path pattern such as 'reports/trends-{date}.html'",
            output,
        )
        schedule = None
        if "schedule" in spec:
            try:
                schedule = parse_schedule(spec["schedule"], f"{key}.schedule")
            except ConfigError as exc:
                raise ConfigError(f"{path}: {exc}") from exc
        options = {k: v for k, v in spec.items() if k not in ("output", "schedule")}
        group = options.get("group")
        if group is not None:
            _expect(group in groups, path, f"{key}.group", f"one of the groups {sorted(groups)}", group)
        reports[name] = ReportJob(name=name, output=str(output), schedule=schedule, options=options)

    client = data.get("client", {})
    _expect(isinstance(client, dict), path, "client", "a table of client options", client)
    for key, value in client.items():
        _expect(key in CLIENT_KEYS, path, f"client.{key}", f"one of {sorted(CLIENT_KEYS)}", value)
        _expect(
            isinstance(value, int) and not isinstance(value, bool) and value >= 0,
            path,
            f"client.{key}",
            "a non-negative integer",
            value,
        )
    if "concurrency" in client:
        _expect(
            1 <= client["concurrency"] <= 100,
            path,
            "client.concurrency",
            "an integer from 1 to 100",
            client["concurrency"],
        )
    return Config(path=path, groups=groups, schedules=schedules, reports=reports, client=dict(client))


# The 2017 article's frameworks: what `collector sync` tracks when nothing is tracked and no group is named.
DEFAULT_GROUP_NAME = "frameworks-2017"
DEFAULT_GROUP = (
    "tensorflow/tensorflow",
    "BVLC/caffe",
    "keras-team/keras",
    "microsoft/CNTK",
    "apache/mxnet",
    "torch/torch7",
    "Theano/Theano",
    "deeplearning4j/deeplearning4j",
    "autumnai/leaf",
    "Lasagne/Lasagne",
    "NervanaSystems/neon",
    "chainer/chainer",
    "NVIDIA/DIGITS",
    "amazon-archives/amazon-dsstne",
)
