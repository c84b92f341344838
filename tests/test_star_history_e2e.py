"""Unstars rewrite old weeks (issue 10, item 6): the next collect and backfill must follow GitHub's new
series on every day, end at the observed count, and pay only for the pages that changed.

GitHub's /stargazers/history buckets every star still held under the day it was given (facts §12), so a
withdrawn 2016 star lowers a 2016 week, never the newest one. The simulator runs as a loopback server
and the store is the real PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from collector.domain import parse_repo_name
from collector.github.api import GitHubAPI
from collector.github.client import GitHubClient
from collector.jobs.backfill import backfill_repo
from collector.settings import load_settings
from collector.store.checkpoints import load_daily
from collector.store.engine import transaction
from collector.store.repos import load_repos, save_repository
from collector.testing.edge_repos import MANY_EMAILS_PEOPLE, NETWORK_DIRECT_FORKS
from collector.testing.model import Scenario
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import SimulatorTransport, running_simulator
from tests.conftest import Store as StoreFixture
from tests.conftest import run_cli, unpaced
from tests.test_faults import TOKEN, Store, client, new_store, one_run  # noqa: F401  (new_store is a fixture)

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

TRACKED = ("keras-team/keras", "BVLC/caffe", "Theano/Theano")
HISTORY = "/repos/{owner}/{repo}/stargazers/history"


def subset(full: Scenario) -> Scenario:
    return Scenario(full.name, [r for r in full.repos if r.full_name in TRACKED], full.today)


def endpoint_series(base: str, full_name: str) -> dict[date, int]:
    """Stars per day as /stargazers/history gives them now (every page, de-duplicated by week)."""
    days: dict[date, int] = {}
    url: str | None = f"{base}/repos/{full_name}/stargazers/history?per_page=30"
    headers = {"Authorization": f"Bearer {TOKEN}", "X-GitHub-Api-Version": "2026-03-10"}
    with httpx.Client(headers=headers) as http:
        while url:
            response = http.get(url)
            response.raise_for_status()
            for week in response.json():
                start = datetime.fromtimestamp(week["week"], UTC).date()
                for i, n in enumerate(week["days"]):
                    days[start + timedelta(days=i)] = n
            url = response.links.get("next", {}).get("url")
    return days


def stored_days(store: Store, full_name: str, last: date) -> dict[date, int]:
    """repo_daily's stars per day up to `last`, as a user querying the view sees them."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT day, stars FROM repo_daily WHERE repo = :repo AND day <= :last ORDER BY day"),
            {"repo": full_name, "last": last},
        )
        return {r.day: r.stars for r in rows}


def observed_stars(store: Store, full_name: str) -> int:
    with store.engine.connect() as conn:
        value = conn.execute(text("SELECT stars FROM repo_latest WHERE repo = :r"), {"r": full_name}).scalar()
        assert isinstance(value, int)
        return value


def assert_history_follows_the_endpoint(store: Store, base: str) -> None:
    """Every day from the first star to today (the collector's today) equals the endpoint's running sum."""
    today = datetime.now(UTC).date()
    for full_name in TRACKED:
        series = endpoint_series(base, full_name)
        first = min(d for d, n in series.items() if n)
        days = [first + timedelta(days=i) for i in range((today - first).days + 1)]
        expected = dict(zip(days, accumulate(series.get(d, 0) for d in days), strict=True))
        got = stored_days(store, full_name, today)
        wrong = {d: (got.get(d), v) for d, v in expected.items() if got.get(d) != v}
        assert not wrong, f"{full_name}: {len(wrong)} days differ, e.g. {sorted(wrong.items())[:3]}"
        assert got[today] == observed_stars(store, full_name) == sum(series.values())


