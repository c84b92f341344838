"""The `synthetic-N` scenarios' repositories: many made-up ones, shaped like GitHub's, for scale tests."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from collector.testing.model import SimRepo
from collector.testing.repo_builder import Ids, Spec, build_repo

_LANGUAGES = ("Python", "Go", "Rust", "TypeScript", "C++", "Java", "JavaScript", None)
TOPICS = (
    "deep-learning",
    "machine-learning",
    "neural-network",
    "python",
    "computer-vision",
    "nlp",
    "data-science",
    "pytorch",
    "tensorflow",
    "reinforcement-learning",
)


def pick_topics(rng: random.Random) -> tuple[str, ...]:
    """None to four topics, sorted; the common ones more often."""
    count = rng.choice((0, 0, 1, 1, 2, 2, 3, 4))
    weights = [1.0 / (rank + 1) for rank in range(len(TOPICS))]
    return tuple(sorted(set(rng.choices(TOPICS, weights=weights, k=count))))


def _synthetic_spec(
    index: int, orgs: int, today: date, rng: random.Random, ids: Ids, topics: tuple[str, ...]
) -> Spec:
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
    return Spec(
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
        topics=topics,
    )


def build_synthetic(n: int, today: date, seed: int) -> list[SimRepo]:
    """N repositories (`synth-org-017/repo-00042`); the same arguments give the same ones."""
    rng = random.Random(f"synthetic/{seed}/{n}")
    topic_rng = random.Random(f"synthetic-topics/{seed}/{n}")  # its own, so the rest stays as it was
    ids = Ids()
    orgs = max(1, n // 10)
    specs = [_synthetic_spec(index, orgs, today, rng, ids, pick_topics(topic_rng)) for index in range(n)]
    return [repo for spec in specs if (repo := build_repo(spec, today, ids, seed)) is not None]
