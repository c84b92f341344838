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

from sqlalchemy import Date, Integer, column, or_, select, table, update
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


def save_firing(session: Session, firing: Firing) -> bool:
    """Record `firing` unless it fired already; whether it is new."""
    row = {
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
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - the two backends we support
        raise NotImplementedError(f"alerts are not implemented for {dialect}")
    table: Any = AlertFiring.__table__
    stmt: Any = (postgresql if dialect == "postgresql" else sqlite).insert(table).values(**row)
    stmt = stmt.on_conflict_do_nothing(index_elements=["alert", "metric", "rule", "repo_id", "occurrence"])
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT here. No row back: it fired already.
    return session.execute(stmt.returning(table.c.alert)).first() is not None


def _is(firing: Firing) -> Any:
    return (
        (AlertFiring.alert == firing.alert)
        & (AlertFiring.metric == firing.metric)
        & (AlertFiring.rule == firing.rule)
        & (AlertFiring.repo_id == firing.repo_id)
        & (AlertFiring.occurrence == firing.occurrence)
    )


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
    free = or_(AlertFiring.claimed_until.is_(None), AlertFiring.claimed_until < now)
    rows = session.execute(
        select(AlertFiring, RepoRow.full_name)
        .join(RepoRow, RepoRow.id == AlertFiring.repo_id)
        .where(AlertFiring.alert.in_(list(alerts)), AlertFiring.delivered_at.is_(None), free)
        .order_by(AlertFiring.fired_at, AlertFiring.repo_id)
    ).all()
    claimed = []
    for row, repo in rows:
        firing = _firing(row, repo)
        result: Any = session.execute(
            update(AlertFiring)
            .where(_is(firing), AlertFiring.delivered_at.is_(None), free)
            .values(claimed_until=now + timedelta(seconds=seconds))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(firing)
    return claimed


def save_delivery(
    session: Session, firing: Firing, when: datetime | None, tries: int, error: str | None
) -> None:
    """Record a delivery (`when` it was taken) or a failed one (`when` None, and why), and drop the claim."""
    session.execute(
        update(AlertFiring)
        .where(_is(firing))
        .values(
            delivered_at=when,
            claimed_until=None,
            attempts=AlertFiring.attempts + tries,
            last_error=None if when else error,
        )
        .execution_options(synchronize_session=False)
    )


def release_claims(session: Session, firings: Sequence[Firing]) -> None:
    """Give back claims on firings that were not tried (the next evaluation sends them)."""
    for firing in firings:
        session.execute(
            update(AlertFiring)
            .where(_is(firing), AlertFiring.delivered_at.is_(None))
            .values(claimed_until=None)
            .execution_options(synchronize_session=False)
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
