"""Delivery to webhooks: a JSON POST with httpx, a few tries with growing waits; never raises.

The URL is a secret: it is used for the request and nowhere else. What comes back to the caller (and goes
to the logs and the store) is a short reason such as "HTTP 500" or "ConnectError: ...", with the URL cut.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from collector.alerts.spec import AlertSpec, is_http_url

TIMEOUT_SECONDS = 10.0
WAITS = (1.0, 4.0)  # seconds before the second and the third try

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
    """POSTs JSON to webhook URLs: up to 1 + len(waits) tries on a connection error, a timeout, a 429 or a
    5xx, waiting `waits` between them (`sleep` is injectable for tests). Other answers are final."""

    def __init__(
        self,
        waits: Sequence[float] = WAITS,
        timeout: float = TIMEOUT_SECONDS,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.waits = tuple(waits)
        self.timeout = timeout
        self.sleep = sleep
        self.transport = transport

    async def send(self, url: str, payload: dict[str, Any]) -> Delivery:
        """Deliver `payload`; the outcome, never an exception."""
        if not is_http_url(url):
            return Delivery(False, 0, "the webhook is not an http(s) URL")
        tries, reason = 0, None
        async with httpx.AsyncClient(
            timeout=self.timeout, transport=self.transport, follow_redirects=False
        ) as client:
            for wait in (0.0, *self.waits):
                if wait:
                    await self.sleep(wait)
                tries += 1
                reason, again = await self._post(client, url, payload)
                if reason is None:
                    return Delivery(True, tries)
                if not again:
                    break
        return Delivery(False, tries, reason)

    async def _post(
        self, client: httpx.AsyncClient, url: str, payload: dict[str, Any]
    ) -> tuple[str | None, bool]:
        """(None, _) when delivered, else (reason, whether another try may help)."""
        try:
            response = await client.post(url, json=payload)
        except httpx.TimeoutException:
            return f"no answer within {self.timeout:g}s", True
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return _describe(exc, url), True
        if response.is_success:
            return None, False
        return f"HTTP {response.status_code}", response.status_code == 429 or response.status_code >= 500


def _describe(exc: Exception, url: str) -> str:
    """The error's type and first line, with the URL (and its path, the secret part) cut out."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    path = urlsplit(url).path
    for secret in (url, path if len(path) > 1 else ""):
        if secret:
            text = text.replace(secret, "***")
    return text
