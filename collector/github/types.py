"""Typed results of the GitHub API layer (`api.py`). Dates are UTC; weeks start on Sunday."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from collector.domain import ForkInfo, Repository


@dataclass(frozen=True)
class RepoCounters:
    """Current counters of one repository (GraphQL batch, or REST without a token)."""

    repo: Repository
    stars: int
    forks: int
    watchers: int
    open_issues: int
    pushed_at: datetime | None = None
    # Default-branch commits since the first Sunday of /stats/commit_activity's 52 weeks (merges included:
    # GraphQL cannot leave them out); 0 for an empty repository; None where the answer has no such count
    # (REST, without a token).
    commits_52w: int | None = None


@dataclass(frozen=True)
class WeekActivity:
    """One week of /stats/commit_activity: commits per day Sunday..Saturday."""

    week_start: date
    total: int
    days: tuple[int, int, int, int, int, int, int]


@dataclass(frozen=True)
class StarWeek:
    """One bucket of /stargazers/history: stars still held, by the day they were given.

    `week_start` is the bucket's first day as GitHub gives it (not guaranteed to be a UTC Sunday), `days`
    its days as given: normally seven, Sunday..Saturday, adding up to `total`, but kept as they come.
    """

    week_start: date
    total: int
    days: tuple[int, ...]


@dataclass(frozen=True)
class StarHistoryPage:
    """A page of star-history weeks, newest first, and the next page URL (None on the last)."""

    weeks: tuple[StarWeek, ...]
    next_url: str | None
    last_page: int | None  # from rel="last", when GitHub gives it


@dataclass(frozen=True)
class ForkPage:
    """A page of forks (oldest first) and the next page URL (None on the last)."""

    forks: tuple[ForkInfo, ...]
    next_url: str | None
    last_page: int | None


@dataclass(frozen=True)
class CommitInfo:
    """One commit on the default branch: who (identity), when (authored and committed, UTC), and how many
    parents it has (more than one: a merge, which GitHub's statistics leave out)."""

    oid: str
    authored_at: datetime
    identity: str  # 'u:<GitHub user id>' when linked to an account, else 'e:<lower-cased author email>'
    committed_at: datetime
    parents: int

    @property
    def is_merge(self) -> bool:
        return self.parents > 1


@dataclass(frozen=True)
class CommitPage:
    """A page of the commit walk (newest first) and the cursor to continue after it."""

    commits: tuple[CommitInfo, ...]
    end_cursor: str | None
    has_next: bool
    total_count: int | None = None


@dataclass(frozen=True)
class StargazerPage:
    """A page of the legacy stargazers listing (star+json): when each star was given, oldest first."""

    starred_at: tuple[datetime, ...]
    next_url: str | None
    last_page: int | None


@dataclass(frozen=True)
class PlanInputs:
    """What a backfill plan needs to know of a repository (one GraphQL alias)."""

    full_name: str
    created_at: datetime
    forks: int
    commits: int  # on the default branch; 0 for an empty repository


@dataclass(frozen=True)
class RateLimits:
    """The budgets left on /rate_limit for the token used."""

    rest_remaining: int
    rest_limit: int
    graphql_remaining: int
    graphql_limit: int
