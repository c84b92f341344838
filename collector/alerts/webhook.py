"""Delivery to webhooks: a JSON POST with httpx, paced per webhook, a few tries with growing waits (or
the wait a 429 asks for); never raises.

The URL is a secret: it is used for the request and nowhere else. What comes back to the caller (and goes
to the logs and the store) is a short reason such as "HTTP 500" or "ConnectError: ...", with the URL cut.
"""

from __future__ import annotations

import asyncio
import json
import math
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from collector.alerts.spec import AlertSpec, is_http_url
from collector.domain import utc_now

TIMEOUT_SECONDS = 10.0
WAITS = (1.0, 4.0)  # seconds before the second and the third try
MAX_RETRY_AFTER = 60.0  # a service asking for a longer wait gets the message at the next evaluation


@dataclass(frozen=True)
class Pace:
    """At most `count` messages in any `period` seconds to one webhook."""

    count: int
    period: float


PACES = {
    # Slack: incoming webhooks take about one message a second (short bursts are not promised).
    # See: https://api.slack.com/docs/rate-limits ("Posting messages: 1 per second")
    "slack": Pace(1, 1.0),
    # Discord: 5 requests per 2 seconds per webhook (what its X-RateLimit-* headers announce for
    # executing a webhook; limits are per route, and a 429 says how long to wait in `retry_after`).
    # See: https://discord.com/developers/docs/topics/rate-limits
    "discord": Pace(5, 2.0),
    # Anything else: our own choice, gentle enough for a small receiver.
    "json": Pace(5, 1.0),
}

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Delivery:
    """How a send went: delivered (a 2xx), the tries made, and why not (never the URL)."""

    delivered: bool
    tries: int
    reason: str | None = None


def bind_webhooks(alerts: Mapping[str, AlertSpec], environ: Mapping[str, str]) -> dict[str, AlertSpec]:
    """The alerts with each `webhook_env` variable's value taken from `environ`: the settings' environment,
    bound once where the App is built, so that nothing else reads the environment."""
    # An unset variable is not an error here: it stops that alert's deliveries (logged at each evaluation),
    # not every command that reads the config.
    return {name: replace(spec, webhook=spec.webhook.bind(environ)) for name, spec in alerts.items()}


def webhook_url(spec: AlertSpec) -> str | None:
    """The alert's webhook URL: the file's, or its `webhook_env` variable's as bound (None: unset)."""
    return spec.webhook.reveal()


def missing_reason(spec: AlertSpec) -> str:
    """Why an alert without a URL cannot be sent, naming the variable (never a value)."""
    return f"environment variable {spec.webhook.env} is not set" if spec.webhook.env else "no webhook"


class WebhookSender:
    """POSTs JSON to webhook URLs, each paced to its service's rate (`PACES`): up to 1 + len(waits) tries
    on a connection error, a timeout, a 429 or a 5xx, waiting `waits` between them, or what a 429 or 503
    asks for (Retry-After, Discord's retry_after). Other answers are final. `sleep` and `clock` are
    injectable for tests. Pacing holds for one sender: the daemon makes one per evaluation."""

    def __init__(
        self,
        waits: Sequence[float] = WAITS,
        timeout: float = TIMEOUT_SECONDS,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.waits = tuple(waits)
        self.timeout = timeout
        self.sleep = sleep
        self.transport = transport
        self.clock = clock
        self._tls: ssl.SSLContext | None = None
        self._sent: dict[str, deque[float]] = {}  # per webhook, when its latest messages went (memory only)

    async def send(self, url: str, payload: dict[str, Any], fmt: str = "json") -> Delivery:
        """Deliver `payload` in format `fmt` (which sets the pace); the outcome, never an exception."""
        if not is_http_url(url):
            return Delivery(False, 0, "the webhook is not an http(s) URL")
        pace = PACES.get(fmt, PACES["json"])
        tries, wait = 0, 0.0
        if self._tls is None:  # loading the CA bundle takes tens of ms: once per sender, off the loop
            self._tls = await asyncio.to_thread(httpx.create_ssl_context)
        async with httpx.AsyncClient(
            timeout=self.timeout, transport=self.transport, follow_redirects=False, verify=self._tls
        ) as client:
            while True:
                if wait:
                    await self.sleep(wait)
                sent = await self._take_turn(url, pace)
                tries += 1
                answer = await self._post(client, url, payload)
                # Counted from the answer: the service had the message by then, however long it took.
                sent.append(self.clock())
                if answer.reason is None:
                    return Delivery(True, tries)
                if not answer.again or tries > len(self.waits):
                    return Delivery(False, tries, answer.reason)
                wait = self.waits[tries - 1] if answer.retry_after is None else answer.retry_after
                if wait > MAX_RETRY_AFTER:
                    # A long wait would hold up the daemon: the next evaluation tries again.
                    return Delivery(False, tries, f"{answer.reason}, asked to wait {wait:.0f}s")

    async def _take_turn(self, url: str, pace: Pace) -> deque[float]:
        """Wait until one more message to `url` keeps within `pace`; when its latest messages went."""
        sent = self._sent.setdefault(url, deque(maxlen=pace.count))
        if len(sent) == pace.count:
            wait = sent[0] + pace.period - self.clock()
            if wait > 0:
                await self.sleep(wait)
        return sent

    async def _post(self, client: httpx.AsyncClient, url: str, payload: dict[str, Any]) -> _Answer:
        """What one POST came to: delivered (no reason), or why not and whether another try may help."""
        try:
            response = await client.post(url, json=payload)
        except httpx.TimeoutException:
            return _Answer(f"no answer within {self.timeout:g}s", True)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return _Answer(_describe(exc, url), True)
        if response.is_success:
            return _Answer(None, False)
        status = response.status_code
        asked = None
        if status in (429, 503):
            asked = parse_retry_after(response.headers.get("retry-after"), response.content, utc_now())
        return _Answer(f"HTTP {status}", status == 429 or status >= 500, asked)


@dataclass(frozen=True)
class _Answer:
    reason: str | None  # None: delivered
    again: bool = False  # whether another try may help
    retry_after: float | None = None  # seconds the service asked us to wait


def parse_retry_after(header: str | None, body: bytes, now: datetime) -> float | None:
    """Seconds to wait before the next try, from a Retry-After header (seconds or an HTTP date) and
    Discord's `retry_after` (seconds, may be fractional, in a 429's JSON body): the longer of the two,
    None when neither says."""
    found: list[float] = []
    if header:
        try:
            found.append(float(header.strip()))
        except ValueError:
            try:
                found.append((parsedate_to_datetime(header) - now).total_seconds())
            except (TypeError, ValueError):
                pass  # unreadable: the usual waits apply
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    value = data.get("retry_after") if isinstance(data, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        found.append(float(value))
    usable = [max(0.0, v) for v in found if math.isfinite(v)]
    return max(usable) if usable else None


def _describe(exc: Exception, url: str) -> str:
    """The error's type and first line, with the URL (and its path, the secret part) cut out."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    path = urlsplit(url).path
    for secret in (url, path if len(path) > 1 else ""):
        if secret:
            text = text.replace(secret, "***")
    return text
