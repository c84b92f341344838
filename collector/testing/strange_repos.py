"""The `edge` scenario's repository of long and strange values: every string at GitHub's longest, and text
that is not plain ASCII.

GitHub's limits: a login has at most 39 characters (letters, digits, single hyphens), a repository name
at most 100 (letters, digits, '.', '-', '_'), a description at most 350, a topic at most 50 (lower-case
letters, digits, hyphens: no room for anything strange). Git itself takes any author name and email
without NUL, '<', '>' or a newline, and GitHub shows them as committed; an email has at most 254
characters (RFC 5321). The numbers are literal so tests can state them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from collector.testing.model import SimCommit, SimFork, SimRepo

LONG_OWNER = "edge-" + "o" * 34  # 39 characters
LONG_NAME = "long.values_" + "n" * 88  # 100 characters
LONG_FORMER_NAME = f"{LONG_OWNER}/old-" + "n" * 96  # a rename alias, 100 characters after the owner
LONG_LOGIN = "l" + "-x" * 19  # 39 characters, a linked commit author
LONG_EMAIL = "anonymous." + "a" * 54 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".org"  # 254
LONG_TOPIC = "long-topic-" + "t" * 39  # 50 characters

# Text that looks like Rich markup, an ANSI escape, tab, DEL, right-to-left override, Hebrew and Arabic,
# emoji with skin tones and zero-width joiners, wide CJK: padded to exactly 350 characters.
# The strangest part comes first: terminal tables keep only the start of a description.
_DESCRIPTION_START = (
    "\x1b[2J\x1b[31m\t[bold red]not markup[/bold red]\x7f \u202eevil\u202c 🦀👩🏽‍💻 漢字 שלום עולם "
    "مرحبا بالعالم [link=https://example.com]x[/link] 👨‍👩‍👧‍👦 テスト "
)
LONG_DESCRIPTION = _DESCRIPTION_START + "." * (350 - len(_DESCRIPTION_START))

# name, email, user id, login: four anonymous identities and one linked user; the first one commits again
# with its email in capitals (still one identity: GitHub compares emails case-insensitively).
STRANGE_AUTHORS: tuple[tuple[str, str, int | None, str | None], ...] = (
    ("Zoë \u202eresU\u202c 🦀", LONG_EMAIL, None, None),
    ("مطوّر مجهول", "δοκιμή@παράδειγμα.δοκιμή", None, None),
    ("Tab\tEsc\x1b[2JDel\x7f [bold]Bold[/bold]", "ctrl@example.com", None, None),
    ("👩🏽‍💻 " + "W" * 200, "wide-" + "w" * 59 + "@example.com", None, None),
    ("Long Login", f"7100000+{LONG_LOGIN}@users.noreply.github.com", 7_100_000, LONG_LOGIN),
)
STRANGE_CONTRIBUTORS = len(STRANGE_AUTHORS)
STRANGE_STARS = 7
STRANGE_FORKS = 2


def strange_repo(github_id: int, created: datetime, fork_ids: tuple[int, int]) -> SimRepo:
    """The repository of long and strange values, created at `created` with two forks."""
    commits: list[SimCommit] = []
    for k, (name, email, user_id, login) in enumerate([*STRANGE_AUTHORS, *STRANGE_AUTHORS[:1]]):
        if k == len(STRANGE_AUTHORS):  # the first author again, the email in capitals
            email = email.upper()
        at = created + timedelta(days=3 * k, hours=2)
        commits.append(SimCommit(f"{0x5700 + k:040x}", at, name, email, user_id, login))
    forks = [
        SimFork(fork_ids[0], LONG_LOGIN, created + timedelta(days=2)),
        SimFork(fork_ids[1], "f" * 39, created + timedelta(days=4)),
    ]
    return SimRepo(
        github_id=github_id,
        owner=LONG_OWNER,
        name=LONG_NAME,
        created_at=created,
        description=LONG_DESCRIPTION,
        language="Objective-C++",
        default_branch="main",
        former_names=[LONG_FORMER_NAME],
        star_days={created.date(): 4, (created + timedelta(days=1)).date(): 3},
        forks=forks,
        commits=commits,
        topics=(LONG_TOPIC, "rtl", "unicode"),
    )
