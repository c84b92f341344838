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

from collector.alerts.messages import render_payload
from collector.alerts.rules import WINDOW_DAYS, Firing, compute_firings, compute_repo_values
from collector.alerts.spec import AlertSpec
from collector.alerts.webhook import WebhookSender, missing_reason, webhook_url
from collector.domain import utc_now
from collector.logs import event, get_logger
from collector.store.alerts import (
    claim_undelivered,
    load_alert_series,
    release_claims,
    save_delivery,
    save_firing,
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
        return [f for f in found if save_firing(s, f)]


async def deliver_pending(
    sessions: sessionmaker[Session],
    alerts: Mapping[str, AlertSpec],
    sender: WebhookSender,
    now: datetime,
    log: logging.Logger,
) -> tuple[int, int]:
    """Send every undelivered firing of `alerts` nobody else is sending; (delivered, still undelivered)."""
    with transaction(sessions) as s:
        claimed = claim_undelivered(s, list(alerts), now)
    delivered = undelivered = 0
    for name, spec in alerts.items():
        mine = [f for f in claimed if f.alert == name]
        if mine:
            sent = await _deliver(sessions, spec, mine, sender, log)
            delivered, undelivered = delivered + sent, undelivered + len(mine) - sent
    return delivered, undelivered


async def _deliver(
    sessions: sessionmaker[Session],
    spec: AlertSpec,
    firings: Sequence[Firing],
    sender: WebhookSender,
    log: logging.Logger,
) -> int:
    """Send one alert's firings in order; after a failure the webhook is taken to be down and the rest
    wait for the next evaluation. Returns how many were delivered."""
    url = webhook_url(spec)
    if url is None:
        reason = missing_reason(spec)
        event(
            log, "alert_undeliverable", logging.WARNING, alert=spec.name, pending=len(firings), reason=reason
        )
        with transaction(sessions) as s:
            release_claims(s, firings)
        return 0
    for done, firing in enumerate(firings):
        result = await sender.send(url, render_payload(firing, spec.format))
        with transaction(sessions) as s:
            save_delivery(s, firing, utc_now() if result.delivered else None, result.tries, result.reason)
        fields: dict[str, Any] = {
            "alert": spec.name,
            "rule": firing.rule,
            "repo": firing.repo,
            "tries": result.tries,
        }
        if result.delivered:
            event(log, "alert_delivered", occurrence=firing.occurrence, **fields)
            continue
        event(log, "alert_delivery_failed", logging.WARNING, reason=result.reason, **fields)
        with transaction(sessions) as s:
            release_claims(s, firings[done + 1 :])
        return done
    return len(firings)


async def evaluate_alerts(
    sessions: sessionmaker[Session],
    alerts: Mapping[str, AlertSpec],
    *,
    now: datetime | None = None,
    sender: WebhookSender | None = None,
    log: logging.Logger | None = None,
) -> AlertsOutcome:
    """Fire what the rules say (once each) and deliver everything undelivered."""
    now = now or utc_now()
    log = log or get_logger("alerts")
    outcome = AlertsOutcome()
    for spec in alerts.values():
        for f in save_new_firings(sessions, spec, now):
            outcome.fired += 1
            fields: dict[str, Any] = {
                "rule": f.rule,
                "repo": f.repo,
                "occurrence": f.occurrence,
                "value": f.value,
            }
            event(log, "alert_fired", alert=f.alert, previous=f.previous, **fields)
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
