"""Work leases: several daemons share one PostgreSQL and split the repositories between them.

A unit of work is (job, repository). A daemon claims a few due units at a time: a unit is due when
nobody holds a live lease on it and it was not done since the current cycle began. On PostgreSQL the
claim is `SELECT ... FOR UPDATE SKIP LOCKED`, so two daemons never wait on or take the same rows; on
SQLite (one writer at a time anyway) a conditional UPDATE per row does the same. A crashed daemon's
lease simply expires.

Every lease time is the database's clock (`now()` on PostgreSQL, SQLite's own clock), never a host's:
a host whose clock runs ahead cannot take a live lease for an expired one. Each claim increments the
lease's generation (a fencing token): a holder's writes check, in their own transaction, that it still
holds that generation (`fence`), so a worker whose lease was lost cannot write any more.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from collector.domain import Holder, process_start
from collector.store.models import JobLock, Lease, RepoRow, Run
from collector.store.runs import interrupt_open_runs
from collector.store.upsert import upsert


class LeaseLost(Exception):
    """The holder no longer holds the lease (it expired and was claimed again, or was released)."""


@dataclass(frozen=True)
class LeaseToken:
    """A claimed unit and the generation it was claimed with: what a holder's writes are fenced by."""

    job: str
    repo_id: int
    holder: Holder
    generation: int


def db_now(session: Session, ahead: timedelta = timedelta(0)) -> ColumnElement[datetime]:
    """The database's clock (plus `ahead`) as an SQL expression, comparable with stored timestamps."""
    if session.get_bind().dialect.name == "postgresql":
        return func.now() + ahead if ahead else func.now()
    # SQLite: the format the store's timestamps are written in ('YYYY-MM-DD HH:MM:SS.ffffff', UTC).
    return func.strftime("%Y-%m-%d %H:%M:%f000", "now", f"{ahead.total_seconds():+.3f} seconds")


def database_now(session: Session) -> datetime:
    """The database's clock now, as an aware UTC datetime."""
    value = session.scalar(select(db_now(session)))
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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


def _due(session: Session, job: str, cycle_start: datetime) -> list[ColumnElement[bool]]:
    return [
        Lease.job == job,
        or_(Lease.holder.is_(None), Lease.expires_at < db_now(session)),
        or_(Lease.done_at.is_(None), Lease.done_at < cycle_start),
        Lease.repo_id.in_(select(RepoRow.id).where(RepoRow.tracked.is_(True), RepoRow.gone_reason.is_(None))),
    ]


def holder_is_dead(stored: str, me: Holder) -> bool:
    """Whether the holder stored as `stored` was a process on this host that provably no longer runs.

    Only a process in our own pid namespace on the same boot of the same host can be checked: its pid
    runs no process any more, or runs one that started at another time. Two containers' pid 1 (each in
    its own namespace, with the host's network and name) are never taken for one another.
    """
    holder = Holder.parse(stored)
    if holder is None or holder.host != me.host or holder == me:
        return False
    if not (holder.identified and me.identified):
        return False  # an older version's holder, or no /proc: wait for its lease to expire
    if (holder.boot, holder.pidns) != (me.boot, me.pidns):
        return False  # another container, or another machine with our host name
    return process_start(holder.pid) != holder.started


def reap_dead_holders(session: Session, job: str, me: Holder) -> int:
    """Release leases held by crashed processes on this host at once, instead of waiting for expiry."""
    holders = session.scalars(
        select(Lease.holder)
        .where(Lease.job == job, Lease.holder.is_not(None), Lease.expires_at >= db_now(session))
        .distinct()
    ).all()
    dead = [h for h in holders if h and holder_is_dead(h, me)]
    if dead:
        session.execute(
            update(Lease).where(Lease.job == job, Lease.holder.in_(dead)).values(holder=None, expires_at=None)
        )
    # A process killed outright (kill -9) also left its run marked running: close it as interrupted.
    workers = session.scalars(
        select(Run.worker).where(Run.job == job, Run.status == "running").distinct()
    ).all()
    for worker in workers:
        if worker and holder_is_dead(worker, me):
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
    return [t.repo_id for t in claim_tokens(session, job, holder, cycle_start, limit, ttl, exclude)]


