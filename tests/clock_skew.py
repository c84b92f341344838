"""Running a process with its clock ahead: Debian's libfaketime (package `faketime`) preloaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import IN_CI

LIBFAKETIME = [
    Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
    Path("/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"),
    Path("/usr/lib/faketime/libfaketime.so.1"),
]


def clock_ahead_env(offset: str) -> dict[str, str]:
    """Environment variables that set a child process's wall clock `offset` (e.g. '+12m') ahead; its
    monotonic clock stays true. Skips the test when libfaketime is missing (fails under CI=true)."""
    found = next((p for p in LIBFAKETIME if p.exists()), None)
    if found is None:
        message = "libfaketime is not installed (apt-get install faketime)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return {"LD_PRELOAD": str(found), "FAKETIME": offset, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
