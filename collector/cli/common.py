"""What every command shares: the App passed down from the group, error lines, logging, running async."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

import click

from collector.app import App
from collector.domain import RepoName, parse_repo_name
from collector.errors import CollectorError
from collector.logs import setup_logging

T = TypeVar("T")

pass_app = click.make_pass_decorator(App)

# The commands print one `error:` line per failed repository themselves; the log would repeat it.
PRINTED_EVENTS = ("repo_failed", "repo_incomplete", "series_failed")


def echo_err(message: str) -> None:
    click.echo(message, err=True)


def cli_logging(app: App) -> None:
    """Warnings (waits, retries) on stderr for interactive commands; failures are printed as errors."""
    setup_logging(app.settings.log_format, app.secrets(), logging.WARNING, PRINTED_EVENTS)


def run(coro: Awaitable[T]) -> T:
    """Run a coroutine to completion in a new event loop."""

    async def main() -> T:
        return await coro

    return asyncio.run(main())


def parse_names(names: tuple[str, ...]) -> tuple[list[RepoName], list[str]]:
    """The valid names, and one error line per invalid one."""
    good, errors = [], []
    for text in names:
        try:
            good.append(parse_repo_name(text))
        except CollectorError as exc:
            errors.append(str(exc))
    return good, errors


def exit_with_errors(errors: list[str]) -> None:
    """Print each error on stderr and exit 2 if there was any."""
    for message in errors:
        echo_err(f"error: {message}")
    if errors:
        raise SystemExit(2)
