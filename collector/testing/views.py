"""Pure views of a simulated repository: every number the simulator serves is computed here.

REST and GraphQL both read these, so stars, forks, contributors and weekly commits always agree.
Nothing after `today` (the scenario's notion of now) is visible.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

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


def standing_stars(
    star_days: Mapping[date, int], today: date, withdrawn: Mapping[date, int] | None = None
) -> dict[date, int]:
    """Stars still standing, by the day they were given (oldest first, every count > 0).

    A negative net day withdraws the most recently given stars before it (LIFO), lowering those old
    days; `withdrawn` then takes stars away from the days they were given. This is how GitHub's star
    history counts: a withdrawn star disappears from the day it was given (facts sheet §12).
    """
    standing: dict[date, int] = {}
    for day, net in sorted(star_days.items()):
        if day > today:
            break
        if net > 0:
            standing[day] = standing.get(day, 0) + net
            continue
        take = -net
        for old in reversed(list(standing)):
            if take == 0:
                break
            k = min(take, standing[old])
            standing[old] -= k
            take -= k
            if standing[old] == 0:
                del standing[old]
    for day, n in (withdrawn or {}).items():
        if day in standing:
            standing[day] -= min(n, standing[day])
    return {d: n for d, n in standing.items() if n > 0}


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

    def __init__(
        self,
        repo: SimRepo,
        today: date,
        *,
        withdrawn: Mapping[date, int] | None = None,
        linked_email_cap: int = 500,
    ) -> None:
        self.repo = repo
        self.today = today
        self.linked_email_cap = linked_email_cap
        horizon = end_of(today)
        self.star_days = standing_stars(repo.star_days, today, withdrawn)
        self._given = {d: n for d, n in sorted(repo.star_days.items()) if d <= today and n > 0}
        # Sorted once here: the forks listing pages through it on every request.
        self.network: list[SimFork] = sorted(
            (f for f in repo.forks if f.created_at < horizon), key=lambda f: (f.created_at, f.github_id)
        )
        self.forks = [f for f in self.network if f.parent_id is None]  # direct forks: what /forks lists
        self._children: dict[int, list[int]] = {}
        for f in self.network:
            if f.parent_id is not None:
                self._children.setdefault(f.parent_id, []).append(f.github_id)
        # Newest first, like `git log` and the commits API.
        self.commits: list[SimCommit] = sorted(
            (c for c in repo.commits if c.authored_at < horizon), key=lambda c: c.authored_at, reverse=True
        )
        self._times = sorted(c.authored_at.timestamp() for c in self.commits)
        self._contributors: dict[bool, list[Contributor]] = {}

    @property
    def stars(self) -> int:
        return sum(self.star_days.values())

    def descendants(self, fork_id: int) -> int:
        """Forks of this fork, at any depth (a fork's own `forks_count`)."""
        below = self._children.get(fork_id, [])
        return len(below) + sum(self.descendants(child) for child in below)

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
        # GitHub: "only the first 500 author email addresses in the repository link to GitHub users or
        # accounts"; later emails count as anonymous, one entry per email, even a user's. "First" here is
        # the order of each email's oldest commit.
        order: dict[str, int] = {}
        users: dict[int, Contributor] = {}
        emails: dict[str, Contributor] = {}
        for c in reversed(self.commits):  # oldest first, so the first name seen is kept
            key = c.author_email.lower()
            rank = order.setdefault(key, len(order))
            if c.author_user_id is not None and rank < self.linked_email_cap:
                old = users.get(c.author_user_id)
                n = old.contributions + 1 if old else 1
                name, email = (old.name, old.email) if old else (c.author_name, c.author_email)
                users[c.author_user_id] = Contributor(c.author_user_id, c.author_login, name, email, n)
            else:
                olde = emails.get(key)
                name = olde.name if olde else c.author_name
                email = olde.email if olde else c.author_email
                n = olde.contributions + 1 if olde else 1
                emails[key] = Contributor(None, None, name, email, n)
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

    def star_weeks(self, zone: str = "UTC") -> list[tuple[int, list[int]]]:
        """Every week from the creation week to today's, newest first: (week start unix time, Sun..Sat).

        Days and weeks are those of `zone`: GitHub says its boundaries are "not guaranteed to align with
        UTC" (facts sheet §12). Each standing star counts on the day it was given.
        """
        if zone == "UTC":
            days: Mapping[date, int] = self.star_days
            first_day = self.repo.created_at.astimezone(UTC).date()
            last_day = self.today
        else:
            tz = ZoneInfo(zone)
            days = self._local_star_days(tz)
            first_day = self.repo.created_at.astimezone(tz).date()
            last_day = (end_of(self.today) - timedelta(microseconds=1)).astimezone(tz).date()
        if days:
            first_day = min(first_day, min(days))
        first, last = week_start(first_day), week_start(last_day)
        n = (last - first).days // 7 + 1
        weeks = [(first + timedelta(weeks=i), [0] * 7) for i in range(n)]
        for d, added in days.items():
            weeks[(week_start(d) - first).days // 7][1][(d.weekday() + 1) % 7] += added
        weeks.reverse()
        if zone == "UTC":
            return [(unix_day(w), counts) for w, counts in weeks]
        tz = ZoneInfo(zone)
        return [(int(datetime.combine(w, time(0), tzinfo=tz).timestamp()), counts) for w, counts in weeks]

    def _local_star_days(self, tz: ZoneInfo) -> Counter[date]:
        """Standing stars per day of `tz`: star_events' moments, counted a UTC day at a time."""
        out: Counter[date] = Counter()
        created = self.repo.created_at
        for d, given in self._given.items():
            standing = self.star_days.get(d, 0)
            base = datetime.combine(d, time(0), tzinfo=UTC)
            if base < created:  # the creation day's stars wait for the creation: count them one by one
                for i in range(standing):
                    at = max(base + timedelta(seconds=(i * 86399) // given), created)
                    out[at.astimezone(tz).date()] += 1
                continue
            first = base.astimezone(tz).date()
            midnight = datetime.combine(first + timedelta(days=1), time(0), tzinfo=tz)
            split = math.ceil(
                (midnight - base).total_seconds()
            )  # star i is local `first` if i*86399//given < split
            before = min(standing, -(-split * given // 86399))
            out[first] += before
            if standing > before:
                out[first + timedelta(days=1)] += standing - before
        return out

    def star_events(self) -> list[tuple[datetime, int]]:
        """Individual stars still standing, oldest first: (starred_at, stargazer index).

        A day's stars are spread over the day (never before the repository's creation); the ones withdrawn
        from a day are its latest, so every stargazer keeps its index and time.
        """
        standing: list[tuple[datetime, int]] = []
        serial = 0
        for d, given in self._given.items():
            base = datetime.combine(d, time(0), tzinfo=UTC)
            for i in range(self.star_days.get(d, 0)):
                at = max(base + timedelta(seconds=(i * 86399) // given), self.repo.created_at)
                standing.append((at, serial + i))
            serial += given
        return standing


def page_of(items: Sequence[T], page: int, per_page: int) -> Sequence[T]:
    """Items on a 1-based page."""
    return items[(page - 1) * per_page : page * per_page]
