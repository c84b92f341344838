"""npm downloads through api.npmjs.org's range endpoint
(https://github.com/npm/registry/blob/main/docs/download-counts.md).

`/downloads/range/{start}:{end}/{name}` gives daily counts from 2015-01-10, at most 18 months per
request; several unscoped names joined by commas (up to 128) come back in one answer keyed by name, for
ranges up to 365 days. Scoped names (`@scope/name`) are not taken in bulk: they are asked one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from collector.downloads.http import DownloadsError, DownloadsHTTP, PackageNotFound

FIRST_DAY = date(2015, 1, 10)  # npm's counts start here
RANGE_MONTHS = 18
BULK_DAYS = 365
BULK_NAMES = 128


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def chunks(start: date, end: date, *, bulk: bool) -> list[tuple[date, date]]:
    """`start`..`end` cut into the longest ranges one request may ask: 18 months, or 365 days in bulk."""
    out = []
    while start <= end:
        last = (
            start + timedelta(days=BULK_DAYS - 1) if bulk else add_months(start, RANGE_MONTHS) - timedelta(1)
        )
        out.append((start, min(last, end)))
        start = min(last, end) + timedelta(days=1)
    return out


def range_url(base: str, start: date, end: date, names: Sequence[str]) -> str:
    """The range endpoint; a scoped name keeps its `/` in the path, as npm's documentation shows."""
    return f"{base}/downloads/range/{start}:{end}/{','.join(quote(n, safe='@/') for n in names)}"


async def fetch_npm_range(http: DownloadsHTTP, name: str, start: date, end: date) -> dict[date, int]:
    """Daily downloads of one package from `start` to `end` (one request: at most 18 months)."""
    what = f"npm:{name}"
    status, body = await http.get_json("npm", range_url(http.npm_url, start, end, [name]), what)
    if status == 404:
        raise PackageNotFound(f"{what}: npm does not know this package (404); check the name")
    return parse_range(body, what)


async def fetch_npm_bulk(
    http: DownloadsHTTP, names: Sequence[str], start: date, end: date
) -> dict[str, dict[date, int] | None]:
    """Daily downloads of 2 to 128 distinct unscoped packages in one request (at most 365 days); None
    for a package npm does not know. One name is asked with `fetch_npm_range`: alone, npm answers it
    in the single-package shape."""
    if not 2 <= len(set(names)) == len(names) <= BULK_NAMES or any(n.startswith("@") for n in names):
        raise ValueError(f"a bulk request takes 2 to {BULK_NAMES} distinct unscoped names, not {list(names)}")
    what = f"npm bulk of {len(names)} packages ({names[0]}, ...)"
    status, body = await http.get_json("npm", range_url(http.npm_url, start, end, names), what)
    if status == 404 or not isinstance(body, dict):
        raise DownloadsError(f"{what}: npm answered {status} without the packages")
    return {n: None if body.get(n) is None else parse_range(body[n], f"npm:{n}") for n in names}


def parse_range(body: Any, what: str) -> dict[date, int]:
    """A range answer's `downloads` list as {day: downloads}."""
    rows = body.get("downloads") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise DownloadsError(f"{what}: npm answered without a downloads list")
    try:
        return {date.fromisoformat(r["day"]): int(r["downloads"]) for r in rows}
    except (KeyError, TypeError, ValueError) as exc:
        raise DownloadsError(f"{what}: npm answered a day we cannot read") from exc
