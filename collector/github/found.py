"""What a rule found on GitHub: repositories by id, whether the answer was whole, and what it cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collector.domain import GroupRule, Repository
from collector.github.parsers import parse_repository


@dataclass(frozen=True)
class FoundRepo:
    """A repository a rule found, with what the rule filters on."""

    repo: Repository
    stars: int
    fork: bool


@dataclass
class Discovery:
    """What a rule found: repositories by GitHub id, whether the answer was whole, and how it was got."""

    found: dict[int, FoundRepo] = field(default_factory=dict)
    complete: bool = True
    requests: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, item: Any, rule: GroupRule) -> FoundRepo | None:
        """Keep one repository object if the rule admits it; returns it either way (None when malformed,
        which makes the answer partial)."""
        try:
            repo, stars = parse_repository(item), int(item["stargazers_count"])
            found = FoundRepo(repo, stars, bool(item.get("fork", False)))
        except (KeyError, TypeError, ValueError):
            self.complete = False
            return None
        if rule.admits(found.stars, found.fork, found.repo.archived):
            self.found[found.repo.github_id] = found
        return found
