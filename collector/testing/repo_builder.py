"""The builder behind the simulator's scenarios: from a repository's cumulative anchors to its events.

Every repository is described by cumulative anchors (day, value) per metric; the builder interpolates
between them, spreads each segment over its days with deterministic jitter, and turns the daily counts
into events (star days, one SimFork per fork, commits whose distinct authors are the contributors).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt

from collector.testing.model import SimCommit, SimFork, SimRepo

METRICS = ("stars", "forks", "contributors")

Anchor = tuple[date, int]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Spec:
    """What the builder needs to know about one repository."""

    full_name: str
    github_id: int
    created_at: datetime
    anchors: Mapping[str, Sequence[Anchor]]  # cumulative values per metric, excluding creation
    commits: int  # commits to simulate over the whole life (already scaled)
    last_commit: date | None = None  # no commits (so no new contributors) after this day
    archived: bool = False
    description: str | None = None
    language: str | None = None
    former_names: tuple[str, ...] = ()
    watchers: int = 0
    open_issues: int = 0
    status: str = "ok"
    contributors_too_large: bool = False
    default_branch: str = "master"
    linked_share: float = 0.78  # identities linked to a GitHub user; the rest are bare emails
    topics: tuple[str, ...] = ()


def _stable(text: str) -> int:
    """A stable 64-bit number for seeding (hash() is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


# --- ids -------------------------------------------------------------------------------------------------

# Rough GitHub repository id at a date (ids grow with time), so made-up ids look their age.
_ID_AT = (
    (date(2008, 1, 1), 1),
    (date(2012, 1, 1), 3_100_000),
    (date(2014, 1, 1), 15_600_000),
    (date(2015, 11, 7), 45_717_250),
    (date(2017, 1, 1), 77_900_000),
    (date(2019, 1, 1), 163_000_000),
    (date(2021, 1, 1), 325_000_000),
    (date(2023, 1, 1), 584_000_000),
    (date(2025, 1, 1), 910_000_000),
    (date(2027, 1, 1), 1_300_000_000),
)
_ID_X = np.array([d.toordinal() for d, _ in _ID_AT], dtype=np.float64)
_ID_Y = np.array([v for _, v in _ID_AT], dtype=np.float64)


class Ids:
    """Unique repository ids across a scenario."""

    def __init__(self) -> None:
        self.used: set[int] = set()

    def take(self, wanted: int) -> int:
        while wanted in self.used:
            wanted += 1
        self.used.add(wanted)
        return wanted

    def near(self, when: date) -> int:
        return self.take(int(np.interp(when.toordinal(), _ID_X, _ID_Y)))


# --- series ----------------------------------------------------------------------------------------------


def _clean(points: Sequence[Anchor], start: date, clamp: date | None) -> list[Anchor]:
    """Sorted, one point per day, non-decreasing, starting at (start, 0); days after clamp move to it."""
    best: dict[date, int] = {start: 0}
    for day, value in points:
        day = min(day, clamp) if clamp else day
        if day > start:
            best[day] = max(best.get(day, 0), value)
    out: list[Anchor] = []
    for day in sorted(best):
        out.append((day, max(best[day], out[-1][1] if out else 0)))
    return out


def _extend(points: list[Anchor], horizon: date, flat: bool) -> list[Anchor]:
    """Continue to horizon with the last year's slope (never negative), or flat."""
    last_day, last_value = points[-1]
    if horizon <= last_day:
        return points
    slope = 0.0
    if not flat and len(points) > 1:
        ref_day = max(points[0][0], last_day - timedelta(days=365))
        xs = [float(d.toordinal()) for d, _ in points]
        ref = float(np.interp(ref_day.toordinal(), xs, [v for _, v in points]))
        slope = max(0.0, (last_value - ref) / max(1, (last_day - ref_day).days))
    return [*points, (horizon, last_value + round(slope * (horizon - last_day).days))]


def _daily(points: list[Anchor], horizon: date, key: str, front_load: bool) -> IntArray:
    """Additions per day from points[0][0] + 1 to horizon; cumulative sums hit every anchor exactly."""
    start = points[0][0]
    out = np.zeros((horizon - start).days, dtype=np.int64)
    weekday = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.7, 0.72])  # Monday first: weekends are quieter
    for index, ((d0, v0), (d1, v1)) in enumerate(zip(points, points[1:], strict=False)):
        if d0 >= horizon:
            break
        n = (d1 - d0).days
        rng = np.random.default_rng([_stable(key), d0.toordinal()])
        weights = np.exp(0.35 * rng.standard_normal(n)) * weekday[(np.arange(n) + d0.weekday() + 1) % 7]
        if index == 0 and front_load:  # launch buzz: the first weeks get most of the first segment
            weights *= 1.0 + 8.0 * np.exp(-np.arange(n) / 21.0)
        cum = np.floor((v1 - v0) * np.cumsum(weights) / weights.sum() + 0.5).astype(np.int64)
        cum[-1] = v1 - v0
        adds = np.diff(cum, prepend=0)
        lo = (d0 - start).days
        hi = min(lo + n, len(out))
        out[lo:hi] = adds[: hi - lo]
    return out


