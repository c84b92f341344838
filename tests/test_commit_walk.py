"""The commit walk gives weekly commits and contributors: the weekly counting rule with literal values,
the store's page-at-a-time weekly writes on both backends, and the backfill against the simulator (first
walk, later walk, a walk restarted after its last page)."""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from collector.domain import Repository, parse_repo_name, week_start
from collector.github.api import GitHubAPI
from collector.github.client import GitHubClient
from collector.github.types import CommitInfo
from collector.jobs.backfill import backfill_repo
from collector.jobs.commit_history import compute_first_commits, compute_weekly_commits
from collector.settings import Settings, Token
from collector.store.checkpoints import Checkpoint, SeriesStatus, load_checkpoint, save_checkpoint
from collector.store.engine import transaction
from collector.store.history import add_history_weekly, fill_history_weekly
from collector.store.models import HistoryWeekly, HistoryWeeklyMonthly
from collector.store.repos import save_repository
from collector.testing.model import Scenario, SimRepo
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import SimulatorTransport
from tests.conftest import Store

SUN = date(2017, 1, 1)  # a Sunday


def commit(
    committed: datetime, *, parents: int = 1, authored: datetime | None = None, who: str = "u:1"
) -> CommitInfo:
    return CommitInfo("0" * 40, authored or committed, who, committed, parents)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# --- the counting rule -----------------------------------------------------------------------------------


def test_weeks_count_non_merge_commits_by_committed_date_in_utc() -> None:
    later = SUN + timedelta(weeks=1)
    commits = [
        commit(at(SUN)),
        commit(at(SUN + timedelta(days=6), 23)),  # Saturday 23:00 UTC: still the first week
        commit(datetime(2017, 1, 7, 23, 30, tzinfo=UTC) + timedelta(hours=1)),  # Sunday 00:30 UTC
        commit(at(SUN + timedelta(days=2)), parents=2),  # a merge: GitHub's statistics leave it out
        commit(at(later), authored=at(SUN - timedelta(days=30))),  # rebased: it counts when committed
        commit(at(SUN - timedelta(days=1))),  # before the first week asked for
        commit(at(later + timedelta(weeks=1))),  # after the last
        commit(at(SUN), parents=0),  # a root commit is no merge
    ]
    assert compute_weekly_commits(commits, SUN, later) == {SUN: 3, later: 2}


def test_first_commits_are_by_authored_date_merges_included() -> None:
    old, new = at(SUN), at(SUN + timedelta(days=3))
    commits = [
        commit(new, who="u:1"),
        commit(new, authored=old, who="u:1", parents=2),
        commit(new, who="e:x"),
    ]
    assert compute_first_commits(commits) == {"u:1": old, "e:x": new}


# --- the store -------------------------------------------------------------------------------------------


def weekly(store: Store, repo_id: int) -> dict[date, tuple[int, str]]:
    with store.sessions() as s:
        rows = s.scalars(select(HistoryWeekly).where(HistoryWeekly.repo_id == repo_id)).all()
        months = s.scalars(select(HistoryWeeklyMonthly).where(HistoryWeeklyMonthly.repo_id == repo_id)).all()
    by_month: dict[date, int] = {}
    for r in rows:
        month = r.week_start.replace(day=1)
        by_month[month] = by_month.get(month, 0) + r.value
    # The monthly rollup the reports read stays the sum of the weeks after every write.
    assert {m.month_start: m.value for m in months} == by_month
    return {r.week_start: (r.value, r.source) for r in rows}


def test_pages_add_up_a_reset_drops_the_weeks_it_recounts_and_gaps_become_zeros(store: Store) -> None:
    with transaction(store.sessions) as s:
        repo_id = save_repository(s, Repository(github_id=1, full_name="o/r"), tracked=True).id
    w = [SUN + timedelta(weeks=i) for i in range(6)]
    with transaction(store.sessions) as s:
        add_history_weekly(s, repo_id, "commits", "walk", {w[5]: 2, w[4]: 1}, reset_from=w[0])
        add_history_weekly(s, repo_id, "commits", "walk", {w[4]: 3, w[1]: 1})
    assert weekly(store, repo_id) == {w[5]: (2, "walk"), w[4]: (4, "walk"), w[1]: (1, "walk")}
    with transaction(store.sessions) as s:
        fill_history_weekly(s, repo_id, "commits", "walk", w[0], w[5])
    assert {d: v for d, (v, _) in weekly(store, repo_id).items()} == {
        w[0]: 0,
        w[1]: 1,
        w[2]: 0,
        w[3]: 0,
        w[4]: 4,
        w[5]: 2,
    }
    # A later walk recounts from w[4]: the weeks before stay, the ones it recounts start again from 0.
    with transaction(store.sessions) as s:
        add_history_weekly(s, repo_id, "commits", "walk", {w[4]: 1}, reset_from=w[4])
    got = {d: v for d, (v, _) in weekly(store, repo_id).items()}
    assert got == {w[0]: 0, w[1]: 1, w[2]: 0, w[3]: 0, w[4]: 1}


