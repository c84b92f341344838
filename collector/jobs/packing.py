"""After a job writes: pack the monthly report values its writes made stale (month_values), so that monthly
trends read one row per repository. Off the event loop (the daemon serves pages from it meanwhile). A failure
costs the reports time, never values: they compute what is not packed, and the next job packs it again."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session, sessionmaker

from collector.domain import utc_now
from collector.jobs.outages import describe_failure
from collector.logs import event
from collector.store.reports import refresh_month_values


async def pack_month_values(sessions: sessionmaker[Session], log: logging.Logger) -> None:
    """Pack what is missing or stale; log how many, or why not."""
    try:
        stored = await asyncio.to_thread(refresh_month_values, sessions, utc_now().date())
    except Exception as exc:  # an optimisation failed: the job's own outcome stands
        event(log, "month_values_not_packed", logging.WARNING, reason=describe_failure(exc))
        return
    if stored:
        event(log, "month_values_packed", repositories=stored)
