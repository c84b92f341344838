"""The `collector` command: a click group whose commands each take the App (`collector.app`).

One module per command group: db, repos, discover, jobs (collect, backfill, sync, daemon), status, report,
serve, alerts, config_check (`config check`).
"""

from __future__ import annotations

import sys

import click
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from collector import __version__
from collector.app import App
from collector.cli import (
    alerts,
    config_check,
    daemon,
    db,
    discover,
    jobs,
    packages,
    report,
    repos,
    serve,
    status,
)
from collector.cli.common import echo_err
from collector.errors import CollectorError, StoreReadOnly, StoreUnavailable
from collector.jobs.outages import describe_failure, first_line
from collector.settings import load_settings

# Commands that only read the store: they open a SQLite store read-only and never create one.
READ_COMMANDS = frozenset({"report", "status", "repos list", "alerts list", "serve"})


_DEBUG = {"on": False}  # `collector --debug ...`: read by main() after the command has failed


class _Group(click.Group):
    """The top group, remembering the arguments after the command's name (`list` of `repos list`) so that
    its callback can tell a read command before any command runs."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        ctx.meta["collector.command"] = " ".join([name or "", *rest[:1]])
        return name, command, rest


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="collector")
@click.option("--debug", is_flag=True, help="Show the traceback of a store error instead of one line.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Collect, backfill and report GitHub popularity metrics (stars, forks, contributors, commits)."""
    _DEBUG["on"] = debug
    settings = load_settings()
    command = ctx.meta.get("collector.command", "")
    if ctx.invoked_subcommand in READ_COMMANDS or command in READ_COMMANDS:
        settings = settings.for_reading()
    ctx.obj = App(settings)


cli.add_command(db.db)
cli.add_command(repos.repos)
cli.add_command(alerts.alerts)
cli.add_command(config_check.config)
cli.add_command(packages.packages)
for command in (
    jobs.collect,
    jobs.backfill,
    jobs.sync,
    discover.discover,
    status.status,
    daemon.daemon,
    serve.serve,
    report.report,
):
    cli.add_command(command)


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
        message, code = store_failure(exc)
        echo_err(f"error: {message}")
        sys.exit(code)
    except SQLAlchemyError as exc:
        # A value or statement the store refused (DataError, IntegrityError, ...): the driver's first line,
        # never the SQL or its parameters; `collector --debug` shows the traceback.
        if _DEBUG["on"]:
            raise
        echo_err(f"error: {describe_failure(exc)}; nothing of this command's last step was written")
        sys.exit(1)


def store_failure(exc: OperationalError) -> tuple[str, int]:
    """One line and the exit code for a store error met in the middle of a command (the store was
    reachable when it started): as StoreReadOnly's or StoreUnavailable's."""
    reason = first_line(exc) if exc.orig is not None else "connection failed"
    if "readonly database" in reason or "read-only" in reason:
        message = (
            f"the store refused a write ({reason}); make the database file and its directory writable by "
            "this user, or point COLLECTOR_DATABASE_URL at a store it may write"
        )
        return message, StoreReadOnly.exit_code
    return f"the database failed ({reason}); check that it is running and retry", StoreUnavailable.exit_code