# --- people ----------------------------------------------------------------------------------------------

_FIRST = (
    "Ada Alan Ana Arjun Bo Carlos Chen Daniel Dmitri Elena Emma Fatima Felix Grace Hana Hiro Ines Ivan "
    "James Jin Julia Kai Kenji Lars Laura Lei Lucas Maria Mateo Mei Mohammed Nadia Noah Olga Omar Pablo "
    "Priya Quentin Rahul Rosa Sara Sofia Tariq Tomas Uma Victor Wei Yara Yusuf Zoe"
).split()
_LAST = (
    "Abe Bauer Chen Costa Dubois Eriksen Fischer Garcia Gupta Haddad Ito Jensen Kim Kowalski Kumar Lee "
    "Lopez Martin Meyer Mori Nguyen Novak Okafor Patel Petrov Quinn Rossi Sato Schmidt Silva Smith Tanaka "
    "Wang Weber Wilson Xu Yamamoto Zhang"
).split()


@dataclass(frozen=True)
class _Person:
    name: str
    emails: tuple[str, ...]  # the first is used for the first commit; all lower-case to one identity
    user_id: int | None
    login: str | None


def _people(count: int, share: float, rng: random.Random) -> list[_Person]:
    """Distinct commit identities: some linked users (a few with two emails), the rest bare emails."""
    people: list[_Person] = []
    taken: set[str] = set()
    user_ids: set[int] = set()
    for index in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        stem = f"{first}.{last}".lower()
        email = f"{stem}@example.com"
        if email in taken:
            email = f"{stem}{index}@example.com"
        taken.add(email)
        if rng.random() < share:
            user_id = rng.randrange(1_000, 250_000_000)
            while user_id in user_ids:
                user_id += 1
            user_ids.add(user_id)
            login = f"{first[0]}{last}{index}".lower()
            emails: tuple[str, ...] = (email,)
            if rng.random() < 0.08:  # commits from a second address, linked to the same account
                emails = (email, f"{user_id}+{login}@users.noreply.github.com")
            people.append(_Person(f"{first} {last}", emails, user_id, login))
        else:
            emails = (email,)
            if rng.random() < 0.1:  # same address, other capitalisation: still one identity
                emails = (email, email.replace(stem, f"{first}.{last}", 1))
            people.append(_Person(f"{first} {last}", emails, None, None))
    return people


def _moment(day: date, seconds: int, not_before: datetime) -> datetime:
    return max(datetime.combine(day, time(), UTC) + timedelta(seconds=seconds), not_before)


