"""Alerts (issue 13): rules on the store's values, fired once each (restarts included), delivered to a real
local webhook receiver, retried after a dead webhook, never leaking the webhook URL; the CLI's list/test."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from collector.alerts.evaluate import AlertsOutcome, evaluate_alerts, run_alerts
from collector.alerts.messages import render_payload, sample_firing
from collector.alerts.rules import Firing, RepoValues, compute_ranks, compute_repo_values, iso_week
from collector.alerts.webhook import WebhookSender, bind_webhooks, webhook_url
from collector.app import App
from collector.cli.daemon import _DaemonJobs
from collector.config import Config, load_config
from collector.domain import Repository, Snapshot, parse_repo_name, utc_now
from collector.errors import ConfigError
from collector.logs import get_logger, setup_logging
from collector.settings import load_settings
from collector.store.alerts import CLAIM_SECONDS, claim_undelivered, save_firing
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.history import save_snapshot
from collector.store.models import AlertFiring, Base
from collector.store.repos import save_repository, save_tracked_name
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator
from tests.conftest import UNPACED_CLIENT, Store, run_cli

NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)  # a Wednesday in ISO week 2026-W12
WEEK_AGO = NOW - timedelta(days=7)
SECRET = "T0SECRETB0SECRETxoxbHOOKtoken42"  # the secret part of every webhook URL here


class Receiver:
    """A real webhook receiver on 127.0.0.1: records each POST (status answered, JSON body) and when it
    came (time.monotonic), and answers the next of `script` (status, headers, body), else `status`."""

    def __init__(self) -> None:
        self.posts: list[tuple[int, dict[str, Any]]] = []  # (status answered, body)
        self.received: list[float] = []
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.status = 200
        self.delay = 0.0
        self.port = 0
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{SECRET}"

    @property
    def delivered(self) -> list[dict[str, Any]]:
        return [body for status, body in self.posts if status < 300]

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
                receiver.received.append(time.monotonic())
                time.sleep(receiver.delay)
                status, headers, answer = (
                    receiver.script.pop(0) if receiver.script else (receiver.status, {}, b"")
                )
                receiver.posts.append((status, body))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Close the port: connections are refused until `start()` (same port) again."""
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    r.stop()


class Sleeps:
    """An injected sleep: records the waits, does not wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def config_file(tmp_path: Path, body: str) -> Config:
    path = tmp_path / "collector.toml"
    path.write_text(body, encoding="utf-8")
    return load_config(path, required=True)


def seed(store: Store, points: dict[str, list[tuple[datetime, int]]]) -> None:
    """Repositories with snapshots whose every counter (stars, forks, watchers, contributors) is the value."""
    with transaction(store.sessions) as s:
        for i, (name, values) in enumerate(points.items()):
            row = save_repository(s, Repository(github_id=9000 + i, full_name=name), tracked=True)
            for when, v in values:
                save_snapshot(s, row.id, Snapshot(when, v, v, v, 0, contributors=v))


def evaluate(
    store: Store, config: Config, now: datetime = NOW, environ: dict[str, str] | None = None, **kw: Any
) -> AlertsOutcome:
    """Evaluate the config's alerts, their webhook_env variables bound from `environ` as the App does."""
    kw.setdefault("sender", WebhookSender(sleep=Sleeps()))
    alerts = bind_webhooks(config.alerts, environ or {})
    return asyncio.run(evaluate_alerts(store.sessions, alerts, now=now, **kw))


def firings(store: Store) -> list[AlertFiring]:
    with store.sessions() as s:
        return list(s.scalars(select(AlertFiring).order_by(AlertFiring.rule, AlertFiring.repo_id)))


# --- pure rules ------------------------------------------------------------------------------------------


def test_values_ranks_and_weeks_from_literals() -> None:
    today = NOW.date()
    series = [(today - timedelta(days=9), 90), (today - timedelta(days=2), 120), (today, 130)]
    v = compute_repo_values(1, "o/a", series, today)
    assert v == RepoValues(1, "o/a", now=130, week_ago=90, day_before=120, earliest=90)
    late = compute_repo_values(1, "o/a", [(today - timedelta(days=3), 5)], today)
    assert late is not None and late.week_ago is None and late.day_before == 5
    assert compute_repo_values(1, "o/a", [(today - timedelta(days=30), 5)], today) is None
    assert compute_ranks({1: 30, 2: 50, 3: 30, 4: 10}) == {2: 1, 1: 2, 3: 2, 4: 4}
    assert iso_week(NOW.date()) == "2026-W12" and iso_week(datetime(2027, 1, 1).date()) == "2026-W53"


