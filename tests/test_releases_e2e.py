"""Releases end to end on PostgreSQL: `collector collect` against the simulator over a real loopback
server stores every published release (drafts left out, the listing followed past its first page of 100)
and each asset's running download total for the day; a collect a day later adds the next day's totals.
A release listing that fails is recorded for that repository alone: its counters are stored all the same.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from collector.domain import Holder, parse_repo_name
from collector.github.api import GitHubAPI
from collector.github.client import GitHubClient
from collector.github.options import ClientOptions
from collector.jobs.collect import PassOutcome, run_collect
from collector.settings import Settings, Token
from collector.store import migrate
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.repos import save_tracked_name
from collector.testing.model import SimAsset, SimRelease
from collector.testing.simulator import SimulatorApp
from collector.testing.tiny import tiny_scenario
from collector.testing.transport import SimulatorTransport, running_simulator
from tests.clock_skew import clock_ahead_env
from tests.conftest import run_cli

TOKEN = "ghp_releasesE2Etoken0123456789"
RELEASES = 130  # more than one page of 100


def _app(today: date) -> SimulatorApp:
    scenario = tiny_scenario(today)
    rocket = next(r for r in scenario.repos if r.full_name == "acme/rocket")
    start = datetime.combine(today, datetime.min.time(), tzinfo=UTC) - timedelta(days=400)
    rocket.releases = [
        SimRelease(
            f"v0.{i}.0",
            f"Rocket 0.{i}",
            start + timedelta(days=3 * i),
            start + timedelta(days=3 * i),
            prerelease=i % 10 == 9,
            assets=(SimAsset(f"rocket-0.{i}.0.tar.gz", 2), SimAsset(f"rocket-0.{i}.0.whl", i)),
        )
        for i in range(RELEASES)
    ]
    rocket.releases.append(SimRelease("v9.9.9", "draft", start, None, assets=(SimAsset("x.zip", 5),)))
    return SimulatorApp(scenario)


def _expected(today: date, on: date) -> dict[str, int]:
    """Per asset, the simulator's running total on `on`: per_day x whole days since publication."""
    start = today - timedelta(days=400)
    totals = {}
    for i in range(RELEASES):
        days = (on - (start + timedelta(days=3 * i))).days
        totals[f"rocket-0.{i}.0.tar.gz"] = 2 * days
        totals[f"rocket-0.{i}.0.whl"] = i * days
    return totals


def _track(url: str, names: list[str]) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with transaction(session_factory(engine)) as s:
        for name in names:
            save_tracked_name(s, parse_repo_name(name))
    engine.dispose()


def _snapshots(url: str) -> dict[date, dict[str, int]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT d.day, a.name, d.download_count FROM release_asset_daily d "
                "JOIN release_assets a ON a.id = d.asset_id"
            )
        ).all()
    engine.dispose()
    out: dict[date, dict[str, int]] = {}
    for day, name, count in rows:
        out.setdefault(day, {})[name] = count
    return out


@pytest.mark.postgres
def test_collect_stores_releases_and_a_download_total_per_asset_and_day(tmp_path: Path, pg_url: str) -> None:
    today = datetime.now(UTC).date()
    _track(pg_url, ["acme/rocket", "acme/empty"])
    app = _app(today)
    with running_simulator(app) as base:
        env = {"GITHUB_API_URL": base, "GITHUB_TOKEN": TOKEN, "COLLECTOR_DATABASE_URL": pg_url}
        first = run_cli(tmp_path, env, "collect")
        assert first.returncode == 0, first.stderr
        listed = app.stats.count(template="/repos/{owner}/{repo}/releases") + app.stats.count(
            template="/repositories/{id}/releases"
        )
        app.set_today(today + timedelta(days=1))
        second = run_cli(tmp_path, {**env, **clock_ahead_env("+1d")}, "collect")
    assert second.returncode == 0, second.stderr
    assert listed == 3  # rocket: pages 1 and 2; empty: one page with nothing on it

    snapshots = _snapshots(pg_url)
    assert sorted(snapshots) == [today, today + timedelta(days=1)]
    assert snapshots[today] == _expected(today, today)  # the draft's x.zip is not there
    assert snapshots[today + timedelta(days=1)] == _expected(today, today + timedelta(days=1))

    engine = make_engine(pg_url)
    with engine.connect() as conn:
        view = {
            r.tag: r for r in conn.execute(text("SELECT * FROM repo_releases WHERE repo = 'acme/rocket'"))
        }
    engine.dispose()
    assert len(view) == RELEASES and "v9.9.9" not in view
    later = _expected(today, today + timedelta(days=1))
    assert view["v0.7.0"].downloads == later["rocket-0.7.0.tar.gz"] + later["rocket-0.7.0.whl"]
    assert view["v0.9.0"].prerelease and not view["v0.8.0"].prerelease
    assert view["v0.0.0"].published_at == datetime.combine(
        today - timedelta(days=400), datetime.min.time(), tzinfo=UTC
    )


class _ReleasesRefused(httpx.AsyncBaseTransport):
    """The simulator, except that one repository's release listing answers a server error."""

    def __init__(self, app: SimulatorApp, refused: str) -> None:
        self.inner = SimulatorTransport(app)
        self.refused = refused

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/repos/{self.refused}/releases":
            return httpx.Response(404, json={"message": "Not Found"}, request=request)
        return await self.inner.handle_async_request(request)


def test_a_failed_release_listing_is_that_repositorys_alone(pg_url: str) -> None:
    today = datetime.now(UTC).date()
    _track(pg_url, ["acme/rocket", "acme/empty"])
    app = _app(today)
    settings = Settings(database_url=pg_url, tokens=(Token(TOKEN, 1),), api_url="https://api.github.com")
    engine = make_engine(pg_url)

    async def collect() -> PassOutcome:
        transport = _ReleasesRefused(app, "acme/rocket")
        client = GitHubClient(settings, ClientOptions(stats_wait=2.0), transport=transport)
        async with GitHubAPI(client) as gh:
            return await run_collect(session_factory(engine), gh, holder=Holder("test", 0, "x"))

    outcome = asyncio.run(collect())
    assert [(r.full_name, r.status) for r in sorted(outcome.results, key=lambda r: r.full_name)] == [
        ("acme/empty", "ok"),
        ("acme/rocket", "ok"),
    ]
    with engine.connect() as conn:
        items = conn.execute(
            text(
                "SELECT r.full_name, i.job, i.status, i.message FROM run_items i "
                "JOIN repositories r ON r.id = i.repo_id ORDER BY r.full_name, i.job"
            )
        ).all()
        stars = conn.execute(text("SELECT stars FROM repo_latest WHERE repo = 'acme/rocket'")).scalar()
        gone = conn.execute(
            text("SELECT gone_reason FROM repositories WHERE full_name = 'acme/rocket'")
        ).scalar()
    assert stars == 61  # the counters are stored
    assert gone is None  # a refused release listing does not make the repository gone
    assert [(name, job, status) for name, job, status, _ in items] == [
        ("acme/empty", "collect", "ok"),
        ("acme/rocket", "collect", "ok"),
        ("acme/rocket", "releases", "error"),
    ]
    assert "releases" in items[2].message and "\n" not in items[2].message
    # Not a full success: the run says partial, and the repository carries its step's error.
    assert [r.full_name for r in outcome.steps_failed] == ["acme/rocket"]
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM runs WHERE job = 'collect'")).scalar()
    assert status == "partial"
    engine.dispose()
