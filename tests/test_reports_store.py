"""The report queries give the same numbers as the public views, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import text

from collector.domain import HistoryPoint, Repository, Snapshot, week_start
from collector.store.engine import transaction
from collector.store.history import save_history_daily, save_history_weekly, save_snapshot
from collector.store.reports import load_period_values
from collector.store.repos import save_repository
from tests.conftest import Store

START = date(2016, 1, 5)


def _fill_random(store: Store) -> list[int]:
    """Three repositories: reconstructed stars and contributors, observed-only, and a mix with gaps."""
    rnd = random.Random(7)
    ids = []
    with transaction(store.sessions) as s:
        for i in range(3):
            created = datetime.combine(START, datetime.min.time(), UTC)
            row = save_repository(s, Repository(github_id=500 + i, full_name=f"o/r{i}", created_at=created))
            ids.append(row.id)
            if i != 2:
                stars = [
                    HistoryPoint("stars", START + timedelta(days=k), rnd.randint(0, 9), "t")
                    for k in range(0, 200, 3)
                ]
                save_history_daily(s, row.id, stars)
            if i == 0:
                people = [
                    HistoryPoint("contributors", START + timedelta(days=k), 1, "t") for k in range(0, 200, 17)
                ]
                save_history_daily(s, row.id, people)
            for k in range(10, 220, 29):
                at = created + timedelta(days=k, hours=5)
                contributors = None if k % 2 else k // 3
                save_snapshot(s, row.id, Snapshot(at, 1000 + k * (i + 1), k, 1, 1, contributors=contributors))
            weeks = [
                HistoryPoint("commits", week_start(START) + timedelta(weeks=k), k + i, "t") for k in range(30)
            ]
            save_history_weekly(s, row.id, weeks)
    return ids


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _plain(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)  # type: ignore[call-overload, arg-type]


def test_values_at_a_day_match_repo_daily(store: Store) -> None:
    ids = _fill_random(store)
    with store.sessions() as s:
        view = {
            (r.repo_id, _as_date(r.day)): (r.stars, r.forks, r.contributors)
            for r in s.execute(text("SELECT repo_id, day, stars, forks, contributors FROM repo_daily"))
        }
        checked = 0
        for k in range(-3, 225, 4):
            day = START + timedelta(days=k)
            frame = load_period_values(s, ids, "day", day, day)
            for row in frame.itertuples(index=False):
                key = (int(row.repo_id), day)
                if key in view:
                    got = tuple(_plain(v) for v in (row.stars, row.forks, row.contributors))
                    assert got == view[key], key
                    checked += 1
    assert checked > 150


def test_weekly_trend_matches_repo_weekly(store: Store) -> None:
    ids = _fill_random(store)
    with store.sessions() as s:
        view = {
            (r.repo_id, _as_date(r.week_start)): (
                r.stars,
                r.forks,
                r.contributors,
                r.commits,
                _as_date(r.as_of),
            )
            for r in s.execute(
                text(
                    "SELECT repo_id, week_start, stars, forks, contributors, commits, as_of FROM repo_weekly"
                )
            )
        }
        last = max(v[4] for v in view.values())
        frame = load_period_values(s, ids, "week", week_start(START), last)
        checked = 0
        for row in frame.itertuples(index=False):
            key = (int(row.repo_id), _as_date(row.period))
            # The view ends on the last day of known data; compare the weeks it covers in full.
            if key in view and view[key][4] == _as_date(row.as_of):
                got = tuple(_plain(v) for v in (row.stars, row.forks, row.contributors, row.commits))
                assert got == view[key][:4], key
                checked += 1
    assert checked > 60


def test_monthly_trend_matches_repo_daily_at_month_ends(store: Store) -> None:
    ids = _fill_random(store)
    with store.sessions() as s:
        frame = load_period_values(s, ids, "month", date(2016, 1, 1), date(2016, 7, 31))
        for row in frame.itertuples(index=False):
            day = _as_date(row.as_of)
            view = s.execute(
                text("SELECT stars, forks, contributors FROM repo_daily WHERE repo_id = :r AND day = :d"),
                {"r": int(row.repo_id), "d": day.isoformat() if store.backend == "sqlite" else day},
            ).one()
            assert tuple(_plain(v) for v in (row.stars, row.forks, row.contributors)) == tuple(view)


def test_periods_before_the_calendar_are_answered(store: Store) -> None:
    """Days before 2000 (where the calendar table began) get their periods: nothing before a repository's
    history, and the walk's additions dated before 2000 (history converted from older version control)
    count where they fall, in the rollups too (migration 0010)."""
    ids = _fill_random(store)
    with transaction(store.sessions) as s:
        early = [HistoryPoint("contributors", date(1998, 5, 3), 2, "t")]
        save_history_daily(s, ids[1], early)
    with store.sessions() as s:
        ranking = load_period_values(s, ids, "day", date(1999, 1, 1), date(1999, 1, 1))
        assert len(ranking) == 3
        # Before its history a reconstructed count is 0 (no additions yet), an observed one unknown.
        assert [_plain(v) for v in ranking["stars"]] == [0, 0, None]
        assert [_plain(v) for v in ranking["contributors"]] == [0, 2, None]
        assert ranking["has_data"].tolist() == [False, True, False]
        months = load_period_values(s, ids, "month", date(1998, 4, 1), date(2000, 1, 31))
        assert [_as_date(p) for p in months["period"][:3]] == [
            date(1998, 4, 1),
            date(1998, 5, 1),
            date(1998, 6, 1),
        ]
        assert len(months) == 3 * 22
        second = months[months["repo_id"] == ids[1]]
        assert [_plain(v) for v in second["contributors"][:3]] == [0, 2, 2]
        weeks = load_period_values(s, ids, "week", date(1970, 1, 1), date(1970, 1, 20))
        assert [_as_date(p) for p in weeks["period"][:4]] == [
            date(1969, 12, 28),
            date(1970, 1, 4),
            date(1970, 1, 11),
            date(1970, 1, 18),
        ]
        assert not weeks["has_data"].any() and set(weeks["stars"].fillna(0)) == {0}
