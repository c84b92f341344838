"""The store contract: every test here runs on SQLite and on PostgreSQL (the `store` fixture)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text

from collector.domain import HistoryPoint, Repository, Snapshot, parse_repo_name
from collector.store.engine import transaction
from collector.store.history import save_history_daily, save_history_weekly, save_snapshot
from collector.store.models import HistoryDaily, RepoAlias, RepoRow, RepoSnapshot
from collector.store.repos import (
    find_repo,
    find_repo_ids,
    load_aliases,
    load_repos,
    save_repository,
    save_tracked_name,
    untrack,
)
from tests.conftest import Store


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def snap(day: str, stars: int, forks: int, contributors: int | None = None, hour: int = 12) -> Snapshot:
    return Snapshot(
        observed_at=at(day, hour),
        stars=stars,
        forks=forks,
        watchers=3,
        open_issues=4,
        contributors=contributors,
        commits_52w=52,
        archived=False,
    )


def test_tracking_is_idempotent_and_case_insensitive(store: Store) -> None:
    with transaction(store.sessions) as s:
        _, new1 = save_tracked_name(s, parse_repo_name("Keras-Team/Keras"))
        _, new2 = save_tracked_name(s, parse_repo_name("keras-team/keras"))
    assert (new1, new2) == (True, False)
    with store.sessions() as s:
        assert [r.full_name for r in load_repos(s)] == ["Keras-Team/Keras"]


def test_rename_keeps_id_history_and_alias(store: Store) -> None:
    with transaction(store.sessions) as s:
        save_tracked_name(s, parse_repo_name("fchollet/keras"))
        row = save_repository(
            s,
            Repository(github_id=33015583, full_name="fchollet/keras"),
            requested=parse_repo_name("fchollet/keras"),
        )
        save_snapshot(s, row.id, snap("2017-01-03", 10727, 3575, 322))
    with transaction(store.sessions) as s:
        row2 = save_repository(s, Repository(github_id=33015583, full_name="keras-team/keras"))
        save_snapshot(s, row2.id, snap("2018-03-01", 26744, 9000, 638))
    with store.sessions() as s:
        repos = load_repos(s)
        assert [(r.full_name, r.github_id) for r in repos] == [("keras-team/keras", 33015583)]
        assert load_aliases(s, repos[0].id) == ["fchollet/keras"]
        old = find_repo(s, parse_repo_name("FCHOLLET/keras"))
        assert old is not None and old.id == repos[0].id
        names = [parse_repo_name(n) for n in ("FCHOLLET/keras", "keras-team/Keras", "nobody/here")]
        assert find_repo_ids(s, names) == {"fchollet/keras": repos[0].id, "keras-team/keras": repos[0].id}
        assert s.scalar(select(func.count()).select_from(RepoSnapshot)) == 2
        assert s.scalar(select(func.count()).select_from(RepoRow)) == 1
    with transaction(store.sessions) as s:  # GitHub gives the former name to another repository
        other = save_repository(s, Repository(github_id=7, full_name="fchollet/keras"))
    with store.sessions() as s:  # its current holder wins over the alias, as in find_repo
        assert find_repo_ids(s, [parse_repo_name("fchollet/keras")]) == {"fchollet/keras": other.id}
        found = find_repo(s, parse_repo_name("fchollet/keras"))
        assert found is not None and found.id == other.id


def test_placeholder_merges_into_resolved_repository(store: Store) -> None:
    with transaction(store.sessions) as s:
        save_tracked_name(s, parse_repo_name("dmlc/mxnet"))
        save_repository(
            s,
            Repository(github_id=34864402, full_name="apache/mxnet"),
            requested=parse_repo_name("dmlc/mxnet"),
        )
    with store.sessions() as s:
        repos = load_repos(s)
        assert [(r.full_name, r.github_id) for r in repos] == [("apache/mxnet", 34864402)]
        assert load_aliases(s, repos[0].id) == ["dmlc/mxnet"]
        assert s.scalar(select(func.count()).select_from(RepoAlias)) == 2


def test_writes_are_idempotent(store: Store) -> None:
    points = [HistoryPoint("stars", date(2017, 1, 1), 5, "star_history")]
    for _ in range(2):
        with transaction(store.sessions) as s:
            row = save_repository(s, Repository(github_id=1, full_name="a/a"), tracked=True)
            save_snapshot(s, row.id, snap("2017-01-04", 10, 2, hour=6))
            save_snapshot(s, row.id, snap("2017-01-04", 11, 2, hour=18))
            save_history_daily(s, row.id, points)
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(RepoSnapshot)) == 1
        assert s.scalar(select(RepoSnapshot.stars)) == 11  # the day's latest observation wins
        assert s.scalar(select(func.count()).select_from(HistoryDaily)) == 1
        assert s.scalar(select(func.count()).select_from(RepoRow)) == 1


def test_untrack_keeps_history(store: Store) -> None:
    with transaction(store.sessions) as s:
        row = save_repository(s, Repository(github_id=1, full_name="a/a"), tracked=True)
        save_snapshot(s, row.id, snap("2017-01-04", 10, 2))
    with transaction(store.sessions) as s:
        done, unknown = untrack(s, [parse_repo_name("a/a"), parse_repo_name("b/b")])
    assert (done, unknown) == (["a/a"], ["b/b"])
    with store.sessions() as s:
        assert load_repos(s) == []
        assert s.scalar(select(func.count()).select_from(RepoSnapshot)) == 1


def _seed_views(store: Store) -> None:
    with transaction(store.sessions) as s:
        a = save_repository(
            s, Repository(github_id=1, full_name="org/alpha", description="<b>A</b>"), tracked=True
        )
        save_history_daily(
            s,
            a.id,
            [
                HistoryPoint("stars", date(2017, 1, 1), 5, "star_history"),
                HistoryPoint("stars", date(2017, 1, 3), 2, "star_history"),
                HistoryPoint("forks", date(2017, 1, 2), 1, "forks_listing"),
                HistoryPoint("contributors", date(2017, 1, 1), 1, "commit_walk"),
            ],
        )
        save_history_weekly(s, a.id, [HistoryPoint("commits", date(2017, 1, 1), 7, "graphql_history")])
        save_snapshot(s, a.id, snap("2017-01-04", 10, 2, 1))
        b = save_repository(s, Repository(github_id=2, full_name="org/beta"), tracked=True)
        save_snapshot(s, b.id, snap("2017-01-02", 100, 20, 9))
        save_snapshot(s, b.id, snap("2017-01-10", 130, 25, 10))
        save_repository(s, Repository(github_id=3, full_name="org/never-observed"), tracked=True)
        gone = save_repository(s, Repository(github_id=4, full_name="org/untracked"), tracked=False)
        save_snapshot(s, gone.id, snap("2017-01-02", 1, 1, 1))


def test_repo_daily_prefers_observation_then_reconstruction_then_last_observation(store: Store) -> None:
    _seed_views(store)
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT repo, day, stars, forks, contributors, observed FROM repo_daily "
                "WHERE repo IN ('org/alpha', 'org/beta') ORDER BY repo, day"
            )
        ).all()
    got = [(r.repo, str(r.day), r.stars, r.forks, r.contributors, bool(r.observed)) for r in rows]
    assert got == [
        ("org/alpha", "2017-01-01", 5, 0, 1, False),
        ("org/alpha", "2017-01-02", 5, 1, 1, False),
        ("org/alpha", "2017-01-03", 7, 1, 1, False),
        ("org/alpha", "2017-01-04", 10, 2, 1, True),
        ("org/beta", "2017-01-02", 100, 20, 9, True),
        *[("org/beta", f"2017-01-{d:02d}", 100, 20, 9, False) for d in range(3, 10)],
        ("org/beta", "2017-01-10", 130, 25, 10, True),
    ]


def test_repo_weekly_has_no_gaps_and_end_of_week_values(store: Store) -> None:
    _seed_views(store)
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT repo, week_start, stars, forks, contributors, commits FROM repo_weekly "
                "ORDER BY repo, week_start"
            )
        ).all()
    got = [(r.repo, str(r.week_start), r.stars, r.forks, r.contributors, r.commits) for r in rows]
    assert got == [
        ("org/alpha", "2017-01-01", 10, 2, 1, 7),
        ("org/beta", "2017-01-01", 100, 20, 9, None),  # Saturday 2017-01-07 carries the 01-02 observation
        ("org/beta", "2017-01-08", 130, 25, 10, None),
        ("org/untracked", "2017-01-01", 1, 1, 1, None),
    ]


def test_repo_latest_one_row_per_tracked_repository(store: Store) -> None:
    _seed_views(store)
    with store.engine.connect() as conn:
        result = conn.execute(text("SELECT * FROM repo_latest ORDER BY repo"))
        columns = list(result.keys())
        rows = result.all()
    assert columns[:10] == [
        "repo",
        "github_id",
        "observed_at",
        "stars",
        "forks",
        "watchers",
        "open_issues",
        "contributors",
        "commits_52w",
        "archived",
    ]
    got = [(r.repo, r.github_id, r.stars, r.forks, r.contributors, r.commits_52w) for r in rows]
    assert got == [
        ("org/alpha", 1, 10, 2, 1, 52),
        ("org/beta", 2, 130, 25, 10, 52),
        ("org/never-observed", 3, None, None, None, None),
    ]
    assert str(rows[1].observed_at).startswith("2017-01-10 12:00:00")


def test_postgresql_connections_run_without_jit_compilation(store: Store) -> None:
    """PostgreSQL JIT-compiles a query whose estimated cost is high, as reads of repo_daily's window
    functions are; compiling one repository's daily series took longer than reading it (90 ms against 11 at
    1,000 repositories, 770 ms at 10,000), so every connection the collector opens turns it off."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no JIT")
    for _ in range(2):  # a fresh connection and one back from the pool
        with store.engine.connect() as conn:
            assert conn.execute(text("SHOW jit")).scalar() == "off"
