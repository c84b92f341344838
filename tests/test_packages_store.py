"""Packages and their downloads in the store, on SQLite and PostgreSQL: a day never given stays NULL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from collector.domain import parse_repo_name
from collector.downloads.refs import PackageRef, parse_package_ref
from collector.store.engine import transaction
from collector.store.packages import (
    delete_package,
    load_downloads,
    load_packages,
    load_repo_downloads,
    save_downloads,
    save_fetch,
    save_package,
)
from collector.store.repos import save_tracked_name
from tests.conftest import Store

TF = PackageRef("pypi", "tensorflow")
TFJS = PackageRef("npm", "@tensorflow/tfjs")


def test_package_names_are_parsed_and_normalised() -> None:
    assert parse_package_ref("pypi:Tensorflow_CPU") == PackageRef("pypi", "tensorflow-cpu")
    assert parse_package_ref("pypi:zope.interface") == PackageRef("pypi", "zope-interface")
    assert parse_package_ref("npm:@tensorflow/tfjs") == TFJS and TFJS.scoped
    for bad in ("tensorflow", "gem:rails", "npm:Upper", "pypi:-x", "npm:@scope"):
        with pytest.raises(ValueError, match="expected pypi:NAME or npm:NAME"):
            parse_package_ref(bad)


def test_downloads_views_sum_packages_and_leave_missing_days_null(store: Store) -> None:
    fetched = datetime(2026, 12, 6, 8, tzinfo=UTC)
    with transaction(store.sessions) as s:
        repo, _ = save_tracked_name(s, parse_repo_name("tensorflow/tensorflow"))
        other, _ = save_tracked_name(s, parse_repo_name("keras-team/keras"))
        tf, new = save_package(s, repo.id, TF, "config")
        assert new and save_package(s, repo.id, TF, "cli") == (tf, False)
        tfjs, _ = save_package(s, repo.id, TFJS, "cli")
        first = date(2026, 10, 1)
        # tensorflow: 40 days from Oct 1; tfjs: only Nov 5-9, and a 0 that the source did give.
        save_downloads(s, tf, {first + timedelta(days=i): 100 + i for i in range(40)})
        save_downloads(s, tfjs, {date(2026, 11, 5) + timedelta(days=i): 7 for i in range(4)})
        save_downloads(s, tfjs, {date(2026, 11, 9): 0})
        save_fetch(s, tf, fetched)
        save_fetch(s, tfjs, fetched, note="npm: 429 Too Many Requests")
        repo_id, other_id = repo.id, other.id
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT day, downloads, packages FROM repo_downloads_daily WHERE repo = :r ORDER BY day"),
            {"r": "tensorflow/tensorflow"},
        ).all()
        latest = dict(conn.execute(text("SELECT repo, downloads_30d FROM repo_latest")).all())
    assert len(rows) == 40
    by_day = {date.fromisoformat(str(d)[:10]): (n, k) for d, n, k in rows}
    assert by_day[date(2026, 11, 5)] == (100 + 35 + 7, 2)
    assert by_day[date(2026, 11, 9)] == (100 + 39 + 0, 2)  # a given 0 counts as a package's day
    assert by_day[date(2026, 10, 1)] == (100, 1)
    # The 30 days ending Nov 9 (Oct 11..Nov 9): tensorflow's days 10..39 and tfjs's 28.
    expected = sum(100 + i for i in range(10, 40)) + 28
    assert latest == {"tensorflow/tensorflow": expected, "keras-team/keras": None}
    with transaction(store.sessions) as s:
        assert [(p.ref, p.known_from, p.fetched_through, p.note) for p in load_packages(s)] == [
            (TFJS, date(2026, 11, 5), date(2026, 11, 9), "npm: 429 Too Many Requests"),
            (TF, date(2026, 10, 1), date(2026, 11, 9), None),
        ]
        assert [(d.day, d.downloads, d.packages) for d in load_repo_downloads(s, repo_id)][-1] == (
            date(2026, 11, 9),
            139,
            2,
        )
        assert load_repo_downloads(s, other_id) == []
        assert delete_package(s, repo_id, TFJS) and not delete_package(s, repo_id, TFJS)
        assert load_downloads(s, tfjs) == {}
        assert len(load_downloads(s, tf)) == 40


def test_a_fetch_that_brings_no_new_day_does_not_move_advanced_at(store: Store) -> None:
    first = datetime(2026, 12, 5, 8, tzinfo=UTC)
    again = first + timedelta(hours=20)
    with transaction(store.sessions) as s:
        repo, _ = save_tracked_name(s, parse_repo_name("keras-team/keras"))
        pkg, _ = save_package(s, repo.id, PackageRef("pypi", "keras"), "config")
        save_downloads(s, pkg, {date(2026, 12, 4): 5})
        save_fetch(s, pkg, first)
        save_fetch(s, pkg, again)
        (stored,) = load_packages(s)
    assert (stored.last_fetched_at, stored.advanced_at) == (again, first)
