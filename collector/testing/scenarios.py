"""The simulator's built-in worlds: the 2017 article's frameworks, N synthetic repositories, edge cases,
and N light repositories with users, organizations, topics and forks for search (catalog-N).

Each family builds its repositories in its own module (framework_repos, synthetic_repos, edge_repos,
catalog_repos); this module names the worlds, caches the slow ones and looks them up by name.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime

from collector.testing.catalog_repos import build_catalog
from collector.testing.edge_repos import build_edge
from collector.testing.framework_repos import build_frameworks
from collector.testing.model import Scenario, SimAccount
from collector.testing.synthetic_repos import build_synthetic


def _today(today: date | None) -> date:
    return today if today is not None else datetime.now(UTC).date()


def frameworks_scenario(today: date | None = None, seed: int = 2017) -> Scenario:
    """The 2017 article's 14 frameworks with their real dated history, as of today (default: UTC today)."""
    return _frameworks_cached(_today(today), seed)


@functools.lru_cache(maxsize=4)
def _frameworks_cached(today: date, seed: int) -> Scenario:
    # Keras lived under its author's user account before it moved to keras-team.
    accounts = [SimAccount("fchollet", "User")]
    return Scenario(name="frameworks", repos=build_frameworks(today, seed), today=today, accounts=accounts)


def synthetic_scenario(n: int, today: date | None = None, seed: int = 1) -> Scenario:
    """N synthetic repositories (`synth-org-017/repo-00042`) for scale tests; deterministic."""
    return _synthetic_cached(n, _today(today), seed)


@functools.lru_cache(maxsize=4)
def _synthetic_cached(n: int, today: date, seed: int) -> Scenario:
    return Scenario(name=f"synthetic-{n}", repos=build_synthetic(n, today, seed), today=today)


def catalog_scenario(n: int, today: date | None = None, seed: int = 1) -> Scenario:
    """N light repositories for search and listings; every fourth has the topic "deep-learning".

    catalog-10000 has 2,500 repositories with that topic (more than a search reaches), organizations
    and user accounts, forks and archived repositories; see catalog_repos. Deterministic.
    """
    return _catalog_cached(n, _today(today), seed)


@functools.lru_cache(maxsize=2)
def _catalog_cached(n: int, today: date, seed: int) -> Scenario:
    repos, accounts = build_catalog(n, today, seed)
    return Scenario(name=f"catalog-{n}", repos=repos, today=today, accounts=accounts)


def edge_scenario(today: date | None = None) -> Scenario:
    """A few awkward repositories: deleted, DMCA-blocked, too many contributors, empty, renamed twice..."""
    day = _today(today)
    return Scenario(name="edge", repos=build_edge(day), today=day)


# --- registry --------------------------------------------------------------------------------------------

SCENARIOS: dict[str, Callable[..., Scenario]] = {
    "frameworks": frameworks_scenario,
    "synthetic-1000": functools.partial(synthetic_scenario, 1000),
    "edge": edge_scenario,
}


def load_scenario(name: str, today: date | None = None) -> Scenario:
    """The named scenario (frameworks, edge, synthetic-N, catalog-N); ValueError names the known ones."""
    if name in SCENARIOS:
        return SCENARIOS[name](today=today)
    match = re.fullmatch(r"(synthetic|catalog)-([1-9][0-9]{0,5})", name)
    if match:
        family = synthetic_scenario if match.group(1) == "synthetic" else catalog_scenario
        return family(int(match.group(2)), today)
    known = ", ".join([*SCENARIOS, "synthetic-N (N from 1 to 999999)", "catalog-N (N from 1 to 999999)"])
    raise ValueError(f"unknown scenario {name!r}; known scenarios: {known}")
