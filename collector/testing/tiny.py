"""A tiny hand-made scenario with one repository per behaviour, for fast tests of the simulator and client.

The numbers are small and literal so a test can state them: see the constants below.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from collector.testing.model import Scenario, SimCommit, SimFork, SimRepo

TODAY = date(2017, 1, 3)  # a Tuesday: the week containing it starts on Sunday 2017-01-01
ROCKET_STARS = 61
ROCKET_FORKS = 5
ROCKET_COMMITS = 40
ROCKET_CONTRIBUTORS = 5  # 3 linked users + 2 anonymous emails


def _sha(n: int) -> str:
    return f"{n:040x}"


def _rocket() -> SimRepo:
    created = datetime(2015, 11, 7, 12, 0, tzinfo=UTC)
    people = [
        ("Ada", "ada@example.com", 11, "ada"),
        ("Bob", "bob@example.com", 12, "bob"),
        ("Acme Bot", "bot@acme.example", 13, "acme"),  # the owner account (participation's "owner")
        ("Eve", "eve@example.org", None, None),
        ("Mallory", "mallory@example.net", None, None),
    ]
    commits = []
    start = datetime(2016, 1, 1, 9, 30, tzinfo=UTC)
    for i in range(ROCKET_COMMITS):
        name, email, uid, login = people[i % 5 if i < 30 else i % 2]  # Ada and Bob dominate the recent weeks
        commits.append(
            SimCommit(_sha(1000 + i), start + timedelta(days=9 * i, hours=i % 7), name, email, uid, login)
        )
    star_days = {
        date(2015, 11, 8): 10,
        date(2015, 11, 9): 5,
        date(2016, 3, 1): 20,
        date(2016, 3, 2): -2,  # net: someone unstarred
        date(2016, 12, 31): 8,  # a Saturday
        date(2017, 1, 1): 15,  # a Sunday: first day of today's week
        date(2017, 1, 3): 5,
    }
    forks = [
        SimFork(5000 + i, f"forker{i}", created + timedelta(days=30 * (i + 1), hours=i))
        for i in range(ROCKET_FORKS)
    ]
    return SimRepo(
        github_id=1001,
        owner="acme",
        name="rocket",
        created_at=created,
        description="Rockets, simulated",
        language="Python",
        former_names=["olduser/rocket"],
        star_days=star_days,
        forks=forks,
        commits=commits,
        watchers=7,
        open_issues=3,
    )


def tiny_scenario(today: date = TODAY) -> Scenario:
    """acme/rocket (formerly olduser/rocket) plus an empty, deleted, blocked, too-large and archived repo."""
    t0 = datetime(2016, 6, 1, tzinfo=UTC)
    one = [
        SimCommit(_sha(9000 + i), t0 + timedelta(days=i), "Z", f"z{i}@example.com", None, None)
        for i in range(3)
    ]
    return Scenario(
        name="tiny",
        today=today,
        repos=[
            _rocket(),
            SimRepo(1002, "acme", "empty", t0),
            SimRepo(1003, "acme", "gone", t0, status="deleted", former_names=["acme/gone-old"]),
            SimRepo(1004, "acme", "blocked", t0, status="blocked"),
            SimRepo(1005, "acme", "huge", t0, commits=one, contributors_too_large=True),
            SimRepo(1006, "acme", "attic", t0, archived=True, star_days={date(2016, 6, 2): 4}, commits=one),
        ],
    )
