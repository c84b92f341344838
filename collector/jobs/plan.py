"""`collector backfill --plan`: what a backfill will cost, from the counters alone."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from collector.domain import parse_repo_name, utc_now
from collector.github.client import GitHubClient
from collector.store.checkpoints import count_forks, load_checkpoint
from collector.store.models import Repository
from collector.store.stars import load_observed_stars

STAR_WEEKS_PER_PAGE = 30
FORKS_PER_PAGE = 100
WEEKS_PER_QUERY = 50
COMMITS_PER_PAGE = 100
ALIASES_PER_QUERY = 50

_FIELDS = """
  databaseId nameWithOwner createdAt stargazerCount forkCount
  defaultBranchRef { target { ... on Commit { history(first: 1) { totalCount } } } }
"""


@dataclass(frozen=True)
class RepoPlan:
    """Expected cost of one repository's backfill."""

    repo: str
    star_pages: int
    fork_pages: int
    commit_queries: int
    walk_pages: int

    @property
    def rest(self) -> int:
        return self.star_pages + self.fork_pages

    @property
    def points(self) -> int:
        return self.commit_queries + self.walk_pages


@dataclass(frozen=True)
class Plan:
    """The plan for all repositories, and the budget it meets."""

    repos: list[RepoPlan]
    rest_remaining: int | None
    rest_limit: int | None
    graphql_remaining: int | None
    graphql_limit: int | None
    counter_points: int


def _weeks(first: date, last: date) -> int:
    return max(1, math.ceil(((last - first).days + 1) / 7))


async def plan_backfill(
    sessions: sessionmaker[Session], gh: GitHubClient, ids: Sequence[int] | None, since: date | None
) -> Plan:
    """Fetch the counters (one GraphQL point per 50 repositories) and estimate each series' requests."""
    with sessions() as s:
        stmt = select(Repository).where(Repository.tracked.is_(True)).order_by(Repository.name_key)
        if ids is not None:
            stmt = select(Repository).where(Repository.id.in_(ids)).order_by(Repository.name_key)
        repos = [(r.id, r.full_name) for r in s.scalars(stmt)]
    today = utc_now().date()
    plans: list[RepoPlan] = []
    points = 0
    for i in range(0, len(repos), ALIASES_PER_QUERY):
        chunk = repos[i : i + ALIASES_PER_QUERY]
        parts = []
        for n, (_, full_name) in enumerate(chunk):
            name = parse_repo_name(full_name)
            parts.append(
                f"r{n}: repository(owner: {_quote(name.owner)}, name: {_quote(name.name)}) {{{_FIELDS}}}"
            )
        query = "query {\n" + "\n".join(parts) + "\n rateLimit { cost remaining limit resetAt }\n}"
        answer = await gh.graphql(query)
        points += answer.cost
        for n, (repo_id, full_name) in enumerate(chunk):
            node = answer.data.get(f"r{n}")
            if not isinstance(node, dict):
                plans.append(RepoPlan(full_name + " (not found)", 0, 0, 0, 0))
                continue
            plans.append(_plan_one(sessions, repo_id, node, since, today))
    rest_remaining = rest_limit = gql_remaining = gql_limit = None
    try:
        limits = (await gh.get("/rate_limit")).json()["resources"]
        rest_remaining, rest_limit = limits["core"]["remaining"], limits["core"]["limit"]
        gql_remaining, gql_limit = limits["graphql"]["remaining"], limits["graphql"]["limit"]
    except Exception:  # the plan stays useful without the budget line
        pass
    return Plan(plans, rest_remaining, rest_limit, gql_remaining, gql_limit, points)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _plan_one(
    sessions: sessionmaker[Session], repo_id: int, node: dict[str, Any], since: date | None, today: date
) -> RepoPlan:
    created = datetime.fromisoformat(node["createdAt"].replace("Z", "+00:00")).astimezone(UTC).date()
    start = max(created, since) if since else created
    ref = node.get("defaultBranchRef") or {}
    commits = ((ref.get("target") or {}).get("history") or {}).get("totalCount", 0)
    with sessions() as s:
        stars = load_checkpoint(s, repo_id, "stars")
        forks = load_checkpoint(s, repo_id, "forks")
        weekly = load_checkpoint(s, repo_id, "commits")
        walk = load_checkpoint(s, repo_id, "contributors")
        stored_forks = count_forks(s, repo_id)
        observed = load_observed_stars(s, repo_id)
    star_from = stars.covered_to if stars and stars.status == "complete" and stars.covered_to else start
    # Never observed: the backfill checks its total against /stargazers/count (one request).
    star_pages = math.ceil(_weeks(star_from, today) / STAR_WEEKS_PER_PAGE) + (observed is None)
    fork_pages = max(
        1,
        math.ceil(
            max(0, node["forkCount"] - (stored_forks if forks and forks.status == "complete" else 0))
            / FORKS_PER_PAGE
        ),
    )
    weeks_from = weekly.covered_to if weekly and weekly.status == "complete" and weekly.covered_to else start
    commit_queries = math.ceil(_weeks(weeks_from, today) / WEEKS_PER_QUERY)
    walk_pages = 1 if walk and walk.status == "complete" else max(1, math.ceil(commits / COMMITS_PER_PAGE))
    return RepoPlan(node["nameWithOwner"], star_pages, fork_pages, commit_queries, walk_pages)


def _hours(needed: int, remaining: int | None, limit: int | None) -> str:
    if remaining is None or limit is None:
        return "unknown budget"
    if needed <= remaining:
        return "within the current budget"
    windows = math.ceil((needed - remaining) / max(1, limit))
    return f"about {windows} more hour(s) of budget"


def render_plan(plan: Plan) -> str:
    """The plan as a text table with totals and the time the budget implies."""
    lines = [
        f"{'repository':<40} {'star pages':>10} {'fork pages':>10} {'week queries':>12} {'walk pages':>10}"
    ]
    for p in plan.repos:
        lines.append(
            f"{p.repo:<40} {p.star_pages:>10} {p.fork_pages:>10} {p.commit_queries:>12} {p.walk_pages:>10}"
        )
    rest = sum(p.rest for p in plan.repos)
    points = sum(p.points for p in plan.repos)
    star, fork = sum(p.star_pages for p in plan.repos), sum(p.fork_pages for p in plan.repos)
    weeks, walk = sum(p.commit_queries for p in plan.repos), sum(p.walk_pages for p in plan.repos)
    lines.append(f"{'total':<40} {star:>10} {fork:>10} {weeks:>12} {walk:>10}")
    lines.append(
        f"REST requests: {rest} ({_hours(rest, plan.rest_remaining, plan.rest_limit)}; "
        f"remaining {plan.rest_remaining}/{plan.rest_limit}); GraphQL points: {points} "
        f"({_hours(points, plan.graphql_remaining, plan.graphql_limit)}; remaining "
        f"{plan.graphql_remaining}/{plan.graphql_limit}); this plan cost {plan.counter_points} point(s)"
    )
    return "\n".join(lines)