def withdraw(app: SimulatorApp, scenario: Scenario, total: int, first: date, last: date) -> None:
    """Withdraw `total` stars given between `first` and `last`, one per starred day, spread evenly."""
    days = [
        (repo.full_name, day)
        for repo in scenario.repos
        for day, n in sorted(repo.star_days.items())
        if first <= day <= last and n > 0
    ]
    step = max(1, len(days) // total)
    done = 0
    for full_name, day in days[::step] + days:
        if done == total:
            return
        try:
            app.withdraw_stars(full_name, day, 1)
            done += 1
        except ValueError:  # that day's stars are gone already
            continue
    raise AssertionError(f"only {done} of {total} stars could be withdrawn")


def passes(store: Store, base: str) -> None:
    """A collect pass, then the star-history backfill of every tracked repository (the other series
    are not what this test is about, and the commit walks of keras and caffe take a while)."""
    collected = one_run("collect", store, base)
    assert collected.failures == [], collected

    async def stars() -> None:
        async with client(store, base) as gh:
            with store.sessions() as s:
                ids = [r.id for r in load_repos(s)]
            for repo_id in ids:
                done = await backfill_repo(store.sessions, gh, repo_id, series=("stars",))
                assert done.error is None, done

    asyncio.run(stars())


def test_unstars_in_old_weeks_rewrite_the_stored_history(new_store: Any) -> None:  # noqa: F811
    # GitHub's today starts a week back, so that a new week can begin between two passes.
    today = datetime.now(UTC).date()
    scenario = subset(load_scenario("frameworks", today=today - timedelta(days=7)))
    app = SimulatorApp(scenario, points_per_minute=100_000, graphql_points_per_minute=100_000)
    store: Store = new_store(scenario)
    with running_simulator(app) as base:
        passes(store, base)
        assert_history_follows_the_endpoint(store, base)
        before = app.stats.count(template=HISTORY)

        withdraw(app, scenario, 522, date(2015, 1, 1), date(2019, 12, 31))
        mark = app.stats.not_modified
        passes(store, base)
        assert_history_follows_the_endpoint(store, base)
        # The whole series was re-read, but pages without a withdrawn star came back as free 304s.
        assert app.stats.count(template=HISTORY) - before > len(TRACKED)
        assert app.stats.not_modified > mark

        # A new week begins (pages shift by one week) and more stars go, old and new alike.
        app.set_today(today)
        withdraw(app, scenario, 40, date(2016, 1, 1), date(2016, 12, 31))
        passes(store, base)
        assert_history_follows_the_endpoint(store, base)


def test_fork_networks_and_the_email_cap_keep_both_numbers_and_continuous_series(
    pg_url: str, tmp_path: Path
) -> None:
    """GitHub's forkCount counts forks of forks, its anon=1 count links only the first emails to users:
    the daily forks end at GitHub's count without a jump, the contributors are the walk's identities,
    and `collector status` shows both numbers."""
    names = ["edge-org/fork-network", "edge-org/many-emails"]
    app = SimulatorApp(load_scenario("edge"), linked_email_cap=30)
    cwd = tmp_path
    unpaced(cwd)
    with running_simulator(app) as base:
        env = {"GITHUB_API_URL": base, "GITHUB_TOKEN": TOKEN, "COLLECTOR_DATABASE_URL": pg_url}
        assert run_cli(cwd, env, "db", "upgrade").returncode == 0
        assert run_cli(cwd, env, "repos", "add", *names).returncode == 0
        for command in ("collect", "backfill"):
            done = run_cli(cwd, env, command)
            assert done.returncode == 0, done.stderr
        status = run_cli(cwd, {**env, "COLUMNS": "250"}, "status")
    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        latest = {r.repo: r for r in conn.execute(text("SELECT * FROM repo_latest"))}
        forks = [
            r.forks
            for r in conn.execute(
                text("SELECT forks FROM repo_daily WHERE repo = :r ORDER BY day"), {"r": names[0]}
            )
        ]
        walked = conn.execute(
            text("SELECT contributors FROM repo_daily WHERE repo = :r ORDER BY day DESC LIMIT 1"),
            {"r": names[1]},
        ).scalar()
    engine.dispose()
    network = latest[names[0]].forks
    assert network == NETWORK_DIRECT_FORKS + 12  # GitHub counts the forks of forks too
    assert forks[-1] == network and forks == sorted(forks)  # ends at GitHub's count, never steps down
    assert max(b - a for a, b in zip(forks, forks[1:], strict=False)) <= 3  # no jump on the observed day
    # GitHub's anon=1 count (cap 30: late addresses count once each) is above the walk's identities.
    assert latest[names[1]].contributors == 32 and walked == MANY_EMAILS_PEOPLE + 1
    lines = status.stdout.splitlines()
    assert any(names[0] in line and f"{network} / {NETWORK_DIRECT_FORKS} direct" in line for line in lines), (
        status.stdout
    )
    assert any(names[1] in line and f"32 / {MANY_EMAILS_PEOPLE + 1} walked" in line for line in lines), (
        status.stdout
    )


def test_buckets_in_another_time_zone_are_stored_as_github_gives_them(store: StoreFixture) -> None:
    """Days bucketed in America/Los_Angeles: the stored days are GitHub's buckets (not re-cut into UTC
    days), and they still add up to the stargazer count."""
    scenario = subset(load_scenario("frameworks"))
    app = SimulatorApp(scenario, star_history_timezone="America/Los_Angeles")
    repo = next(r for r in scenario.repos if r.full_name == "BVLC/caffe")
    settings = load_settings({"GITHUB_TOKEN": TOKEN})

    async def main() -> int:
        async with GitHubAPI(GitHubClient(settings, transport=SimulatorTransport(app))) as gh:
            found = await gh.fetch_repository(parse_repo_name(repo.full_name))
            with transaction(store.sessions) as s:
                repo_id = save_repository(s, found, tracked=True).id
            result = await backfill_repo(store.sessions, gh, repo_id, series=("stars",))
            assert result.series == {"stars": "complete"}, result
            return repo_id

    repo_id = asyncio.run(main())
    with store.sessions() as s:
        days = load_daily(s, repo_id, "stars", date(2000, 1, 1), date(2100, 1, 1))
    with running_simulator(app) as base:
        given = {d: n for d, n in endpoint_series(base, repo.full_name).items() if n}
    assert days == given and sum(days.values()) == repo.stars
    utc_days = {d: n for d, n in repo.star_days.items() if n}
    assert days != utc_days  # the buckets really were another zone's days
