"""GraphQL queries we send: built with aliases and variables, each asking for its own `rateLimit` cost,
and run in batches that split themselves when GitHub times out (502/504) or the estimated cost is high.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar

from collector.domain import RepoName, as_utc
from collector.github.client import GitHubClient
from collector.github.errors import BadCredentials, GitHubError, ServerError
from collector.github.responses import GraphQLResponse

T = TypeVar("T")

RATE_LIMIT = "rateLimit { cost remaining resetAt }"
COUNTER_FIELDS = (
    "databaseId id nameWithOwner createdAt pushedAt isArchived description primaryLanguage { name } "
    "stargazerCount forkCount watchers { totalCount } issues(states: OPEN) { totalCount } "
    "defaultBranchRef { name }"
)
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


def counters_query(names: Sequence[RepoName]) -> Query[RepoName]:
    """One alias per repository (`r0`, `r1`, ...): current counters and identity."""
    decls, parts, variables, aliases = [], [], {}, {}
    for i, name in enumerate(names):
        alias = f"r{i}"
        decls.append(f"$o{i}: String!, $n{i}: String!")
        parts.append(f"{alias}: repository(owner: $o{i}, name: $n{i}) {{ ...Counters }}")
        variables[f"o{i}"], variables[f"n{i}"] = name.owner, name.name
        aliases[alias] = name
    text = (
        f"query Counters({', '.join(decls)}) {{\n  "
        + "\n  ".join(parts)
        + f"\n  {RATE_LIMIT}\n}}\nfragment Counters on Repository {{ {COUNTER_FIELDS} }}\n"
    )
    # Only totalCount connections (no first/last): the whole query costs one request.
    return Query(text, variables, aliases, estimate_cost(1))


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


def _branch_selector(branch: str | None) -> tuple[str, str]:
    if branch is None:
        return "defaultBranchRef", ""
    return "ref(qualifiedName: $branch)", ", $branch: String!"


def weekly_commits_query(name: RepoName, weeks: Sequence[date], branch: str | None = None) -> Query[date]:
    """One `history(since:, until:) { totalCount }` alias per week (`w0`, ...) on one branch."""
    ref, branch_decl = _branch_selector(branch)
    decls, parts, aliases = [], [], {}
    variables: dict[str, Any] = {"owner": name.owner, "name": name.name}
    if branch is not None:
        variables["branch"] = branch
    for i, week in enumerate(weeks):
        start = datetime(week.year, week.month, week.day)
        decls.append(f"$s{i}: GitTimestamp!, $u{i}: GitTimestamp!")
        parts.append(f"w{i}: history(since: $s{i}, until: $u{i}) {{ totalCount }}")
        # until is inclusive in git's sense: stop one second before the next week begins.
        variables[f"s{i}"] = git_timestamp(start)
        variables[f"u{i}"] = git_timestamp(start + timedelta(days=7, seconds=-1))
        aliases[f"w{i}"] = week
    text = (
        f"query WeeklyCommits($owner: String!, $name: String!{branch_decl}, {', '.join(decls)}) {{\n"
        f"  repository(owner: $owner, name: $name) {{ {ref} {{ target {{ ... on Commit {{\n    "
        + "\n    ".join(parts)
        + f"\n  }} }} }} }}\n  {RATE_LIMIT}\n}}\n"
    )
    return Query(text, variables, aliases, estimate_cost(1 + len(weeks)))


def commits_query(name: RepoName, after: str | None = None, since: datetime | None = None) -> Query[RepoName]:
    """One page (100) of the default branch's history: oid, authored date, author email and user id."""
    variables: dict[str, Any] = {"owner": name.owner, "name": name.name, "after": after}
    variables["since"] = git_timestamp(since) if since is not None else None
    text = (
        "query Commits($owner: String!, $name: String!, $after: String, $since: GitTimestamp) {\n"
        "  repository(owner: $owner, name: $name) { defaultBranchRef { target { ... on Commit {\n"
        f"    history(first: {COMMIT_PAGE_SIZE}, after: $after, since: $since) {{\n"
        "      totalCount pageInfo { hasNextPage endCursor }\n"
        "      nodes { oid authoredDate author { email user { databaseId } } }\n"
        "    }\n"
        f"  }} }} }} }}\n  {RATE_LIMIT}\n}}\n"
    )
    return Query(text, variables, {"repository": name}, estimate_cost(1 + 1))


@dataclass(frozen=True)
class BatchResult(Generic[T]):
    """The answer to one (possibly split) batch, or the error that sank it."""

    query: Query[T]
    response: GraphQLResponse | GitHubError


async def run_batched(
    gh: GitHubClient, items: Sequence[T], build: Callable[[Sequence[T]], Query[T]]
) -> list[BatchResult[T]]:
    """Run `build` over `gh.graphql_batch` items at a time; halve a batch on 502/504 or a high cost."""
    size = gh.options.graphql_batch
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    answers = await asyncio.gather(*(_run(gh, batch, build) for batch in batches))
    return [result for answer in answers for result in answer]


async def _run(
    gh: GitHubClient, items: Sequence[T], build: Callable[[Sequence[T]], Query[T]]
) -> list[BatchResult[T]]:
    query = build(items)
    splittable = len(items) > 1
    if splittable and query.estimated_cost > gh.options.max_query_cost:
        return await _split(gh, items, build)
    try:
        # A gateway timeout on a batch we can split is not worth retrying as is: split it instead.
        response = await gh.graphql(query.text, query.variables, retry_gateway=not splittable)
    except ServerError as exc:
        if splittable and exc.status in GATEWAY_TIMEOUTS:
            gh.stats.retries += 1
            return await _split(gh, items, build)
        return [BatchResult(query, exc)]
    except BadCredentials:
        raise  # no token left: nothing else will work either
    except GitHubError as exc:
        return [BatchResult(query, exc)]
    return [BatchResult(query, response)]


async def _split(
    gh: GitHubClient, items: Sequence[T], build: Callable[[Sequence[T]], Query[T]]
) -> list[BatchResult[T]]:
    half = len(items) // 2
    first = await _run(gh, items[:half], build)
    return first + await _run(gh, items[half:], build)
