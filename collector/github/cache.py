"""Where the client keeps conditional-request validators and token budgets between runs.

`collector.store.http_cache.StoreCache` keeps them in the store; `MemoryCache` is for tests and one-off
commands. Keys are (token key, URL): the token key is a one-way hash, never the token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from collector.domain import BudgetRecord, CachedResponse


class ConditionalCache(Protocol):
    """Validators and bodies per (token key, URL), plus the last budgets seen per token."""

    def get(self, token_key: str, url: str) -> CachedResponse | None:
        """The stored response for this token and URL, if any."""
        ...

    def put(self, token_key: str, url: str, response: CachedResponse) -> None:
        """Store (or replace) the response for this token and URL."""
        ...

    def save_budgets(self, budgets: Sequence[BudgetRecord]) -> None:
        """Persist the budgets seen, so `collector status` can show them."""
        ...


class MemoryCache:
    """A ConditionalCache in a dict: for tests and commands that need no persistence."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], CachedResponse] = {}
        self.budgets: dict[tuple[str, str], BudgetRecord] = {}

    def get(self, token_key: str, url: str) -> CachedResponse | None:
        """The stored response for this token and URL, if any."""
        return self.entries.get((token_key, url))

    def put(self, token_key: str, url: str, response: CachedResponse) -> None:
        """Store (or replace) the response for this token and URL."""
        self.entries[(token_key, url)] = response

    def save_budgets(self, budgets: Sequence[BudgetRecord]) -> None:
        """Keep the latest budget per token and resource."""
        for record in budgets:
            self.budgets[(record.token_key, record.resource)] = record
