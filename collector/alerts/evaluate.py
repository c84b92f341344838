"""Alerts after a collect: read each alert's values, save what fired (once), send what is undelivered.

Every firing is saved before anything is sent, so a restart never repeats one and a failed delivery is
tried again at the next evaluation. Events name the alert, never its webhook URL. The daemon calls
`run_alerts`, which logs any failure as an event and returns: alerts never fail or hold up a collect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from collector.alerts.messages import render_digest, render_payload
from collector.alerts.rules import WINDOW_DAYS, Firing, compute_firings, compute_repo_values
from collector.alerts.spec import AlertSpec
from collector.alerts.webhook import WebhookSender, missing_reason, webhook_url
from collector.domain import utc_now
from collector.logs import event, get_logger
from collector.store.alerts import (
    claim_undelivered,
    load_alert_series,
    release_claims,
    save_deliveries,
    save_firings,
)
from collector.store.engine import transaction
from collector.store.groups import load_current_member_names
from collector.store.repos import find_repo

DEADLINE_SECONDS = 120.0  # the most a daemon's collect waits for its alerts; the rest go next time


@dataclass
class AlertsOutcome:
    """What one evaluation did."""

    fired: int = 0
    delivered: int = 0
    undelivered: int = 0

    def fields(self) -> dict[str, int]:
        return {
            "alerts_fired": self.fired,
            "alerts_delivered": self.delivered,
            "alerts_undelivered": self.undelivered,
        }


def _alert_repos(session: Session, spec: AlertSpec) -> list[tuple[int, str]]:
    """(id, current name) of the alert's repositories the store knows (former names resolve), and the
    current members of its group when that is a rule group."""
    out: dict[int, str] = {}
    for name in spec.repos:
        row = find_repo(session, name)
        if row is not None:
            out.setdefault(row.id, row.full_name)
    if spec.group is not None:
        for repo_id, full_name in load_current_member_names(session, spec.group):
            out.setdefault(repo_id, full_name)
    return list(out.items())


def save_new_firings(sessions: sessionmaker[Session], spec: AlertSpec, now: datetime) -> list[Firing]:
    """Evaluate `spec`'s rules on the store's values now; save and return the firings that are new."""
    today = now.date()
    with transaction(sessions) as s:
        repos = _alert_repos(s, spec)
        first = today - timedelta(days=WINDOW_DAYS)
        series = load_alert_series(s, [r for r, _ in repos], spec.metric, first, today)
        values = [compute_repo_values(r, name, series.get(r, []), today) for r, name in repos]
        found = compute_firings(spec, [v for v in values if v is not None], now)
        return save_firings(s, found)


async def deliver_pending(
    sessions: sessionmaker[Session],
    alerts: Mapping[str, AlertSpec],
    sender: WebhookSender,
    now: datetime,
    log: logging.Logger,
) -> tuple[int, int]:
    """Send every undelivered firing of `alerts` nobody else is sending; (delivered, still undelivered)."""
    claimed = await asyncio.to_thread(_claim, sessions, list(alerts), now)
    delivered = undelivered = 0
    for name, spec in alerts.items():
        mine = [f for f in claimed if f.alert == name]
        if mine:
            sent = await _deliver(sessions, spec, mine, sender, log)
            delivered, undelivered = delivered + sent, undelivered + len(mine) - sent
    return delivered, undelivered


def _claim(sessions: sessionmaker[Session], alerts: list[str], now: datetime) -> list[Firing]:
    with transaction(sessions) as s:
        return claim_undelivered(s, alerts, now)


def _in_order(firings: Sequence[Firing]) -> list[Firing]:
    """What goes first when not all fit in `max_messages`: every other rule's firings (rarer, and each
    news), then rank changes from the top of the table down; the oldest first within each."""
    return sorted(firings, key=lambda f: (f.rule == "rank_change", f.value if f.rule == "rank_change" else 0))


def _batches(spec: AlertSpec, firings: Sequence[Firing]) -> list[list[Firing]]:
    """One message per firing up to `max_messages`, and one digest for the rest (never of a single one)."""
    ordered = _in_order(firings)
    if len(ordered) <= spec.max_messages + 1:
        return [[f] for f in ordered]
    return [[f] for f in ordered[: spec.max_messages]] + [ordered[spec.max_messages :]]


async def _deliver(
    sessions: sessionmaker[Session],
    spec: AlertSpec,
    firings: Sequence[Firing],
    sender: WebhookSender,
    log: logging.Logger,
) -> int:
    """Send one alert's firings (at most max_messages + 1 messages); after a failure the webhook is taken
    to be down and the rest wait for the next evaluation. Returns how many firings were delivered."""
    url = webhook_url(spec)
    if url is None:
        reason = missing_reason(spec)
        event(
            log, "alert_undeliverable", logging.WARNING, alert=spec.name, pending=len(firings), reason=reason
        )
        await asyncio.to_thread(_release, sessions, firings)
        return 0
    batches = await asyncio.to_thread(_batches, spec, firings)  # sorting thousands: off the loop too
    done = 0
    for i, batch in enumerate(batches):
        digest = len(batch) > 1
        first = batch[0]
        fmt = spec.format
        payload = render_digest(spec.name, batch, fmt) if digest else render_payload(first, fmt)
        result = await sender.send(url, payload, fmt)
        when = utc_now() if result.delivered else None
        await asyncio.to_thread(_save, sessions, batch, when, result.tries, result.reason)
        fields: dict[str, Any] = {"alert": spec.name, "tries": result.tries}
        if digest:
            fields["digest"] = len(batch)
        else:
            fields.update(rule=first.rule, repo=first.repo)
        if result.delivered:
            done += len(batch)
            if not digest:
                fields["occurrence"] = first.occurrence
            event(log, "alert_delivered", **fields)
            continue
        event(log, "alert_delivery_failed", logging.WARNING, reason=result.reason, **fields)
        await asyncio.to_thread(_release, sessions, [f for rest in batches[i + 1 :] for f in rest])
        break
    return done


def _save(
    sessions: sessionmaker[Session],
    firings: Sequence[Firing],
    when: datetime | None,
    tries: int,
    reason: str | None,
) -> None:
    with transaction(sessions) as s:
        save_deliveries(s, firings, when, tries, reason)


def _release(sessions: sessionmaker[Session], firings: Sequence[Firing]) -> None:
    with transaction(sessions) as s:
        release_claims(s, firings)


async def evaluate_alerts(
    sessions: sessionmaker[Session],
    alerts: Mapping[str, AlertSpec],
    *,
    now: datetime | None = None,
    sender: WebhookSender | None = None,
    log: logging.Logger | None = None,
) -> AlertsOutcome:
    """Fire what the rules say (once each) and deliver everything undelivered. The store and the rules
    run in a worker thread, so the event loop (the daemon's other jobs) goes on meanwhile."""
    now = now or utc_now()
    log = log or get_logger("alerts")
    outcome = AlertsOutcome()
    for spec in alerts.values():
        fired = await asyncio.to_thread(save_new_firings, sessions, spec, now)
        outcome.fired += len(fired)
        for f in fired[: spec.max_messages]:
            fields: dict[str, Any] = {
                "rule": f.rule,
                "repo": f.repo,
                "occurrence": f.occurrence,
                "value": f.value,
            }
            event(log, "alert_fired", alert=f.alert, previous=f.previous, **fields)
        if len(fired) > spec.max_messages:  # one line for the rest, as their messages are one digest
            event(log, "alert_fired_more", alert=spec.name, more=len(fired) - spec.max_messages)
    outcome.delivered, outcome.undelivered = await deliver_pending(
        sessions, alerts, sender or WebhookSender(), now, log
    )
    return outcome


async def run_alerts(
    sessions: sessionmaker[Session],
    alerts: Mapping[str, AlertSpec],
    log: logging.Logger,
    deadline: float = DEADLINE_SECONDS,
) -> dict[str, int]:
    """The daemon's step after each collect: `evaluate_alerts` within `deadline`; any failure is logged as
    an event (naming no URL), never raised. Returns the counts for the job's log line."""
    if not alerts:
        return {}
    try:
        outcome = await asyncio.wait_for(evaluate_alerts(sessions, alerts, log=log), deadline)
    except TimeoutError:
        event(log, "alerts_timed_out", logging.WARNING, seconds=deadline)
        return {}
    except Exception as exc:  # alerts must never fail the collect job
        event(log, "alerts_failed", logging.ERROR, error=_describe(exc, alerts))
        return {}
    return outcome.fields()


def _describe(exc: Exception, alerts: Mapping[str, AlertSpec]) -> str:
    """The error's type and first line, with any webhook URL cut out."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    for spec in alerts.values():
        url = webhook_url(spec)
        if url:
            text = text.replace(url, "***")
    return text
