"""Pure views of a simulated repository: every number the simulator serves is computed here.

REST and GraphQL both read these, so stars, forks, contributors and weekly commits always agree.
Nothing after `today` (the scenario's notion of now) is visible.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from collector.testing.model import SimCommit, SimFork, SimRepo

T = TypeVar("T")


def week_start(day: date) -> date:
    """The Sunday that begins `day`'s week (GitHub weeks run Sunday..Saturday, UTC)."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def unix_day(day: date) -> int:
    """Unix time of `day` at 00:00 UTC."""
    return int(datetime.combine(day, time(0), tzinfo=UTC).timestamp())


def iso(moment: datetime) -> str:
    """GitHub's timestamp format: `2017-10-10T16:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def end_of(day: date) -> datetime:
    """The first instant after `day` (exclusive upper bound of the visible data)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


@dataclass(frozen=True)
class Contributor:
    """One line of /contributors: a linked user, or an anonymous email (`user_id is None`)."""

    user_id: int | None
    login: str | None
    name: str
    email: str
    contributions: int


class RepoView:
    """Precomputed, read-only views of one repository as of `today` (the scenario is not mutated)."""

    def __init__(self, repo: SimRepo, today: date) -> None:
        self.repo = repo
        self.today = today
        horizon = end_of(today)
        self.star_days = {d: n for d, n in sorted(repo.star_days.items()) if d <= today}
        # Sorted once here: the forks listing pages through it on every request.
        self.forks: list[SimFork] = sorted(
            (f for f in repo.forks if f.created_at < horizon), key=lambda f: (f.created_at, f.github_id)
        )
        # Newest first, like `git log` and the commits API.
        self.commits: list[SimCommit] = sorted(
            (c for c in repo.commits if c.authored_at < horizon), key=lambda c: c.authored_at, reverse=True
        )
        self._times = sorted(c.authored_at.timestamp() for c in self.commits)
        self._contributors: dict[bool, list[Contributor]] = {}

    @property
    def stars(self) -> int:
        return sum(self.star_days.values())

    @property
    def pushed_at(self) -> datetime:
        return self.commits[0].authored_at if self.commits else self.repo.created_at

    def count_commits(self, since: datetime | None, until: datetime | None) -> int:
        """Commits authored in [since, until], both inclusive like `git log --since --until`."""
        lo = 0 if since is None else bisect.bisect_left(self._times, since.timestamp())
        hi = len(self._times) if until is None else bisect.bisect_right(self._times, until.timestamp())
        return max(0, hi - lo)

    def commits_between(self, since: datetime | None, until: datetime | None) -> list[SimCommit]:
        """Commits in [since, until], newest first."""
        return [
            c
            for c in self.commits
            if (since is None or c.authored_at >= since) and (until is None or c.authored_at <= until)
        ]

    def contributors(self, *, anon: bool) -> list[Contributor]:
        """Contributors by commit count, descending; unlinked emails only with `anon` (computed once)."""
        found = self._contributors.get(anon)
        if found is None:
            found = self._contributors[anon] = self._count_contributors(anon)
        return found

    def _count_contributors(self, anon: bool) -> list[Contributor]:
        users: dict[int, Contributor] = {}
        emails: dict[str, Contributor] = {}
        for c in reversed(self.commits):  # oldest first, so the first name seen is kept
            if c.author_user_id is not None:
                old = users.get(c.author_user_id)
                n = old.contributions + 1 if old else 1
                users[c.author_user_id] = Contributor(
                    c.author_user_id, c.author_login, c.author_name, c.author_email, n
                )
            else:
                key = c.author_email.lower()
                olde = emails.get(key)
                name = olde.name if olde else c.author_name
                n = olde.contributions + 1 if olde else 1
                emails[key] = Contributor(None, None, name, c.author_email, n)
        found = list(users.values()) + (list(emails.values()) if anon else [])
        return sorted(found, key=lambda x: (-x.contributions, x.login or "", x.email.lower()))

    def commit_weeks(self, weeks: int = 52) -> list[tuple[date, list[int]]]:
        """The last `weeks` weeks, oldest first, ending with the week containing today: days Sun..Sat."""
        last = week_start(self.today)
        first = last - timedelta(weeks=weeks - 1)
        out = [(first + timedelta(weeks=i), [0] * 7) for i in range(weeks)]
        for c in self.commits:
            d = c.authored_at.astimezone(UTC).date()
            if d < first:
                break  # newest first: everything after is older
            idx = (week_start(d) - first).days // 7
            out[idx][1][(d.weekday() + 1) % 7] += 1
        return out

    def participation(self) -> tuple[list[int], list[int]]:
        """52 seven-day buckets ending at today 00:00 UTC, oldest first: (all, owner)."""
        end = datetime.combine(self.today, time(0), tzinfo=UTC)
        start = end - timedelta(weeks=52)
        every, owner = [0] * 52, [0] * 52
        for c in self.commits:
            if c.authored_at >= end:
                continue
            if c.authored_at < start:
                break
            idx = int((c.authored_at - start).total_seconds() // (7 * 86400))
            every[idx] += 1
            if c.author_login is not None and c.author_login.lower() == self.repo.owner.lower():
                owner[idx] += 1
        return every, owner

    def star_weeks(self) -> list[tuple[date, list[int]]]:
        """Every week from the repository's first (creation or first star) to today's, newest first."""
        first_day = self.repo.created_at.astimezone(UTC).date()
        if self.star_days:
            first_day = min(first_day, next(iter(self.star_days)))
        first, last = week_start(first_day), week_start(self.today)
        n = (last - first).days // 7 + 1
        weeks = [(first + timedelta(weeks=i), [0] * 7) for i in range(n)]
        for d, added in self.star_days.items():
            weeks[(week_start(d) - first).days // 7][1][(d.weekday() + 1) % 7] += added
        weeks.reverse()
        return weeks

    def star_events(self) -> list[tuple[datetime, int]]:
        """Individual stars still standing, oldest first: (starred_at, stargazer index)."""
        standing: list[tuple[datetime, int]] = []
        serial = 0
        for d, added in self.star_days.items():
            base = datetime.combine(d, time(0), tzinfo=UTC)
            if added < 0:
                del standing[max(0, len(standing) + added) :]  # an unstar removes the latest stars
                continue
            for i in range(added):
                # Spread the day's stars over the day, deterministically.
                standing.append((base + timedelta(seconds=(i * 86399) // max(added, 1)), serial))
                serial += 1
        return standing


def page_of(items: Sequence[T], page: int, per_page: int) -> Sequence[T]:
    """Items on a 1-based page."""
    return items[(page - 1) * per_page : page * per_page]