# --- rules on the store, delivered to a real receiver -----------------------------------------------------


def test_milestone_fires_once_even_after_a_restart(store: Store, receiver: Receiver, tmp_path: Path) -> None:
    seed(
        store,
        {
            "o/crossing": [(WEEK_AGO, 9_900), (NOW, 10_050)],
            "o/above": [(WEEK_AGO, 60_000), (NOW, 60_100)],  # above 10k and 50k a week ago already
            "o/new": [(NOW, 12_000)],  # nothing before: nothing crossed
        },
    )
    config = config_file(
        tmp_path,
        f"""
[alerts.stars-milestones]
repos = ["o/crossing", "o/above", "o/new"]
milestones = [10000, 50000, 100000]
webhook = "{receiver.url}"
""",
    )
    assert evaluate(store, config) == AlertsOutcome(fired=1, delivered=1, undelivered=0)
    assert receiver.delivered == [
        {
            "alert": "stars-milestones",
            "repo": "o/crossing",
            "rule": "milestones",
            "metric": "stars",
            "value": 10_050,
            "previous": 9_900,
            "detail": "o/crossing passed 10,000 stars (10,050 now, 9,900 a week before)",
            "fired_at": NOW.isoformat(),
        }
    ]
    assert evaluate(store, config, NOW + timedelta(hours=6)) == AlertsOutcome()
    # A restart: a new App (its own engine and sessions) on the same store, the next day (9,900 a week
    # before, 10,050 now: the rule still says "crossed"; the store says "sent already").
    app = App(load_settings({"COLLECTOR_DATABASE_URL": store.url}, cwd=tmp_path), config)
    again = asyncio.run(
        evaluate_alerts(app.sessions, config.alerts, now=NOW + timedelta(days=1), sender=WebhookSender())
    )
    app.engine.dispose()
    assert again == AlertsOutcome() and len(receiver.posts) == 1
    [row] = firings(store)
    assert (row.occurrence, row.attempts, row.last_error) == ("10000", 1, None) and row.delivered_at


def test_weekly_growth_percent_and_absolute(store: Store, receiver: Receiver, tmp_path: Path) -> None:
    seed(
        store,
        {
            "o/small": [(WEEK_AGO, 1_000), (NOW, 1_150)],  # +15%, +150
            "o/big": [(WEEK_AGO, 10_000), (NOW, 10_600)],  # +6%, +600
            "o/flat": [(WEEK_AGO, 500), (NOW, 510)],
            "o/young": [(NOW - timedelta(days=1), 100), (NOW, 400)],  # no value a week ago: no rule fires
        },
    )
    config = config_file(
        tmp_path,
        f"""
[groups]
tracked = ["o/small", "o/big", "o/flat", "o/young"]

[alerts.growth]
group = "tracked"
metric = "forks"
weekly_growth_percent = 10
weekly_growth = 500
webhook = "{receiver.url}"
""",
    )
    assert evaluate(store, config).fired == 2
    got = {(b["rule"], b["repo"]): (b["value"], b["previous"], b["metric"]) for b in receiver.delivered}
    assert got == {
        ("weekly_growth_percent", "o/small"): (1_150, 1_000, "forks"),
        ("weekly_growth", "o/big"): (10_600, 10_000, "forks"),
    }
    details = sorted(b["detail"] for b in receiver.delivered)
    assert details == [
        "o/big: forks grew by 600 in 7 days, from 10,000 to 10,600",
        "o/small: forks grew 15.0% in 7 days, from 1,000 to 1,150",
    ]
    assert {r.occurrence for r in firings(store)} == {"2026-W12"}
    # Once per ISO week: later the same week nothing new; the next week, growth that lasts fires again.
    seed_more(store, "o/small", NOW + timedelta(days=2), 1_200)
    assert evaluate(store, config, NOW + timedelta(days=2)).fired == 0
    seed_more(store, "o/small", NOW + timedelta(days=7), 1_400)
    assert evaluate(store, config, NOW + timedelta(days=7)).fired == 1
    assert receiver.delivered[-1]["rule"] == "weekly_growth_percent"


