"""Text renderers: pure functions from a report to a string (terminal table, Markdown, CSV, JSON)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from collector.reports.cells import cell_width, ljust_cells, shown, truncate_cells
from collector.reports.groups import TOTAL_ROW
from collector.reports.model import Footnotes, Ranking, Report
from collector.reports.tables import (
    ABOUT_HEADER,
    compute_about_rows,
    compute_group_tables,
    compute_metric_tables,
    compute_ranking_rows,
    describe,
    describe_metric,
    is_numeric_column,
    ranking_header,
)
from collector.reports.tidy import group_document, tidy_frame

_DESCRIPTION_WIDTH = 48  # terminal tables truncate descriptions so the numbers keep their room
_NA_MARK = re.compile(r"\(n/a\)\[\d+\]")
_NUMBER = re.compile(r"[\d,.%+-]*")  # counts, changes and percentages: nothing to escape (most cells)


def _footer_lines(footnotes: Footnotes) -> list[str]:
    lines = [f"[{i}] {t}" for i, t in enumerate(footnotes.texts, start=1)]
    return lines + [f"note: {n}" for n in footnotes.notes]


def _grids(report: Report) -> list[tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...]]]:
    """(title, header, rows) of every human-readable table in the report."""
    if isinstance(report, Ranking):
        return [(describe(report), ranking_header(report), compute_ranking_rows(report))]
    grids = [
        (describe_metric(t.metric, report.every), t.header, t.rows) for t in compute_metric_tables(report)
    ]
    grids += compute_group_tables(report)
    if report.repositories:
        grids.append(("Repositories", ABOUT_HEADER, compute_about_rows(report)))
    return grids


def render_table(report: Report, width: int = 200) -> str:
    """The report as boxed terminal tables, every value shown whatever `width` is.

    A table wider than `width` is split into blocks of columns, one under the other, each repeating the
    repository (and rank) so every value stays readable; descriptions are truncated to fit instead.
    Plain string work rather than Rich's layout engine: a 10-year monthly trend of 1,000 repositories is
    half a million cells, which Rich takes tens of seconds to lay out (and squeezes columns out of view).
    """
    lines = [] if isinstance(report, Ranking) else [describe(report)]
    keys = 2 if isinstance(report, Ranking) else 1  # rank and repository, or the repository
    for title, header, rows in _grids(report):
        lines += _boxed(title, header, rows, width, keys)
    lines += _footer_lines(report.footnotes)
    return "\n".join(lines) + "\n"


def _description_room(widths: Sequence[int], at: int, keys: int, width: int, cap: int) -> int:
    """How wide the description column (position `at`, the last) may be: what the block of columns it
    lands in leaves free, up to `cap`; when that is under half of `cap`, a block of its own beside
    the key columns (the blocks split as in _boxed)."""
    start = 1 + sum(3 + widths[i] for i in range(keys))
    used = start
    for i in range(keys, len(widths)):
        if i != at:
            used = start if used > start and used + 3 + widths[i] > width else used
            used += 3 + widths[i]
    free = width - used - 3
    if free < cap // 2:
        free = width - start - 3
    return max(12, min(cap, free))


def _boxed(
    title: str, header: tuple[str, ...], rows: tuple[tuple[str, ...], ...], width: int, keys: int
) -> list[str]:
    """One table as lines of box drawing: the first `keys` columns start every block of columns."""
    right = [is_numeric_column(name) for name in header]
    texts = [i for i, numeric in enumerate(right) if not numeric]  # names, descriptions: from GitHub
    rows = tuple(_shown_cells(row, texts) for row in rows)
    measure = [len if numeric else cell_width for numeric in right]  # counts are ASCII
    widths = [max([len(name), *(measure[i](row[i]) for row in rows)]) for i, name in enumerate(header)]
    if "description" in header:
        at = header.index("description")
        # The ranking keeps descriptions short beside its numbers; the repositories table has the room.
        cap = width if header == ABOUT_HEADER else _DESCRIPTION_WIDTH
        room = _description_room(widths, at, keys, width, cap)
        rows = tuple(row[:at] + (truncate_cells(row[at], room),) + row[at + 1 :] for row in rows)
        widths[at] = max([len(header[at]), *(cell_width(row[at]) for row in rows)])
    # Each column takes its width plus three ("│ " before, " " after), and the line one more ("│").
    start = 1 + sum(3 + widths[i] for i in range(keys))
    blocks: list[list[int]] = [[]]
    used = start
    for i in range(keys, len(header)):
        if blocks[-1] and used + 3 + widths[i] > width:
            blocks.append([])
            used = start
        blocks[-1].append(i)
        used += 3 + widths[i]
    lines = []
    for n, block in enumerate(blocks):
        spec = [(i, str.rjust if right[i] else ljust_cells, widths[i]) for i in (*range(keys), *block)]
        rules = ["━" * (w + 2) for _, _, w in spec]
        lines.append(title if n == 0 else f"{title} (continued)")
        lines.append("┏" + "┳".join(rules) + "┓")
        lines.append(_line(header, "┃", spec))
        lines.append("┡" + "╇".join(rules) + "┩")
        for row in rows:
            if TOTAL_ROW in row[:keys]:  # the group's total: set apart from its members
                lines.append("├" + "┼".join("─" * (w + 2) for _, _, w in spec) + "┤")
            lines.append(_line(row, "│", spec))
        lines.append("└" + "┴".join("─" * (w + 2) for _, _, w in spec) + "┘")
    return lines


def _shown_cells(row: tuple[str, ...], texts: Sequence[int]) -> tuple[str, ...]:
    """The row with its text cells as a terminal may show them (control characters made visible)."""
    if all(row[i].isascii() and row[i].isprintable() for i in texts):
        return row
    return tuple(shown(cell) if i in texts else cell for i, cell in enumerate(row))


def _line(cells: Sequence[str], bar: str, spec: Sequence[tuple[int, Callable[[str, int], str], int]]) -> str:
    return f"{bar} " + f" {bar} ".join([justify(cells[i], w) for i, justify, w in spec]) + f" {bar}"


def _md_escape(value: str) -> str:
    # Markdown renderers pass inline HTML through, so escape it, and keep cells on one line.
    text = html.escape(" ".join(value.split()), quote=False)
    for char in "\\|*_`[]":
        text = text.replace(char, "\\" + char)
    return text


def _md_cell(value: str) -> str:
    # Our own "(n/a)[k]" marker stays readable; everything else may come from GitHub.
    return value if _NUMBER.fullmatch(value) or _NA_MARK.fullmatch(value) else _md_escape(value)


def render_markdown(report: Report) -> str:
    """The report as Markdown (pipe tables), GitHub-originated text escaped."""
    lines = [f"# {_md_escape(describe(report))}", ""]
    for title, header, rows in _grids(report):
        if not isinstance(report, Ranking):
            lines += [f"## {_md_escape(title)}", ""]
        lines.append("| " + " | ".join(_md_escape(h) for h in header) + " |")
        lines.append("| " + " | ".join("---:" if is_numeric_column(h) else "---" for h in header) + " |")
        lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
        lines.append("")
    footer = [f"[{i}] {_md_escape(t)}" for i, t in enumerate(report.footnotes.texts, start=1)]
    footer += [f"note: {_md_escape(n)}" for n in report.footnotes.notes]
    if footer:
        lines += [line + "  " for line in footer] + [""]
    return "\n".join(lines)


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


def _plain_column(column: pd.Series[Any]) -> list[Any]:
    """A column as JSON-ready Python values, None for missing; whole columns at a time where possible."""
    if pd.api.types.is_integer_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        missing = column.isna().to_numpy().tolist()
        kind = "bool" if pd.api.types.is_bool_dtype(column.dtype) else "int64"
        values = column.to_numpy(dtype=kind, na_value=0).tolist()
        return [None if m else v for v, m in zip(values, missing, strict=True)]
    return _each_distinct(column, _plain)


def _each_distinct(column: pd.Series[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """`convert` of every cell, called once per distinct value: a trend repeats each name, period, day,
    source and note many times (a million cells for 10,000 repositories over 10 years of months)."""
    codes, distinct = pd.factorize(column.astype(object), use_na_sentinel=False)
    converted = np.empty(len(distinct), dtype=object)
    converted[:] = [convert(v) for v in distinct]
    result: list[Any] = converted[codes].tolist()
    return result


def _json_rows(frame: pd.DataFrame) -> list[str]:
    """Each row as `json.dumps` writes the dict of it, put together a column at a time: numbers converted
    whole, other values encoded once per distinct value (encoding a dict per row, or a value per cell,
    costs ten times as much for a million rows)."""
    parts = []
    for n, name in enumerate(frame.columns):
        key = ("{" if n == 0 else ", ") + json.dumps(str(name), ensure_ascii=False) + ": "
        parts.append((key + _json_cells(frame[name])).tolist())  # numpy puts the key before each cell
    return ["".join(cells) + "}" for cells in zip(*parts, strict=True)]


def _json_cells(column: pd.Series[Any]) -> npt.NDArray[np.object_]:
    """A column's values as JSON texts."""
    if pd.api.types.is_bool_dtype(column.dtype):
        flags = column.to_numpy(dtype=bool, na_value=False)
        texts = np.where(flags, "true", "false").astype(object)
    elif pd.api.types.is_integer_dtype(column.dtype):
        numbers = column.to_numpy(dtype="int64", na_value=0).astype(str).astype(object)
        texts = np.where(column.isna().to_numpy(), "null", numbers)
    else:
        texts = np.array(
            _each_distinct(column, lambda v: json.dumps(_plain(v), ensure_ascii=False)), dtype=object
        )
    return texts.astype(object)


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
    """The tidy table as CSV: `rank,repo,stars,...` for a ranking, `repo,period,...` for trends.

    Written a column at a time (minimal quoting, empty for missing, `archived` as true or false), each
    distinct text escaped once: a million rows take seconds less than pandas' to_csv.
    """
    frame = tidy_frame(report)
    columns = [_csv_cells(frame[name], str(name)) for name in frame.columns]
    lines = [",".join(_csv_field(str(name)) for name in frame.columns)]
    lines += [",".join(cells) for cells in zip(*columns, strict=True)]
    return "\n".join(lines) + "\n"


