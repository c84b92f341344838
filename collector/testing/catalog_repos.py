"""The `catalog-N` scenarios' repositories: many light ones, for search and account listings at scale.

Every fourth repository (the first, the fifth...) has the topic "deep-learning": catalog-10000 has 2,500
of them, far more than the 1,000 results a search reaches. Stars spread log-uniformly from 1 to about
200,000, so low counts are shared by many repositories, yet no single count by more than ~4% of them
(under 1,000 of the topic's repositories while N stays under ~100,000). Owners are organizations
(`catalog-org-007`) and user accounts (`catalog-user-0042`); about 6% of the repositories are forks of
an earlier one (owned by a user, never with the topic, listed among their parent's forks with the same
id) and about 8% are archived. Each repository carries few events (stars on at most three days, one to
three commits, at most six forks), so 10,000 of them build in about a second.
"""

from __future__ import annotations

import bisect
import random
from datetime import UTC, date, datetime, time

from collector.testing.model import SimAccount, SimCommit, SimFork, SimRepo
from collector.testing.repo_builder import Ids
from collector.testing.synthetic_repos import pick_topics

CATALOG_TOPIC = "deep-learning"
_EPOCH = date(2009, 1, 1)
_LANGUAGES = ("Python", "Python", "C++", "Jupyter Notebook", "Go", "Rust", "Java", "JavaScript", None)
_FIRST = "tensor vision graph speech deep auto fast tiny neural data sparse quantum".split()
_SECOND = "lab kit net flow zoo bench hub forge core tools".split()
_ABOUT = (
    "A {a} {b} for research",
    "Fast {a} models in a small {b}",
    "Experiments with {a} networks",
    "Train {a} models on GPUs",
    "{a} {b}: reproducible benchmarks",
)


def catalog_topic_count(n: int) -> int:
    """How many of catalog-N's repositories carry CATALOG_TOPIC (none of them is a fork)."""
    return (n + 3) // 4


class _Builder:
    """Builds the repositories one by one from one seeded generator."""

    def __init__(self, n: int, today: date, seed: int) -> None:
        self.rng = random.Random(f"catalog/{seed}/{n}")
        self.today = today
        self.horizon = datetime.combine(today, time.max, UTC)
        self.ids = Ids()
        self.orgs = [
            SimAccount(f"catalog-org-{i:03d}", "Organization", 30_000_000 + i) for i in range(n // 40 + 1)
        ]
        self.users = [SimAccount(f"catalog-user-{i:04d}", "User", 40_000_000 + i) for i in range(n // 25 + 2)]
        self.epoch = datetime.combine(_EPOCH, time(), UTC)
        self.repos: list[SimRepo] = []
        self.sources: list[SimRepo] = []  # the repositories that are no fork
        self.names: set[str] = set()

    def moment(self, after: datetime) -> datetime:
        """A random moment from `after` to the end of today."""
        return after + (self.horizon - after) * self.rng.random()

    def star_days(self, created: datetime, stars: int) -> dict[date, int]:
        """`stars` given on up to three days: half at launch, then later."""
        days = sorted({created.date(), self.moment(created).date(), self.moment(created).date()})
        out: dict[date, int] = {}
        left = stars
        for k, day in enumerate(days):
            n = left if k == len(days) - 1 else stars // 2 if k == 0 else left // 2
            if n > 0:
                out[day] = out.get(day, 0) + n
            left -= n
        return out

    def commits(self, repo: SimRepo, author: SimAccount, last: datetime) -> list[SimCommit]:
        """One to three commits by `author`, the newest at `last`."""
        earlier = [
            repo.created_at + (last - repo.created_at) * self.rng.random()
            for _ in range(self.rng.randint(0, 2))
        ]
        email = f"{author.github_id}+{author.login}@users.noreply.github.com"
        return [
            SimCommit(
                f"{self.rng.getrandbits(160):040x}", at, author.login, email, author.github_id, author.login
            )
            for at in sorted([*earlier, last])
        ]

    def original(self, index: int) -> SimRepo:
        """A repository of its own: every fourth one has the topic."""
        rng = self.rng
        owner = rng.choice(self.orgs) if rng.random() < 0.6 else rng.choice(self.users)
        created = self.moment(self.epoch)
        a, b = rng.choice(_FIRST), rng.choice(_SECOND)
        others = tuple(t for t in pick_topics(rng) if t != CATALOG_TOPIC)
        topics = tuple(sorted({CATALOG_TOPIC, *others})) if index % 4 == 0 else others
        stars = int(10 ** rng.uniform(0.3, 5.3))
        archived = rng.random() < 0.08
        repo = SimRepo(
            github_id=self.ids.near(created.date()),
            owner=owner.login,
            name=f"{a}-{b}-{index:05d}",
            created_at=created,
            description=rng.choice(_ABOUT).format(a=a, b=b).capitalize(),
            language=rng.choice(_LANGUAGES),
            archived=archived,
            default_branch="main",
            star_days=self.star_days(created, stars),
            watchers=max(1, stars // 30),
            open_issues=rng.randint(0, max(1, min(stars // 100, 500))),
            topics=topics,
        )
        for k in range(min(stars // 200, 6)):
            at = self.moment(created)
            bisect.insort(repo.forks, SimFork(self.ids.near(at.date()), f"fan{k}-{index}", at), key=_when)
        share = rng.uniform(0.1, 0.4) if archived else rng.uniform(0.7, 1.0)  # archived: it stopped early
        last = created + (self.horizon - created) * share
        author = owner if owner.kind == "User" else rng.choice(self.users)
        repo.commits = self.commits(repo, author, last)
        return repo

    def fork(self, index: int, parent: SimRepo) -> SimRepo | None:
        """A user's fork of `parent`, with a few stars of its own; None if that user has one already."""
        rng = self.rng
        pick = rng.randrange(len(self.users))
        owner = self.users[pick]
        if owner.login == parent.owner:
            owner = self.users[(pick + 1) % len(self.users)]
        if f"{owner.login}/{parent.name}".lower() in self.names:
            return None
        created = self.moment(parent.created_at)
        repo = SimRepo(
            github_id=self.ids.near(created.date()),
            owner=owner.login,
            name=parent.name,
            created_at=created,
            description=parent.description,
            language=parent.language,
            archived=rng.random() < 0.08,
            default_branch=parent.default_branch,
            star_days=self.star_days(created, int(10 ** rng.uniform(0, 1.3)) - 1),
            topics=tuple(t for t in pick_topics(rng) if t != CATALOG_TOPIC),
            fork_parent=parent.github_id,
        )
        repo.commits = self.commits(repo, owner, self.moment(created))
        bisect.insort(parent.forks, SimFork(repo.github_id, owner.login, created), key=_when)
        return repo

    def add(self, index: int) -> None:
        made = None
        if index % 4 and self.sources and self.rng.random() < 0.06:
            made = self.fork(index, self.rng.choice(self.sources))
        if made is None:
            made = self.original(index)
            self.sources.append(made)
        self.names.add(made.full_name.lower())
        self.repos.append(made)


def _when(fork: SimFork) -> tuple[datetime, int]:
    return fork.created_at, fork.github_id


def build_catalog(n: int, today: date, seed: int) -> tuple[list[SimRepo], list[SimAccount]]:
    """N repositories and their owners' accounts; the same arguments give the same ones."""
    builder = _Builder(n, today, seed)
    for index in range(n):
        builder.add(index)
    return builder.repos, [*builder.orgs, *builder.users]