def seed_more(store: Store, name: str, when: datetime, value: int) -> None:
    with transaction(store.sessions) as s:
        row = save_tracked_name(s, parse_repo_name(name))[0]
        save_snapshot(s, row.id, Snapshot(when, value, value, value, 0, contributors=value))


def test_rank_change_fires_when_the_order_changes(store: Store, receiver: Receiver, tmp_path: Path) -> None:
    day_before = NOW - timedelta(days=1)
    seed(
        store,
        {
            "o/first": [(day_before, 300), (NOW, 310)],
            "o/second": [(day_before, 200), (NOW, 210)],
            "o/third": [(day_before, 100), (NOW, 250)],  # overtakes o/second
        },
    )
    config = config_file(
        tmp_path,
        f"""
[groups]
g = ["o/first", "o/second", "o/third"]

[alerts.ranks]
group = "g"
metric = "watchers"
rank_change = true
format = "json"
webhook = "{receiver.url}"
""",
    )
    assert evaluate(store, config).fired == 2
    got = {b["repo"]: (b["value"], b["previous"]) for b in receiver.delivered}
    assert got == {"o/third": (2, 3), "o/second": (3, 2)}
    third = next(b["detail"] for b in receiver.delivered if b["repo"] == "o/third")
    assert third == (
        "o/third moved from #3 to #2 by watchers among 3 repositories (group g), with 250; overtook o/second"
    )
    assert evaluate(store, config, NOW + timedelta(hours=1)).fired == 0  # the same move: not again


def test_no_change_no_rank_alert(store: Store, receiver: Receiver, tmp_path: Path) -> None:
    seed(
        store,
        {"o/a": [(NOW - timedelta(days=1), 5), (NOW, 9)], "o/b": [(NOW - timedelta(days=1), 3), (NOW, 4)]},
    )
    config = config_file(
        tmp_path, f'[alerts.r]\nrepos = ["o/a", "o/b"]\nrank_change = true\nwebhook = "{receiver.url}"\n'
    )
    assert evaluate(store, config) == AlertsOutcome() and receiver.posts == []


# --- delivery: dead webhooks, retries, formats ------------------------------------------------------------


def test_a_dead_webhook_leaves_it_undelivered_until_it_is_back(
    store: Store, receiver: Receiver, tmp_path: Path
) -> None:
    seed(store, {"o/a": [(WEEK_AGO, 90), (NOW, 120)], "o/b": [(WEEK_AGO, 10), (NOW, 150)]})
    config = config_file(
        tmp_path, '[alerts.m]\nrepos = ["o/a", "o/b"]\nmilestones = [100]\nwebhook_env = "HOOK_URL"\n'
    )
    env = {"HOOK_URL": receiver.url}
    receiver.stop()  # a closed port: connections refused
    sleeps = Sleeps()
    out = evaluate(store, config, environ=env, sender=WebhookSender(sleep=sleeps))
    assert out == AlertsOutcome(fired=2, delivered=0, undelivered=2)
    assert sleeps.waits == [1.0, 4.0]  # three tries, growing waits; then the webhook is taken to be down
    rows = firings(store)
    assert [(r.delivered_at, r.claimed_until) for r in rows] == [(None, None), (None, None)]
    assert sorted(r.attempts for r in rows) == [0, 3] and any(
        "ConnectError" in (r.last_error or "") for r in rows
    )

    receiver.start()  # back on the same port, but failing
    receiver.status = 500
    out = evaluate(store, config, NOW + timedelta(hours=6), environ=env)
    assert out == AlertsOutcome(fired=0, delivered=0, undelivered=2) and len(receiver.posts) == 3
    assert any(r.last_error == "HTTP 500" for r in firings(store))

    receiver.status = 200
    out = evaluate(store, config, NOW + timedelta(hours=12), environ=env)
    assert out == AlertsOutcome(fired=0, delivered=2, undelivered=0)
    assert sorted(b["repo"] for b in receiver.delivered) == ["o/a", "o/b"]
    assert all(r.delivered_at and r.last_error is None for r in firings(store))
    assert evaluate(store, config, NOW + timedelta(hours=18), environ=env) == AlertsOutcome()


