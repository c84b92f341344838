"""Text renderers: pure functions from a report to a string (terminal table, Markdown, CSV, JSON)."""

from __future__ import annotations

import html
import io
import json
import re
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from collector.reports.model import (
    RANKING_HEADER,
    Footnotes,
    Ranking,
    Report,
    compute_metric_tables,
    compute_ranking_rows,
    describe,
    describe_metric,
)

_NUMERIC = {"rank", "stars", "forks", "contributors", "commits", "change", "change %", "rank move"}
_DESCRIPTION_WIDTH = 48  # terminal tables truncate descriptions so the numbers keep their room
_NA_MARK = re.compile(r"\(n/a\)\[\d+\]")


def _footer_lines(footnotes: Footnotes) -> list[str]:
    lines = [f"[{i}] {t}" for i, t in enumerate(footnotes.texts, start=1)]
    return lines + [f"note: {n}" for n in footnotes.notes]


def _grids(report: Report) -> list[tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...]]]:
    """(title, header, rows) of every human-readable table in the report."""
    if isinstance(report, Ranking):
        return [(describe(report), RANKING_HEADER, compute_ranking_rows(report))]
    return [
        (describe_metric(t.metric, report.every), t.header, t.rows) for t in compute_metric_tables(report)
    ]


def render_table(report: Report, width: int = 200) -> str:
    """The report as terminal tables (Rich, no colours), descriptions truncated to fit `width`."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False, legacy_windows=False)
    for renderable in rich_tables(report, width):
        console.print(renderable)
    return buffer.getvalue()


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def rich_tables(report: Report, width: int) -> list[Table | Text]:
    """The Rich renderables of the terminal table format (the CLI prints them directly, with colours)."""
    out: list[Table | Text] = []
    if not isinstance(report, Ranking):
        out.append(Text(describe(report), style="bold"))
    for title, header, rows in _grids(report):
        table = Table(title=Text(title), title_justify="left")
        # Every column but the description keeps its full width; the description gets what is left.
        used = 1 + sum(
            3 + max([len(name)] + [len(row[i]) for row in rows])
            for i, name in enumerate(header)
            if name != "description"
        )
        room = max(12, min(_DESCRIPTION_WIDTH, width - used - 3))
        for name in header:
            if name == "description":
                table.add_column(name, no_wrap=True, min_width=min(room, len(name)))
            elif name in _NUMERIC or name[:1].isdigit():
                table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
            else:
                table.add_column(name, no_wrap=True, min_width=len(name))
        for row in rows:
            cells = [
                _truncate(v, room) if n == "description" else v for n, v in zip(header, row, strict=True)
            ]
            # Text(...) keeps GitHub-originated strings from being read as Rich markup.
            table.add_row(*(Text(value) for value in cells))
        out.append(table)
    out.extend(Text(line) for line in _footer_lines(report.footnotes))
    return out


def _md_escape(value: str) -> str:
    # Markdown renderers pass inline HTML through, so escape it, and keep cells on one line.
    text = html.escape(" ".join(value.split()), quote=False)
    for char in "\\|*_`[]":
        text = text.replace(char, "\\" + char)
    return text


def _md_cell(value: str) -> str:
    # Our own "(n/a)[k]" marker stays readable; everything else may come from GitHub.
    return value if _NA_MARK.fullmatch(value) else _md_escape(value)


def render_markdown(report: Report) -> str:
    """The report as Markdown (pipe tables), GitHub-originated text escaped."""
    lines = [f"# {_md_escape(describe(report))}", ""]
    for title, header, rows in _grids(report):
        if not isinstance(report, Ranking):
            lines += [f"## {_md_escape(title)}", ""]
        lines.append("| " + " | ".join(_md_escape(h) for h in header) + " |")
        lines.append(
            "| " + " | ".join("---:" if h in _NUMERIC or h[:1].isdigit() else "---" for h in header) + " |"
        )
        lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
        lines.append("")
    footer = [f"[{i}] {_md_escape(t)}" for i, t in enumerate(report.footnotes.texts, start=1)]
    footer += [f"note: {_md_escape(n)}" for n in report.footnotes.notes]
    if footer:
        lines += [line + "  " for line in footer] + [""]
    return "\n".join(lines)


def tidy_frame(report: Report) -> pd.DataFrame:
    """The tidy table of csv and json: the report's table without internal columns."""
    return report.table.drop(columns=["exists"])


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _records(report: Report) -> list[dict[str, Any]]:
    frame = tidy_frame(report)
    return [
        {column: _plain(value) for column, value in zip(frame.columns, row, strict=True)}
        for row in frame.itertuples(index=False)
    ]


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # A cell starting with = + - @ is a formula to spreadsheets; descriptions come from strangers.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not text.lstrip("-").isdigit():
        text = "'" + text
    return text


def render_csv(report: Report) -> str:
    """The tidy table as CSV: `rank,repo,stars,...` for a ranking, `repo,period,...` for trends."""
    frame = tidy_frame(report).copy()
    for column in ("repo", "language", "description", "notes"):
        if column in frame.columns:
            frame[column] = [_csv_text(_plain(v)) for v in frame[column]]
    if "archived" in frame.columns:
        frame["archived"] = ["true" if v else "false" for v in frame["archived"]]
    return str(frame.to_csv(index=False, lineterminator="\n"))


def render_json(report: Report) -> str:
    """The tidy table as JSON: {"report", "rows": [...], "footnotes", "notes", ...}."""
    document: dict[str, Any]
    if isinstance(report, Ranking):
        document = {"report": "ranking", "at": report.at.isoformat()}
    else:
        document = {
            "report": "trend",
            "every": report.every,
            "since": report.periods[0].start.isoformat(),
            "until": report.periods[-1].as_of.isoformat(),
            "metrics": list(report.metrics),
        }
    document["columns"] = list(tidy_frame(report).columns)
    document["rows"] = _records(report)
    document["footnotes"] = list(report.footnotes.texts)
    document["notes"] = list(report.footnotes.notes)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
