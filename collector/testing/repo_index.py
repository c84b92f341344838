"""What search and the account listings filter and sort on: one small entry per visible repository.

Every number is computed from the same events, and with the same rules, as the repository's RepoView,
so a repository found by `stars:N` shows `stargazers_count: N`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from collector.testing.model import SimRepo
from collector.testing.views import end_of, standing_stars


@dataclass(frozen=True)
class Entry:
    """A repository as of today, with the values its filters and sort orders read (text lower-cased)."""

    repo: SimRepo
    stars: int
    forks: int  # the whole network, as forks_count
    size: int  # as the object's `size`
    pushed_at: datetime  # also updated_at
    owner: str
    name: str
    full_name: str
    description: str
    topics: tuple[str, ...]
    language: str
    help_wanted: int  # issues labelled "help wanted"

    @property
    def created_at(self) -> datetime:
        return self.repo.created_at

    @property
    def fork(self) -> bool:
        return self.repo.fork_parent is not None


def build_entries(
    repos: Iterable[SimRepo], today: date, withdrawn: Mapping[int, Mapping[date, int]]
) -> list[Entry]:
    """Entries for the repositories that exist and can be read today (not deleted, not blocked)."""
    horizon = end_of(today)
    out: list[Entry] = []
    for repo in repos:
        if repo.status != "ok" or repo.created_at >= horizon:
            continue
        commits = [c.authored_at for c in repo.commits if c.authored_at < horizon]
        stars = sum(standing_stars(repo.star_days, today, withdrawn.get(repo.github_id)).values())
        out.append(
            Entry(
                repo=repo,
                stars=stars,
                forks=sum(1 for f in repo.forks if f.created_at < horizon),
                size=len(commits),
                pushed_at=max(commits, default=repo.created_at),
                owner=repo.owner.lower(),
                name=repo.name.lower(),
                full_name=repo.full_name.lower(),
                description=(repo.description or "").lower(),
                topics=tuple(t.lower() for t in repo.topics),
                language=(repo.language or "").lower(),
                # Not modelled as events: a steady share of the open issues.
                help_wanted=repo.open_issues // 10,
            )
        )
    return out