def test_a_4xx_is_final_within_one_attempt(store: Store, receiver: Receiver, tmp_path: Path) -> None:
    seed(store, {"o/a": [(WEEK_AGO, 90), (NOW, 120)]})
    config = config_file(
        tmp_path, f'[alerts.m]\nrepos = ["o/a"]\nmilestones = [100]\nwebhook = "{receiver.url}"\n'
    )
    receiver.status = 404
    sleeps = Sleeps()
    assert evaluate(store, config, sender=WebhookSender(sleep=sleeps)).undelivered == 1
    assert sleeps.waits == [] and len(receiver.posts) == 1


def test_a_claimed_firing_is_left_to_its_claimant_until_the_claim_expires(store: Store) -> None:
    """Two daemons on one store: only one of them sends a firing; a dead one's claim runs out."""
    seed(store, {"o/a": [(NOW, 1)]})
    with transaction(store.sessions) as s:
        repo_id = save_tracked_name(s, parse_repo_name("o/a"))[0].id
        firing = Firing("a", "stars", "milestones", repo_id, "o/a", "1", 1, 0, "o/a passed 1 stars", NOW)
        assert save_firing(s, firing) and not save_firing(s, firing)
    with transaction(store.sessions) as s:
        assert claim_undelivered(s, ["a"], NOW) == [firing]
    with transaction(store.sessions) as s:
        assert claim_undelivered(s, ["a"], NOW + timedelta(seconds=60)) == []  # the other daemon
    with transaction(store.sessions) as s:
        assert claim_undelivered(s, ["a"], NOW + timedelta(seconds=CLAIM_SECONDS + 1)) == [firing]


@pytest.mark.parametrize("fmt", ["json", "slack", "discord"])
def test_payload_shapes(store: Store, receiver: Receiver, tmp_path: Path, fmt: str) -> None:
    seed(store, {"o/a_b": [(WEEK_AGO, 90), (NOW, 120)]})
    config = config_file(
        tmp_path,
        f'[alerts.fmt]\nrepos = ["o/a_b"]\nmilestones = [100]\nformat = "{fmt}"\n'
        f'webhook = "{receiver.url}"\n',
    )
    evaluate(store, config)
    [body] = receiver.delivered
    if fmt == "json":
        assert set(body) == {"alert", "repo", "rule", "metric", "value", "previous", "detail", "fired_at"}
    elif fmt == "slack":
        assert body == {"text": "*fmt* (milestones): o/a_b passed 100 stars (120 now, 90 a week before)"}
    else:
        assert body == {
            "content": "**fmt** (milestones): o/a\\_b passed 100 stars (120 now, 90 a week before)"
        }


def test_slack_and_discord_markup_is_escaped(tmp_path: Path) -> None:
    config = config_file(
        tmp_path, '[alerts.a]\nrepos = ["o/a"]\nrank_change = true\nwebhook = "https://x/y"\n'
    )
    firing = sample_firing(config.alerts["a"], NOW)
    tricky = replace(firing, detail="<!channel> & *bold* `code`")
    assert render_payload(tricky, "slack")["text"].endswith("&lt;!channel&gt; &amp; *bold* `code`")
    assert render_payload(tricky, "discord")["content"].endswith("<!channel\\> & \\*bold\\* \\`code\\`")


# --- config ----------------------------------------------------------------------------------------------

GOOD = '[alerts.a]\nrepos = ["o/a"]\nmilestones = [10]\nwebhook = "https://hooks.example.com/SECRETVALUE"\n'


