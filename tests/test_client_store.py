"""Validators and budgets kept in the store survive a restart, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from collector.store.http_cache import StoreCache, load_budget_records
from tests.conftest import Store
from tests.test_client import NAME, START, limits, repo_body, run

TOKEN = "ghp_store_test_value"


def test_conditional_cache_and_budgets_survive_a_restart(store: Store) -> None:
    cache = StoreCache(store.sessions)
    validators: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        validators.append(request.headers.get("if-none-match"))
        headers = {
            "etag": 'W/"abc"',
            "link": '<https://x.test/next>; rel="next"',
            **limits(4321, reset=START + 60),
        }
        if request.headers.get("if-none-match") == 'W/"abc"':
            return httpx.Response(304, headers=limits(4321, reset=START + 60))
        return httpx.Response(200, json=repo_body(), headers=headers)

    first, _ = run(handler, lambda gh: gh.fetch_repository(NAME), TOKEN, cache=cache)
    # A new client (a new process, as far as the store can tell) revalidates instead of refetching.
    second, gh = run(handler, lambda gh: gh.fetch_repository(NAME), TOKEN, cache=StoreCache(store.sessions))
    assert first == second
    assert validators == [None, 'W/"abc"']
    assert gh.stats.not_modified == 1 and gh.stats.rest_charged == 0

    entry = cache.get(gh.client.pool.states[0].key, "https://api.example.test/repos/octo/hello")
    assert entry is not None and entry.headers["link"] == '<https://x.test/next>; rel="next"'

    with store.sessions() as session:
        (budget,) = load_budget_records(session)
        assert (budget.position, budget.resource, budget.remaining, budget.limit) == (1, "core", 4321, 5000)
        assert budget.reset_at.timestamp() == START + 60
        # The token itself is nowhere in the store.
        for table in ("http_cache", "token_budgets"):
            for row in session.execute(text(f"SELECT * FROM {table}")):  # noqa: S608 - fixed table names
                assert all(TOKEN not in str(value) for value in row)
