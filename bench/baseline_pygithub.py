"""The baseline: what a user would otherwise write, a plain loop over PyGithub.

Written once, the way PyGithub's documentation shows it, with PyGithub's defaults (it waits 0.25 s between
requests and sleeps 2 s before retrying a 202) except `per_page=100`, which anyone listing forks or commits
would set. It keeps its results in memory: it stores nothing, so the collector's database writes are extra
work the baseline does not do. PyGithub has no method for `/stargazers/history` (2026), so that endpoint
goes through `gh.requester`, following `Link` rel="next" by hand.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from github import Auth, Github, GithubException

STAR_HISTORY_VERSION = "2026-03-10"  # the endpoint needs this API version (facts sheet §1)
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def make_github(base_url: str, token: str, *, seconds_between_requests: float | None = 0.25) -> Github:
    """A PyGithub client for `base_url` with PyGithub's defaults, except 100 items a page."""
    return Github(
        base_url=base_url,
        auth=Auth.Token(token),
        per_page=100,
        seconds_between_requests=seconds_between_requests,
    )


@dataclass
class Counters:
    """One repository's current numbers, as the loop computes them."""

    stars: int
    forks: int
    watchers: int
    open_issues: int
    contributors: int | None
    commits_52w: int | None


def collect_pass(gh: Github, names: list[str]) -> tuple[dict[str, Counters], dict[str, str]]:
    """One pass over `names`: counters, contributors (anonymous included) and 52-week commits."""
    rows: dict[str, Counters] = {}
    errors: dict[str, str] = {}
    for name in names:
        try:
            repo = gh.get_repo(name)
            contributors = repo.get_contributors(anon="true").totalCount
            activity = repo.get_stats_commit_activity()  # PyGithub sleeps 2 s and retries on a 202
            rows[name] = Counters(
                stars=repo.stargazers_count,
                forks=repo.forks_count,
                watchers=repo.subscribers_count,
                open_issues=repo.open_issues_count,
                contributors=contributors,
                commits_52w=sum(week.total for week in activity) if activity is not None else None,
            )
        except GithubException as exc:
            errors[name] = f"{exc.status}: {exc.data}"
    return rows, errors


@dataclass
class History:
    """One repository's reconstructed history: additions per day, and each identity's first commit."""

    stars: Counter[date] = field(default_factory=Counter)
    forks: Counter[date] = field(default_factory=Counter)
    first_commit: dict[str, datetime] = field(default_factory=dict)

    def contributors_per_day(self) -> Counter[date]:
        """New contributors per UTC day."""
        return Counter(at.astimezone(UTC).date() for at in self.first_commit.values())


def star_history(gh: Github, full_name: str) -> Counter[date]:
    """Stars added per day from /stargazers/history (weeks with a Sunday-first daily breakdown)."""
    days: Counter[date] = Counter()
    url: str | None = f"/repos/{full_name}/stargazers/history"
    params: dict[str, int] | None = {"per_page": 30}
    while url:
        headers, weeks = gh.requester.requestJsonAndCheck(
            "GET", url, parameters=params, headers={"X-GitHub-Api-Version": STAR_HISTORY_VERSION}
        )
        for week in weeks or []:
            start = datetime.fromtimestamp(week["week"], UTC).date()
            for offset, added in enumerate(week["days"]):
                if added:
                    days[start + timedelta(days=offset)] += added
        found = _NEXT.search(headers.get("link", ""))
        url, params = (found.group(1), None) if found else (None, None)  # the next URL carries the params
    return days


def backfill(gh: Github, names: list[str]) -> tuple[dict[str, History], dict[str, str]]:
    """Stars (history endpoint), forks (listing) and contributors over time (commit walk) per repository."""
    out: dict[str, History] = {}
    errors: dict[str, str] = {}
    for name in names:
        try:
            repo = gh.get_repo(name)
            history = History(stars=star_history(gh, repo.full_name))
            for fork in repo.get_forks():
                history.forks[fork.created_at.astimezone(UTC).date()] += 1
            for commit in repo.get_commits():
                git_author = commit.commit.author
                # GitHub counts a commit by its linked account, or else by its author email.
                identity = f"u:{commit.author.id}" if commit.author else f"e:{git_author.email.lower()}"
                first = history.first_commit.get(identity)
                if first is None or git_author.date < first:
                    history.first_commit[identity] = git_author.date
            out[name] = history
        except GithubException as exc:
            errors[name] = f"{exc.status}: {exc.data}"
    return out, errors
