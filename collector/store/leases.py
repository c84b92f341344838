"""Work leases: several daemons share one PostgreSQL and split the repositories between them.

A unit of work is (job, repository). A daemon claims a few due units at a time: a unit is due when
nobody holds a live lease on it and it was not done since the current cycle began. On PostgreSQL the
claim is `SELECT ... FOR UPDATE SKIP LOCKED`, so two daemons never wait on or take the same rows; on
SQLite (one writer at a time anyway) a conditional UPDATE per row does the same. A crashed daemon's
lease simply expires.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from collector.domain import Holder, utc_now
from collector.store.models import Lease, RepoRow, Run
from collector.store.runs import interrupt_open_runs
from collector.store.upsert import upsert


def ensure_leases(session: Session, job: str) -> None:
    """Create the lease rows of every tracked repository for `job` (safe to rerun)."""
    ids = session.scalars(
        select(RepoRow.id).where(RepoRow.tracked.is_(True), RepoRow.gone_reason.is_(None))
    ).all()
    upsert(
        session,
        Lease.__table__,  # type: ignore[arg-type]
        [
            {"job": job, "repo_id": i, "holder": None, "expires_at": None, "cycle": None, "done_at": None}
            for i in ids
        ],
        keys=["job", "repo_id"],
        update=[],
    )


def _due(job: str, cycle_start: datetime, now: datetime) -> list[object]:
    return [
        Lease.job == job,
        or_(Lease.holder.is_(None), Lease.expires_at < now),
        or_(Lease.done_at.is_(None), Lease.done_at < cycle_start),
        Lease.repo_id.in_(select(RepoRow.id).where(RepoRow.tracked.is_(True), RepoRow.gone_reason.is_(None))),
    ]


def _holder_is_dead(stored: str, me: Holder) -> bool:
    """Whether the holder stored as `stored` was a process on this host that no longer runs."""
    holder = Holder.parse(stored)
    if holder is None or holder.host != me.host or holder == me:
        return False
    if holder.pid == me.pid:
        return True  # an earlier process with our pid (e.g. pid 1 in a restarted container)
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def reap_dead_holders(session: Session, job: str, me: Holder) -> int:
    """Release leases held by crashed processes on this host at once, instead of waiting for expiry."""
    now = utc_now()
    holders = session.scalars(
        select(Lease.holder)
        .where(Lease.job == job, Lease.holder.is_not(None), Lease.expires_at >= now)
        .distinct()
    ).all()
    dead = [h for h in holders if h and _holder_is_dead(h, me)]
    if dead:
        session.execute(
            update(Lease).where(Lease.job == job, Lease.holder.in_(dead)).values(holder=None, expires_at=None)
        )
    # A process killed outright (kill -9) also left its run marked running: close it as interrupted.
    workers = session.scalars(
        select(Run.worker).where(Run.job == job, Run.status == "running").distinct()
    ).all()
    for worker in workers:
        if worker and _holder_is_dead(worker, me):
            interrupt_open_runs(session, job, worker)
    return len(dead)


def claim(
    session: Session,
    job: str,
    holder: Holder,
    cycle_start: datetime,
    limit: int,
    ttl: timedelta = timedelta(minutes=10),
    exclude: Collection[int] = (),
) -> list[int]:
    """Claim up to `limit` due units of `job`, leaving out `exclude` (the units this pass already tried);
    returns their repository ids (commit right after)."""
    reap_dead_holders(session, job, holder)
    now = utc_now()
    expires = now + ttl
    conditions = _due(job, cycle_start, now)
    if exclude:
        conditions.append(Lease.repo_id.not_in(list(exclude)))
    if session.get_bind().dialect.name == "postgresql":
        picked = (
            select(Lease.repo_id)
            .where(and_(*conditions))  # type: ignore[arg-type]
            .order_by(Lease.repo_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = session.scalars(picked).all()
        if ids:
            session.execute(
                update(Lease)
                .where(Lease.job == job, Lease.repo_id.in_(ids))
                .values(holder=str(holder), expires_at=expires, cycle=cycle_start.isoformat())
            )
        return list(ids)
    claimed: list[int] = []
    candidates = session.scalars(
        select(Lease.repo_id).where(and_(*conditions)).order_by(Lease.repo_id).limit(limit)  # type: ignore[arg-type]
    ).all()
    for repo_id in candidates:
        result = session.execute(
            update(Lease)
            .where(Lease.repo_id == repo_id, *conditions)  # type: ignore[arg-type]
            .values(holder=str(holder), expires_at=expires, cycle=cycle_start.isoformat())
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(repo_id)
    return claimed


def complete(session: Session, job: str, holder: Holder, repo_ids: Sequence[int]) -> None:
    """Mark units done for this cycle and release them."""
    if repo_ids:
        session.execute(
            update(Lease)
            .where(Lease.job == job, Lease.repo_id.in_(repo_ids), Lease.holder == str(holder))
            .values(holder=None, expires_at=None, done_at=utc_now())
        )


def release(session: Session, job: str, holder: Holder, repo_ids: Sequence[int]) -> None:
    """Give units back undone (interrupted, or failed in a way worth retrying this cycle)."""
    if repo_ids:
        session.execute(
            update(Lease)
            .where(Lease.job == job, Lease.repo_id.in_(repo_ids), Lease.holder == str(holder))
            .values(holder=None, expires_at=None)
        )


def extend(session: Session, job: str, holder: Holder, repo_ids: Sequence[int], ttl: timedelta) -> None:
    """Push the expiry of held units further (long work such as a backfill)."""
    if repo_ids:
        session.execute(
            update(Lease)
            .where(Lease.job == job, Lease.repo_id.in_(repo_ids), Lease.holder == str(holder))
            .values(expires_at=utc_now() + ttl)
        )


def release_all(session: Session, job: str, holder: Holder) -> int:
    """Give back every unit of `job` that `holder` still holds (left over by a run that failed)."""
    result = session.execute(
        update(Lease)
        .where(Lease.job == job, Lease.holder == str(holder))
        .values(holder=None, expires_at=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
