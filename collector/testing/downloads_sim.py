"""A simulator of the package download sources: pypistats.org's JSON API and api.npmjs.org's download
counts, on one loopback server (their paths do not overlap: point both PYPISTATS_URL and
NPM_DOWNLOADS_URL at it). Written from ../shared/package-downloads-facts.md, never from our client.

Data lands once a day: the latest day either source has is the day before the simulator's today
(`set_today` moves it). pypistats keeps the last 180 days; npm has every day from 2015-01-10, at most 18
months per range request, unscoped names in bulk (up to 128, up to 365 days, `null` for an unknown one).

A day may be answered before its data is complete (`settling_days`, off by default): the facts say npm's
last day is yesterday, or the day before when yesterday's data has not landed yet, and clients report a
day that has not landed answered 0 (https://github.com/npm/registry-issue-archive/issues/382). The latest
`settling_days` days are then answered low, `settling_share` of their count, and in full once older.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from collector.testing.downloads_catalog import SimPackage

PYPI_DAYS = 180
NPM_FIRST_DAY = date(2015, 1, 10)
Answer = tuple[int, dict[str, str], bytes]


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Answer:
    return status, {"content-type": "application/json", **(headers or {})}, json.dumps(body).encode()


class DownloadsSimulator:
    """pypistats.org and api.npmjs.org over a set of packages: `handle(method, url, headers)`.

    `throttle`: the next that many requests are answered 429 (with `Retry-After: retry_after` unless it
    is None, as clients report the header is not always sent). `requests` counts what was asked, by
    (source, path template, status); `authorization_headers` counts requests that carried one.
    `settling_days` and `settling_share`: the latest days answered low (see the module).
    """

    def __init__(
        self,
        packages: Iterable[SimPackage],
        today: date,
        *,
        seed: int = 0,
        throttle: int = 0,
        retry_after: str | None = "1",
        settling_days: int = 0,
        settling_share: float = 0.0,
    ) -> None:
        self.packages = list(packages)
        self.pypi = {normalise_pypi(p.name): p for p in self.packages if p.source == "pypi"}
        self.npm = {p.name: p for p in self.packages if p.source == "npm"}
        self.today = today
        self.seed = seed
        self.throttle = throttle
        self.retry_after = retry_after
        self.settling_days = settling_days
        self.settling_share = settling_share
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.user_agents: set[str] = set()
        self.authorization_headers = 0
        self._lock = threading.Lock()

    @property
    def latest_day(self) -> date:
        """The last day either source has counts for: yesterday, by the simulator's today."""
        return self.today - timedelta(days=1)

    def set_today(self, day: date) -> None:
        """Move the simulator's today: one more day of counts lands."""
        with self._lock:
            self.today = day

    def count(self, source: str | None = None, template: str | None = None, status: int | None = None) -> int:
        """Requests matching every part given."""
        return sum(
            n
            for (s, t, code), n in self.requests.items()
            if source in (None, s) and template in (None, t) and status in (None, code)
        )

    def daily(self, package: SimPackage, start: date, end: date) -> dict[date, int]:
        """What the source answers for the package from `start` to `end` (both included) today: a day
        still settling low (see the module), the others in full."""
        days = (start + timedelta(days=i) for i in range((end - start).days + 1))
        settling = self.latest_day - timedelta(days=self.settling_days)
        return {
            d: math.floor(n * self.settling_share) if d > settling else n
            for d, n in ((d, package.downloads(d, self.seed)) for d in days)
        }

    def pypi_window(self, name: str) -> dict[date, int]:
        """What pypistats.org gives for a package now: its last 180 days, from the package's first day."""
        package = self.pypi[normalise_pypi(name)]
        start = max(self.latest_day - timedelta(days=PYPI_DAYS - 1), package.first_day)
        return self.daily(package, start, self.latest_day)

    def npm_history(self, name: str) -> dict[date, int]:
        """What api.npmjs.org gives for a package now: every day from 2015-01-10 (0 before it existed)."""
        return self.daily(self.npm[name], NPM_FIRST_DAY, self.latest_day)

    # --- requests ------------------------------------------------------------------------------

    def handle(self, method: str, url: str, headers: Mapping[str, str]) -> Answer:
        """Answer one request."""
        lowered = {k.lower(): v for k, v in headers.items()}
        parts = urlsplit(url)
        path = parts.path
        source = "pypi" if path.startswith("/api/") else "npm"
        with self._lock:
            self.user_agents.add(lowered.get("user-agent", ""))
            self.authorization_headers += "authorization" in lowered
            if self.throttle > 0:
                self.throttle -= 1
                extra = {} if self.retry_after is None else {"retry-after": self.retry_after}
                answer = _json(429, {"error": "Too Many Requests"}, extra)
                template = "(throttled)"
            elif method != "GET":
                answer, template = _json(405, {"error": "method not allowed"}), "(other)"
            elif source == "pypi":
                answer, template = self._pypi(path, parse_qs(parts.query))
            else:
                answer, template = self._npm(path)
            self.requests[(source, template, answer[0])] += 1
        return answer

    def _pypi(self, path: str, query: Mapping[str, list[str]]) -> tuple[Answer, str]:
        match = re.fullmatch(r"/api/packages/([^/]+)/(overall|recent)/?", path)
        if not match:
            return _json(404, {"message": "Not Found"}), "(other)"
        name, kind = normalise_pypi(unquote(match.group(1))), match.group(2)
        template = f"/api/packages/{{package}}/{kind}"
        if name not in self.pypi:
            return _json(404, {"message": "Not Found"}), template
        days = self.pypi_window(name)
        if kind == "recent":
            latest = sorted(days.items(), reverse=True)
            data = {k: sum(n for _, n in latest[:span]) for k, span in _RECENT.items()}
            return _json(200, {"data": data, "package": name, "type": "recent_downloads"}), template
        mirrors = (query.get("mirrors") or [""])[0].lower()
        rows = []
        for day, n in sorted(days.items()):
            if mirrors in ("", "true"):
                rows.append({"category": "with_mirrors", "date": day.isoformat(), "downloads": n + n // 20})
            if mirrors in ("", "false"):
                rows.append({"category": "without_mirrors", "date": day.isoformat(), "downloads": n})
        return _json(200, {"data": rows, "package": name, "type": "overall_downloads"}), template

    def _npm(self, path: str) -> tuple[Answer, str]:
        match = re.fullmatch(r"/downloads/(range|point)/([^/]+)/(.+)", unquote(path))
        if not match:
            return _json(404, {"error": "not found"}), "(other)"
        kind, period, names = match.groups()
        bulk = "," in names
        template = f"/downloads/{kind}/{{period}}/{{{'packages' if bulk else 'package'}}}"
        span = self._period(period)
        if isinstance(span, str):
            return _json(400, {"error": span}), template
        start, end = span
        if end >= add_months(start, 18):
            return _json(400, {"error": "range must be 18 months or less"}), template
        if not bulk:
            if names not in self.npm:
                return _json(404, {"error": f"package {names} not found"}), template
            return _json(200, self._npm_body(kind, names, start, end)), template
        listed = [n for n in names.split(",") if n]
        refusal = _bulk_refusal(listed, start, end)
        if refusal:
            return _json(400, {"error": refusal}), template
        body = {n: self._npm_body(kind, n, start, end) if n in self.npm else None for n in listed}
        return _json(200, body), template

    def _period(self, period: str) -> tuple[date, date] | str:
        latest = self.latest_day
        named = {"last-day": 1, "last-week": 7, "last-month": 30}
        if period in named:
            return latest - timedelta(days=named[period] - 1), latest
        first, sep, last = period.partition(":")
        try:
            start, end = date.fromisoformat(first), date.fromisoformat(last if sep else first)
        except ValueError:
            return f"invalid period {period!r}; expected last-day, last-week, last-month or START:END"
        if end < start:
            return "end date > start date"
        return start, end

    def _npm_body(self, kind: str, name: str, start: date, end: date) -> dict[str, Any]:
        # Days before 2015-01-10 or after the latest day that landed are not in the answer.
        first, last = max(start, NPM_FIRST_DAY), min(end, self.latest_day)
        days = self.daily(self.npm[name], first, last) if first <= last else {}
        head = {"start": start.isoformat(), "end": end.isoformat(), "package": name}
        if kind == "point":
            return {"downloads": sum(days.values()), **head}
        return {
            **head,
            "downloads": [{"downloads": n, "day": d.isoformat()} for d, n in sorted(days.items())],
        }


_RECENT = {"last_day": 1, "last_week": 7, "last_month": 30}


def normalise_pypi(name: str) -> str:
    """PEP 503: runs of `-`, `_`, `.` are one `-`, and case does not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, or that month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    following = date(year + month // 12, month % 12 + 1, 1)
    return min(date(year, month, 1) + timedelta(days=day.day - 1), following - timedelta(days=1))


def _bulk_refusal(names: list[str], start: date, end: date) -> str | None:
    if any(n.startswith("@") for n in names):
        return "scoped packages are not supported in bulk queries"
    if len(names) > 128:
        return "bulk queries are limited to 128 packages"
    if (end - start).days + 1 > 365:
        return "bulk range queries are limited to 365 days"
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        host = self.headers.get("host") or "127.0.0.1"
        status, headers, body = self.server.sim.handle(
            self.command, f"http://{host}{self.path}", dict(self.headers.items())
        )
        self.send_response(status)
        for name, value in {**headers, "content-length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `requests` instead of an access log."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sim: DownloadsSimulator) -> None:
        super().__init__(address, _Handler)
        self.sim = sim


@contextmanager
def running_downloads_simulator(sim: DownloadsSimulator, port: int = 0) -> Iterator[str]:
    """Serve `sim` on loopback in a thread; yields the base URL (for PYPISTATS_URL and NPM_DOWNLOADS_URL)."""
    server = _Server(("127.0.0.1", port), sim)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
