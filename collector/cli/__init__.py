"""The `collector` command: the one place where settings, store and services are wired together."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

import click
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from collector import __version__
from collector.cli_jobs import make_client
from collector.cli_jobs import register as register_job_commands
from collector.cli_roles import create_reader_role
from collector.config import Config, load_config
from collector.domain import RepoName, Repository, parse_repo_name
from collector.errors import CollectorError, StoreUnavailable
from collector.github.errors import GitHubError, NotFound
from collector.github.pacing import GRAPHQL_POINTS_PER_MINUTE, REST_POINTS_PER_MINUTE, MinutePacer
from collector.settings import Settings, load_settings, redact_url
from collector.store import migrate
from collector.store.engine import check_connection, make_engine, session_factory, transaction
from collector.store.repos import (
    find_repo,
    load_aliases,
    load_repos,
    save_repository,
    save_tracked_name,
    untrack,
)

F = TypeVar("F", bound=Callable[..., Any])


class App:
    """Lazily built services for one command invocation."""

    def __init__(self) -> None:
        self.settings: Settings = load_settings()
        # Read the config up front so that a broken file is reported by every command, not only some.
        self.config: Config = load_config(self.settings.config_path, required=self.settings.config_explicit)

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.settings.database_url)
        check_connection(engine)
        return engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Sessions on a store that is at the current migration (else a clear error)."""
        current = migrate.current_revision(self.engine)
        head = migrate.head_revision(self.engine)
        if current != head:
            raise StoreUnavailable(
                f"the store at {redact_url(self.settings.database_url)} is at revision {current or 'none'}, "
                f"this version needs {head}; run `collector db upgrade`"
            )
        return session_factory(self.engine)

    @cached_property
    def pacer(self) -> MinutePacer:
        """The per-minute pacing every GitHub client of this process shares ([client] *_points_per_minute)."""
        client = self.config.client
        return MinutePacer(
            rest=client.get("rest_points_per_minute", REST_POINTS_PER_MINUTE),
            graphql=client.get("graphql_points_per_minute", GRAPHQL_POINTS_PER_MINUTE),
        )


pass_app = click.make_pass_decorator(App)


def echo_err(message: str) -> None:
    click.echo(message, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="collector")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Collect, backfill and report GitHub popularity metrics (stars, forks, contributors, commits)."""
    ctx.obj = App()


@cli.group()
def db() -> None:
    """Manage the store (migrations)."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Bring the store to the latest migration (safe to rerun)."""
    before, after = migrate.upgrade(app.engine)
    where = redact_url(app.settings.database_url)
    if before == after:
        click.echo(f"store {where} is up to date (revision {after})")
    else:
        click.echo(f"store {where} upgraded from revision {before or 'none'} to {after}")


@cli.group()
def repos() -> None:
    """Track, list and untrack repositories."""


def _parse_names(names: tuple[str, ...]) -> tuple[list[RepoName], list[str]]:
    good, errors = [], []
    for text in names:
        try:
            good.append(parse_repo_name(text))
        except CollectorError as exc:
            errors.append(str(exc))
    return good, errors


@repos.command("add")
@click.argument("names", nargs=-1, required=True, metavar="OWNER/NAME...")
@pass_app
def repos_add(app: App, names: tuple[str, ...]) -> None:
    """Track repositories under their canonical GitHub name and id; unknown or invalid names are refused."""
    good, errors = _parse_names(names)
    resolved = asyncio.run(_resolve_names(app, good)) if good else []
    with transaction(app.sessions) as session:
        for name, found in resolved:
            if isinstance(found, NotFound):
                errors.append(f"{name} was not found on GitHub (missing, deleted, or private without access)")
                continue
            if isinstance(found, GitHubError):
                errors.append(f"{name} could not be resolved: {found}")
                continue
            before = find_repo(session, parse_repo_name(found.full_name)) or find_repo(session, name)
            was_tracked = before is not None and before.tracked and before.github_id == found.github_id
            if name.key != found.full_name.lower():
                # Record the name asked for as an alias: save_repository folds this placeholder in.
                save_tracked_name(session, name)
            row = save_repository(session, found, tracked=True, requested=name)
            renamed = f" (requested as {name})" if name.key != row.name_key else ""
            click.echo(f"{'already tracked' if was_tracked else 'tracking'}: {row.full_name}{renamed}")
    for message in errors:
        echo_err(f"error: {message}")
    if errors:
        raise SystemExit(2)


async def _resolve_names(app: App, names: list[RepoName]) -> list[tuple[RepoName, Repository | GitHubError]]:
    async with make_client(app) as gh:

        async def one(name: RepoName) -> tuple[RepoName, Repository | GitHubError]:
            try:
                return name, await gh.fetch_repository(name)
            except GitHubError as exc:
                return name, exc

        return list(await asyncio.gather(*(one(name) for name in names)))


@repos.command("list")
@pass_app
def repos_list(app: App) -> None:
    """List tracked repositories with their GitHub id and former names."""
    with app.sessions() as session:
        rows = load_repos(session)
        if not rows:
            click.echo("no repositories tracked; add some with `collector repos add OWNER/NAME`")
            return
        for row in rows:
            aliases = load_aliases(session, row.id)
            parts = [row.full_name, f"id={row.github_id}" if row.github_id else "id=unresolved"]
            if aliases:
                parts.append("formerly " + ", ".join(aliases))
            if row.gone_reason:
                parts.append(f"gone: {row.gone_reason}")
            click.echo("  ".join(parts))


@repos.command("remove")
@click.argument("names", nargs=-1, required=True, metavar="OWNER/NAME...")
@pass_app
def repos_remove(app: App, names: tuple[str, ...]) -> None:
    """Stop tracking repositories; their stored history is kept."""
    good, errors = _parse_names(names)
    with transaction(app.sessions) as session:
        done, unknown = untrack(session, good)
    for full_name in done:
        click.echo(f"untracked: {full_name} (history kept)")
    for full_name in unknown:
        errors.append(f"{full_name} is not tracked; see `collector repos list`")
    for message in errors:
        echo_err(f"error: {message}")
    if errors:
        raise SystemExit(2)


# Imported here, after App exists: the report command's module refers to it for typing only.
from collector.reports.command import report  # noqa: E402

cli.add_command(report)
db.add_command(create_reader_role)
register_job_commands(cli)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning expected errors into one line on stderr and an exit code."""
    try:
        cli.main(args=argv, prog_name="collector", standalone_mode=False)
    except click.exceptions.Abort:
        echo_err("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CollectorError as exc:
        echo_err(f"error: {exc}")
        sys.exit(exc.exit_code)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        echo_err(f"error: the database failed ({reason}); check that it is running and retry")
        sys.exit(StoreUnavailable.exit_code)


if __name__ == "__main__":
    main()
