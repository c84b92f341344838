"""The one-line shapes of config errors, shared by every section's parser (collector.config, alerts.spec).

Each names the file, the key and what is expected; an unknown key or section also names the nearest valid
one, since a typo is the usual cause.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from collector.errors import ConfigError


def expect(cond: bool, path: Path, key: str, expected: str, got: Any) -> None:
    """Raise `PATH: key 'KEY' is GOT; expected EXPECTED` unless `cond`."""
    if not cond:
        raise ConfigError(f"{path}: key {key!r} is {got!r}; expected {expected}")


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The valid choice closest to `word` (difflib), or None when none is near."""
    near = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return near[0] if near else None


def check_keys(path: Path, where: str, table: Iterable[str], known: Iterable[str]) -> None:
    """Raise naming the first key of `table` that is not in `known` (and the nearest that is); `where` is
    the table's own key ('client', 'reports.weekly'), or '' for the file's sections."""
    choices = sorted(known)
    for key in table:
        if key in choices:
            continue
        near = nearest(key, choices)
        if where:
            what = f"key {f'{where}.{key}'!r}"
            hint = f"did you mean {f'{where}.{near}'!r}? " if near else ""
        else:
            what, hint = f"section [{key}]", f"did you mean [{near}]? " if near else ""
        raise ConfigError(f"{path}: unknown {what}; {hint}expected one of {choices}")


def whole_number(value: Any) -> bool:
    """An integer, and not a boolean (TOML's true is not 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_range(path: Path, key: str, value: Any, low: int, high: int | None) -> int:
    """`value` as a whole number from `low` to `high` (None: no upper bound); one range in the message,
    the one really accepted."""
    accepted = f"a whole number from {low} to {high}" if high is not None else f"a whole number >= {low}"
    ok = whole_number(value) and value >= low and (high is None or value <= high)
    expect(ok, path, key, accepted, value)
    return int(value)
