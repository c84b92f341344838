"""`[packages]` in collector.toml: `"owner/name" = ["pypi:NAME", "npm:NAME", ...]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from collector.config_checks import expect
from collector.domain import RepoName, parse_repo_name
from collector.downloads.refs import EXPECTED, PackageRef, parse_package_ref
from collector.errors import CollectorError, ConfigError

LIST_FORM = f"a list of packages, each {EXPECTED}"


def parse_packages(path: Path, raw: Any) -> dict[RepoName, tuple[PackageRef, ...]]:
    """The [packages] table: each repository's packages, parsed and normalised (duplicates dropped)."""
    expect(isinstance(raw, dict), path, "packages", '"owner/name" = ["pypi:NAME", "npm:NAME", ...]', raw)
    packages: dict[RepoName, tuple[PackageRef, ...]] = {}
    for repo, items in raw.items():
        key = f"packages.{repo}"
        try:
            name = parse_repo_name(repo)
        except CollectorError as exc:
            raise ConfigError(f"{path}: key {key!r}: {exc}") from exc
        expect(isinstance(items, list), path, key, LIST_FORM, items)
        refs: dict[PackageRef, None] = {}
        for item in items:
            expect(isinstance(item, str), path, key, LIST_FORM, item)
            try:
                refs[parse_package_ref(item)] = None
            except ValueError as exc:
                raise ConfigError(f"{path}: key {key!r}: {exc}") from exc
        packages[name] = tuple(refs)
    return packages
