"""Alerts in the store: the values rules read, and `alert_firings` (saved once, claimed, delivered).

A firing is saved before it is sent. Delivery claims it for CLAIM_SECONDS first (an UPDATE that only one
daemon of several can win), so two daemons sharing a store do not both send it, and a daemon that died
mid-delivery only delays it. The webhook URL never reaches this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer, bindparam, column, or_, select, table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from collector.alerts.rules import Firing
from collector.store.models import AlertFiring, RepoRow, RepoSnapshot

CLAIM_SECONDS = 120  # longer than a delivery's tries and waits take
DAILY_METRICS = ("stars", "forks", "contributors")  # in repo_daily; watchers only in snapshots
_REPO_DAILY = table(
    "repo_daily",
    column("repo_id", Integer),
    column("day", Date),
    *(column(m, Integer) for m in DAILY_METRICS),
)


@dataclass(frozen=True)
class FiringRecord:
    """A saved firing and how its delivery went."""

    firing: Firing
    delivered_at: datetime | None
    attempts: int
    last_error: str | None


def load_alert_series(
    session: Session, repo_ids: Sequence[int], metric: str, first: date, last: date
) -> dict[int, list[tuple[date, int]]]:
    """(day, value) of `metric` per repository from `first` to `last`: `repo_daily` (values at the end of
    each day, as reports show them) for stars, forks and contributors; the snapshots for watchers."""
    if metric in DAILY_METRICS:
        src: Any = _REPO_DAILY
        key, day, value = src.c.repo_id, src.c.day, src.c[metric]
    else:
        key, day, value = RepoSnapshot.repo_id, RepoSnapshot.observed_day, getattr(RepoSnapshot, metric)
    rows = session.execute(
        select(key, day, value).where(key.in_(list(repo_ids)), day >= first, day <= last, value.is_not(None))
    )
    out: dict[int, list[tuple[date, int]]] = {}
    for repo_id, when, number in rows:
        out.setdefault(int(repo_id), []).append((when, int(number)))
    return out


_TABLE: Any = AlertFiring.__table__
_KEYS = ("alert", "metric", "rule", "repo_id", "occurrence")
_FIELDS = (*_KEYS, "value", "previous", "detail", "fired_at")  # a Firing's, but for its repo's name
# One statement run for many firings (executemany): the key columns matched to `k_*` parameters.
_BY_KEY = [_TABLE.c[k] == bindparam(f"k_{k}") for k in _KEYS]


def save_firing(session: Session, firing: Firing) -> bool:
    """Record `firing` unless it fired already; whether it is new."""
    return bool(save_firings(session, [firing]))


def save_firings(session: Session, firings: Sequence[Firing]) -> list[Firing]:
    """Record each of `firings` that did not fire already; the new ones, in order."""
    if not firings:
        return []
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - the two backends we support
        raise NotImplementedError(f"alerts are not implemented for {dialect}")
    # Which fired already: one SELECT. Then one executemany INSERT (psycopg pipelines it; an INSERT ...
    # RETURNING of thousands of rows is several times slower). ON CONFLICT keeps a firing that another
    # daemon saved in between to one row: both may count it as new, but only one claim sends it.
    known = {
        tuple(row)
        for row in session.execute(
            select(*(_TABLE.c[k] for k in _KEYS)).where(
                _TABLE.c.alert.in_({f.alert for f in firings}),
                _TABLE.c.occurrence.in_({f.occurrence for f in firings}),
            )
        )
    }
    new = [f for f in firings if tuple(getattr(f, k) for k in _KEYS) not in known]
    if new:
        stmt: Any = (postgresql if dialect == "postgresql" else sqlite).insert(_TABLE)
        session.execute(stmt.on_conflict_do_nothing(index_elements=list(_KEYS)), [_row(f) for f in new])
    return new


def _row(firing: Firing) -> dict[str, Any]:
    return {
        "alert": firing.alert,
        "metric": firing.metric,
        "rule": firing.rule,
        "repo_id": firing.repo_id,
        "occurrence": firing.occurrence,
        "value": firing.value,
        "previous": firing.previous,
        "detail": firing.detail,
        "fired_at": firing.fired_at,
        "attempts": 0,
    }


def _key_params(firings: Sequence[Firing]) -> list[dict[str, Any]]:
    return [{f"k_{k}": getattr(f, k) for k in _KEYS} for f in firings]


def _firing(row: AlertFiring, repo: str) -> Firing:
    return Firing(
        row.alert,
        row.metric,
        row.rule,
        row.repo_id,
        repo,
        row.occurrence,
        row.value,
        row.previous,
        row.detail,
        row.fired_at,
    )


def claim_undelivered(
    session: Session, alerts: Sequence[str], now: datetime, seconds: int = CLAIM_SECONDS
) -> list[Firing]:
    """The undelivered firings of `alerts` nobody is sending, oldest first, now claimed by the caller."""
    # One UPDATE claims them all: of two daemons, the second waits for the first's row locks and then
    # finds those rows claimed (PostgreSQL re-checks the WHERE); RETURNING says which are ours.
    until = now + timedelta(seconds=seconds)
    free = or_(AlertFiring.claimed_until.is_(None), AlertFiring.claimed_until < now)
    mine = AlertFiring.alert.in_(list(alerts)) & AlertFiring.delivered_at.is_(None)
    won = session.execute(
        update(_TABLE).where(mine, free).values(claimed_until=until).returning(*(_TABLE.c[k] for k in _KEYS))
    ).all()
    keys = {tuple(row) for row in won}
    rows = session.execute(
        select(*(_TABLE.c[k] for k in _FIELDS), RepoRow.full_name)
        .join(RepoRow, RepoRow.id == _TABLE.c.repo_id)
        .where(mine, AlertFiring.claimed_until == until)
        .order_by(_TABLE.c.fired_at, _TABLE.c.repo_id)
    )
    claimed = []
    for row in rows:
        f = dict(zip(_FIELDS, row, strict=False))
        if tuple(f[k] for k in _KEYS) in keys:
            claimed.append(Firing(**f, repo=row.full_name))
    return claimed


def save_deliveries(
    session: Session, firings: Sequence[Firing], when: datetime | None, tries: int, error: str | None
) -> None:
    """Record the delivery of `firings` (one message, or one digest): `when` it was taken, or `when` None
    and why not; their claims are dropped. One statement for all of them."""
    if not firings:
        return
    session.execute(
        update(_TABLE)
        .where(*_BY_KEY)
        .values(
            delivered_at=when,
            claimed_until=None,
            attempts=_TABLE.c.attempts + tries,
            last_error=None if when else error,
        ),
        _key_params(firings),
    )


def release_claims(session: Session, firings: Sequence[Firing]) -> None:
    """Give back claims on firings that were not tried (the next evaluation sends them)."""
    if not firings:
        return
    session.execute(
        update(_TABLE).where(*_BY_KEY, _TABLE.c.delivered_at.is_(None)).values(claimed_until=None),
        _key_params(firings),
    )


def load_firings(session: Session, alert: str | None = None, limit: int = 50) -> list[FiringRecord]:
    """The latest firings (of one alert, or all), newest first."""
    query = select(AlertFiring, RepoRow.full_name).join(RepoRow, RepoRow.id == AlertFiring.repo_id)
    if alert is not None:
        query = query.where(AlertFiring.alert == alert)
    query = query.order_by(AlertFiring.fired_at.desc(), AlertFiring.alert, AlertFiring.repo_id).limit(limit)
    return [
        FiringRecord(_firing(row, repo), row.delivered_at, row.attempts, row.last_error)
        for row, repo in session.execute(query)
    ]
