"""Errors a user can act on: each carries a one-line message that names the problem and the fix."""

from __future__ import annotations


class CollectorError(Exception):
    """A problem the user can fix; the CLI prints its message on one line and exits with `exit_code`."""

    exit_code = 1


class ConfigError(CollectorError):
    """A broken config file or an invalid setting (exit code 2)."""

    exit_code = 2


class InvalidRepoName(CollectorError):
    """A repository name that is not OWNER/NAME (exit code 2)."""

    exit_code = 2


class StoreUnavailable(CollectorError):
    """The database cannot be reached."""

    exit_code = 3


class InvalidGroupRule(CollectorError):
    """A group rule (topic, org, user, search) that cannot be sent to GitHub (exit code 2)."""

    exit_code = 2


class StoreMissing(CollectorError):
    """A command that only reads found no store where the settings point (exit code 2)."""

    exit_code = 2


class StoreReadOnly(CollectorError):
    """A command that writes was pointed at a store it may not write (exit code 2)."""

    exit_code = 2
