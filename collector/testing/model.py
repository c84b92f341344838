"""The simulator's world: repositories with every event that GitHub's numbers derive from.

Every view the simulator serves is computed from these events, so they always agree: stars per week sum
to stargazerCount, the forks listed equal forkCount, contributors are the distinct commit identities,
and weekly commit counts are the same in GraphQL, /stats and the commit list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class SimCommit:
    """One commit on the default branch."""

    sha: str  # 40 hex characters
    authored_at: datetime  # aware UTC
    author_name: str
    author_email: str
    author_user_id: int | None  # GitHub user id when the email is linked to an account
    author_login: str | None


@dataclass(frozen=True)
class SimFork:
    """A fork in the repository's network: direct (`parent_id` None) or a fork of another SimFork."""

    github_id: int
    owner_login: str
    created_at: datetime  # aware UTC
    parent_id: int | None = None  # github_id of the fork it was forked from; None: forked from the root


@dataclass(frozen=True)
class SimAsset:
    """A file attached to a release: downloaded `per_day` times each whole day since it was uploaded."""

    name: str
    per_day: int
    size: int = 1_000_000


@dataclass(frozen=True)
class SimRelease:
    """A release; `published_at` None for a draft. Its assets are uploaded when it is published."""

    tag: str
    name: str | None
    created_at: datetime  # aware UTC
    published_at: datetime | None
    prerelease: bool = False
    assets: tuple[SimAsset, ...] = ()


@dataclass
class SimRepo:
    """A repository and its full event history. Lists are sorted oldest first."""

    github_id: int
    owner: str
    name: str
    created_at: datetime
    description: str | None = None
    language: str | None = None
    archived: bool = False
    default_branch: str = "master"
    former_names: list[str] = field(default_factory=list)  # 'owner/name' it was known by, oldest first
    star_days: dict[date, int] = field(default_factory=dict)  # net stars added per UTC day
    forks: list[SimFork] = field(default_factory=list)  # the whole fork network, oldest first
    commits: list[SimCommit] = field(default_factory=list)
    watchers: int = 0  # subscribers
    open_issues: int = 0
    status: str = "ok"  # ok | deleted (404) | blocked (451 DMCA)
    contributors_too_large: bool = False  # 403 "too large to list contributors"
    topics: tuple[str, ...] = ()  # lower-case, as GitHub stores them
    # A fork that is a repository of the scenario: the github_id of the repository it was forked from
    # (which lists it among its forks, as a SimFork with the same id).
    fork_parent: int | None = None
    # Files of the default branch by path ("pyproject.toml"), for the contents API (issue 21).
    files: dict[str, str] = field(default_factory=dict)
    releases: list[SimRelease] = field(default_factory=list)  # oldest first (issue 21)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def node_id(self) -> str:
        return f"R_sim{self.github_id}"

    @property
    def stars(self) -> int:
        return sum(self.star_days.values())


@dataclass(frozen=True)
class SimAccount:
    """A user or organization account; owners the scenario does not declare are organizations."""

    login: str
    kind: str = "Organization"  # or "User"
    github_id: int | None = None  # None: a stable made-up id


@dataclass
class Scenario:
    """A set of repositories, and the simulator's notion of today (stats and history end here)."""

    name: str
    repos: list[SimRepo]
    today: date
    accounts: list[SimAccount] = field(default_factory=list)