def claim_tokens(
    session: Session,
    job: str,
    holder: Holder,
    cycle_start: datetime,
    limit: int,
    ttl: timedelta = timedelta(minutes=10),
    exclude: Collection[int] = (),
) -> list[LeaseToken]:
    """Like `claim`, with each unit's new generation, for work that fences its writes."""
    reap_dead_holders(session, job, holder)
    conditions = _due(session, job, cycle_start)
    if exclude:
        conditions.append(Lease.repo_id.not_in(list(exclude)))
    taken = {
        "holder": str(holder),
        "expires_at": db_now(session, ttl),
        "cycle": cycle_start.isoformat(),
        "generation": Lease.generation + 1,
    }
    picked = select(Lease.repo_id).where(and_(*conditions)).order_by(Lease.repo_id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    claimed: list[LeaseToken] = []
    for repo_id in session.scalars(picked).all():
        # The conditions again: on SQLite another process may have taken the row since the select.
        row = session.execute(
            update(Lease)
            .where(Lease.repo_id == repo_id, *conditions)
            .values(taken)
            .returning(Lease.generation)
        ).first()
        if row is not None:
            claimed.append(LeaseToken(job, repo_id, holder, row.generation))
    return claimed


def fence(session: Session, token: LeaseToken) -> None:
    """Raise LeaseLost unless `token` still holds its lease; until the transaction ends, nobody can claim
    it (call first in each transaction of the holder's writes, so a lost lease rolls them back)."""
    held = [
        Lease.job == token.job,
        Lease.repo_id == token.repo_id,
        Lease.holder == str(token.holder),
        Lease.generation == token.generation,
        Lease.expires_at > db_now(session),
    ]
    if session.get_bind().dialect.name == "postgresql":
        found = session.scalar(select(Lease.generation).where(*held).with_for_update(read=True))
    else:  # a write takes SQLite's one write lock at once: no claim can slip in before the commit
        found = session.scalar(
            update(Lease).where(*held).values(generation=Lease.generation).returning(Lease.generation)
        )
    if found is None:
        raise LeaseLost(f"the {token.job} lease on repository {token.repo_id} was lost (expired or taken)")


def complete(session: Session, job: str, holder: Holder, repo_ids: Sequence[int]) -> None:
    """Mark units done for this cycle and release them."""
    if repo_ids:
        session.execute(
            update(Lease)
            .where(Lease.job == job, Lease.repo_id.in_(repo_ids), Lease.holder == str(holder))
            .values(holder=None, expires_at=None, done_at=db_now(session))
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
    """Push the expiry of held units further (long work such as a backfill); raise LeaseLost when one of
    them was not held any more (it expired, and may have been claimed by another)."""
    if not repo_ids:
        return
    result = session.execute(
        update(Lease)
        .where(
            Lease.job == job,
            Lease.repo_id.in_(repo_ids),
            Lease.holder == str(holder),
            Lease.expires_at > db_now(session),
        )
        .values(expires_at=db_now(session, ttl))
    )
    if result.rowcount != len(set(repo_ids)):  # type: ignore[attr-defined]
        raise LeaseLost(f"the {job} lease on repositories {sorted(set(repo_ids))} was lost before renewal")


def release_all(session: Session, job: str, holder: Holder) -> int:
    """Give back every unit of `job` that `holder` still holds (left over by a run that failed)."""
    result = session.execute(
        update(Lease)
        .where(Lease.job == job, Lease.holder == str(holder))
        .values(holder=None, expires_at=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def try_singleton(session: Session, name: str, holder: Holder, ttl: timedelta) -> bool:
    """Take (or renew) the cluster-wide lock `name` for `ttl` by the database's clock; False while another
    live holder has it. For jobs that one daemon of the cluster runs (discovery, report jobs): commit
    right after, and call again before each run."""
    upsert(
        session,
        JobLock.__table__,  # type: ignore[arg-type]
        [{"name": name, "holder": None, "expires_at": None}],
        keys=["name"],
        update=[],
    )
    free = or_(JobLock.holder.is_(None), JobLock.holder == str(holder), JobLock.expires_at <= db_now(session))
    dead = session.scalar(select(JobLock.holder).where(JobLock.name == name))
    if dead and holder_is_dead(dead, holder):
        free = or_(free, JobLock.holder == dead)
    result = session.execute(
        update(JobLock)
        .where(JobLock.name == name, free)
        .values(holder=str(holder), expires_at=db_now(session, ttl))
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release_singleton(session: Session, name: str, holder: Holder) -> None:
    """Give the lock `name` back, if `holder` has it (at shutdown)."""
    session.execute(
        update(JobLock).where(JobLock.name == name, JobLock.holder == str(holder)).values(holder=None)
    )
