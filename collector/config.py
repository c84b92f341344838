"""The TOML config file: tracked repositories in named groups, schedules and report jobs."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collector.alerts.spec import AlertSpec, parse_alerts  # [alerts.NAME] (issue 13)
from collector.config_checks import check_keys, check_range, expect
from collector.domain import GroupRule, RepoName, make_group_rule, parse_repo_name
from collector.downloads.refs import PackageRef
from collector.downloads.spec import parse_packages  # [packages] (issue 21)
from collector.errors import CollectorError, ConfigError, InvalidRepoName
from collector.github.options import CONFIG_KEYS, MAX_CONCURRENCY
from collector.web.spec import ServerAuth, parse_server_auth  # [server.auth] (issue 20)

_INTERVAL_RE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

DEFAULT_SCHEDULES = {"collect": "6h", "backfill": "1d", "discover": "1d", "downloads": "1d"}
DEFAULT_LISTEN = "127.0.0.1:8080"  # localhost unless configured: the endpoints have no authentication
DEFAULT_CACHE_SECONDS = 60  # the web answers' max-age: the server keeps them no longer than browsers may


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
    groups: dict[str, tuple[RepoName, ...]] = field(default_factory=dict)  # fixed members of every group
    rules: dict[str, GroupRule] = field(default_factory=dict)  # [groups.NAME] tables with a rule
    schedules: dict[str, Schedule] = field(default_factory=dict)
    reports: dict[str, ReportJob] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=dict)
    listen: str = DEFAULT_LISTEN  # [server] listen: where the daemon serves HTTP
    cache_seconds: int = DEFAULT_CACHE_SECONDS  # [server] cache_seconds: how long web answers are kept
    alerts: dict[str, AlertSpec] = field(default_factory=dict)  # [alerts.NAME], see collector/alerts/spec.py
    server_auth: ServerAuth | None = None  # [server.auth], see collector/web/spec.py
    packages: dict[RepoName, tuple[PackageRef, ...]] = field(default_factory=dict)  # [packages]

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
    if path.is_dir() and not required:
        # What docker leaves when a bind-mounted config file does not exist on the host: run without one.
        return load_config(None)
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory; point COLLECTOR_CONFIG at a collector.toml file")
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


def _parse(path: Path, data: dict[str, Any]) -> Config:
    check_keys(path, "", data, ("groups", "schedules", "reports", "client", "server", "alerts", "packages"))
    groups, rules = _parse_groups(path, data.get("groups", {}))
    return Config(
        path=path,
        groups=groups,
        rules=rules,
        schedules=_parse_schedules(path, data.get("schedules", {})),
        reports=_parse_reports(path, data.get("reports", {})),
        client=_parse_client(path, data.get("client", {})),
        listen=_parse_server(path, data.get("server", {})),
        cache_seconds=_parse_cache_seconds(path, data.get("server", {})),
        server_auth=_parse_server_auth(path, data.get("server", {})),
        alerts=parse_alerts(path, data.get("alerts", {}), groups),
        packages=parse_packages(path, data.get("packages", {})),
    )


def _parse_groups(path: Path, raw: Any) -> tuple[dict[str, tuple[RepoName, ...]], dict[str, GroupRule]]:
    """`name = ["owner/name", ...]` lists and `[groups.NAME]` rule tables: (fixed members, rules)."""
    expect(isinstance(raw, dict), path, "groups", 'a table of group = ["owner/name", ...]', raw)
    groups: dict[str, tuple[RepoName, ...]] = {}
    rules: dict[str, GroupRule] = {}
    for group, spec in raw.items():
        key = f"groups.{group}"
        expect(len(group) <= 100, path, key, "a group name of at most 100 characters", group)
        if isinstance(spec, dict):
            rules[group] = _parse_rule(path, key, spec)
            names = spec.get("repos", [])
            key = f"{key}.repos"
        else:
            names = spec
        groups[group] = _parse_names(path, key, names)
    return groups, rules


def _parse_names(path: Path, key: str, names: Any) -> tuple[RepoName, ...]:
    expect(isinstance(names, list), path, key, 'a list of "owner/name" strings', names)
    parsed = []
    for item in names:
        expect(isinstance(item, str), path, key, 'a list of "owner/name" strings', item)
        try:
            parsed.append(parse_repo_name(item))
        except CollectorError as exc:
            raise ConfigError(f"{path}: key {key!r}: {exc}") from exc
    return tuple(parsed)


_RULE_KEYS = {"topic", "org", "user", "search"}
_RULE_OPTIONS = {"min_stars": int, "include_forks": bool, "include_archived": bool}


def _parse_rule(path: Path, key: str, spec: dict[str, Any]) -> GroupRule:
    """A [groups.NAME] table: exactly one of topic/org/user/search, optional filters and `repos`."""
    check_keys(path, key, spec, (*_RULE_KEYS, *_RULE_OPTIONS, "repos"))
    kinds = [k for k in sorted(_RULE_KEYS) if k in spec]
    expect(len(kinds) == 1, path, key, "exactly one of topic, org, user or search", kinds or "none of them")
    kind = kinds[0]
    expect(isinstance(spec[kind], str), path, f"{key}.{kind}", "a string", spec[kind])
    for option, kind_type in _RULE_OPTIONS.items():
        if option in spec:
            value = spec[option]
            ok = isinstance(value, kind_type) and (kind_type is bool or not isinstance(value, bool))
            expect(ok, path, f"{key}.{option}", f"a {kind_type.__name__}", value)
    try:
        return make_group_rule(
            kind,
            spec[kind],
            min_stars=spec.get("min_stars", 0),
            include_forks=spec.get("include_forks", False),
            include_archived=spec.get("include_archived", True),
        )
    except CollectorError as exc:
        raise ConfigError(f"{path}: key {key!r}: {exc}") from exc


def _parse_schedules(path: Path, raw: Any) -> dict[str, Schedule]:
    """The default schedules, overridden by the file's."""
    schedules = {k: parse_schedule(v, k) for k, v in DEFAULT_SCHEDULES.items()}
    expect(isinstance(raw, dict), path, "schedules", "a table of job = schedule", raw)
    check_keys(path, "schedules", raw, DEFAULT_SCHEDULES)
    for job, value in raw.items():
        try:
            schedules[job] = parse_schedule(value, f"schedules.{job}")
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    return schedules


