"""history_running (each daily series summed up to the end of each of its months) always equals a
recomputation from history_daily, on both backends, whichever writer changed the days; and a value at a
date, which the reports now read from it, is the sum of the additions up to that date."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from collector.domain import ForkInfo, HistoryPoint, Repository
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
from collector.store.history import rebuild_monthly, save_history_daily
from collector.store.models import HistoryDaily, HistoryRunning, RepoRow
from collector.store.reports import load_period_grid
from collector.store.repos import save_repository
from tests.conftest import Store

START = date(2016, 11, 20)
Totals = dict[tuple[int, str, date], int]


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _daily(s: Session) -> list[tuple[int, str, date, int]]:
    rows = s.execute(select(HistoryDaily.repo_id, HistoryDaily.metric, HistoryDaily.day, HistoryDaily.value))
    return [(r, m, _as_date(d), v) for r, m, d, v in rows]


def _expected(s: Session) -> Totals:
    """Running totals computed here, in Python: for each month a series has days in, the sum of all its
    days up to that month's end."""
    months: dict[tuple[int, str], dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for repo_id, metric, day, value in _daily(s):
        months[(repo_id, metric)][day.replace(day=1)] += value
    out: Totals = {}
    for (repo_id, metric), sums in months.items():
        total = 0
        for month in sorted(sums):
            total += sums[month]
            out[(repo_id, metric, month)] = total
    return out


def _stored(s: Session) -> Totals:
    rows = s.execute(
        select(
            HistoryRunning.repo_id, HistoryRunning.metric, HistoryRunning.month_start, HistoryRunning.total
        )
    )
    return {(r, m, _as_date(d)): t for r, m, d, t in rows}


def _day(rnd: random.Random) -> date:
    return START + timedelta(days=rnd.randint(0, 200))


def _write(s: Session, rnd: random.Random, repo_id: int, kind: int, serial: int) -> None:
    """One write by one of the store's writers of history_daily."""
    metric = rnd.choice(["stars", "forks"])
    if kind == 0:  # upserts, several metrics at once, some negative (a day of more unstars than stars)
        points = [
            HistoryPoint(rnd.choice(["stars", "forks", "contributors"]), _day(rnd), rnd.randint(-3, 9), "t")
            for _ in range(rnd.randint(1, 12))
        ]
        save_history_daily(s, repo_id, list({(p.metric, p.day): p for p in points}.values()))
    elif kind == 1:  # the star history's pages, newest first: each one moves every later month's total
        last = START + timedelta(days=200 - 30 * rnd.randint(0, 6))
        first = last - timedelta(days=29)
        values = {first + timedelta(days=k): rnd.randint(0, 4) for k in range(0, 30, 3)}
        replace_daily(s, repo_id, "stars", first, last, values, "t")
    elif kind == 2:
        add_daily(s, repo_id, metric, {_day(rnd): rnd.randint(1, 5) for _ in range(4)}, "t")
    elif kind == 3:
        at = datetime.combine(_day(rnd), datetime.min.time(), UTC) + timedelta(hours=23)
        save_forks(s, repo_id, [ForkInfo(serial, at)])
        rebuild_fork_days(s, repo_id)
    elif kind == 4:
        seen = {f"u:{rnd.randint(1, 30)}": datetime.combine(_day(rnd), datetime.min.time(), UTC)}
        save_identities(s, repo_id, seen)
        rebuild_contributor_days(s, repo_id)
    else:  # a wholesale recount that starts from nothing
        replace_daily(s, repo_id, metric, date(2000, 1, 1), date(2030, 1, 1), {}, "t")


def _stars_at(s: Session, ids: list[int], at: date, through_today: bool) -> dict[int, int | None]:
    grid = load_period_grid(s, ids, "day", at, at, ("stars",), through_today)
    values, missing = grid.values["stars"][:, -1].tolist(), grid.missing["stars"][:, -1].tolist()
    return {i: None if m else v for i, v, m in zip(grid.repo_ids.tolist(), values, missing, strict=True)}


def _sums_at(daily: list[tuple[int, str, date, int]], ids: list[int], at: date) -> dict[int, int | None]:
    """What a ranking at `at` shows without observations: the sum of the additions up to that day, for a
    repository with any star additions at all."""
    out: dict[int, int | None] = dict.fromkeys(ids)
    for repo_id, metric, day, value in daily:
        if metric == "stars":
            out[repo_id] = (out[repo_id] or 0) + (value if day <= at else 0)
    return out


def test_running_totals_equal_a_recomputation_after_incremental_writes(store: Store) -> None:
    rnd = random.Random(20)
    with transaction(store.sessions) as s:
        ids = [save_repository(s, Repository(github_id=800 + i, full_name=f"r/t{i}")).id for i in range(2)]
    nonempty = 0
    for step in range(48):
        with transaction(store.sessions) as s:
            _write(s, rnd, rnd.choice(ids), step % 6, step + 1)
        with store.sessions() as s:
            expected = _expected(s)
            assert _stored(s) == expected, f"step {step} (kind {step % 6})"
            nonempty += bool(expected)
            at = _day(rnd)
            daily = _daily(s)
            assert _stars_at(s, ids, at, False) == _sums_at(daily, ids, at), f"step {step}, at {at}"
            today = START + timedelta(days=210)  # after every stored day: the whole store is months
            assert _stars_at(s, ids, today, True) == _sums_at(daily, ids, today), f"step {step}"
    assert nonempty > 40
    # A rebuild (after a bulk load) gives the same totals; deleting a repository takes its totals along.
    with transaction(store.sessions) as s:
        before = _stored(s)
        rebuild_monthly(s)
    with transaction(store.sessions) as s:
        assert _stored(s) == before
        s.execute(delete(RepoRow).where(RepoRow.id == ids[0]))
    with store.sessions() as s:
        assert _stored(s) == _expected(s)
        assert {k[0] for k in _stored(s)} <= {ids[1]}


def test_migration_fills_the_running_totals_of_existing_stores(empty_url: str) -> None:
    engine = make_engine(empty_url)
    migrate.upgrade(engine, "0011")
    days = {date(2016, 12, 31): 4, date(2017, 1, 1): 2, date(2017, 1, 31): -1, date(2017, 3, 9): 5}
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
            text(
                "INSERT INTO history_monthly (repo_id, metric, month_start, value)"
                " VALUES (1, 'stars', :m, :v)"
            ),
            [
                {"m": date(2016, 12, 1), "v": 4},
                {"m": date(2017, 1, 1), "v": 1},
                {"m": date(2017, 3, 1), "v": 5},
            ],
        )
        conn.execute(
            insert(HistoryDaily.__table__),  # type: ignore[arg-type]
            [{"repo_id": 1, "metric": "stars", "day": d, "value": v, "source": "t"} for d, v in days.items()],
        )
    migrate.upgrade(engine)
    with session_factory(engine)() as s:
        assert (
            _stored(s)
            == _expected(s)
            == {
                (1, "stars", date(2016, 12, 1)): 4,
                (1, "stars", date(2017, 1, 1)): 5,
                (1, "stars", date(2017, 3, 1)): 10,
            }
        )
        assert _stars_at(s, [1], date(2017, 2, 14), False) == {1: 5}
    migrate.downgrade(engine, "0011")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM history_monthly")).scalar() == 3
    engine.dispose()