def _commits(spec: Spec, arrivals: IntArray, day0: date, end: date, seed: int) -> list[SimCommit]:
    """One first commit per arriving identity, plus the rest spread over the repository's active weeks."""
    key = f"{seed}/{spec.full_name}/commits"
    rng = np.random.default_rng(_stable(key))
    people = _people(int(arrivals.sum()), spec.linked_share, random.Random(key))
    arrived = np.cumsum(arrivals)
    # Activity follows the arrival of new contributors (smoothed over ~2 months) plus a floor, in
    # weekly bursts, quieter at weekends.
    running = np.concatenate([[0.0], np.cumsum(arrivals, dtype=np.float64)])
    days = np.arange(len(arrivals))
    lo, hi = np.maximum(days - 30, 0), np.minimum(days + 31, len(arrivals))
    activity = (running[hi] - running[lo]) / 61.0
    activity += 0.15 * max(float(activity.mean()), 1e-9)
    weekly = np.exp(0.3 * rng.standard_normal(len(arrivals) // 7 + 1))[days // 7]
    weekend = np.where((days + day0.weekday()) % 7 >= 5, 0.45, 1.0)
    weights = np.where(arrived > 0, activity * weekly * weekend, 0.0)
    if spec.last_commit is not None:  # archived or abandoned: nothing after the last real commit
        weights[days > (spec.last_commit - day0).days] = 0.0
    extra = max(spec.commits - len(people), round(0.3 * len(people))) if len(people) else 0
    cum = np.cumsum(weights)
    picks = np.searchsorted(cum, rng.random(extra) * cum[-1], side="right") if extra else days[:0]
    who = np.floor(arrived[picks] * rng.random(extra) ** 2.5).astype(np.int64)  # early people commit most
    first_days = np.repeat(days, arrivals)
    all_days = np.concatenate([first_days, picks])
    all_who = np.concatenate([np.arange(len(people)), who])
    seconds = rng.integers(0, 86_400, len(all_days))
    shas = rng.integers(0, 2**63, (len(all_days), 3), dtype=np.int64)
    variant = rng.random(len(all_days))
    commits: list[SimCommit] = []
    for i in range(len(all_days)):
        day = day0 + timedelta(days=int(all_days[i]))
        if day > end:
            continue
        person = people[int(all_who[i])]
        first_commit = i < len(people)
        email = person.emails[0 if first_commit or variant[i] < 0.5 else -1]
        sha = "".join(f"{int(part):016x}" for part in shas[i])[:40]
        commits.append(
            SimCommit(
                sha=sha,
                authored_at=_moment(day, int(seconds[i]), spec.created_at),
                author_name=person.name,
                author_email=email,
                author_user_id=person.user_id,
                author_login=person.login,
            )
        )
    commits.sort(key=lambda c: (c.authored_at, c.sha))
    return commits


def _forks(spec: Spec, adds: IntArray, day0: date, end: date, ids: Ids, seed: int) -> list[SimFork]:
    """One SimFork per fork, at a random second of its day, with an id of its age."""
    key = f"{seed}/{spec.full_name}/forks"
    rng = np.random.default_rng(_stable(key))
    visible = (end - day0).days + 1
    days = np.repeat(np.arange(len(adds[:visible])), adds[:visible])
    stamps = np.sort(days * 86_400 + rng.integers(0, 86_400, len(days)))
    base = datetime.combine(day0, time(), UTC)
    floor = int((spec.created_at - base).total_seconds())
    stamps = np.maximum(stamps, floor)
    ordinals = day0.toordinal() + stamps / 86_400.0
    wanted = np.interp(ordinals, _ID_X, _ID_Y).astype(np.int64).tolist()
    first = rng.integers(len(_FIRST), size=len(days)).tolist()
    last = rng.integers(len(_LAST), size=len(days)).tolist()
    seconds = stamps.tolist()
    return [
        SimFork(
            github_id=ids.take(wanted[n]),
            owner_login=f"{_FIRST[first[n]]}{_LAST[last[n]][0]}{n}".lower(),
            created_at=base + timedelta(seconds=seconds[n]),
        )
        for n in range(len(days))
    ]


def build_repo(spec: Spec, today: date, ids: Ids, seed: int) -> SimRepo | None:
    """The repository as of today, or None if it does not exist yet."""
    created = spec.created_at.date()
    if created > today:
        return None
    start = created - timedelta(days=1)  # the anchor (start, 0): additions may begin on creation day
    last_anchor = max((d for pts in spec.anchors.values() for d, _ in pts), default=today)
    horizon = max(today, last_anchor, created)
    daily: dict[str, IntArray] = {}
    for metric in METRICS:
        clamp = spec.last_commit if metric == "contributors" else None
        points = _clean(spec.anchors.get(metric, ()), start, clamp)
        flat = spec.archived or (metric == "contributors" and spec.last_commit is not None)
        key = f"{seed}/{spec.full_name}/{metric}"
        daily[metric] = _daily(
            _extend(points, horizon, flat), horizon, key, front_load=metric != "contributors"
        )
    visible = (today - start).days  # days created..today
    stars = daily["stars"][:visible]
    star_days = {created + timedelta(days=int(i)): int(stars[i]) for i in np.flatnonzero(stars)}
    return SimRepo(
        github_id=spec.github_id,
        owner=spec.full_name.split("/")[0],
        name=spec.full_name.split("/")[1],
        created_at=spec.created_at,
        description=spec.description,
        language=spec.language,
        archived=spec.archived,
        default_branch=spec.default_branch,
        former_names=list(spec.former_names),
        star_days=star_days,
        forks=_forks(spec, daily["forks"], created, today, ids, seed),
        commits=_commits(spec, daily["contributors"], created, today, seed),
        watchers=spec.watchers,
        open_issues=spec.open_issues,
        status=spec.status,
        contributors_too_large=spec.contributors_too_large,
        topics=spec.topics,
    )
