"""Search results with equal sort keys, over the simulator's loopback HTTP server.

GitHub orders by the sort key and promises nothing among ties: the same search asked twice can order
them differently, so following the pages of one search can show a repository twice and another never
(PyGithub issues 1748 and 2812). The simulator does that by default, reproducibly for a given seed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import httpx

from collector.testing.catalog_repos import CATALOG_TOPIC
from collector.testing.scenarios import catalog_scenario
from collector.testing.simulator import SimulatorApp, running_simulator

TODAY = date(2024, 6, 1)
AUTH = {"Authorization": "Bearer t-ties"}
QUERY = {
    "q": f"topic:{CATALOG_TOPIC} stars:<=300",  # more than 1,000, many sharing a count
    "sort": "stars",
    "order": "desc",
    "per_page": 100,
}


@contextmanager
def searching(seed: int = 0, stable: bool = False) -> Iterator[httpx.Client]:
    scenario = catalog_scenario(10_000, TODAY)
    app = SimulatorApp(scenario, search_limit=100_000, seed=seed, search_stable_order=stable)
    with running_simulator(app) as base_url, httpx.Client(base_url=base_url, headers=AUTH) as gh:
        yield gh


def page(gh: httpx.Client, number: int) -> list[tuple[int, int]]:
    """(stars, id) of each item on one page of the topic, most stars first."""
    resp = gh.get("/search/repositories", params={**QUERY, "page": number})
    assert resp.status_code == 200, resp.text
    return [(item["stargazers_count"], item["id"]) for item in resp.json()["items"]]


def all_pages(gh: httpx.Client) -> list[tuple[int, int]]:
    return [item for number in range(1, 11) for item in page(gh, number)]


def test_the_same_page_asked_twice_orders_ties_afresh_but_keeps_the_star_order() -> None:
    with searching() as gh:
        first, again = page(gh, 8), page(gh, 8)
    assert [s for s, _ in first] == [s for s, _ in again]  # the sort key's order is promised
    assert [s for s, _ in first] == sorted((s for s, _ in first), reverse=True)
    assert [i for _, i in first] != [i for _, i in again]  # the order among equal counts is not
    assert len(set(first)) == len(first)  # one page never shows a repository twice


def test_following_the_pages_can_show_a_repository_twice_and_another_never() -> None:
    with searching() as gh:
        shown = all_pages(gh)
    assert len(shown) == 1000
    twice = [i for i, n in Counter(i for _, i in shown).items() if n > 1]
    assert twice, "ties cut by page boundaries come in a new order on each page"
    assert len({i for _, i in shown}) < 1000  # so as many of the top 1,000 were never shown


def test_the_tie_order_is_reproducible_for_a_seed_and_stable_order_turns_it_off() -> None:
    with searching(seed=7) as gh:
        one = all_pages(gh)
    with searching(seed=7) as gh:
        two = all_pages(gh)
    assert one == two
    with searching(stable=True) as gh:
        stable = all_pages(gh)
    assert len({i for _, i in stable}) == 1000
    ties = [(-s, -i) for s, i in stable]
    assert ties == sorted(ties)  # ties by id, highest first, as before
