"""The monthly rollup behind the reports always equals the monthly sums of history_daily, on both backends."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from collector.domain import ForkInfo, HistoryPoint, Repository, Snapshot
from collector.store import migrate
from collector.store.checkpoints import (
    add_daily,
    rebuild_contributor_days,
    rebuild_fork_days,
    replace_daily,
    save_forks,
    save_identities,
)
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.history import save_history_daily, save_snapshot
from collector.store.models import HistoryDaily, HistoryMonthly, RepoRow
from collector.store.reports import load_period_values
from collector.store.repos import save_repository
from tests.conftest import Store

START = date(2016, 11, 20)


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _expected(s: Session) -> dict[tuple[int, str, date], int]:
    """Monthly sums computed here, in Python, from the daily rows."""
    sums: dict[tuple[int, str, date], int] = defaultdict(int)
    for repo_id, metric, day, value in s.execute(
        select(HistoryDaily.repo_id, HistoryDaily.metric, HistoryDaily.day, HistoryDaily.value)
    ):
        sums[(repo_id, metric, _as_date(day).replace(day=1))] += value
    return dict(sums)


def _rollup(s: Session) -> dict[tuple[int, str, date], int]:
    rows = s.execute(
        select(
            HistoryMonthly.repo_id, HistoryMonthly.metric, HistoryMonthly.month_start, HistoryMonthly.value
        )
    )
    return {(r, m, _as_date(d)): v for r, m, d, v in rows}


def _day(rnd: random.Random) -> date:
    return START + timedelta(days=rnd.randint(0, 150))


def test_rollup_equals_daily_sums_after_random_writes(store: Store) -> None:
    rnd = random.Random(11)
    with transaction(store.sessions) as s:
        ids = [save_repository(s, Repository(github_id=700 + i, full_name=f"o/r{i}")).id for i in range(2)]
    fork_id = 1
    checked_nonempty = 0
    for step in range(60):
        repo_id = rnd.choice(ids)
        metric = rnd.choice(["stars", "forks"])
        kind = step % 6
        with transaction(store.sessions) as s:
            if kind == 0:  # upserts overwrite, several metrics at once
                points = [
                    HistoryPoint(
                        rnd.choice(["stars", "forks", "contributors"]), _day(rnd), rnd.randint(0, 9), "t"
                    )
                    for _ in range(rnd.randint(1, 12))
                ]
                save_history_daily(s, repo_id, list({(p.metric, p.day): p for p in points}.values()))
            elif kind == 1:  # replace a range, often emptying whole months
                first = _day(rnd)
                last = first + timedelta(days=rnd.randint(0, 70))
                values = {first + timedelta(days=k): rnd.randint(0, 3) for k in range(0, 71, 9)}
                values = {d: v for d, v in values.items() if d <= last}
                replace_daily(s, repo_id, metric, first, last, values, "t")
            elif kind == 2:  # add to existing and new days
                add_daily(s, repo_id, metric, {_day(rnd): rnd.randint(1, 5) for _ in range(4)}, "t")
            elif kind == 3:
                forks = []
                for _ in range(rnd.randint(1, 4)):
                    at = datetime.combine(_day(rnd), datetime.min.time(), UTC) + timedelta(hours=23)
                    forks.append(ForkInfo(fork_id, at))
                    fork_id += 1
                save_forks(s, repo_id, forks)
                if rnd.random() < 0.5:  # GitHub's network count, which the fork series is scaled to
                    seen = datetime.combine(_day(rnd), datetime.min.time(), UTC)
                    save_snapshot(s, repo_id, Snapshot(seen, 0, rnd.randint(1, 40), 0, 0))
                rebuild_fork_days(s, repo_id)
            elif kind == 4:
                seen = {
                    f"u:{rnd.randint(1, 30)}": datetime.combine(_day(rnd), datetime.min.time(), UTC)
                    for _ in range(5)
                }
                save_identities(s, repo_id, seen)
                rebuild_contributor_days(s, repo_id)
            else:  # a wholesale recount that starts from nothing
                replace_daily(s, repo_id, metric, date(2000, 1, 1), date(2030, 1, 1), {}, "t")
        with store.sessions() as s:
            expected = _expected(s)
            assert _rollup(s) == expected, f"step {step} (kind {kind})"
            checked_nonempty += bool(expected)
    assert checked_nonempty > 40
    # Deleting a repository takes its rollup with it.
    with transaction(store.sessions) as s:
        s.execute(delete(RepoRow).where(RepoRow.id == ids[0]))
    with store.sessions() as s:
        assert _rollup(s) == _expected(s)
        assert {k[0] for k in _rollup(s)} <= {ids[1]}


def _fill_for_trends(store: Store) -> list[int]:
    rnd = random.Random(5)
    ids = []
    with transaction(store.sessions) as s:
        for i in range(3):
            created = datetime.combine(START, datetime.min.time(), UTC)
            row = save_repository(s, Repository(github_id=900 + i, full_name=f"t/r{i}", created_at=created))
            ids.append(row.id)
            if i != 2:
                stars = [
                    HistoryPoint("stars", START + timedelta(days=k), rnd.randint(1, 9), "t")
                    for k in range(0, 400, 2)
                ]
                save_history_daily(s, row.id, stars)
            for k in range(5, 400, 23):
                at = created + timedelta(days=k, hours=5)
                save_snapshot(s, row.id, Snapshot(at, 2000 + k * (i + 1), k, 1, 1, contributors=None))
    return ids


@pytest.mark.parametrize(
    ("every", "first", "until"),
    [
        (
            "month",
            date(2017, 1, 1),
            date(2017, 9, 14),
        ),  # the last month cut short: its days from history_daily
        ("quarter", date(2017, 1, 1), date(2017, 11, 30)),
        ("year", date(2016, 1, 1), date(2017, 12, 20)),
        ("week", date(2017, 5, 7), date(2017, 8, 19)),  # months before the first week come from the rollup
        ("day", date(2017, 4, 17), date(2017, 4, 17)),
    ],
)
def test_period_values_match_repo_daily_at_each_period_end(
    store: Store, every: str, first: date, until: date
) -> None:
    ids = _fill_for_trends(store)
    with store.sessions() as s:
        frame = load_period_values(s, ids, every, first, until)
        assert len(frame) >= 3
        for row in frame.itertuples(index=False):
            day = _as_date(row.as_of)
            assert day <= until
            view = s.execute(
                text("SELECT stars, forks FROM repo_daily WHERE repo_id = :r AND day = :d"),
                {"r": int(row.repo_id), "d": day.isoformat() if store.backend == "sqlite" else day},
            ).one()
            got = tuple(None if pd.isna(v) else int(v) for v in (row.stars, row.forks))
            assert got == tuple(view), (every, row.repo_id, day)


def test_migration_fills_the_rollup_from_existing_history(empty_url: str) -> None:
    engine = make_engine(empty_url)
    migrate.upgrade(engine, "0002")
    days = {date(2016, 12, 31): 4, date(2017, 1, 1): 2, date(2017, 1, 31): 5, date(2017, 3, 9): 1}
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
                    "added_at": datetime.now(UTC),
                }
            ],
        )
        conn.execute(
            insert(HistoryDaily.__table__),  # type: ignore[arg-type]
            [{"repo_id": 1, "metric": "stars", "day": d, "value": v, "source": "t"} for d, v in days.items()],
        )
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as s:
        assert _rollup(s) == {
            (1, "stars", date(2016, 12, 1)): 4,
            (1, "stars", date(2017, 1, 1)): 7,
            (1, "stars", date(2017, 3, 1)): 1,
        }
    migrate.downgrade(engine, "0002")
    with engine.connect() as conn:
        assert "history_monthly" not in {r[0] for r in conn.execute(text(_TABLES[engine.dialect.name]))}
        assert conn.execute(text("SELECT COUNT(*) FROM history_daily")).scalar() == 4
    engine.dispose()


_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
}
