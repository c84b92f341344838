"""The simulator's built-in worlds: the 2017 article's frameworks, N synthetic repositories, edge cases.

Every repository is described by cumulative anchors (day, value) per metric; the builder interpolates
between them, spreads each segment over its days with deterministic jitter, and turns the daily counts
into events (star days, one SimFork per fork, commits whose distinct authors are the contributors).
The frameworks' anchors come from data/frameworks_anchors.csv (scripts/build_framework_anchors.py).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources

import numpy as np
import numpy.typing as npt

from collector.testing.edge_repos import many_emails_repo, with_forks_of_forks
from collector.testing.model import Scenario, SimCommit, SimFork, SimRepo

# Simulated commits = real commits / COMMIT_SCALE (never fewer than one per identity, plus 30%), which
# keeps the 14 frameworks at about 34,000 commits instead of ~330,000.
COMMIT_SCALE = 10
METRICS = ("stars", "forks", "contributors")

Anchor = tuple[date, int]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Spec:
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


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


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


class _Ids:
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


def _commits(spec: _Spec, arrivals: IntArray, day0: date, end: date, seed: int) -> list[SimCommit]:
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


def _forks(spec: _Spec, adds: IntArray, day0: date, end: date, ids: _Ids, seed: int) -> list[SimFork]:
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


def _build(spec: _Spec, today: date, ids: _Ids, seed: int) -> SimRepo | None:
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
    )


# --- the 2017 frameworks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Framework:
    full_name: str
    github_id: int | None  # None: a made-up id of the repository's age
    created: str  # UTC; from best-of-ml-python where it lists the repository, else approximate
    language: str
    description: str
    archived: bool
    former_names: tuple[str, ...]
    real_commits: int  # best-of-ml-python commit_count where known, else an estimate
    last_commit: str | None  # EvanLi last_commit for repositories that stopped; None: still active
    watchers: int  # best-of-ml-python watchers_count where known, else an estimate
    open_issues: int  # EvanLi `issues` (latest)


# Archived flags: as GitHub shows today to our knowledge (the history data has no archived column).
_FRAMEWORKS = (
    _Framework("tensorflow/tensorflow", 45717250, "2015-11-07T01:19:20", "C++",
               "An Open Source Machine Learning Framework for Everyone", False, (), 190_000, None, 7482, 745),
    _Framework("BVLC/caffe", None, "2013-09-12T22:08:02", "C++",
               "Caffe: a fast open framework for deep learning.", False, (), 4_150, "2024-07-31", 2100, 1265),
    _Framework("keras-team/keras", None, "2015-03-28T00:35:42", "Python", "Deep Learning for humans",
               False, ("fchollet/keras",), 12_000, None, 1896, 138),
    _Framework("microsoft/CNTK", None, "2015-11-26T09:52:06", "C++",
               "Microsoft Cognitive Toolkit (CNTK), an open source deep-learning toolkit", True, (),
               16_117, "2023-03-11", 1242, 755),
    _Framework("apache/mxnet", 34864402, "2015-04-30T16:21:15", "C++",
               "Lightweight, Portable, Flexible Distributed/Mobile Deep Learning with Dynamic, "
               "Mutation-aware Dataflow Dep Scheduler; for Python, R, Julia, Scala, Go, Javascript and more",
               True, ("dmlc/mxnet", "apache/incubator-mxnet"), 11_896, "2023-10-25", 1067, 1804),
    _Framework("torch/torch7", None, "2012-01-12T11:58:11", "C", "http://torch.ch", True, (), 1_330,
               "2022-10-26", 680, 283),
    _Framework("Theano/Theano", None, "2011-08-10T03:48:06", "Python",
               "Theano was a Python library to define, optimize and evaluate mathematical expressions "
               "involving multi-dimensional arrays efficiently.", False, (), 28_133, "2024-01-15", 536, 593),
    _Framework("deeplearning4j/deeplearning4j", None, "2013-11-27T20:21:38", "Java",
               "Suite of tools for deploying and training deep learning models using the JVM", False,
               ("eclipse/deeplearning4j",), 26_000, None, 770, 628),
    _Framework("autumnai/leaf", None, "2015-11-04T18:23:51", "Rust",
               "Open Machine Intelligence Framework for Hackers. (GPU/CPU)", True, (), 740, "2018-01-14",
               210, 26),
    _Framework("Lasagne/Lasagne", None, "2014-09-11T15:31:41", "Python",
               "Lightweight library to build and train neural networks in Theano", False, (), 1_161,
               "2022-03-26", 214, 115),
    _Framework("NervanaSystems/neon", None, "2014-10-16T01:00:17", "Python",
               "Intel Nervana reference deep learning framework committed to best performance on all "
               "hardware",
               True, (), 1_118, "2020-12-23", 322, 83),
    _Framework("chainer/chainer", None, "2015-06-05T05:50:37", "Python",
               "A flexible framework of neural networks for deep learning", True, ("pfnet/chainer",), 30_611,
               "2023-08-28", 279, 12),
    _Framework("NVIDIA/DIGITS", None, "2015-03-03T17:39:56", "HTML", "Deep Learning GPU Training System",
               True, (), 2_600, "2023-05-26", 330, 598),
    _Framework("amazon-archives/amazon-dsstne", None, "2016-05-04T22:05:44", "C++",
               "Deep Scalable Sparse Tensor Network Engine (DSSTNE) is an Amazon developed library for "
               "building Deep Learning (DL) machine learning (ML) models", True,
               ("amznlabs/amazon-dsstne", "amzn/amazon-dsstne"), 600, "2020-02-14", 290, 31),
)  # fmt: skip


@functools.cache
def _framework_anchors() -> dict[str, dict[str, list[Anchor]]]:
    """repo -> metric -> anchors, from the shipped table."""
    out: dict[str, dict[str, list[Anchor]]] = {}
    text = resources.files("collector.testing").joinpath("data/frameworks_anchors.csv").read_text("utf-8")
    for row in csv.DictReader(text.splitlines()):
        per_metric = out.setdefault(row["repo"], {m: [] for m in METRICS})
        for metric in METRICS:
            if row[metric]:
                per_metric[metric].append((date.fromisoformat(row["date"]), int(row[metric])))
    return out


def _final_contributors(anchors: Mapping[str, Sequence[Anchor]]) -> int:
    return max((v for _, v in anchors.get("contributors", ())), default=0)


def _today(today: date | None) -> date:
    return today if today is not None else datetime.now(UTC).date()


def frameworks_scenario(today: date | None = None, seed: int = 2017) -> Scenario:
    """The 2017 article's 14 frameworks with their real dated history, as of today (default: UTC today)."""
    return _frameworks_cached(_today(today), seed)