@pytest.mark.parametrize(
    ("body", "key", "expected"),
    [
        ("[alerts]\na = 3\n", "alerts.a", "a table with group or repos"),
        ('[alerts.a]\nrepos = ["o/a"]\nmilestones = [10]\n', "alerts.a", "webhook ="),
        (GOOD.replace("https://hooks.example.com/", "htps:/"), "alerts.a.webhook", "an http(s) URL"),
        (GOOD + 'webhook_env = "X"\n', "alerts.a", "not both"),
        (GOOD + 'metric = "commits"\n', "alerts.a.metric", "stars, forks, contributors, watchers"),
        (GOOD + 'format = "teams"\n', "alerts.a.format", "json, slack, discord"),
        (GOOD + 'group = "nope"\n', "alerts.a", 'group = "NAME" or repos'),
        (GOOD.replace('repos = ["o/a"]', 'group = "nope"'), "alerts.a.group", "one of the groups []"),
        (GOOD.replace('repos = ["o/a"]', "repos = []"), "alerts.a.repos", "non-empty list"),
        (GOOD.replace('["o/a"]', '["not a name"]'), "alerts.a.repos", "OWNER/NAME"),
        (GOOD.replace("milestones = [10]", "x = 1"), "alerts.a.x", "one of ["),
        (GOOD.replace("milestones = [10]", ""), "alerts.a", "at least one rule"),
        (GOOD.replace("[10]", '["10k"]'), "alerts.a.milestones", "positive integers"),
        (
            GOOD.replace("milestones = [10]", "weekly_growth_percent = -5"),
            "alerts.a.weekly_growth_percent",
            "positive",
        ),
        (
            GOOD.replace("milestones = [10]", "weekly_growth = 2.5"),
            "alerts.a.weekly_growth",
            "positive integer",
        ),
        (GOOD.replace("milestones = [10]", 'rank_change = "yes"'), "alerts.a.rank_change", "true or false"),
        (GOOD.replace("webhook =", "webook ="), "alerts.a.webook", "one of ["),
        (
            GOOD.replace('webhook = "https://hooks.example.com/SECRETVALUE"', 'webhook_env = "1-X"'),
            "alerts.a.webhook_env",
            "environment variable",
        ),
    ],
)
def test_config_errors_are_one_line(tmp_path: Path, body: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_file(tmp_path, body)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(tmp_path / "collector.toml"))
    assert repr(key) in message and expected in message, message
    assert "SECRETVALUE" not in message  # a webhook URL is never echoed, not even a broken one


def test_a_config_never_shows_its_webhook(tmp_path: Path) -> None:
    config = config_file(
        tmp_path, GOOD + '\n[alerts.b]\nrepos = ["o/b"]\nrank_change = true\nwebhook_env = "HOOK"\n'
    )
    assert "SECRETVALUE" not in repr(config) + str(config.alerts)
    assert repr(config.alerts["b"].webhook) == "Webhook(env=HOOK)"


# --- secrecy, the daemon's step, the CLI -------------------------------------------------------------------


@pytest.fixture
def daemon_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The daemon's logging (collector events and library warnings), written to a buffer."""
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    setup_logging("kv", [])
    yield buffer
    logging.getLogger("collector").handlers.clear()
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if getattr(h, "stream", None) is not buffer]


def _store_text(store: Store) -> str:
    with store.engine.connect() as conn:
        return "\n".join(
            repr(row)
            for table in Base.metadata.sorted_tables
            if table.name != "calendar"
            for row in conn.execute(table.select())
        )


def test_the_webhook_url_is_in_no_log_line_and_no_table(
    store: Store, receiver: Receiver, tmp_path: Path, daemon_log: io.StringIO
) -> None:
    seed(store, {"o/a": [(WEEK_AGO, 90), (NOW, 120)]})
    dead = Receiver()
    dead.start()
    dead.stop()
    config = config_file(
        tmp_path,
        f"""
[alerts.ok]
repos = ["o/a"]
milestones = [100]
webhook = "{receiver.url}"

[alerts.dead]
repos = ["o/a"]
milestones = [100]
webhook = "{dead.url}"

[alerts.unset]
repos = ["o/a"]
milestones = [100]
webhook_env = "UNSET_HOOK_URL"
""",
    )
    out = evaluate(store, config, log=get_logger(), environ={})
    assert out == AlertsOutcome(fired=3, delivered=1, undelivered=2)
    lines = daemon_log.getvalue().splitlines()
    assert any("event=alert_delivery_failed" in line and "alert=dead" in line for line in lines), lines
    assert any("event=alert_undeliverable" in line and "UNSET_HOOK_URL" in line for line in lines), lines
    assert any("event=alert_fired" in line and "alert=ok" in line for line in lines)
    stored = _store_text(store)
    assert "o/a passed 100 stars" in stored
    for secret in (SECRET, receiver.url, dead.url, f"127.0.0.1:{receiver.port}", f"127.0.0.1:{dead.port}"):
        assert secret not in daemon_log.getvalue() and secret not in stored


