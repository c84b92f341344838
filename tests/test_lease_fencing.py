"""Leases by the database's clock, fenced writes and holders that are not taken for dead (SQLite and
PostgreSQL; a claimant whose clock runs 12 minutes ahead runs under libfaketime)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from collector.domain import Holder, utc_now
from collector.jobs.commit_history import backfill_commit_walk
from collector.store import leases
from collector.store.engine import transaction
from collector.store.leases import LeaseLost
from collector.store.models import HistoryWeekly, SeriesState
from tests.clock_skew import clock_ahead_env
from tests.conftest import REPO_ROOT, Store
from tests.history_fakes import FakePages, context, make_repo, step
from tests.test_history_writers_interleaved import _commits

JOB = "backfill"


def _other(name: str) -> Holder:
    return Holder(f"{name}.elsewhere", 0, "x")


def _claim(store: Store, holder: Holder, ttl: timedelta = timedelta(minutes=10)) -> list[leases.LeaseToken]:
    with transaction(store.sessions) as s:
        leases.ensure_leases(s, JOB)
        return leases.claim_tokens(s, JOB, holder, utc_now(), 10, ttl)


CLAIM_AHEAD = """
import sys
from collector.domain import Holder, utc_now
from collector.store import leases
from collector.store.engine import make_engine, session_factory, transaction
sessions = session_factory(make_engine(sys.argv[1]))
with transaction(sessions) as s:
    got = leases.claim(s, "backfill", Holder("ahead.elsewhere", 0, "y"), utc_now(), 10)
print(utc_now().isoformat(), len(got))
"""


def test_a_claimant_with_its_clock_12_minutes_ahead_cannot_take_a_live_lease(store: Store) -> None:
    if store.backend == "sqlite":
        pytest.skip("SQLite's clock is each process's own: one host's store, one clock")
    make_repo(store.sessions)
    held = _claim(store, _other("a"))
    assert len(held) == 1
    env = {**os.environ, **clock_ahead_env("+12m")}
    done = subprocess.run(
        [sys.executable, "-c", CLAIM_AHEAD, store.url], env=env, cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    its_now, taken = done.stdout.split()
    assert datetime.fromisoformat(its_now) - utc_now() > timedelta(minutes=11)  # its clock is ahead...
    assert taken == "0"  # ...and the lease, live by the database's clock, stays with its holder
    # Once it has really expired (by the database's clock), anyone may take it.
    with transaction(store.sessions) as s:
        leases.extend(s, JOB, held[0].holder, [held[0].repo_id], timedelta(seconds=-1))
    assert [t.repo_id for t in _claim(store, _other("b"))] == [held[0].repo_id]


def test_extend_after_losing_the_lease_fails(store: Store) -> None:
    make_repo(store.sessions)
    (lost,) = _claim(store, _other("a"), ttl=timedelta(seconds=-1))  # expired at once
    with pytest.raises(LeaseLost), transaction(store.sessions) as s:
        leases.extend(s, JOB, lost.holder, [lost.repo_id], timedelta(minutes=10))
    (taken,) = _claim(store, _other("b"))
    assert taken.generation == lost.generation + 1
    with pytest.raises(LeaseLost), transaction(store.sessions) as s:
        leases.extend(s, JOB, lost.holder, [lost.repo_id], timedelta(minutes=10))
    with transaction(store.sessions) as s:
        leases.extend(s, JOB, taken.holder, [taken.repo_id], timedelta(minutes=10))  # the holder renews


def test_writes_of_a_worker_that_lost_its_lease_are_refused(store: Store) -> None:
    repo = make_repo(store.sessions)
    pages = FakePages(_commits([(d, 0, False, 0) for d in range(0, 100, 7)]), [], 3)
    (first,) = _claim(store, _other("a"), ttl=timedelta(seconds=-1))
    walk = backfill_commit_walk(context(store.sessions, repo, pages, lease=first))
    assert not step(walk)  # loaded the checkpoint, waits for its first page
    # Its lease expired and was claimed again, by the same holder (a later pass): a new generation.
    (again,) = _claim(store, first.holder)
    assert again.generation == first.generation + 1
    with pytest.raises(LeaseLost):
        step(walk)
    with store.sessions() as s:
        assert s.scalars(select(HistoryWeekly).where(HistoryWeekly.repo_id == repo)).all() == []
        assert s.scalars(select(SeriesState).where(SeriesState.repo_id == repo)).all() == []
    # The current generation writes.
    walk = backfill_commit_walk(context(store.sessions, repo, pages, lease=again))
    while not step(walk):
        pass
    with store.sessions() as s:
        weeks = s.scalars(select(HistoryWeekly.value).where(HistoryWeekly.repo_id == repo)).all()
    assert sum(weeks) == len(pages.commits)


def test_pid_1_of_another_container_on_this_host_is_not_taken_for_dead(store: Store) -> None:
    make_repo(store.sessions)
    me = Holder.for_this_process()
    if not me.identified:
        pytest.skip("no /proc here: process identities are unknown")
    # Two containers with the host's network (same host name), each its own pid namespace and pid 1.
    them = replace(me, pid=1, nonce="c0ffee", pidns="4026530001", started=me.started + 5)
    us = replace(me, pid=1, nonce="beef00")
    assert not leases.holder_is_dead(str(them), us)
    held = _claim(store, them)
    assert _claim(store, us) == []  # the live lease of the other container's pid 1 stays
    # In our own namespace, a pid that runs another process (another start time) is a dead holder's.
    ended = replace(me, pid=os.getpid(), nonce="dead01", started=me.started - 1)
    assert leases.holder_is_dead(str(ended), us)
    assert not leases.holder_is_dead(str(replace(me, nonce="alive1")), us)  # this very process runs
    assert len(held) == 1


def test_a_singleton_job_runs_on_one_daemon_at_a_time(store: Store) -> None:
    a, b = _other("a"), _other("b")
    with transaction(store.sessions) as s:
        assert leases.try_singleton(s, "discover", a, timedelta(minutes=5))
    with transaction(store.sessions) as s:
        assert not leases.try_singleton(s, "discover", b, timedelta(minutes=5))
        assert leases.try_singleton(s, "discover", a, timedelta(minutes=5))  # the holder renews it
        assert leases.try_singleton(s, "report:weekly", b, timedelta(minutes=5))  # another lock
    with transaction(store.sessions) as s:
        leases.release_singleton(s, "discover", a)
    with transaction(store.sessions) as s:
        assert leases.try_singleton(s, "discover", b, timedelta(seconds=-1))  # taken, expired at once
    with transaction(store.sessions) as s:
        assert leases.try_singleton(s, "discover", a, timedelta(minutes=5))
