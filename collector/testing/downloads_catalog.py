"""The packages the download simulator knows, and their deterministic daily counts.

The 2017 frameworks get their real package names (a repository without a package on PyPI or npm has
none here); counts are made up but stable: a seeded level per package, slow growth, fewer downloads at
weekends, seeded noise. A package has no downloads (npm: 0) before its first day.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date

# Repository -> its packages ("source:name"), for the frameworks scenario's repositories.
FRAMEWORK_PACKAGES: dict[str, tuple[str, ...]] = {
    "tensorflow/tensorflow": ("pypi:tensorflow", "pypi:tensorflow-cpu", "npm:@tensorflow/tfjs"),
    "keras-team/keras": ("pypi:keras",),
    "pytorch/pytorch": ("pypi:torch",),
    "apache/mxnet": ("pypi:mxnet",),
    "microsoft/CNTK": ("pypi:cntk",),
    "Theano/Theano": ("pypi:theano",),
    "chainer/chainer": ("pypi:chainer",),
    "Lasagne/Lasagne": ("pypi:lasagne",),
    # BVLC/caffe, torch/torch7, deeplearning4j, autumnai/leaf, NVIDIA/DIGITS, amazon-dsstne: none.
}
# First days with downloads (the sources' own series start later for older packages).
FIRST_DAYS: dict[str, date] = {
    "pypi:tensorflow": date(2015, 11, 9),
    "pypi:tensorflow-cpu": date(2019, 10, 1),
    "npm:@tensorflow/tfjs": date(2018, 3, 30),
    "pypi:keras": date(2015, 3, 27),
    "pypi:torch": date(2017, 1, 18),
    "pypi:mxnet": date(2017, 1, 20),
    "pypi:cntk": date(2018, 1, 31),
    "pypi:theano": date(2010, 7, 3),
    "pypi:chainer": date(2015, 6, 9),
    "pypi:lasagne": date(2015, 8, 13),
}


@dataclass(frozen=True)
class SimPackage:
    """A package on `source` (pypi | npm) with downloads from `first_day` on."""

    source: str
    name: str
    first_day: date

    @property
    def key(self) -> str:
        return f"{self.source}:{self.name}"

    def downloads(self, day: date, seed: int) -> int:
        """Downloads on `day` (0 before the first day): the same for the same seed, always."""
        if day < self.first_day:
            return 0
        level = 50 + _unit(seed, self.key, "level") * 20_000
        growth = 1 + (day - self.first_day).days / 1_000
        weekend = 0.6 if day.weekday() >= 5 else 1.0
        noise = 0.8 + 0.4 * _unit(seed, self.key, day.isoformat())
        return math.floor(level * growth * weekend * noise)


def _unit(seed: int, *parts: str) -> float:
    """A number in [0, 1) from a hash of the seed and parts: stable across runs and processes."""
    digest = hashlib.blake2b("|".join((str(seed), *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def framework_packages() -> list[SimPackage]:
    """Every package of the frameworks scenario's repositories."""
    out = []
    for names in FRAMEWORK_PACKAGES.values():
        for key in names:
            source, _, name = key.partition(":")
            out.append(SimPackage(source, name, FIRST_DAYS[key]))
    return out
