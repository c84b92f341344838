"""The scenario's accounts: every repository owner (current or former) and every declared account.

An owner the scenario does not declare is an organization, as the built-in scenarios' owners are; ids
are stable made-up numbers, unique across the scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from collector.testing.model import Scenario

USER = "User"
ORGANIZATION = "Organization"


def owner_id(login: str) -> int:
    """A stable fake account id for an owner login (the model does not carry one)."""
    return 1_000_000 + sum((i + 1) * ord(ch) for i, ch in enumerate(login.lower())) % 8_000_000


@dataclass(frozen=True)
class Account:
    """One account as the REST API shows it."""

    login: str  # as spelled by its repositories or its declaration
    github_id: int
    kind: str  # User | Organization
    created_at: datetime  # aware UTC

    @property
    def is_org(self) -> bool:
        return self.kind == ORGANIZATION


class Accounts:
    """Accounts by login (case-insensitive) and by id."""

    def __init__(self, scenario: Scenario) -> None:
        spelled: dict[str, str] = {}
        first: dict[str, datetime] = {}

        def note(login: str, when: datetime | None) -> None:
            key = login.lower()
            spelled.setdefault(key, login)
            if when is not None and (key not in first or when < first[key]):
                first[key] = when

        declared = {a.login.lower(): a for a in scenario.accounts}
        for a in scenario.accounts:
            note(a.login, None)
        for repo in scenario.repos:
            note(repo.owner, repo.created_at)
            for old in repo.former_names:
                note(old.split("/")[0], repo.created_at)
        taken = {a.github_id for a in scenario.accounts if a.github_id is not None}
        self._by_login: dict[str, Account] = {}
        fallback = min(first.values(), default=datetime(2010, 1, 1, tzinfo=UTC))
        for key in sorted(spelled):
            found = declared.get(key)
            github_id = found.github_id if found is not None else None
            if github_id is None:
                github_id = owner_id(key)
                while github_id in taken:
                    github_id += 1
                taken.add(github_id)
            kind = found.kind if found is not None else ORGANIZATION
            # An account is older than its first repository.
            created = first.get(key, fallback) - timedelta(days=30)
            self._by_login[key] = Account(spelled[key], github_id, kind, created)
        self._by_id = {a.github_id: a for a in self._by_login.values()}

    def get(self, login: str) -> Account | None:
        """The account with this login (any capitalisation), or None."""
        return self._by_login.get(login.lower())

    def by_id(self, github_id: int) -> Account | None:
        """The account with this id, or None."""
        return self._by_id.get(github_id)

    def owner(self, login: str) -> Account:
        """The account of a repository's owner (always known)."""
        return self._by_login[login.lower()]
