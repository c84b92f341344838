"""GraphQL queries we send: built with aliases and variables, each asking for its own `rateLimit` cost,
and run in batches that split themselves when GitHub times out (502/504) or the estimated cost is high.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from collector.domain import RepoName, as_utc
from collector.github.client import GitHubClient
from collector.github.errors import BadCredentials, GitHubError, ServerError
from collector.github.responses import GraphQLResponse

T = TypeVar("T")

RATE_LIMIT = "rateLimit { cost remaining resetAt }"
# The 52-week commit count rides along with the counters: the history since a week start, with no `first`
# (only totalCount), so GitHub counts it as one request like watchers and issues [D-GQL].
COUNTER_FIELDS = (
    "databaseId id nameWithOwner createdAt pushedAt isArchived description primaryLanguage { name } "
    "stargazerCount forkCount watchers { totalCount } issues(states: OPEN) { totalCount } "
    "defaultBranchRef { name target { ... on Commit { history(since: $since) { totalCount } } } }"
)
COUNTER_CONNECTIONS = 3  # watchers, issues, history: what one repository adds to a query's cost
COMMIT_PAGE_SIZE = 100  # GitHub's maximum for `first`
GATEWAY_TIMEOUTS = (502, 504)  # a query over GitHub's 10 s limit ends like this [D-GQL]


@dataclass(frozen=True)
class Query(Generic[T]):
    """A query, its variables, which item each alias stands for, and GitHub's documented cost estimate."""

    text: str
    variables: dict[str, Any]
    aliases: dict[str, T]
    estimated_cost: int


def estimate_cost(requests: int) -> int:
    """GitHub's formula: requests needed to fill every connection (first/last reached), / 100, min 1."""
    return max(1, round(requests / 100))


