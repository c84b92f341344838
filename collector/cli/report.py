"""`collector report` and the report jobs the daemon runs: read the store, render, print or write a file."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from collector.config import Config, ReportJob
from collector.domain import METRICS, utc_now
from collector.reports.build import make_report
from collector.reports.html import render_html
from collector.reports.model import EVERY, FORMATS, Report, ReportOptionError, format_for_path, parse_request
from collector.reports.render import render_csv, render_json, render_markdown, render_table
from collector.store.engine import session_factory

if TYPE_CHECKING:
    from collector.cli import App


def render_report(report: Report, fmt: str, width: int = 200) -> str:
    """The report in one of FORMATS."""
    if fmt == "table":
        return render_table(report, width=width)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "csv":
        return render_csv(report)
    if fmt == "json":
        return render_json(report)
    if fmt == "html":
        return render_html(report)
    raise ReportOptionError(f"format: {fmt!r} is not valid; expected one of {list(FORMATS)}")


def write_atomic(path: Path, content: str) -> None:
    """Write `content` to `path` so that readers see the old file or the new one, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes it private; a report is meant to be read
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _load(sessions: sessionmaker[Session], config: Config, options: dict[str, Any], today: date) -> Report:
    request = parse_request(options, today)
    with sessions() as session:
        return make_report(session, request, config)


def run_report_job(
    source: App | Engine | sessionmaker[Session],
    job: ReportJob,
    today: date | None = None,
    config: Config | None = None,
) -> Path:
    """Run a `[reports.NAME]` job: write its report to its output pattern with {date} filled in.

    `source` is the CLI's App (its sessions and config are used) or an engine / session factory of a
    migrated store, with `config` for the groups a job may name.
    """
    if isinstance(source, Engine):
        sessions = session_factory(source)
    elif isinstance(source, sessionmaker):
        sessions = source
    else:
        sessions, config = source.sessions, config or source.config
    day = today or utc_now().date()
    try:
        output = Path(job.output.replace("{date}", day.isoformat()))
        fmt = format_for_path(str(output), job.options.get("format"))
        report = _load(sessions, config or Config(), dict(job.options), day)
    except ReportOptionError as exc:
        raise ReportOptionError(f"reports.{job.name}: {exc}") from exc
    write_atomic(output, render_report(report, fmt))
    return output


@click.command("report")
@click.option("--at", "at", metavar="YYYY-MM-DD", help="Ranking at the end of this day (default: today).")
@click.option("--since", metavar="YYYY-MM[-DD]", help="Trends from this month or day.")
@click.option("--until", metavar="YYYY-MM[-DD]", help="Trends up to this month or day (default: today).")
@click.option("--every", type=click.Choice(EVERY), help="Trend period (default: month).")
@click.option(
    "--metric", "metrics", multiple=True, type=click.Choice(METRICS), help="Trend metric (repeatable)."
)
@click.option("--group", metavar="NAME", help="The repositories of this config group.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format (default: from --output).")
@click.option("--output", metavar="PATH", help="Write to this file (atomically) instead of printing.")
@click.option("--job", metavar="NAME", help="Run the [reports.NAME] job of the config file.")
@click.argument("names", nargs=-1, metavar="[OWNER/NAME]...")
@click.pass_obj
def report(
    app: App,
    at: str | None,
    since: str | None,
    until: str | None,
    every: str | None,
    metrics: tuple[str, ...],
    group: str | None,
    fmt: str | None,
    output: str | None,
    job: str | None,
    names: tuple[str, ...],
) -> None:
    """Print or write the ranking at a day (--at) or trends over time (--since); reads the store only."""
    today = utc_now().date()
    if job is not None:
        if any((at, since, until, every, metrics, group, fmt, output, names)):
            raise ReportOptionError("--job runs a configured report; give its options in the config instead")
        if job not in app.config.reports:
            raise ReportOptionError(
                f"--job: {job!r} is not in the config; expected one of {sorted(app.config.reports)}"
            )
        path = run_report_job(app, app.config.reports[job], today)
        click.echo(f"wrote {path}")
        return
    options: dict[str, Any] = {
        "at": at,
        "since": since,
        "until": until,
        "every": every,
        "metric": list(metrics) or None,
        "group": group,
        "format": fmt,
        "repos": list(names),
    }
    request = parse_request(options, today)  # refuses bad names before any query
    chosen = format_for_path(output, fmt) if output else (fmt or "table")
    with app.sessions() as session:
        result = make_report(session, request, app.config)
    if output:
        write_atomic(Path(output), render_report(result, chosen))
        click.echo(f"wrote {output}")
    else:
        # A terminal gets tables split to its width; a pipe or file the 200 columns of render_report.
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 200
        click.echo(render_report(result, chosen, width=width), nl=False)
