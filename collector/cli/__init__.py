"""The `collector` command: a click group whose commands each take the App (`collector.app`).

One module per command group: db, repos, discover, jobs (collect, backfill, sync, daemon), status, report,
serve, alerts.
"""

from __future__ import annotations

import sys

import click
from sqlalchemy.exc import OperationalError

from collector import __version__
from collector.app import App
from collector.cli import alerts, db, discover, jobs, report, repos, serve, status
from collector.cli.common import echo_err
from collector.errors import CollectorError, StoreUnavailable


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="collector")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Collect, backfill and report GitHub popularity metrics (stars, forks, contributors, commits)."""
    ctx.obj = App()


cli.add_command(db.db)
cli.add_command(repos.repos)
cli.add_command(alerts.alerts)
for command in (
    jobs.collect,
    jobs.backfill,
    jobs.sync,
    discover.discover,
    status.status,
    jobs.daemon,
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
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        echo_err(f"error: the database failed ({reason}); check that it is running and retry")
        sys.exit(StoreUnavailable.exit_code)
