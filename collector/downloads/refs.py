"""Which package a repository has on which source: parsing and normalising `pypi:NAME`, `npm:NAME`."""

from __future__ import annotations

import re
from dataclasses import dataclass

SOURCES = ("pypi", "npm")
# PEP 503 names (https://peps.python.org/pep-0503/#normalized-names), and PEP 508's allowed characters.
_PYPI_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
# npm: lower-case, URL-safe, at most 214 characters; a scope is `@scope/` (npm's validate-npm-package-name).
_NPM_NAME = re.compile(r"(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*")
EXPECTED = "pypi:NAME or npm:NAME (e.g. pypi:tensorflow, npm:@tensorflow/tfjs)"


@dataclass(frozen=True, order=True)
class PackageRef:
    """A package on one source; `name` is normalised (PyPI) or as published (npm, scope included)."""

    source: str  # pypi | npm
    name: str

    def __str__(self) -> str:
        return f"{self.source}:{self.name}"

    @property
    def scoped(self) -> bool:
        """An npm `@scope/name`: npm's bulk endpoint does not take these."""
        return self.source == "npm" and self.name.startswith("@")


def normalise_pypi(name: str) -> str:
    """The PEP 503 form of a PyPI name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_package_ref(text: str) -> PackageRef:
    """`pypi:NAME` or `npm:NAME` as a PackageRef; ValueError saying what is expected otherwise."""
    source, sep, name = text.strip().partition(":")
    source = source.lower()
    if not sep or source not in SOURCES:
        raise ValueError(f"{text!r} is not a package; expected {EXPECTED}")
    if source == "pypi":
        if not _PYPI_NAME.fullmatch(name):
            raise ValueError(f"{text!r}: not a PyPI project name; expected {EXPECTED}")
        return PackageRef("pypi", normalise_pypi(name))
    if len(name) > 214 or not _NPM_NAME.fullmatch(name):
        raise ValueError(f"{text!r}: not an npm package name (lower case, @scope/name); expected {EXPECTED}")
    return PackageRef("npm", name)