def test_the_daemon_step_logs_failures_and_never_raises(
    tmp_path: Path, receiver: Receiver, daemon_log: io.StringIO
) -> None:
    config = config_file(
        tmp_path, f'[alerts.a]\nrepos = ["o/a"]\nmilestones = [1]\nwebhook = "{receiver.url}"\n'
    )
    unmigrated = session_factory(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    assert asyncio.run(run_alerts(unmigrated, config.alerts, get_logger())) == {}
    assert asyncio.run(run_alerts(unmigrated, {}, get_logger())) == {}  # no alerts: nothing read
    [line] = [x for x in daemon_log.getvalue().splitlines() if "alerts_failed" in x]
    assert "level=error" in line and "OperationalError" in line and SECRET not in line


def test_a_slow_webhook_does_not_hold_up_the_daemon(
    store: Store, tmp_path: Path, daemon_log: io.StringIO
) -> None:
    slow = Receiver()
    slow.delay = 3.0
    slow.start()
    try:
        seed(store, {"o/a": [(utc_now() - timedelta(days=7), 90), (utc_now(), 120)]})
        config = config_file(
            tmp_path, f'[alerts.a]\nrepos = ["o/a"]\nmilestones = [100]\nwebhook = "{slow.url}"\n'
        )
        started = time.monotonic()
        assert asyncio.run(run_alerts(store.sessions, config.alerts, get_logger(), deadline=0.5)) == {}
        assert time.monotonic() - started < 2.5
    finally:
        slow.stop()
    assert "event=alerts_timed_out" in daemon_log.getvalue()
    [row] = firings(store)
    assert row.delivered_at is None  # saved before sending: the next evaluation sends it


def test_a_dead_webhook_does_not_stop_the_daemons_collect(store: Store, tmp_path: Path) -> None:
    """The daemon's collect job with a dead webhook: the pass completes, the alert waits undelivered."""
    name = "edge-org/renamed-twice"  # 120 stars in the edge scenario
    with transaction(store.sessions) as s:
        row = save_tracked_name(s, parse_repo_name(name))[0]
        week_ago = utc_now() - timedelta(days=7)
        save_snapshot(s, row.id, Snapshot(week_ago, 50, 1, 1, 0))
    dead = Receiver()
    dead.start()
    dead.stop()
    with running_simulator(SimulatorApp(load_scenario("edge"))) as base:
        settings = load_settings(
            {
                "COLLECTOR_DATABASE_URL": store.url,
                "GITHUB_API_URL": base,
                "GITHUB_TOKEN": "ghp_alertsTest0123456789",
            },
            cwd=tmp_path,
        )
        body = (
            f'[groups]\ng = ["{name}"]\n[alerts.a]\ngroup = "g"\nmilestones = [100]\nwebhook = "{dead.url}"\n'
        )
        app = App(settings, config_file(tmp_path, body + UNPACED_CLIENT))
        result = asyncio.run(_DaemonJobs(app).collect(utc_now()))
        app.engine.dispose()
    assert result["repositories"] == 1 and result["failed"] == 0
    assert (result["alerts_fired"], result["alerts_delivered"], result["alerts_undelivered"]) == (1, 0, 1)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT stars FROM repo_latest")).scalar() == 120


def test_cli_alerts_list_and_test(store: Store, receiver: Receiver, tmp_path: Path) -> None:
    seed(store, {"o/a": [(WEEK_AGO, 90), (NOW, 120)], "o/b": [(WEEK_AGO, 10), (NOW, 150)]})
    toml = f"""
[alerts.live]
repos = ["o/a"]
milestones = [100]
format = "slack"
webhook_env = "LIVE_HOOK"

[alerts.down]
repos = ["o/b"]
milestones = [100]
webhook = "{receiver.url}"
"""
    config = config_file(tmp_path, toml)
    receiver.status = 503
    evaluate(store, config, environ={"LIVE_HOOK": receiver.url + "/live"})
    env = {"COLLECTOR_DATABASE_URL": store.url, "LIVE_HOOK": receiver.url + "/live"}

    listed = run_cli(tmp_path, env, "alerts", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["fired", "at", "(UTC)", "alert", "rule", "repo", "value", "delivered"]
    assert len(lines) == 3
    assert any(
        "2026-03-18 12:00" in line
        and "milestones 100" in line
        and "o/b" in line
        and "150 (was 10)" in line
        and "no (3 tries: HTTP 503)" in line
        for line in lines
    ), listed.stdout
    only = run_cli(tmp_path, env, "alerts", "list", "--alert", "nothing")
    assert only.stdout.strip() == "no alert has fired for nothing"

    receiver.status = 200
    sent = run_cli(tmp_path, env, "alerts", "test", "live")
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip() == "alert live: test message delivered (slack format, 1 try)"
    assert receiver.delivered[-1]["text"].startswith("*live* (test): test message from collector")
    receiver.status = 500
    failed = run_cli(tmp_path, env, "alerts", "test", "down")
    assert failed.returncode == 1
    assert (
        failed.stderr.strip() == "error: alert down: the test message was not delivered (HTTP 500; 3 tries)"
    )
    unknown = run_cli(tmp_path, env, "alerts", "test", "nope")
    assert unknown.returncode == 2 and "configured: down, live" in unknown.stderr
    unset = run_cli(tmp_path, {"COLLECTOR_DATABASE_URL": store.url}, "alerts", "test", "live")
    assert unset.returncode == 1 and "environment variable LIVE_HOOK is not set" in unset.stderr
    for out in (listed, sent, failed, unknown, unset):
        assert SECRET not in out.stdout + out.stderr


# --- webhook_env: from the settings, bound once ------------------------------------------------------------


LIVE = '[alerts.live]\nrepos = ["o/a"]\nmilestones = [100]\nwebhook_env = "LIVE_HOOK"\n'


def test_webhook_env_is_delivered_to_from_the_environment_the_cli_was_given(
    store: Store, receiver: Receiver, tmp_path: Path
) -> None:
    """The variable reaches the command only through the environment it was started with (click's
    CliRunner sets it for the one call): the settings read it, the App binds it, the sample is delivered."""
    from click.testing import CliRunner

    from collector.cli import cli

    path = tmp_path / "collector.toml"
    path.write_text(LIVE, encoding="utf-8")
    env = {"COLLECTOR_DATABASE_URL": store.url, "COLLECTOR_CONFIG": str(path), "LIVE_HOOK": receiver.url}
    sent = CliRunner().invoke(cli, ["alerts", "test", "live"], env=env)
    assert sent.exit_code == 0, sent.output
    assert sent.stdout.strip() == "alert live: test message delivered (json format, 1 try)"
    [body] = receiver.delivered
    assert body["alert"] == "live" and body["rule"] == "test"
    unset = CliRunner().invoke(cli, ["alerts", "test", "live"], env={**env, "LIVE_HOOK": None})
    assert unset.exit_code == 1 and "environment variable LIVE_HOOK is not set" in unset.stderr
    assert len(receiver.posts) == 1 and SECRET not in sent.output + unset.output


def test_the_daemon_step_sends_to_the_settings_variable_and_reads_nothing_else(
    store: Store, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, daemon_log: io.StringIO
) -> None:
    """`run_alerts` with the App's alerts, as the daemon calls it: the URL is the one the settings were
    loaded with; the process environment, changed afterwards or set only there, is not consulted."""
    seed(store, {"o/a": [(utc_now() - timedelta(days=7), 90), (utc_now(), 120)]})
    config = config_file(tmp_path, LIVE)
    monkeypatch.setenv("LIVE_HOOK", receiver.url + "/from-os-environ")
    unbound = App(load_settings({"COLLECTOR_DATABASE_URL": store.url}, cwd=tmp_path), config)
    assert webhook_url(unbound.config.alerts["live"]) is None  # set in os.environ only: not a setting
    settings = load_settings({"COLLECTOR_DATABASE_URL": store.url, "LIVE_HOOK": receiver.url}, cwd=tmp_path)
    app = App(settings, config)
    monkeypatch.delenv("LIVE_HOOK")  # bound when the App was built
    assert webhook_url(app.config.alerts["live"]) == receiver.url
    assert receiver.url not in repr(settings) + repr(settings.environment) + repr(app.config.alerts)
    done = asyncio.run(run_alerts(app.sessions, app.config.alerts, get_logger()))
    app.engine.dispose()
    assert done == {"alerts_fired": 1, "alerts_delivered": 1, "alerts_undelivered": 0}
    [body] = receiver.delivered
    assert body["alert"] == "live" and body["repo"] == "o/a"
    assert SECRET not in daemon_log.getvalue()
