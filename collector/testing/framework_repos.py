"""The `frameworks` scenario's repositories: the 2017 article's 14 frameworks with their real dated history.

The anchors come from data/frameworks_anchors.csv (scripts/build_framework_anchors.py).
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from importlib import resources

from collector.testing.model import SimRepo
from collector.testing.repo_builder import METRICS, Anchor, Ids, Spec, build_repo

# Simulated commits = real commits / COMMIT_SCALE (never fewer than one per identity, plus 30%), which
# keeps the 14 frameworks at about 34,000 commits instead of ~330,000.
COMMIT_SCALE = 10


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


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


# Topics as the repositories' GitHub pages show them, to our knowledge (the history data has none);
# the older ones never set any.
_TOPICS = {
    "tensorflow/tensorflow": ("deep-learning", "deep-neural-networks", "distributed", "machine-learning",
                              "ml", "neural-network", "python", "tensorflow"),
    "BVLC/caffe": ("deep-learning", "machine-learning", "vision"),
    "keras-team/keras": ("data-science", "deep-learning", "jax", "machine-learning", "neural-networks",
                         "python", "pytorch", "tensorflow"),
    "microsoft/CNTK": ("c-plus-plus", "c-sharp", "cntk", "cognitive-toolkit", "deep-learning",
                       "deep-neural-networks", "distributed", "java", "machine-learning", "neural-network",
                       "python"),
    "apache/mxnet": ("mxnet",),
    "deeplearning4j/deeplearning4j": ("artificial-intelligence", "deeplearning", "deeplearning4j", "java",
                                      "jvm", "neural-nets", "python", "scala"),
    "Lasagne/Lasagne": ("deep-learning-library", "neural-networks", "python", "theano"),
    "chainer/chainer": ("chainer", "cupy", "deep-learning", "gpu", "machine-learning", "neural-network",
                        "python"),
    "NVIDIA/DIGITS": ("caffe", "deep-learning", "gpu", "machine-learning", "nvidia", "torch"),
}  # fmt: skip


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


def build_frameworks(today: date, seed: int) -> list[SimRepo]:
    """The frameworks as of today; those created later are left out."""
    anchors = _framework_anchors()
    ids = Ids()
    specs: list[Spec] = []
    for fw in _FRAMEWORKS:
        created = _utc(fw.created)
        github_id = ids.take(fw.github_id) if fw.github_id else 0
        last = date.fromisoformat(fw.last_commit) if fw.last_commit else None
        identities = _final_contributors(anchors[fw.full_name])
        specs.append(
            Spec(fw.full_name, github_id, created, anchors[fw.full_name],
                 commits=max(fw.real_commits // COMMIT_SCALE, math.ceil(1.3 * identities)),
                 last_commit=last, archived=fw.archived, description=fw.description,
                 language=fw.language, former_names=fw.former_names, watchers=fw.watchers,
                 open_issues=fw.open_issues, topics=_TOPICS.get(fw.full_name, ()))
        )  # fmt: skip
    for i, spec in enumerate(specs):  # made-up ids after the real ones are reserved
        if not spec.github_id:
            specs[i] = _replace_id(spec, ids.near(spec.created_at.date()))
    return [repo for spec in specs if (repo := build_repo(spec, today, ids, seed)) is not None]


def _replace_id(spec: Spec, github_id: int) -> Spec:
    return replace(spec, github_id=github_id)
