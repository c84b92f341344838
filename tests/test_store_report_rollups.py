"""The weekly and snapshot rollups behind the reports always match the rows they summarise (both backends)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from collector.domain import HistoryPoint, Repository, Snapshot, week_start
from collector.store import migrate
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.history import save_history_weekly, save_snapshot
from collector.store.models import HistoryWeekly, HistoryWeeklyMonthly, RepoRow, RepoSnapshot, SnapshotMonthly
from collector.store.repos import save_repository
from collector.store.rollups import rebuild_report_rollups
from tests.conftest import Store

START = date(2016, 12, 4)  # a Sunday


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _expected(
    s: Session,
) -> tuple[dict[tuple[int, str, date], int], dict[tuple[int, date], tuple[object, ...]]]:
    """Both rollups computed here, in Python, from history_weekly and snapshots."""
    weekly: dict[tuple[int, str, date], int] = defaultdict(int)
    for repo_id, metric, week, value in s.execute(
        select(HistoryWeekly.repo_id, HistoryWeekly.metric, HistoryWeekly.week_start, HistoryWeekly.value)
    ):
        weekly[(repo_id, metric, _as_date(week).replace(day=1))] += value
    latest: dict[tuple[int, date], tuple[object, ...]] = {}
    for repo_id, day, stars, forks, contributors in s.execute(
        select(
            RepoSnapshot.repo_id,
            RepoSnapshot.observed_day,
            RepoSnapshot.stars,
            RepoSnapshot.forks,
            RepoSnapshot.contributors,
        )
    ):
        key = (repo_id, _as_date(day).replace(day=1))
        if key not in latest or _as_date(latest[key][0]) < _as_date(day):
            latest[key] = (_as_date(day), stars, forks, contributors)
    return dict(weekly), latest


def _rollups(
    s: Session,
) -> tuple[dict[tuple[int, str, date], int], dict[tuple[int, date], tuple[object, ...]]]:
    weekly = {
        (r, m, _as_date(d)): v
        for r, m, d, v in s.execute(
            select(
                HistoryWeeklyMonthly.repo_id,
                HistoryWeeklyMonthly.metric,
                HistoryWeeklyMonthly.month_start,
                HistoryWeeklyMonthly.value,
            )
        )
    }
    latest: dict[tuple[int, date], tuple[object, ...]] = {
        (r, _as_date(m)): (_as_date(d), stars, forks, contributors)
        for r, m, d, stars, forks, contributors in s.execute(
            select(
                SnapshotMonthly.repo_id,
                SnapshotMonthly.month_start,
                SnapshotMonthly.observed_day,
                SnapshotMonthly.stars,
                SnapshotMonthly.forks,
                SnapshotMonthly.contributors,
            )
        )
    }
    return weekly, latest


def test_rollups_equal_the_rows_after_random_writes(store: Store) -> None:
    rnd = random.Random(3)
    with transaction(store.sessions) as s:
        ids = [save_repository(s, Repository(github_id=800 + i, full_name=f"w/r{i}")).id for i in range(2)]
    for step in range(40):
        repo_id = rnd.choice(ids)
        with transaction(store.sessions) as s:
            if step % 2:  # weeks overwritten and added, across month boundaries
                weeks = {START + timedelta(weeks=rnd.randint(0, 30)) for _ in range(rnd.randint(1, 8))}
                save_history_weekly(
                    s, repo_id, [HistoryPoint("commits", w, rnd.randint(0, 40), "t") for w in weeks]
                )
            else:  # snapshots out of order, the same day replaced, contributors sometimes unknown
                for _ in range(rnd.randint(1, 3)):
                    at = datetime.combine(START, datetime.min.time(), UTC) + timedelta(
                        days=rnd.randint(0, 200), hours=rnd.randint(0, 23)
                    )
                    contributors = rnd.choice([None, rnd.randint(0, 50)])
                    save_snapshot(
                        s, repo_id, Snapshot(at, rnd.randint(0, 999), rnd.randint(0, 99), 1, 1, contributors)
                    )
        with store.sessions() as s:
            assert _rollups(s) == _expected(s), f"step {step}"
    with store.sessions() as s:
        weekly, latest = _expected(s)
        assert len(weekly) > 5 and len(latest) > 5
    # Wiping the rollups and rebuilding them gives the same rows (what a bulk load relies on).
    with transaction(store.sessions) as s:
        s.execute(delete(HistoryWeeklyMonthly))
        s.execute(delete(SnapshotMonthly))
        rebuild_report_rollups(s, [ids[0]])
        rebuild_report_rollups(s, [ids[1]])
    with store.sessions() as s:
        assert _rollups(s) == _expected(s)
    with transaction(store.sessions) as s:  # deleting a repository takes its rollups with it
        s.execute(delete(RepoRow).where(RepoRow.id == ids[0]))
    with store.sessions() as s:
        assert _rollups(s) == _expected(s)
        assert {k[0] for k in _rollups(s)[1]} == {ids[1]}


def test_migration_fills_the_rollups_from_existing_rows(empty_url: str) -> None:
    engine = make_engine(empty_url)
    migrate.upgrade(engine, "0003")
    weeks = {date(2016, 12, 25): 4, date(2017, 1, 1): 2, date(2017, 1, 29): 5, date(2017, 3, 5): 1}
    snaps = {date(2017, 1, 3): (10, None), date(2017, 1, 30): (12, 3), date(2017, 2, 1): (13, None)}
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(RepoRow.__table__),  # type: ignore[arg-type]
            [
                {
                    "id": 1,
                    "full_name": "a/a",
                    "name_key": "a/a",
                    "archived": False,
                    "tracked": True,
                    "added_at": now,
                }
            ],
        )
        conn.execute(
            insert(HistoryWeekly.__table__),  # type: ignore[arg-type]
            [
                {"repo_id": 1, "metric": "commits", "week_start": w, "value": v, "source": "t"}
                for w, v in weeks.items()
            ],
        )
        conn.execute(
            insert(RepoSnapshot.__table__),  # type: ignore[arg-type]
            [
                {
                    "repo_id": 1,
                    "observed_day": d,
                    "observed_at": datetime.combine(d, datetime.min.time(), UTC),
                    "stars": stars,
                    "forks": 1,
                    "watchers": 1,
                    "open_issues": 1,
                    "contributors": contributors,
                    "archived": False,
                }
                for d, (stars, contributors) in snaps.items()
            ],
        )
    migrate.upgrade(engine)
    with session_factory(engine)() as s:
        weekly, latest = _rollups(s)
    assert weekly == {
        (1, "commits", date(2016, 12, 1)): 4,
        (1, "commits", date(2017, 1, 1)): 7,
        (1, "commits", date(2017, 3, 1)): 1,
    }
    assert latest == {
        (1, date(2017, 1, 1)): (date(2017, 1, 30), 12, 1, 3),
        (1, date(2017, 2, 1)): (date(2017, 2, 1), 13, 1, None),
    }
    migrate.downgrade(engine, "0003")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM history_weekly")).scalar() == 4
    engine.dispose()


def test_a_week_belongs_to_the_month_of_its_sunday(store: Store) -> None:
    sunday = date(2017, 4, 30)  # the week runs into May; its commits count for April
    assert week_start(sunday + timedelta(days=3)) == sunday
    with transaction(store.sessions) as s:
        repo_id = save_repository(s, Repository(github_id=901, full_name="w/x")).id
        save_history_weekly(s, repo_id, [HistoryPoint("commits", sunday, 9, "t")])
    with store.sessions() as s:
        assert _rollups(s)[0] == {(repo_id, "commits", date(2017, 4, 1)): 9}