def _parse_reports(path: Path, raw: Any) -> dict[str, ReportJob]:
    """The report jobs, each option checked now as `collector report` checks it, so that a typo stops the
    command or the daemon at start. A group the file does not define may be one made with `repos add
    --group`: the job looks it up in the store when it runs."""
    from collector.reports.model import OPTION_KEYS

    expect(isinstance(raw, dict), path, "reports", "a table of [reports.NAME] tables", raw)
    reports: dict[str, ReportJob] = {}
    for name, spec in raw.items():
        key = f"reports.{name}"
        expect(isinstance(spec, dict), path, key, "a table with output = ... and report options", spec)
        check_keys(path, key, spec, ("output", "schedule", *OPTION_KEYS))
        output = spec.get("output")
        expect(
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
        _check_report_options(path, key, str(output), options)
        reports[name] = ReportJob(name=name, output=str(output), schedule=schedule, options=options)
    return reports


def _check_report_options(path: Path, key: str, output: str, options: dict[str, Any]) -> None:
    """Raise ConfigError naming `key.OPTION` when `collector report` would refuse these options."""
    from collector.reports.model import OPTION_KEYS, format_for_path, parse_request

    try:
        format_for_path(output, options.get("format"))
        parse_request(options, datetime.now(UTC).date())
    except CollectorError as exc:
        # The report's messages start with the option they concern ("since: '2017-13' is not ...").
        option, sep, reason = str(exc).partition(": ")
        if isinstance(exc, InvalidRepoName):
            option, sep, reason = "repos", ": ", str(exc)
        if sep and option in (*OPTION_KEYS, "output"):
            raise ConfigError(f"{path}: key {f'{key}.{option}'!r}: {reason}") from exc
        raise ConfigError(f"{path}: key {key!r}: {exc}") from exc


def _parse_server(path: Path, raw: Any) -> str:
    expect(isinstance(raw, dict), path, "server", "a table with listen (and auth)", raw)
    check_keys(path, "server", raw, ("listen", "auth", "cache_seconds"))
    listen = raw.get("listen", DEFAULT_LISTEN)
    try:
        parse_listen(listen)
    except ValueError as exc:
        raise ConfigError(f"{path}: key 'server.listen' is {listen!r}; {exc}") from exc
    return str(listen)


def _parse_cache_seconds(path: Path, raw: dict[str, Any]) -> int:
    seconds = raw.get("cache_seconds", DEFAULT_CACHE_SECONDS)
    ok = isinstance(seconds, int) and not isinstance(seconds, bool) and 0 <= seconds <= DEFAULT_CACHE_SECONDS
    expected = f"whole seconds from 0 (compute every answer) to {DEFAULT_CACHE_SECONDS} (their max-age)"
    expect(ok, path, "server.cache_seconds", expected, seconds)
    return int(seconds)


def _parse_server_auth(path: Path, raw: dict[str, Any]) -> ServerAuth | None:
    return parse_server_auth(path, raw["auth"]) if "auth" in raw else None


def parse_listen(value: Any) -> tuple[str, int]:
    """`HOST:PORT` (IPv6 as `[::1]:8080`) as (host, port); ValueError saying what is expected."""
    text = value if isinstance(value, str) else ""
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080")
    return host, int(port)


# The range each [client] option accepts (the low end is what ClientOptions would silently raise it to).
_CLIENT_RANGES: dict[str, tuple[int, int | None]] = {
    "concurrency": (1, MAX_CONCURRENCY),
    "graphql_batch": (1, None),
}


def _parse_client(path: Path, raw: Any) -> dict[str, Any]:
    """The [client] options (`ClientOptions` says what each means), whole numbers in their ranges."""
    expect(isinstance(raw, dict), path, "client", "a table of client options", raw)
    check_keys(path, "client", raw, CONFIG_KEYS)
    for key, value in raw.items():
        low, high = _CLIENT_RANGES.get(key, (0, None))
        check_range(path, f"client.{key}", value, low, high)
    return dict(raw)


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