def git_timestamp(value: datetime) -> str:
    """A GitTimestamp literal (ISO 8601, UTC, with Z)."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def counters_query(names: Sequence[RepoName], since: datetime) -> Query[RepoName]:
    """One alias per repository (`r0`, `r1`, ...): current counters, identity and commits since `since`."""
    decls, parts, aliases = [], [], {}
    variables: dict[str, Any] = {"since": git_timestamp(since)}
    for i, name in enumerate(names):
        alias = f"r{i}"
        decls.append(f"$o{i}: String!, $n{i}: String!")
        parts.append(f"{alias}: repository(owner: $o{i}, name: $n{i}) {{ ...Counters }}")
        variables[f"o{i}"], variables[f"n{i}"] = name.owner, name.name
        aliases[alias] = name
    text = (
        f"query Counters($since: GitTimestamp!, {', '.join(decls)}) {{\n  "
        + "\n  ".join(parts)
        + f"\n  {RATE_LIMIT}\n}}\nfragment Counters on Repository {{ {COUNTER_FIELDS} }}\n"
    )
    return Query(text, variables, aliases, estimate_cost(COUNTER_CONNECTIONS * len(names)))


def counters_per_query(limit: int) -> int:
    """Repositories per counters query: at most `limit`, and no more than one point's worth (GitHub rounds
    the requests / 100, so 49 repositories of 3 connections cost 1 point where 50 cost 2)."""
    size = max(1, limit)
    while size > 1 and estimate_cost(COUNTER_CONNECTIONS * size) > 1:
        size -= 1
    return size


PLAN_FIELDS = (
    "nameWithOwner createdAt forkCount "
    "defaultBranchRef { target { ... on Commit { history(first: 1) { totalCount } } } }"
)


def plan_query(names: Sequence[RepoName]) -> Query[RepoName]:
    """One alias per repository: what a backfill plan needs (creation date, forks, commits)."""
    decls, parts, variables, aliases = [], [], {}, {}
    for i, name in enumerate(names):
        decls.append(f"$o{i}: String!, $n{i}: String!")
        parts.append(f"r{i}: repository(owner: $o{i}, name: $n{i}) {{ {PLAN_FIELDS} }}")
        variables[f"o{i}"], variables[f"n{i}"] = name.owner, name.name
        aliases[f"r{i}"] = name
    text = f"query Plan({', '.join(decls)}) {{\n  " + "\n  ".join(parts) + f"\n  {RATE_LIMIT}\n}}\n"
    # history(first: 1) per repository: GitHub counts one request per connection with `first`.
    return Query(text, variables, aliases, estimate_cost(1 + len(names)))


def commits_query(name: RepoName, after: str | None = None, since: datetime | None = None) -> Query[RepoName]:
    """One page (100) of the default branch's history: oid, both dates, parent count, author email and
    user id."""
    variables: dict[str, Any] = {"owner": name.owner, "name": name.name, "after": after}
    variables["since"] = git_timestamp(since) if since is not None else None
    text = (
        "query Commits($owner: String!, $name: String!, $after: String, $since: GitTimestamp) {\n"
        "  repository(owner: $owner, name: $name) { defaultBranchRef { target { ... on Commit {\n"
        f"    history(first: {COMMIT_PAGE_SIZE}, after: $after, since: $since) {{\n"
        "      totalCount pageInfo { hasNextPage endCursor }\n"
        "      nodes { oid authoredDate committedDate parents { totalCount } "
        "author { email user { databaseId } } }\n"
        "    }\n"
        f"  }} }} }} }}\n  {RATE_LIMIT}\n}}\n"
    )
    # The history, plus each node's parents connection (totalCount only: one request per node).
    return Query(text, variables, {"repository": name}, estimate_cost(1 + COMMIT_PAGE_SIZE))


@dataclass(frozen=True)
class BatchResult(Generic[T]):
    """The answer to one (possibly split) batch, or the error that sank it."""

    query: Query[T]
    response: GraphQLResponse | GitHubError


Route = Callable[[T], str]  # the repository (`owner/name`) an item is about


async def run_batched(
    gh: GitHubClient,
    items: Sequence[T],
    build: Callable[[Sequence[T]], Query[T]],
    size: int | None = None,
    route: Route[T] | None = None,
) -> list[BatchResult[T]]:
    """Run `build` over `size` (default `gh.graphql_batch`) items at a time; halve a batch on 502/504 or a
    high cost. With `route`, a batch holds only repositories the same App installations can see."""
    size = size or gh.options.graphql_batch
    groups: dict[frozenset[int], list[T]] = {}
    if route is not None:
        await gh.credentials.ready()  # what each installation sees is known from here on
    for item in items:
        key = gh.credentials.route_group(route(item)) if route is not None else frozenset[int]()
        groups.setdefault(key, []).append(item)
    batches = [group[i : i + size] for group in groups.values() for i in range(0, len(group), size)]
    answers = await asyncio.gather(*(_run(gh, batch, build, route) for batch in batches))
    return [result for answer in answers for result in answer]


async def _run(
    gh: GitHubClient, items: Sequence[T], build: Callable[[Sequence[T]], Query[T]], route: Route[T] | None
) -> list[BatchResult[T]]:
    query = build(items)
    splittable = len(items) > 1
    if splittable and query.estimated_cost > gh.options.max_query_cost:
        return await _split(gh, items, build, route)
    try:
        # A gateway timeout on a batch we can split is not worth retrying as is: split it instead.
        about = route(items[0]) if route else None
        response = await gh.graphql(query.text, query.variables, retry_gateway=not splittable, route=about)
    except ServerError as exc:
        if splittable and exc.status in GATEWAY_TIMEOUTS:
            gh.stats.retries += 1
            return await _split(gh, items, build, route)
        return [BatchResult(query, exc)]
    except BadCredentials:
        raise  # no token left: nothing else will work either
    except GitHubError as exc:
        return [BatchResult(query, exc)]
    return [BatchResult(query, response)]


async def _split(
    gh: GitHubClient, items: Sequence[T], build: Callable[[Sequence[T]], Query[T]], route: Route[T] | None
) -> list[BatchResult[T]]:
    half = len(items) // 2
    first = await _run(gh, items[:half], build, route)
    return first + await _run(gh, items[half:], build, route)
