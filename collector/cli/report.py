"""`collector report`: read the store, print the ranking or trends, or write them to a file."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import click

from collector.app import App
from collector.cli.common import pass_app
from collector.domain import utc_now
from collector.reports.build import make_report
from collector.reports.model import (
    EVERY,
    FORMATS,
    REPORT_METRICS,
    TERMINAL_ROWS,
    ReportOptionError,
    cap_for_format,
    format_for_path,
    parse_request,
)
from collector.reports.output import render_report, run_report_job, write_atomic


@click.command("report")
@click.option("--at", "at", metavar="YYYY-MM-DD", help="Ranking at the end of this day (default: today).")
@click.option("--since", metavar="YYYY-MM[-DD]", help="Trends from this month or day.")
@click.option("--until", metavar="YYYY-MM[-DD]", help="Trends up to this month or day (default: today).")
@click.option("--every", type=click.Choice(EVERY), help="Trend period (default: month).")
@click.option(
    "--metric", "metrics", multiple=True, type=click.Choice(REPORT_METRICS), help="Trend metric (repeatable)."
)
@click.option("--group", metavar="NAME", help="The repositories of this group (config list or rule group).")
@click.option(
    "--top",
    metavar="N",
    help=f"Only the top N by the latest value of the first metric (stars for --at); a terminal table shows"
    f" the top {TERMINAL_ROWS} unless told.",
)
@click.option(
    "--totals/--no-totals",
    default=None,
    help="With --group: the group's total, biggest movers and joins per period (default: shown).",
)
@click.option(
    "--include-partial",
    is_flag=True,
    default=None,
    help="Trends: change and rank move reach into the last period even when it is partial (marked *).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format (default: from --output).")
@click.option("--output", metavar="PATH", help="Write to this file (atomically) instead of printing.")
@click.option("--job", metavar="NAME", help="Run the [reports.NAME] job of the config file.")
@click.argument("names", nargs=-1, metavar="[OWNER/NAME]...")
@pass_app
def report(
    app: App,
    at: str | None,
    since: str | None,
    until: str | None,
    every: str | None,
    metrics: tuple[str, ...],
    group: str | None,
    top: str | None,
    totals: bool | None,
    include_partial: bool | None,
    fmt: str | None,
    output: str | None,
    job: str | None,
    names: tuple[str, ...],
) -> None:
    """Print or write the ranking at a day (--at) or trends over time (--since); reads the store only."""
    today = utc_now().date()
    if job is not None:
        given = (at, since, until, every, metrics, group, top, fmt, output, names)
        if any((*given, totals is not None, include_partial is not None)):
            raise ReportOptionError("--job runs a configured report; give its options in the config instead")
        if job not in app.config.reports:
            raise ReportOptionError(
                f"--job: {job!r} is not in the config; expected one of {sorted(app.config.reports)}"
            )
        path = run_report_job(app.sessions, app.config, app.config.reports[job], today)
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
        "top": top,
        "totals": totals,
        "include_partial": include_partial,
    }
    request = parse_request(options, today)  # refuses bad names before any query
    chosen = format_for_path(output, fmt) if output else (fmt or "table")
    request = cap_for_format(request, chosen)
    with app.sessions() as session:
        result = make_report(session, request, app.config)
    if output:
        write_atomic(Path(output), render_report(result, chosen))
        click.echo(f"wrote {output}")
    else:
        # A terminal gets tables split to its width; a pipe or file the 200 columns of render_report.
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 200
        click.echo(render_report(result, chosen, width=width), nl=False)
