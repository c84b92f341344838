"""A day grid over several days has every day as its own period, with the values of the `repo_daily`
view, on SQLite and PostgreSQL, through today or not; so has a single day (a ranking) through today."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from collector.domain import HistoryPoint, Repository, Snapshot, week_start
from collector.store.engine import transaction
from collector.store.history import save_history_daily, save_history_weekly, save_snapshot
from collector.store.report_grid import PeriodGrid
from collector.store.reports import load_period_grid
from collector.store.repos import save_repository
from tests.conftest import Store

START = date(2017, 2, 20)  # the data spans the end of February, March and April
LAST = date(2017, 4, 27)  # the last day with data


def _days(rnd: random.Random, count: int, first: date = START) -> list[date]:
    return sorted(rnd.sample([first + timedelta(days=k) for k in range((LAST - first).days + 1)], count))


def _fill(store: Store) -> list[int]:
    """Four repositories with additions and snapshots on scattered days: reconstructed stars and
    contributors with observations (some without contributors), observed only, reconstructed forks with
    a few observations, and one whose data begins in April."""
    rnd = random.Random(11)
    ids = []
    with transaction(store.sessions) as s:
        for i in range(4):
            row = save_repository(s, Repository(github_id=900 + i, full_name=f"d/r{i}"))
            ids.append(row.id)
            begin = date(2017, 4, 6) if i == 3 else START
            points = []
            for metric in {0: ("stars", "contributors"), 2: ("forks",), 3: ("stars",)}.get(i, ()):
                points += [HistoryPoint(metric, d, rnd.randint(-1, 7), "t") for d in _days(rnd, 20, begin)]
            save_history_daily(s, row.id, points)
            for k, day in enumerate(_days(rnd, 3 if i == 2 else 9, begin)):
                at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=rnd.randint(0, 23))
                people = None if k % 3 == 1 else rnd.randint(1, 40)
                save_snapshot(s, row.id, Snapshot(at, rnd.randint(50, 90), rnd.randint(0, 9), 1, 1, people))
            weeks = {week_start(d) for d in _days(rnd, 6, begin)}
            commits = [HistoryPoint("commits", w, rnd.randint(0, 30), "t") for w in weeks]
            save_history_weekly(s, row.id, commits)
    return ids


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _cell(grid: PeriodGrid, metric: str, row: int, column: int) -> int | None:
    return None if grid.missing[metric][row, column] else int(grid.values[metric][row, column])


def _ints(*values: object) -> tuple[int | None, ...]:
    """The view's numbers as ints (PostgreSQL's sums are numeric)."""
    return tuple(None if v is None else int(str(v)) for v in values)


@pytest.mark.parametrize(
    ("first", "until", "through_today"),
    [
        (date(2017, 3, 10), date(2017, 4, 20), False),  # mid-month to mid-month, data after the end
        (date(2017, 3, 1), date(2017, 4, 30), False),  # whole months
        (date(2017, 3, 10), LAST, True),  # through today, mid-month
        (date(2017, 2, 25), date(2017, 4, 30), True),  # through today, the last day of a month
        (date(2017, 4, 2), LAST, True),  # within today's month
    ],
)
def test_each_day_of_a_day_grid_is_repo_daily(
    store: Store, first: date, until: date, through_today: bool
) -> None:
    ids = _fill(store)
    with store.sessions() as s:
        view = {
            (int(r.repo_id), _as_date(r.day)): _ints(r.stars, r.forks, r.contributors)
            for r in s.execute(text("SELECT repo_id, day, stars, forks, contributors FROM repo_daily"))
        }
        weekly = {
            (int(r.repo_id), _as_date(r.week_start)): r.value
            for r in s.execute(text("SELECT repo_id, week_start, value FROM history_weekly"))
        }
        grid = load_period_grid(s, ids, "day", first, until, through_today=through_today)
    days = [first + timedelta(days=k) for k in range((until - first).days + 1)]
    assert list(grid.starts) == days == list(grid.ends)
    checked = 0
    for row, repo_id in enumerate(grid.repo_ids.tolist()):
        begins = min(d for r, d in view if r == repo_id)
        for column, day in enumerate(days):
            got = tuple(_cell(grid, m, row, column) for m in ("stars", "forks", "contributors"))
            # Commits are counted per week: a day grid has each week's on the day it starts.
            assert _cell(grid, "commits", row, column) == weekly.get((repo_id, day)), (repo_id, day)
            assert bool(grid.has_data[row, column]) == (day >= begins), (repo_id, day)
            if (repo_id, day) in view:
                assert got == view[(repo_id, day)], (repo_id, day)
                checked += 1
    assert checked > 0.7 * len(days) * len(ids)  # the view has no days before or after the data


def test_a_single_day_through_today_is_repo_daily_of_that_day(store: Store) -> None:
    ids = _fill(store)
    with store.sessions() as s:
        view = {
            int(r.repo_id): _ints(r.stars, r.forks, r.contributors)
            for r in s.execute(
                text("SELECT repo_id, stars, forks, contributors FROM repo_daily WHERE day = :d"),
                {"d": LAST.isoformat() if store.backend == "sqlite" else LAST},
            )
        }
        grid = load_period_grid(s, ids, "day", LAST, LAST, through_today=True)
    got = {
        repo_id: tuple(_cell(grid, m, row, 0) for m in ("stars", "forks", "contributors"))
        for row, repo_id in enumerate(grid.repo_ids.tolist())
        if repo_id in view  # the view ends on each repository's last day of data
    }
    assert got == view
    assert len(view) >= 2
