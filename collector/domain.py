"""The domain core: what we measure, as frozen dataclasses, and pure helpers. No I/O here."""

from __future__ import annotations

import os
import re
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from collector.errors import InvalidGroupRule, InvalidRepoName

_REPO_RE = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")

METRICS = ("stars", "forks", "contributors", "commits")


@dataclass(frozen=True, order=True)
class RepoName:
    """A validated `owner/name`. Compare with `.key` for GitHub's case-insensitive identity."""

    owner: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def key(self) -> str:
        return self.full_name.lower()

    def __str__(self) -> str:
        return self.full_name


def parse_repo_name(text: str) -> RepoName:
    """Validate OWNER/NAME before anything is sent anywhere; raise InvalidRepoName otherwise."""
    shown = text.encode("unicode_escape").decode("ascii")
    if not _REPO_RE.fullmatch(text):
        raise InvalidRepoName(
            f"invalid repository name {shown!r}: expected OWNER/NAME with letters, digits, '-', and in the "
            "name also '.' and '_' (e.g. tensorflow/tensorflow)"
        )
    owner, name = text.split("/")
    if ".." in name or name in (".", ".."):
        raise InvalidRepoName(
            f"invalid repository name {shown!r}: '..' and '.' are not allowed; expected OWNER/NAME"
        )
    return RepoName(owner, name)