_QUOTED = re.compile(r'[,"\r\n]')
_TEXTS = ("repo", "language", "description", "notes")  # may come from GitHub: no formulas


def _csv_field(text: str) -> str:
    """A field quoted when it holds a comma, a quote or a line break (a lone carriage return too, which
    the csv module leaves bare and spreadsheets break lines at)."""
    return '"' + text.replace('"', '""') + '"' if _QUOTED.search(text) else text


def _csv_cells(column: pd.Series[Any], name: str) -> list[str]:
    """A column's fields."""
    if pd.api.types.is_bool_dtype(column.dtype):
        flags = column.to_numpy(dtype=bool, na_value=False)
        bools: list[str] = np.where(flags, "true", "false").tolist()
        return bools
    if pd.api.types.is_integer_dtype(column.dtype):
        numbers = column.to_numpy(dtype="int64", na_value=0).astype(str)
        texts: list[str] = np.where(column.isna().to_numpy(), "", numbers).tolist()
        return texts
    if name in _TEXTS:
        return _each_distinct(column, lambda v: _csv_field(_csv_text(_plain(v))))
    return _each_distinct(column, lambda v: _csv_field("" if _plain(v) is None else str(_plain(v))))


_ROWS = "\u0000rows\u0000"  # stands for the rows; everything before them in the document is ours


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
            "periods": [
                {
                    "label": p.label,
                    "start": p.start.isoformat(),
                    "as_of": p.as_of.isoformat(),
                    "partial": p.partial,
                }
                for p in report.periods
            ],
            "include_partial": report.include_partial,
        }
    frame = tidy_frame(report)
    document["columns"] = list(frame.columns)
    document["rows"] = _ROWS
    document["footnotes"] = list(report.footnotes.texts)
    document["notes"] = list(report.footnotes.notes)
    if not isinstance(report, Ranking):  # after the rows: see the placeholder below
        document["repositories"] = [
            {"repo": f.repo, "language": f.language, "archived": f.archived, "description": f.description}
            for f in report.repositories
        ]
    if report.group is not None:
        document["group"] = group_document(report)
    # One row per line: readable, and json's C encoder (which indent= turns off) does the rows.
    rows = ",\n".join("    " + row for row in _json_rows(frame))
    head = json.dumps(document, indent=2, ensure_ascii=False)
    return head.replace(json.dumps(_ROWS), f"[\n{rows}\n  ]" if rows else "[]", 1) + "\n"
