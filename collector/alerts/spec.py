"""The `[alerts.NAME]` tables of collector.toml: which repositories and metric, the rules, the webhook.

Parsed by `collector.config` with the rest of the file; errors are one line naming the file, the key and
what is expected, as for every other section. A webhook URL is a secret (it carries the credential that
lets anyone post to the channel): it never shows in an error, a repr, a log line or the store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from collector.config_checks import check_keys
from collector.domain import RepoName, parse_repo_name
from collector.errors import CollectorError, ConfigError

ALERT_METRICS = ("stars", "forks", "contributors", "watchers")
ALERT_FORMATS = ("json", "slack", "discord")
ALERT_RULES = ("weekly_growth_percent", "weekly_growth", "milestones", "rank_change")
_OTHER_KEYS = ("group", "repos", "metric", "webhook", "webhook_env", "format", "max_messages")
MAX_MESSAGES = 20  # messages per alert and evaluation; the rest go in one digest message
MAX_MESSAGES_RANGE = (1, 100)
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HIDDEN = "a value not shown here (webhook URLs are secrets)"


def is_http_url(text: str) -> bool:
    """Whether `text` is an absolute http(s) URL."""
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class Webhook:
    """Where an alert goes: a URL written in the file, or the environment variable holding one (its value
    bound from the settings by `bind`). Neither `repr()` nor `str()` shows the URL."""

    __slots__ = ("_url", "env")

    def __init__(self, url: str | None = None, env: str | None = None) -> None:
        self._url = url
        self.env = env  # the variable's name (not a secret)

    def bind(self, environ: Mapping[str, str]) -> Webhook:
        """This webhook with its variable's value from `environ` (the settings' environment); unset or
        empty leaves it without a URL. A URL written in the file stays as it is."""
        if self.env is None:
            return self
        return Webhook((environ.get(self.env) or "").strip() or None, self.env)

    def reveal(self) -> str | None:
        """The URL: call only where the request is sent. None when the variable is unset or empty (or the
        webhook was never bound)."""
        return self._url

    def __repr__(self) -> str:
        return f"Webhook(env={self.env})" if self.env else "Webhook(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Webhook) and (other._url, other.env) == (self._url, self.env)

    def __hash__(self) -> int:
        return hash((self._url, self.env))


@dataclass(frozen=True)
class AlertSpec:
    """An `[alerts.NAME]` table: the repositories (a group's, or a list), the metric, the rules (any of
    them; None/empty/False = off), the webhook, the message format and how many messages one evaluation
    sends before the rest go in one digest."""

    name: str
    repos: tuple[RepoName, ...]
    group: str | None
    webhook: Webhook
    metric: str = "stars"
    format: str = "json"
    weekly_growth_percent: float | None = None
    weekly_growth: int | None = None
    milestones: tuple[int, ...] = ()
    rank_change: bool = False
    max_messages: int = MAX_MESSAGES


def _expect(cond: bool, path: Path, key: str, expected: str, got: Any) -> None:
    # The same one-line shape as collector.config's.
    if not cond:
        raise ConfigError(f"{path}: key {key!r} is {got!r}; expected {expected}")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def parse_alerts(path: Path, raw: Any, groups: Mapping[str, tuple[RepoName, ...]]) -> dict[str, AlertSpec]:
    """The `[alerts.NAME]` tables, validated; `group` must name one of `groups`."""
    _expect(isinstance(raw, dict), path, "alerts", "a table of [alerts.NAME] tables", raw)
    return {name: _parse_alert(path, f"alerts.{name}", name, spec, groups) for name, spec in raw.items()}


def _parse_alert(
    path: Path, key: str, name: str, spec: Any, groups: Mapping[str, tuple[RepoName, ...]]
) -> AlertSpec:
    _expect(isinstance(spec, dict), path, key, "a table with group or repos, rules and webhook", spec)
    check_keys(path, key, spec, (*_OTHER_KEYS, *ALERT_RULES))  # names the nearest key of a typo
    group, repos = _parse_repos(path, key, spec, groups)
    metric = spec.get("metric", "stars")
    _expect(metric in ALERT_METRICS, path, f"{key}.metric", f"one of {', '.join(ALERT_METRICS)}", metric)
    fmt = spec.get("format", "json")
    _expect(fmt in ALERT_FORMATS, path, f"{key}.format", f"one of {', '.join(ALERT_FORMATS)}", fmt)
    _expect(
        any(rule in spec for rule in ALERT_RULES),
        path,
        key,
        f"at least one rule ({', '.join(ALERT_RULES)})",
        "a table without rules",
    )
    return AlertSpec(
        name=name,
        repos=repos,
        group=group,
        webhook=_parse_webhook(path, key, spec),
        metric=str(metric),
        format=str(fmt),
        max_messages=_parse_max_messages(path, key, spec),
        **_parse_rules(path, key, spec),
    )


def _parse_repos(
    path: Path, key: str, spec: dict[str, Any], groups: Mapping[str, tuple[RepoName, ...]]
) -> tuple[str | None, tuple[RepoName, ...]]:
    one_of = 'group = "NAME" or repos = ["owner/name", ...], not both'
    _expect(
        ("group" in spec) != ("repos" in spec),
        path,
        key,
        one_of,
        "a table with " + ("both" if "group" in spec else "neither"),
    )
    if "group" in spec:
        group = spec["group"]
        _expect(group in groups, path, f"{key}.group", f"one of the groups {sorted(groups)}", group)
        return str(group), groups[group]
    names = spec["repos"]
    expected = 'a non-empty list of "owner/name" strings'
    _expect(isinstance(names, list) and bool(names), path, f"{key}.repos", expected, names)
    parsed = []
    for item in names:
        _expect(isinstance(item, str), path, f"{key}.repos", expected, item)
        try:
            parsed.append(parse_repo_name(item))
        except CollectorError as exc:
            raise ConfigError(f"{path}: key {key + '.repos'!r}: {exc}") from exc
    return None, tuple(parsed)


def _parse_max_messages(path: Path, key: str, spec: dict[str, Any]) -> int:
    value = spec.get("max_messages", MAX_MESSAGES)
    low, high = MAX_MESSAGES_RANGE
    ok = _positive_int(value) and low <= value <= high
    expected = f"an integer from {low} to {high} (default {MAX_MESSAGES})"
    _expect(ok, path, f"{key}.max_messages", expected, value)
    return int(value)


def _parse_rules(path: Path, key: str, spec: dict[str, Any]) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    if "weekly_growth_percent" in spec:
        value = spec["weekly_growth_percent"]
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        _expect(ok, path, f"{key}.weekly_growth_percent", "a positive number of percent, e.g. 10", value)
        rules["weekly_growth_percent"] = float(value)
    if "weekly_growth" in spec:
        value = spec["weekly_growth"]
        _expect(_positive_int(value), path, f"{key}.weekly_growth", "a positive integer, e.g. 500", value)
        rules["weekly_growth"] = value
    if "milestones" in spec:
        value = spec["milestones"]
        ok = isinstance(value, list) and bool(value) and all(_positive_int(v) for v in value)
        expected = "a non-empty list of positive integers, e.g. [10000, 50000]"
        _expect(ok, path, f"{key}.milestones", expected, value)
        rules["milestones"] = tuple(sorted(set(value)))
    if "rank_change" in spec:
        value = spec["rank_change"]
        _expect(isinstance(value, bool), path, f"{key}.rank_change", "true or false", value)
        rules["rank_change"] = value
    return rules


def _parse_webhook(path: Path, key: str, spec: dict[str, Any]) -> Webhook:
    expected = 'webhook = "https://..." or webhook_env = "ENV_VAR_NAME", not both'
    has_url, has_env = "webhook" in spec, "webhook_env" in spec
    _expect(has_url != has_env, path, key, expected, "a table with " + ("both" if has_url else "neither"))
    if has_url:
        url = spec["webhook"]
        if not (isinstance(url, str) and is_http_url(url.strip())):
            # Never echo the value: a mistyped URL is still the secret.
            raise ConfigError(f"{path}: key {key + '.webhook'!r} is {_HIDDEN}; expected an http(s) URL")
        return Webhook(url=url.strip())
    env = spec["webhook_env"]
    ok = isinstance(env, str) and bool(_ENV_NAME_RE.fullmatch(env))
    _expect(ok, path, f"{key}.webhook_env", "the name of an environment variable, e.g. SLACK_WEBHOOK", env)
    return Webhook(env=str(env))
