"""Leases (on SQLite and PostgreSQL) and the daemon's schedule arithmetic."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from collector.config import Schedule
from collector.domain import Holder, Repository, utc_now
from collector.jobs.daemon import cycle_start
from collector.store import leases
from collector.store.engine import transaction
from collector.store.repos import mark_gone, save_repository
from tests.conftest import Store


def _h(name: str) -> Holder:
    """A daemon on a host of its own (not this one): never taken for a dead local process, nor for an
    earlier process of another daemon (same host and pid)."""
    return Holder(f"{name}.elsewhere", 0, "x")


def _repos(store: Store, n: int) -> list[int]:
    with transaction(store.sessions) as s:
        return [
            save_repository(s, Repository(github_id=i + 1, full_name=f"o/r{i}"), tracked=True).id
            for i in range(n)
        ]


def test_claims_split_work_and_done_units_wait_for_next_cycle(store: Store) -> None:
    ids = _repos(store, 5)
    cycle = utc_now()
    with transaction(store.sessions) as s:
        leases.ensure_leases(s, "collect")
        a = leases.claim(s, "collect", _h("a"), cycle, 3)
    with transaction(store.sessions) as s:
        b = leases.claim(s, "collect", _h("b"), cycle, 3)
    assert sorted(a + b) == sorted(ids) and not set(a) & set(b)
    with transaction(store.sessions) as s:
        leases.complete(s, "collect", _h("a"), a)
        leases.release(s, "collect", _h("b"), b)
    with transaction(store.sessions) as s:
        again = leases.claim(s, "collect", _h("c"), cycle, 10)
    assert sorted(again) == sorted(b)  # released work is due again; completed work is not
    with transaction(store.sessions) as s:
        leases.complete(s, "collect", _h("c"), again)
        next_cycle = leases.claim(s, "collect", _h("c"), utc_now() + timedelta(seconds=1), 10)
    assert sorted(next_cycle) == sorted(ids)


def test_expired_lease_of_a_crashed_daemon_is_taken_over(store: Store) -> None:
    _repos(store, 2)
    cycle = utc_now()
    with transaction(store.sessions) as s:
        leases.ensure_leases(s, "backfill")
        held = leases.claim(s, "backfill", _h("crashed"), cycle, 10, ttl=timedelta(seconds=-1))
    with transaction(store.sessions) as s:
        taken = leases.claim(s, "backfill", _h("alive"), cycle, 10)
    assert sorted(taken) == sorted(held)


def test_gone_and_untracked_repositories_are_not_claimed(store: Store) -> None:
    ids = _repos(store, 3)
    with transaction(store.sessions) as s:
        mark_gone(s, ids[0], "not_found: deleted")
        leases.ensure_leases(s, "collect")
        claimed = leases.claim(s, "collect", _h("a"), utc_now(), 10)
    assert sorted(claimed) == sorted(ids[1:])


@pytest.mark.parametrize(
    ("schedule", "now", "expected"),
    [
        (Schedule(interval_seconds=6 * 3600), "2026-11-27T13:05:00", "2026-11-27T12:00:00"),
        (Schedule(interval_seconds=86400), "2026-11-27T00:00:00", "2026-11-27T00:00:00"),
        (Schedule(cron="0 3 * * *"), "2026-11-27T02:59:00", "2026-11-26T03:00:00"),
        (Schedule(cron="*/15 * * * *"), "2026-11-27T02:59:00", "2026-11-27T02:45:00"),
        (Schedule(cron="0 7 * * 1"), "2026-11-27T02:59:00", "2026-11-23T07:00:00"),
    ],
)
def test_cycle_start_is_the_latest_fire_time(schedule: Schedule, now: str, expected: str) -> None:
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    assert cycle_start(schedule, at) == datetime.fromisoformat(expected).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "after", "fires"),
    [
        ("0 7 * * 1", "2026-11-27T00:00:00", "2026-11-30T07:00:00"),  # Monday, as in crontab
        ("0 7 * * 0", "2026-11-27T00:00:00", "2026-11-29T07:00:00"),  # Sunday
        ("0 7 * * 7", "2026-11-27T00:00:00", "2026-11-29T07:00:00"),  # Sunday again
        ("0 7 * * 1-5", "2026-11-28T00:00:00", "2026-11-30T07:00:00"),  # weekdays
        ("30 */6 * * *", "2026-11-27T00:31:00", "2026-11-27T06:30:00"),
    ],
)
def test_crontab_weekdays_follow_crontab_numbering(expr: str, after: str, fires: str) -> None:
    from collector.config import cron_trigger

    start = datetime.fromisoformat(after).replace(tzinfo=UTC)
    assert cron_trigger(expr).get_next_fire_time(None, start) == datetime.fromisoformat(fires).replace(
        tzinfo=UTC
    )


def test_leases_of_a_dead_process_on_this_host_are_released_at_once(store: Store) -> None:
    import socket
    import subprocess
    import sys

    ids = _repos(store, 2)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    # A process of this container that has ended (its identity as it would have stored it)...
    dead_holder = replace(Holder.for_this_process(), pid=int(gone.stdout), nonce="abc123")
    # ...and one whose identity is unknown (an older version's holder): it is never presumed dead.
    alive_holder = Holder(socket.gethostname(), 1, "def456")
    cycle = utc_now()
    with transaction(store.sessions) as s:
        leases.ensure_leases(s, "backfill")
        alive = leases.claim(s, "backfill", alive_holder, cycle, 1, ttl=timedelta(hours=1))
        dead = leases.claim(s, "backfill", dead_holder, cycle, 1, ttl=timedelta(hours=1))
    assert sorted(alive + dead) == sorted(ids)
    with transaction(store.sessions) as s:
        taken = leases.claim(s, "backfill", Holder.for_this_process(), cycle, 10)  # a daemon on this host
    assert taken == dead  # the dead process's lease is free at once; the live one's is not