@functools.lru_cache(maxsize=4)
def _frameworks_cached(today: date, seed: int) -> Scenario:
    anchors = _framework_anchors()
    ids = _Ids()
    specs: list[_Spec] = []
    for fw in _FRAMEWORKS:
        created = _utc(fw.created)
        github_id = ids.take(fw.github_id) if fw.github_id else 0
        last = date.fromisoformat(fw.last_commit) if fw.last_commit else None
        identities = _final_contributors(anchors[fw.full_name])
        specs.append(
            _Spec(fw.full_name, github_id, created, anchors[fw.full_name],
                  commits=max(fw.real_commits // COMMIT_SCALE, math.ceil(1.3 * identities)),
                  last_commit=last, archived=fw.archived, description=fw.description,
                  language=fw.language, former_names=fw.former_names, watchers=fw.watchers,
                  open_issues=fw.open_issues)
        )  # fmt: skip
    for i, spec in enumerate(specs):  # made-up ids after the real ones are reserved
        if not spec.github_id:
            specs[i] = _replace_id(spec, ids.near(spec.created_at.date()))
    repos = [repo for spec in specs if (repo := _build(spec, today, ids, seed)) is not None]
    return Scenario(name="frameworks", repos=repos, today=today)


def _replace_id(spec: _Spec, github_id: int) -> _Spec:
    return replace(spec, github_id=github_id)


# --- synthetic and edge cases ----------------------------------------------------------------------------

_LANGUAGES = ("Python", "Go", "Rust", "TypeScript", "C++", "Java", "JavaScript", None)


def _synthetic_spec(index: int, orgs: int, today: date, rng: random.Random, ids: _Ids) -> _Spec:
    """One synthetic repository: most small, a handful large, a few archived or renamed."""
    org = f"synth-org-{rng.randrange(orgs):03d}"
    age = rng.randint(30, 5000)
    created = datetime.combine(today - timedelta(days=age), time(), UTC) + timedelta(
        seconds=rng.randrange(86_400)
    )
    if rng.random() < 0.005:
        stars = rng.randint(20_000, 80_000)
    else:
        stars = min(6_000, int(20 / max(rng.random(), 1e-6) ** 0.9))
    contributors = max(1, int(stars**0.5 * rng.uniform(0.1, 0.8)))
    archived = rng.random() < 0.03
    end = created.date() + timedelta(days=int(age * rng.uniform(0.3, 0.9))) if archived else today
    mid = created.date() + timedelta(days=int((end - created.date()).days * rng.uniform(0.2, 0.6)))
    share = rng.uniform(0.3, 0.7)  # of the final counts reached at mid-life
    finals = {"stars": stars, "forks": int(stars * rng.uniform(0.03, 0.25)), "contributors": contributors}
    name = f"repo-{index:05d}"
    former: tuple[str, ...] = ()
    if rng.random() < 0.05:
        former = (f"synth-org-{rng.randrange(orgs):03d}/{name}-old",)
    return _Spec(
        f"{org}/{name}",
        ids.near(created.date()),
        created,
        {m: [(mid, int(v * share)), (end, v)] for m, v in finals.items()},
        commits=int(contributors * rng.uniform(1.5, 8.0)),
        last_commit=end if archived else None,
        archived=archived,
        description=f"Synthetic repository number {index}",
        language=rng.choice(_LANGUAGES),
        former_names=former,
        watchers=max(1, stars // rng.randint(20, 60)),
        open_issues=rng.randint(0, max(1, stars // 50)),
        default_branch="main",
    )


def synthetic_scenario(n: int, today: date | None = None, seed: int = 1) -> Scenario:
    """N synthetic repositories (`synth-org-017/repo-00042`) for scale tests; deterministic."""
    return _synthetic_cached(n, _today(today), seed)


@functools.lru_cache(maxsize=4)
def _synthetic_cached(n: int, today: date, seed: int) -> Scenario:
    rng = random.Random(f"synthetic/{seed}/{n}")
    ids = _Ids()
    orgs = max(1, n // 10)
    specs = [_synthetic_spec(index, orgs, today, rng, ids) for index in range(n)]
    repos = [repo for spec in specs if (repo := _build(spec, today, ids, seed)) is not None]
    return Scenario(name=f"synthetic-{n}", repos=repos, today=today)


def edge_scenario(today: date | None = None) -> Scenario:
    """A few awkward repositories: deleted, DMCA-blocked, too many contributors, empty, renamed twice..."""
    day = _today(today)
    ids = _Ids()
    created = datetime.combine(day - timedelta(days=400), time(9, 30), UTC)
    small = {"stars": [(day, 120)], "forks": [(day, 9)], "contributors": [(day, 4)]}

    def spec(name: str, **extra: object) -> _Spec:
        fields: dict[str, object] = {"anchors": small, "commits": 20, "default_branch": "main"} | extra
        return _Spec(f"edge-org/{name}", ids.near(created.date()), created, **fields)  # type: ignore[arg-type]

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
    repos = [repo for s in specs if (repo := _build(s, day, ids, seed=0)) is not None]
    repos[-1] = with_forks_of_forks(repos[-1], day, ids.near)
    repos.append(many_emails_repo(ids.near(created.date()), created))
    return Scenario(name="edge", repos=repos, today=day)


# --- registry --------------------------------------------------------------------------------------------

SCENARIOS: dict[str, Callable[..., Scenario]] = {
    "frameworks": frameworks_scenario,
    "synthetic-1000": functools.partial(synthetic_scenario, 1000),
    "edge": edge_scenario,
}


def load_scenario(name: str, today: date | None = None) -> Scenario:
    """The named scenario ("frameworks", "edge", "synthetic-N"); ValueError names the known ones."""
    if name in SCENARIOS:
        return SCENARIOS[name](today=today)
    match = re.fullmatch(r"synthetic-([1-9][0-9]{0,5})", name)
    if match:
        return synthetic_scenario(int(match.group(1)), today)
    known = ", ".join([*SCENARIOS, "synthetic-N (N from 1 to 999999)"])
    raise ValueError(f"unknown scenario {name!r}; known scenarios: {known}")
