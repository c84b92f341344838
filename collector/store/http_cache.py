"""The client's conditional-request cache and token budgets, kept in the store so they survive restarts.

Rows are keyed by a one-way token key (see collector.github.tokens.token_key), never the token.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from collector.domain import BudgetRecord, CachedResponse, utc_now
from collector.store.engine import transaction
from collector.store.models import HttpCache, TokenBudget
from collector.store.upsert import upsert

MAX_URL_LENGTH = 2000  # longer URLs are not cached: a PostgreSQL index entry holds about 2,700 bytes


class StoreCache:
    """A ConditionalCache on the `http_cache` and `token_budgets` tables."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def get(self, token_key: str, url: str) -> CachedResponse | None:
        """The stored response for this token and URL, if any."""
        with self.sessions() as session:
            return load_cached_response(session, token_key, url)

    def put(self, token_key: str, url: str, response: CachedResponse) -> None:
        """Store (or replace) the response for this token and URL."""
        with transaction(self.sessions) as session:
            save_cached_response(session, token_key, url, response)

    def save_budgets(self, budgets: Sequence[BudgetRecord]) -> None:
        """Keep the latest budget per token and resource."""
        with transaction(self.sessions) as session:
            save_token_budgets(session, budgets)


def load_cached_response(session: Session, token_key: str, url: str) -> CachedResponse | None:
    """The `http_cache` row for (token key, URL) as a CachedResponse."""
    if len(url) > MAX_URL_LENGTH:
        return None
    row = session.get(HttpCache, (token_key, url))
    if row is None:
        return None
    headers = json.loads(row.headers) if row.headers else {}
    return CachedResponse(row.status, row.etag, row.last_modified, headers, row.body)


def save_cached_response(session: Session, token_key: str, url: str, response: CachedResponse) -> None:
    """Upsert the `http_cache` row for (token key, URL)."""
    if len(url) > MAX_URL_LENGTH:
        return
    row = {
        "token_key": token_key,
        "url": url,
        "etag": response.etag,
        "last_modified": response.last_modified,
        "status": response.status,
        "headers": json.dumps(response.headers, sort_keys=True),
        "body": response.body,
        "stored_at": utc_now(),
    }
    upsert(session, HttpCache.__table__, [row], keys=["token_key", "url"])  # type: ignore[arg-type]


def save_token_budgets(session: Session, budgets: Sequence[BudgetRecord]) -> None:
    """Upsert the last budget seen per (token key, resource)."""
    now = utc_now()
    rows = [
        {
            "token_key": b.token_key,
            "resource": b.resource,
            "position": b.position,
            "limit": b.limit,
            "remaining": b.remaining,
            "reset_at": b.reset_at,
            "updated_at": now,
        }
        for b in budgets
    ]
    upsert(session, TokenBudget.__table__, rows, keys=["token_key", "resource"])  # type: ignore[arg-type]


def load_budget_records(session: Session) -> list[BudgetRecord]:
    """Every stored budget, by token position then resource (for `collector status`)."""
    rows = session.scalars(select(TokenBudget).order_by(TokenBudget.position, TokenBudget.resource))
    return [BudgetRecord(r.token_key, r.position, r.resource, r.limit, r.remaining, r.reset_at) for r in rows]