def week_start(day: date) -> date:
    """The Sunday (UTC) that begins the week containing `day`, as in GitHub's statistics."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def month_start(day: date) -> date:
    """The first day of the calendar month containing `day`."""
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the calendar month after the one containing `day`."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def utc_now() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Holder:
    """Who holds a lease or runs a job: a process on a host. Stored as `host:pid:nonce[:boot:pidns:start]`;
    the nonce tells apart two processes that got the same pid (a restarted container), and the process
    identity (the kernel's boot id, the pid namespace and the process start time, when /proc has them)
    lets another process on the same host prove that this one is gone."""

    host: str
    pid: int
    nonce: str
    boot: str = ""  # the first 8 hex digits of /proc/sys/kernel/random/boot_id
    pidns: str = ""  # the inode of /proc/self/ns/pid: two containers' pid 1 are different processes
    started: int = 0  # field 22 of /proc/<pid>/stat: clock ticks after boot when the process started

    @classmethod
    def for_this_process(cls) -> Holder:
        pid = os.getpid()
        boot, pidns, started = process_identity(pid)
        return cls(socket.gethostname(), pid, uuid.uuid4().hex[:6], boot, pidns, started)

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        """The holder stored as `text`, or None when it is not one of ours."""
        host, _, rest = text.partition(":")
        pid, _, rest = rest.partition(":")
        nonce, _, rest = rest.partition(":")
        if not (host and pid.isdigit() and nonce):
            return None
        boot, pidns, started = (rest.split(":") + ["", "", ""])[:3]
        return cls(host, int(pid), nonce, boot, pidns, int(started) if started.isdigit() else 0)

    @property
    def identified(self) -> bool:
        """Whether the process identity is known (older versions stored only host, pid and nonce)."""
        return bool(self.boot and self.pidns and self.started)

    def __str__(self) -> str:
        base = f"{self.host}:{self.pid}:{self.nonce}"
        return f"{base}:{self.boot}:{self.pidns}:{self.started}" if self.identified else base


def process_identity(pid: int) -> tuple[str, str, int]:
    """(boot id, pid namespace, start time) of process `pid` as this process sees it; empty or 0 where
    /proc does not say (another OS, or no such process)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").replace("-", "")[:8]
        pidns = os.readlink("/proc/self/ns/pid").removeprefix("pid:[").removesuffix("]")
    except OSError:
        return "", "", 0
    return boot, pidns, process_start(pid)


def process_start(pid: int) -> int:
    """When process `pid` started (clock ticks after boot), or 0 when there is no such process here."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0
    # The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    fields = stat.rpartition(")")[2].split()
    return int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else 0


@dataclass(frozen=True)
class Repository:
    """A repository as GitHub describes it."""

    github_id: int
    full_name: str
    created_at: datetime | None = None
    archived: bool = False
    primary_language: str | None = None
    description: str | None = None
    default_branch: str | None = None
    node_id: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """The counters observed for a repository at one moment."""

    observed_at: datetime
    stars: int
    forks: int
    watchers: int
    open_issues: int
    contributors: int | None = None
    commits_52w: int | None = None
    archived: bool = False


@dataclass(frozen=True)
class HistoryPoint:
    """A reconstructed value at day or week grain: additions on `day` (or in the week it starts)."""

    metric: str
    day: date
    value: int
    source: str


@dataclass(frozen=True)
class ReleaseAsset:
    """A file attached to a release and its running download total (GitHub keeps no history of it)."""

    name: str
    download_count: int


@dataclass(frozen=True)
class Release:
    """A published release (drafts are never stored) and its assets as observed now."""

    tag: str
    name: str | None
    published_at: datetime | None
    prerelease: bool
    assets: tuple[ReleaseAsset, ...] = ()


@dataclass(frozen=True)
class ForkScale:
    """How the rebuilt fork series was scaled to GitHub's count (the whole fork network)."""

    observed: int | None  # forkCount of the latest snapshot; None when never observed
    direct: int  # direct forks listed that were created up to that snapshot (all of them without one)
    factor: float  # observed / direct; 1 when there is nothing to scale to


def compute_scaled_additions(additions: dict[date, int], observed: int, direct: int) -> dict[date, int]:
    """Daily additions whose running total at each day is round(direct running total * observed / direct).

    Rounded half up in integers, so the total reaches `observed` exactly where the direct total reaches
    `direct`, never decreases, and days whose rounded total does not move get no addition.
    """
    out: dict[date, int] = {}
    running = shown = 0
    for day in sorted(additions):
        running += additions[day]
        total = (2 * running * observed + direct) // (2 * direct)
        if total != shown:
            out[day] = total - shown
            shown = total
    return out


@dataclass(frozen=True)
class ForkInfo:
    """A direct fork and when it was created."""

    github_id: int
    created_at: datetime


@dataclass(frozen=True)
class BudgetRecord:
    """A budget as persisted in `token_budgets` (position and one-way key, never the value)."""

    token_key: str
    position: int
    resource: str
    limit: int
    remaining: int
    reset_at: datetime


@dataclass(frozen=True)
class CachedResponse:
    """A 200 response worth replaying on a 304: its validators, the headers we need, and the body."""

    status: int
    etag: str | None
    last_modified: str | None
    headers: dict[str, str]  # only those worth replaying (link, content-type)
    body: bytes


RULE_KINDS = ("topic", "org", "user", "search")
_LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_TOPIC_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")


@dataclass(frozen=True)
class GroupRule:
    """A group GitHub defines: the repositories with a topic, of an organisation or a user, or matching a
    search. Forks are left out and archived repositories kept unless told otherwise (what a popularity
    comparison wants)."""

    kind: str  # one of RULE_KINDS
    value: str
    min_stars: int = 0
    include_forks: bool = False
    include_archived: bool = True

    def describe(self) -> str:
        extras = [f"stars >= {self.min_stars}"] if self.min_stars else []
        extras += ["forks included"] if self.include_forks else []
        extras += [] if self.include_archived else ["archived left out"]
        return f"{self.kind} {self.value!r}" + (f" ({', '.join(extras)})" if extras else "")

    def admits(self, stars: int, fork: bool, archived: bool) -> bool:
        """Whether a repository with these properties belongs (listings are filtered here, searches by
        their qualifiers too)."""
        return (
            stars >= self.min_stars
            and (self.include_forks or not fork)
            and (self.include_archived or not archived)
        )

    def search_query(self) -> str:
        """The GitHub search query for a topic or search rule, with the rule's filters as qualifiers."""
        base = f"topic:{self.value}" if self.kind == "topic" else self.value
        parts = [base]
        if self.include_forks and "fork:" not in base:
            parts.append("fork:true")
        if not self.include_archived and "archived:" not in base:
            parts.append("archived:false")
        return " ".join(parts)


def make_group_rule(
    kind: str, value: str, min_stars: int = 0, include_forks: bool = False, include_archived: bool = True
) -> GroupRule:
    """A checked GroupRule; InvalidGroupRule names what is wrong and what is expected."""
    text = value.strip()
    if kind not in RULE_KINDS:
        raise InvalidGroupRule(f"rule {kind!r} is unknown; expected one of {', '.join(RULE_KINDS)}")
    if kind in ("org", "user") and not _LOGIN_RE.fullmatch(text):
        raise InvalidGroupRule(f"{kind} {value!r} is not a GitHub login (letters, digits and '-')")
    if kind == "topic" and not _TOPIC_RE.fullmatch(text):
        raise InvalidGroupRule(
            f"topic {value!r} is not a GitHub topic (lowercase letters, digits and '-', at most 50)"
        )
    if kind == "search" and not text:
        raise InvalidGroupRule("search: the query is empty; give GitHub search syntax such as 'stars:>1000'")
    if min_stars < 0:
        raise InvalidGroupRule(f"min_stars is {min_stars}; expected 0 or more")
    return GroupRule(kind, text, min_stars, include_forks, include_archived)


class GroupMember(NamedTuple):
    """A repository's membership of a rule group: the day discovery found it, and the day it left (a named
    tuple: a group can hold ten thousand, read for every page about it)."""

    repo_id: int
    joined_on: date
    left_on: date | None = None
    fixed: bool = False  # listed in the group's `repos`, not found by its rule
