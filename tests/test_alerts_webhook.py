"""Webhook delivery against a real receiver on 127.0.0.1 (issue 18): a 429's Retry-After (seconds or an
HTTP date) and Discord's `retry_after` are waited out, and each webhook is paced to its service's rate."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from collector.alerts.evaluate import evaluate_alerts
from collector.alerts.webhook import MAX_RETRY_AFTER, PACES, Delivery, WebhookSender, parse_retry_after
from collector.store.models import AlertFiring
from tests.conftest import Store
from tests.test_alerts import NOW, SECRET, WEEK_AGO, Receiver, Sleeps, config_file, seed

TOLERANCE = 0.05  # seconds: the receiver stamps a request a little after the sender let it go


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    r.stop()


def send_all(url: str, count: int, fmt: str, sender: WebhookSender | None = None) -> list[Delivery]:
    async def run() -> list[Delivery]:
        one = sender or WebhookSender()
        return [await one.send(url, {"text": f"message {i}"}, fmt) for i in range(count)]

    return asyncio.run(run())


def test_retry_after_from_literals() -> None:
    now = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)
    assert parse_retry_after("3", b"", now) == 3.0
    assert parse_retry_after(" 1.5 ", b"", now) == 1.5
    assert parse_retry_after(format_datetime(now + timedelta(seconds=10), usegmt=True), b"", now) == 10.0
    assert parse_retry_after("Wed, 18 Mar 2026 11:00:00 GMT", b"", now) == 0.0  # already past
    discord = b'{"message": "You are being rate limited.", "retry_after": 0.35, "global": false}'
    assert parse_retry_after(None, discord, now) == 0.35
    assert parse_retry_after("1", discord, now) == 1.0  # both: the longer
    for header, body in (("soon", b""), (None, b"not json"), (None, b'{"retry_after": true}'), ("nan", b"")):
        assert parse_retry_after(header, body, now) is None


@pytest.mark.parametrize(
    ("headers", "body", "asked"),
    [
        ({"Retry-After": "1"}, b"", 1.0),  # Slack: the header, in seconds
        (  # Discord: retry_after in the JSON body, fractional seconds
            {"Content-Type": "application/json"},
            b'{"message": "You are being rate limited.", "retry_after": 0.7, "global": false}',
            0.7,
        ),
    ],
)
def test_a_429_is_waited_out_then_delivered_once(
    receiver: Receiver, headers: dict[str, str], body: bytes, asked: float
) -> None:
    receiver.script = [(429, headers, body)]
    [result] = send_all(receiver.url, 1, "json")
    assert result == Delivery(True, 2)
    assert [status for status, _ in receiver.posts] == [429, 200] and len(receiver.delivered) == 1
    assert receiver.received[1] - receiver.received[0] >= asked - TOLERANCE


def test_a_429_asking_for_too_long_is_left_to_the_next_evaluation(receiver: Receiver) -> None:
    receiver.script = [(429, {"Retry-After": "3600"}, b"")]
    sleeps = Sleeps()
    [result] = send_all(receiver.url, 1, "slack", WebhookSender(sleep=sleeps))
    assert not result.delivered and result.tries == 1 and len(receiver.posts) == 1
    assert result.reason == "HTTP 429, asked to wait 3600s" and SECRET not in result.reason
    assert all(wait <= MAX_RETRY_AFTER for wait in sleeps.waits)


@pytest.mark.parametrize("fmt", ["slack", "discord", "json"])
def test_each_webhook_is_paced_to_its_service(receiver: Receiver, fmt: str) -> None:
    pace = PACES[fmt]
    count = pace.count + 2
    assert all(r.delivered for r in send_all(receiver.url, count, fmt))
    times = receiver.received
    assert len(times) == count
    # No `pace.count + 1` messages within `pace.period`: Slack 1 a second, Discord 5 per 2 seconds.
    for first, last in zip(times, times[pace.count :], strict=False):
        assert last - first >= pace.period - TOLERANCE, (fmt, times)


def test_two_webhooks_are_paced_apart(receiver: Receiver) -> None:
    """The pace is per webhook: a second Slack webhook does not wait for the first one's turn."""

    async def run() -> None:
        sender = WebhookSender()
        for i in range(2):
            for path in ("/a", "/b"):
                assert (await sender.send(receiver.url + path, {"text": str(i)}, "slack")).delivered

    asyncio.run(run())
    a1, b1, a2, b2 = receiver.received
    assert b1 - a1 < PACES["slack"].period / 2 and a2 - a1 >= PACES["slack"].period - TOLERANCE
    assert b2 - b1 >= PACES["slack"].period - TOLERANCE


def test_an_alert_over_max_messages_sends_them_paced_and_one_digest(
    store: Store, receiver: Receiver, tmp_path: Path
) -> None:
    names = [f"o/r{i}" for i in range(5)]
    seed(store, {name: [(WEEK_AGO, 90), (NOW, 120 + i)] for i, name in enumerate(names)})
    config = config_file(
        tmp_path,
        f'[alerts.m]\nrepos = {names!r}\nmilestones = [100]\nformat = "slack"\nmax_messages = 2\n'.replace(
            "'", '"'
        )
        + f'webhook = "{receiver.url}"\n',
    )
    out = asyncio.run(evaluate_alerts(store.sessions, config.alerts, now=NOW))
    assert (out.fired, out.delivered, out.undelivered) == (5, 5, 0)
    texts = [body["text"] for body in receiver.delivered]
    assert len(texts) == 3 and texts[2].startswith("*m*: and 3 more milestones passed: ")
    assert all(
        b - a >= 1.0 - TOLERANCE for a, b in zip(receiver.received, receiver.received[1:], strict=False)
    )


def test_a_failed_digest_keeps_its_firings_for_the_next_evaluation(
    store: Store, receiver: Receiver, tmp_path: Path
) -> None:
    names = [f"o/r{i}" for i in range(4)]
    seed(store, {name: [(WEEK_AGO, 90), (NOW, 120 + i)] for i, name in enumerate(names)})
    repos = ", ".join(f'"{n}"' for n in names)
    config = config_file(
        tmp_path,
        f'[alerts.m]\nrepos = [{repos}]\nmilestones = [100]\nmax_messages = 1\nwebhook = "{receiver.url}"\n',
    )
    receiver.script = [(200, {}, b""), (404, {}, b"")]  # the single message is taken, the digest is not
    sender = WebhookSender(sleep=Sleeps())
    out = asyncio.run(evaluate_alerts(store.sessions, config.alerts, now=NOW, sender=sender))
    assert (out.fired, out.delivered, out.undelivered) == (4, 1, 3)
    status, body = receiver.posts[1]
    assert status == 404 and body["digest"] is True and body["count"] == 3
    with store.sessions() as s:  # recorded as tried, and free for the next evaluation
        failed = s.scalars(select(AlertFiring).where(AlertFiring.delivered_at.is_(None))).all()
        assert [(r.last_error, r.attempts, r.claimed_until) for r in failed] == [("HTTP 404", 1, None)] * 3
    later = asyncio.run(evaluate_alerts(store.sessions, config.alerts, now=NOW + timedelta(hours=6)))
    assert (later.fired, later.delivered, later.undelivered) == (0, 3, 0)
    *singles, digest = receiver.posts[2:]
    assert len(singles) == 1 and digest[1]["digest"] is True and digest[1]["count"] == 2
