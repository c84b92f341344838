"""The `edge` scenario's repositories: deleted, DMCA-blocked, too many contributors, empty, renamed twice...

Three are partly hand-made: a fork network with forks of forks, a repository whose authors use more
emails than a small `linked_email_cap`, some users under two addresses, and one of long and strange
values (strange_repos). The numbers are literal so tests can state them (see the constants).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from collector.testing.model import SimCommit, SimFork, SimRepo
from collector.testing.repo_builder import Ids, Spec, build_repo
from collector.testing.strange_repos import strange_repo

NETWORK_DIRECT_FORKS = 30
NETWORK_CHILD_FORKS = 10  # forks of direct forks
NETWORK_GRANDCHILD_FORKS = 2  # forks of those: 12 forks of forks in all
MANY_EMAILS_PEOPLE = 24  # half linked users (each also commits under a noreply address), half bare emails
MANY_EMAILS_DISTINCT = 38  # 24 first addresses, 12 second ones, 2 of a latecomer user


def with_forks_of_forks(repo: SimRepo, today: date, take_id: Callable[[date], int]) -> SimRepo:
    """`repo` (with its direct forks) plus forks of forks, each created after its parent."""
    horizon = datetime.combine(today, time.max, UTC)
    direct = [f for f in repo.forks if f.parent_id is None]
    added: list[SimFork] = []

    def child(parent: SimFork, n: int) -> SimFork:
        created = parent.created_at + min(timedelta(days=3 + n), (horizon - parent.created_at) / 2)
        return SimFork(take_id(created.date()), f"{parent.owner_login}-fan{n}", created, parent.github_id)

    for n in range(NETWORK_CHILD_FORKS):
        added.append(child(direct[(3 * n) % len(direct)], n))
    for n in range(NETWORK_GRANDCHILD_FORKS):
        added.append(child(added[n], NETWORK_CHILD_FORKS + n))
    forks = sorted([*repo.forks, *added], key=lambda f: (f.created_at, f.github_id))
    return replace(repo, forks=forks)


def many_emails_repo(github_id: int, created: datetime) -> SimRepo:
    """edge-org/many-emails: 38 distinct author emails in the order of their first commits."""
    people: list[tuple[str, str, str | None, int | None, str | None]] = []  # name, email, 2nd, id, login
    for i in range(MANY_EMAILS_PEOPLE):
        if i % 2 == 0:
            noreply = f"{7_000_000 + i}+author{i}@users.noreply.github.com"
            people.append((f"Author {i}", f"author{i}@example.com", noreply, 7_000_000 + i, f"author{i}"))
        else:
            people.append((f"Author {i}", f"author{i}@example.com", None, None, None))
    plan: list[tuple[int, bool]] = [(i, False) for i in range(MANY_EMAILS_PEOPLE)]  # first addresses
    plan += [(i, True) for i in range(0, MANY_EMAILS_PEOPLE, 2)]  # then the users' second addresses
    plan += [(i, False) for i in range(MANY_EMAILS_PEOPLE)]  # everyone again
    commits: list[SimCommit] = []
    for k, (i, second) in enumerate(plan):
        name, email, other, user_id, login = people[i]
        at = created + timedelta(days=5 * k, hours=1)
        used = other if second and other is not None else email
        commits.append(SimCommit(f"{0xE000 + k:040x}", at, name, used, user_id, login))
    late = created + timedelta(days=5 * len(plan), hours=1)  # a user whose both addresses come last
    for k, email in enumerate(("late@example.com", "7000100+latecomer@users.noreply.github.com")):
        sha = f"{0xE100 + k:040x}"
        commits.append(SimCommit(sha, late + timedelta(hours=k), "Late Comer", email, 7_000_100, "latecomer"))
    return SimRepo(
        github_id=github_id,
        owner="edge-org",
        name="many-emails",
        created_at=created,
        description="More author emails than a small linked-email cap",
        default_branch="main",
        star_days={created.date(): 3},
        commits=commits,
    )


def build_edge(day: date) -> list[SimRepo]:
    """A few awkward repositories, as of `day`."""
    ids = Ids()
    created = datetime.combine(day - timedelta(days=400), time(9, 30), UTC)
    small = {"stars": [(day, 120)], "forks": [(day, 9)], "contributors": [(day, 4)]}

    def spec(name: str, **extra: object) -> Spec:
        fields: dict[str, object] = {"anchors": small, "commits": 20, "default_branch": "main"} | extra
        return Spec(f"edge-org/{name}", ids.near(created.date()), created, **fields)  # type: ignore[arg-type]

    specs = [
        spec("deleted-repo", status="deleted"),
        spec("dmca-blocked", status="blocked"),
        spec(
            "huge-history",
            anchors={"stars": [(day, 2_000)], "forks": [(day, 150)], "contributors": [(day, 60)]},
            commits=300,
            contributors_too_large=True,
        ),
        spec("empty-repo", anchors={}, commits=0),
        spec("renamed-twice", former_names=("edge-first/original-name", "edge-second/middle-name")),
        spec(
            "html-description",
            description='<b>Fast</b> &amp; "safe" <img src=x onerror=alert(1)><script>alert("xss")</script>',
        ),
        spec("fork-network", anchors={**small, "forks": [(day, 30)]}),  # forks of forks added below
    ]
    repos = [repo for s in specs if (repo := build_repo(s, day, ids, seed=0)) is not None]
    repos[-1] = with_forks_of_forks(repos[-1], day, ids.near)
    repos.append(many_emails_repo(ids.near(created.date()), created))
    fork_ids = (ids.near(created.date() + timedelta(days=2)), ids.near(created.date() + timedelta(days=4)))
    repos.append(strange_repo(ids.near(created.date()), created, fork_ids))
    return repos
