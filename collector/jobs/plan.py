"""`collector backfill --plan`: what a backfill will cost, from the counters alone."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from collector.domain import parse_repo_name, utc_now
from collector.github.api import GitHubAPI
from collector.github.errors import GitHubError, NotFound
from collector.github.types import PlanInputs, RateLimits
from collector.store.checkpoints import SeriesStatus, count_forks, load_checkpoints
from collector.store.models import RepoRow
from collector.store.stars import load_observed_stars


@dataclass(frozen=True)
class RepoPlan:
    """Expected cost of one repository's backfill."""

    repo: str
    star_pages: int
    fork_pages: int
    walk_pages: int  # the commit walk gives weekly commits and contributors

    @property
    def rest(self) -> int:
        return self.star_pages + self.fork_pages

    @property
    def points(self) -> int:
        return self.walk_pages


@dataclass(frozen=True)
class Plan:
    """The plan for all repositories, and the budget it meets."""

    repos: list[RepoPlan]
    limits: RateLimits | None  # None where the server keeps no budgets
    counter_points: int


def _weeks(first: date, last: date) -> int:
    return max(1, math.ceil(((last - first).days + 1) / 7))


async def plan_backfill(
    sessions: sessionmaker[Session], api: GitHubAPI, ids: Sequence[int] | None, since: date | None
) -> Plan:
    """Fetch what each repository's plan needs (a GraphQL point per 50 repositories), then ask the API
    what each series costs: the page sizes are the API's own, so the estimate follows them."""
    with sessions() as s:
        stmt = select(RepoRow).where(RepoRow.tracked.is_(True)).order_by(RepoRow.name_key)
        if ids is not None:
            stmt = select(RepoRow).where(RepoRow.id.in_(ids)).order_by(RepoRow.name_key)
        repos = [(r.id, parse_repo_name(r.full_name)) for r in s.scalars(stmt)]
        stored = {repo_id: _Stored.load(s, repo_id) for repo_id, _ in repos}
    points_before = api.stats.graphql_points
    inputs = await api.fetch_plan_inputs([name for _, name in repos])
    today = utc_now().date()
    plans: list[RepoPlan] = []
    for repo_id, name in repos:
        found = inputs[name.key]
        if isinstance(found, GitHubError):
            plans.append(
                RepoPlan(
                    f"{name} (not found)" if isinstance(found, NotFound) else f"{name} ({found})", 0, 0, 0
                )
            )
            continue
        plans.append(_plan_one(api, found, stored[repo_id], since, today))
    limits = await api.fetch_rate_limits()
    return Plan(plans, limits, api.stats.graphql_points - points_before)


@dataclass(frozen=True)
class _Stored:
    """What the store already holds of a repository's history."""

    stars_to: date | None  # where complete star history ends
    forks: int  # direct forks stored by a complete listing
    walked: bool  # the commit walk is complete
    observed_stars: bool

    @classmethod
    def load(cls, s: Session, repo_id: int) -> _Stored:
        checkpoints = load_checkpoints(s, repo_id)
        stars, forks = checkpoints.get("stars"), checkpoints.get("forks")
        walk = checkpoints.get("contributors")
        return cls(
            stars.covered_to if stars and stars.status == SeriesStatus.COMPLETE else None,
            count_forks(s, repo_id) if forks and forks.status == SeriesStatus.COMPLETE else 0,
            walk is not None and walk.status == SeriesStatus.COMPLETE,
            load_observed_stars(s, repo_id) is not None,
        )


def _plan_one(api: GitHubAPI, repo: PlanInputs, stored: _Stored, since: date | None, today: date) -> RepoPlan:
    created = repo.created_at.date()
    start = max(created, since) if since else created
    # Never observed: the backfill checks its total against /stargazers/count (one request).
    star_pages = api.star_history_pages(_weeks(stored.stars_to or start, today)) + (not stored.observed_stars)
    fork_pages = api.fork_pages(max(0, repo.forks - stored.forks))
    # A later walk covers the weeks since its last newest commit: about a page.
    walk_pages = 1 if stored.walked else api.commit_walk_pages(repo.commits)
    return RepoPlan(repo.full_name, star_pages, fork_pages, walk_pages)


def _hours(needed: int, remaining: int | None, limit: int | None) -> str:
    if remaining is None or limit is None:
        return "unknown budget"
    if needed <= remaining:
        return "within the current budget"
    windows = math.ceil((needed - remaining) / max(1, limit))
    return f"about {windows} more hour(s) of budget"


def render_plan(plan: Plan) -> str:
    """The plan as a text table with totals and the time the budget implies."""
    lines = [f"{'repository':<40} {'star pages':>10} {'fork pages':>10} {'walk pages':>10}"]
    for p in plan.repos:
        lines.append(f"{p.repo:<40} {p.star_pages:>10} {p.fork_pages:>10} {p.walk_pages:>10}")
    rest = sum(p.rest for p in plan.repos)
    points = sum(p.points for p in plan.repos)
    star, fork = sum(p.star_pages for p in plan.repos), sum(p.fork_pages for p in plan.repos)
    walk = sum(p.walk_pages for p in plan.repos)
    lines.append(f"{'total':<40} {star:>10} {fork:>10} {walk:>10}")
    lim = plan.limits
    rest_left, rest_limit = (lim.rest_remaining, lim.rest_limit) if lim else (None, None)
    gql_left, gql_limit = (lim.graphql_remaining, lim.graphql_limit) if lim else (None, None)
    lines.append(
        f"REST requests: {rest} ({_hours(rest, rest_left, rest_limit)}; "
        f"remaining {rest_left}/{rest_limit}); GraphQL points: {points} "
        f"({_hours(points, gql_left, gql_limit)}; remaining "
        f"{gql_left}/{gql_limit}); this plan cost {plan.counter_points} point(s)"
    )
    return "\n".join(lines)
