"""PyPI downloads through pypistats.org's JSON API (https://pypistats.org/api/).

`/api/packages/{name}/overall?mirrors=false` gives the daily `without_mirrors` downloads of the last 180
days, updated once a day; the site asks clients to fetch each endpoint at most once a day (the job's
rule) and to use BigQuery for older history.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from collector.downloads.http import DownloadsError, DownloadsHTTP, PackageNotFound

WINDOW_DAYS = 180


def overall_url(base: str, name: str) -> str:
    """The endpoint for a (normalised) PyPI name."""
    return f"{base}/api/packages/{quote(name, safe='')}/overall?mirrors=false"


async def fetch_pypi_daily(http: DownloadsHTTP, name: str) -> dict[date, int]:
    """Daily downloads without mirrors, as pypistats.org holds them (its last 180 days)."""
    what = f"pypi:{name}"
    status, body = await http.get_json("pypi", overall_url(http.pypistats_url, name), what)
    if status == 404:
        raise PackageNotFound(f"{what}: pypistats.org does not know this package (404); check the name")
    return parse_overall(body, what)


def parse_overall(body: Any, what: str) -> dict[date, int]:
    """The `without_mirrors` rows of an overall answer as {day: downloads}."""
    rows = body.get("data") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise DownloadsError(f"{what}: pypistats.org answered without a data list")
    days: dict[date, int] = {}
    for row in rows:
        try:
            if row["category"] != "without_mirrors":
                continue
            days[date.fromisoformat(row["date"])] = int(row["downloads"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DownloadsError(f"{what}: pypistats.org answered a row we cannot read: {row!r:.80}") from exc
    return days
