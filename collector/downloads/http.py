"""The HTTP side shared by the download sources: one request at a time, JSON answers, 429 backoff.

These hosts get no GitHub token: the App builds this client on its own httpx client without auth.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from collector.errors import CollectorError

# Waits longer than this are not slept through: the package's fetch fails with a note and the next
# run (a day later, as the sources ask) tries again.
MAX_WAIT_SECONDS = 120.0
MAX_ATTEMPTS = 4


class DownloadsError(CollectorError):
    """A download source failed for one package (or a bulk of them); the message says which and why."""


class PackageNotFound(DownloadsError):
    """The source does not know the package (404)."""


class RateLimited(DownloadsError):
    """The source kept answering 429, or asked for a longer wait than we sleep through."""


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None if absent/bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class DownloadsHTTP:
    """An httpx client (no auth, a descriptive User-Agent) and the sources' base URLs; counts requests
    per source (`pypi`, `npm`) so that runs can report them."""

    client: httpx.AsyncClient
    pypistats_url: str
    npm_url: str
    requests: Counter[str] = field(default_factory=Counter)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    max_wait: float = MAX_WAIT_SECONDS

    async def __aenter__(self) -> DownloadsHTTP:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def get_json(self, source: str, url: str, what: str) -> tuple[int, Any]:
        """GET `url` and decode its JSON: (status, body) for 2xx and 404; backs off on 429 (Retry-After
        when given, else 1, 2, 4 s) and on 5xx or a broken connection; DownloadsError naming `what`."""
        for attempt in range(MAX_ATTEMPTS):
            self.requests[source] += 1
            try:
                resp = await self.client.get(url)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}"
                wait: float | None = float(2**attempt)
            else:
                if resp.status_code < 300 or resp.status_code == 404:
                    return resp.status_code, _decode(resp, what)
                problem = f"HTTP {resp.status_code}"
                if resp.status_code == 429:
                    given = retry_after_seconds(resp.headers.get("retry-after"))
                    wait = float(2**attempt) if given is None else given
                elif resp.status_code >= 500:
                    wait = float(2**attempt)
                else:
                    raise DownloadsError(f"{what}: {problem} ({_error_text(resp)})")
            if attempt == MAX_ATTEMPTS - 1 or wait is None or wait > self.max_wait:
                break
            await self.sleep(wait)
        error = RateLimited if problem == "HTTP 429" else DownloadsError
        raise error(f"{what}: {problem} after {attempt + 1} attempt(s); the next run tries again")


def _decode(resp: httpx.Response, what: str) -> Any:
    if resp.status_code == 404:
        return None
    try:
        return resp.json()
    except ValueError as exc:
        raise DownloadsError(f"{what}: the answer is not JSON") from exc


def _error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200].strip() or resp.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])[:200]
    return resp.reason_phrase
