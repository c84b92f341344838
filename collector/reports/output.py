"""A report as a string in one of FORMATS, written atomically; and the `[reports.NAME]` jobs."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from collector.config import Config, ReportJob
from collector.reports.build import make_report
from collector.reports.html import render_html
from collector.reports.model import (
    FORMATS,
    Report,
    ReportOptionError,
    cap_for_format,
    format_for_path,
    parse_request,
)
from collector.reports.render import render_csv, render_json, render_markdown, render_table


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except PermissionError as exc:
        # In a container the mounted reports directory often belongs to the host's user, not the image's.
        raise ReportOptionError(
            f"{path}: cannot write there ({exc.strerror}); make {path.parent} writable by uid {os.getuid()}"
        ) from exc
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


def run_report_job(sessions: sessionmaker[Session], config: Config, job: ReportJob, today: date) -> Path:
    """Run a `[reports.NAME]` job: write its report to its output pattern with {date} filled in
    (`config` gives the groups a job may name)."""
    try:
        output = Path(job.output.replace("{date}", today.isoformat()))
        fmt = format_for_path(str(output), job.options.get("format"))
        request = cap_for_format(parse_request(dict(job.options), today), fmt)
        with sessions() as session:
            report = make_report(session, request, config)
    except ReportOptionError as exc:
        raise ReportOptionError(f"reports.{job.name}: {exc}") from exc
    write_atomic(output, render_report(report, fmt))
    return output