# --- the backfill against the simulator ------------------------------------------------------------------

KERAS = "keras-team/keras"


def truth(repo: SimRepo, today: date) -> dict[date, int]:
    """Commits per week from the creation week to today's, from the simulator's events (no merges)."""
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    first, last = week_start(repo.created_at.date()), week_start(today)
    counts = Counter(week_start(c.authored_at.date()) for c in repo.commits if c.authored_at < end)
    return {
        first + timedelta(weeks=i): counts[first + timedelta(weeks=i)]
        for i in range((last - first).days // 7 + 1)
    }


def walk(store: Store, scenario: Scenario, today: date) -> tuple[int, SimulatorApp]:
    """Backfill keras' commit walk as of `today` (the simulator's today too)."""
    app = SimulatorApp(replace(scenario, today=today))
    settings = Settings(tokens=(Token("walk-token", 1),), api_url="https://api.github.com")

    async def main() -> int:
        async with GitHubAPI(GitHubClient(settings, transport=SimulatorTransport(app))) as gh:
            found = await gh.fetch_repository(parse_repo_name(KERAS))
            with transaction(store.sessions) as s:
                repo_id = save_repository(s, found, tracked=True).id
            result = await backfill_repo(store.sessions, gh, repo_id, today=today, series=("commits",))
            assert result.series == {"commits": "complete", "contributors": "complete"}, result
            return repo_id

    return asyncio.run(main()), app


def test_the_walk_counts_every_week_and_costs_only_its_pages(store: Store) -> None:
    scenario = load_scenario("frameworks")
    keras = next(r for r in scenario.repos if r.full_name == KERAS)
    repo_id, app = walk(store, scenario, scenario.today)
    got = weekly(store, repo_id)
    assert {d: v for d, (v, _) in got.items()} == truth(keras, scenario.today)
    assert {source for _, source in got.values()} == {"commit_walk"}
    pages = -(-len(keras.commits) // 100)
    assert app.stats.graphql_points == pages  # a point a page of 100 commits, nothing for the weeks
    with store.sessions() as s:
        cp = load_checkpoint(s, repo_id, "commits")
    assert cp is not None and cp.status is SeriesStatus.COMPLETE
    assert cp.covered_from == week_start(keras.created_at.date())


def test_a_later_walk_recounts_only_recent_weeks_and_ends_like_a_fresh_one(store: Store) -> None:
    scenario = load_scenario("frameworks")
    keras = next(r for r in scenario.repos if r.full_name == KERAS)
    earlier = scenario.today - timedelta(days=45)
    assert any(earlier < c.authored_at.date() for c in keras.commits)  # commits to find the second time
    repo_id, _ = walk(store, scenario, earlier)
    assert {d: v for d, (v, _) in weekly(store, repo_id).items()} == truth(keras, earlier)
    _, app = walk(store, scenario, scenario.today)
    assert {d: v for d, (v, _) in weekly(store, repo_id).items()} == truth(keras, scenario.today)
    assert app.stats.graphql_points <= 2  # since the week before the newest commit seen: a page or two


def test_a_walk_killed_after_its_last_page_starts_again_without_counting_twice(store: Store) -> None:
    scenario = load_scenario("frameworks")
    keras = next(r for r in scenario.repos if r.full_name == KERAS)
    repo_id, _ = walk(store, scenario, scenario.today)
    with transaction(store.sessions) as s:
        done = load_checkpoint(s, repo_id, "contributors")
        assert done is not None
        # What a kill between the last page's transaction and the completing one leaves behind.
        save_checkpoint(
            s, repo_id, "contributors", Checkpoint(SeriesStatus.PARTIAL, None, None, None, done.detail)
        )
    walk(store, scenario, scenario.today)
    assert {d: v for d, (v, _) in weekly(store, repo_id).items()} == truth(keras, scenario.today)


def test_a_walk_an_older_version_left_half_done_starts_again_from_the_top(store: Store) -> None:
    scenario = load_scenario("frameworks")
    keras = next(r for r in scenario.repos if r.full_name == KERAS)
    repo_id, _ = walk(store, scenario, scenario.today)
    head = max(keras.commits, key=lambda c: c.authored_at).sha
    with transaction(store.sessions) as s:
        # Weeks the old GraphQL series counted, and a walk paused at its third page, counting no weeks.
        add_history_weekly(
            s, repo_id, "commits", "graphql_history", {week_start(keras.created_at.date()): 999}
        )
        old = Checkpoint(
            SeriesStatus.PARTIAL, base64.b64encode(f"{head} 299".encode()).decode(), None, None, None
        )
        save_checkpoint(s, repo_id, "contributors", old)
    walk(store, scenario, scenario.today)
    got = weekly(store, repo_id)
    assert {d: v for d, (v, _) in got.items()} == truth(keras, scenario.today)
    assert {source for _, source in got.values()} == {"commit_walk"}
