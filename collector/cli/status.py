"""`collector status`: per repository, what was collected and how far the history reaches; per token, the
budget left.

The tables are laid out for a 100-column terminal (issue 13): each cell holds a short value, and what is
long (an error message, why a repository is gone or a series unavailable) goes to a notes table where it
wraps across the width that is left. `--format json` gives scripts the same facts, stored text verbatim.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from collector.app import App
from collector.cli.common import pass_app
from collector.reports.cells import shown
from collector.store.runs import BudgetStatus, RepoStatus, load_repo_status, load_token_budgets

WIDTH = 100  # the narrowest terminal the tables are laid out for, and the width of piped output
NOTE_CHARS = 240  # a note longer than this is cut (about four lines beside the name); JSON has it whole
NAME_WIDTH = 40  # a repository's name (and gone note) up to this long stays on one line
DETAIL_CHARS = 18  # a series detail longer than this goes to the notes instead of its cell
SERIES = ("stars", "forks", "commits", "contributors")  # the backfill's columns; other series are notes
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?")


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "-"


def _number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def render_gap(observed: int | None, rebuilt: int | None) -> str:
    """GitHub's count and how far the rebuilt history ends from it (same thing counted): `41,628 / -12`."""
    if observed is None:
        return "-"
    if rebuilt is None:
        return f"{observed:,} / -"
    diff = rebuilt - observed
    return f"{observed:,} / {'0' if diff == 0 else f'{diff:+,d}'}"


def render_versus(observed: int | None, ours: int | None, counted: str) -> str:
    """GitHub's count beside ours where the two count different sets: `75,012 / 72,100 direct`."""
    if observed is None and ours is None:
        return "-"
    return f"{_number(observed)} / {'-' if ours is None else f'{ours:,} {counted}'}"


def shorten(text: str, limit: int = NOTE_CHARS) -> str:
    """`text` on one line (runs of whitespace as one space), cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,}"
    text = str(value)
    return text[:10] if _ISO_MOMENT.fullmatch(text) else text  # a moment in a detail: its day is enough


def render_detail(detail: str | None) -> str:
    """A series' stored detail in words: a JSON object as `key value` pairs (empty ones left out, moments
    as their day), other text as it is: `{"irregular_weeks": 3}` -> `irregular weeks 3`."""
    if not detail:
        return ""
    try:
        decoded = json.loads(detail)
    except ValueError:
        return shorten(detail)
    if isinstance(decoded, dict):
        items = [(key.replace("_", " ") + " ", value) for key, value in decoded.items()]
    else:
        items = [("", value) for value in (decoded if isinstance(decoded, list) else [decoded])]
    return ", ".join(
        f"{label}{_plain(value)}"
        for label, value in items
        if value not in (None, "", 0, False) and not isinstance(value, dict | list)
    )


def split_series(value: str) -> tuple[str, str | None]:
    """A series' state as `load_repo_status` gives it, `complete ({...})`, as (status, detail)."""
    status, sep, rest = value.partition(" (")
    if not sep:
        return value, None
    return status, rest[:-1] if rest.endswith(")") else rest


def _series_cell(value: str | None) -> str:
    """The status, with its detail on a second line when short (a long one is in the notes)."""
    if value is None:
        return "-"
    status, detail = split_series(value)
    words = render_detail(detail)
    return f"{status}\n{words}" if words and len(words) <= DETAIL_CHARS else status


def _notes(r: RepoStatus) -> Iterator[str]:
    """What is too long for a cell: why the repository is gone, its last error, long series details, and
    the series without a column (a walk's own bookkeeping, such as `stars_listing`)."""
    if r.gone_reason:
        yield shorten(f"gone: {r.gone_reason}")
    if r.last_error_message:
        job, _, message = r.last_error_message.partition(": ")
        yield shorten(f"last error ({job}): {message}" if message else f"last error: {job}")
    for name in [s for s in SERIES if s in r.series] + sorted(set(r.series) - set(SERIES)):
        status, detail = split_series(r.series[name])
        words = render_detail(detail)
        if name not in SERIES or len(words) > DETAIL_CHARS:
            yield shorten(f"{name.replace('_', ' ')} {status}" + (f": {words}" if words else ""))


def _repo(r: RepoStatus, gone: bool = False) -> Text:
    """The repository's name; with `gone`, the kind of reason (`not_found`; the whole is in the notes),
    beside it or below it when both would be longer than NAME_WIDTH."""
    if not (gone and r.gone_reason):
        return Text(shown(r.full_name))
    suffix = f"(gone: {r.gone_reason.partition(':')[0]})"
    joint = " " if len(r.full_name) + 1 + len(suffix) <= NAME_WIDTH else "\n"
    return Text(shown(r.full_name) + joint + shown(suffix))


def _table(title: str, headers: Sequence[str], first: Sequence[Text]) -> Table:
    """A table whose first column (repository or token) keeps each line on one line when none is longer
    than NAME_WIDTH, so that the other columns wrap instead; else it folds its lines at NAME_WIDTH."""
    longest = max((len(line) for text in first for line in text.plain.splitlines()), default=0)
    table = Table(title=title, title_justify="left")
    fits = longest <= NAME_WIDTH
    table.add_column(headers[0], overflow="fold", no_wrap=fits, max_width=None if fits else NAME_WIDTH)
    for header in headers[1:]:
        table.add_column(header)
    return table


def repositories_table(rows: list[RepoStatus]) -> Table:
    """When each repository last succeeded and failed, and the days its stored history spans."""
    names = [_repo(r, gone=True) for r in rows]
    table = _table("repositories (times in UTC)", ("repo", "last success", "last error", "history"), names)
    for name, r in zip(names, rows, strict=True):
        history = f"{r.history_from} .. {r.history_to}" if r.history_from else "none"
        table.add_row(name, _when(r.last_success), _when(r.last_error), history)
    return table


def counts_table(rows: list[RepoStatus]) -> Table:
    """GitHub's numbers, then ours."""
    # For stars, the gap (both count stargazers); for forks, the direct forks listed (GitHub counts the
    # whole network); for contributors, the identities the commit walk found (GitHub's anon=1 count links
    # only the first 500 emails to users).
    names = [_repo(r) for r in rows]
    headers = ("repo", "stars / gap", "forks / direct", "contributors / walked")
    table = _table("counts: GitHub's / ours", headers, names)
    for name, r in zip(names, rows, strict=True):
        table.add_row(
            name,
            render_gap(r.observed_stars, r.reconstructed_stars),
            render_versus(r.observed_forks, r.direct_forks, "direct"),
            render_versus(r.observed_contributors, r.walked_contributors, "walked"),
        )
    return table


def backfill_table(rows: list[RepoStatus]) -> Table:
    """Per repository and series, where the backfill stands."""
    series = [s for s in SERIES if any(s in r.series for r in rows)]
    names = [_repo(r) for r in rows]
    table = _table("backfill", ("repo", *series), names)
    for name, r in zip(names, rows, strict=True):
        table.add_row(name, *(Text(_series_cell(r.series.get(s))) for s in series))
    return table


def notes_table(rows: list[RepoStatus]) -> Table | None:
    """The long texts, wrapped across the width the repository's name leaves; None when there are none."""
    notes = [(_repo(r), list(_notes(r))) for r in rows]
    firsts = [name for name, texts in notes if texts]
    table = _table("notes (the whole text: --format json)", ("repo", "note"), firsts)
    for name, texts in notes:
        for i, note in enumerate(texts):
            table.add_row(name if i == 0 else Text(""), Text(shown(note)))  # GitHub's words
    return table if table.row_count else None


def tokens_table(budgets: list[BudgetStatus]) -> Table:
    """The last budget seen per token (by position) or App installation, and resource."""
    labels = [Text(b.label) for b in budgets]
    headers = ("token", "resource", "remaining", "limit", "resets at (UTC)")
    table = _table("tokens (GITHUB_TOKEN position, or App installation)", headers, labels)
    for label, b in zip(labels, budgets, strict=True):
        table.add_row(label, Text(b.resource), _number(b.remaining), _number(b.limit), _when(b.reset_at))
    for column in table.columns[2:4]:
        column.justify = "right"
    return table


def status_tables(rows: list[RepoStatus], budgets: list[BudgetStatus]) -> list[Table | str]:
    """What `collector status` prints, in order."""
    parts: list[Table | str] = []
    if rows:
        parts += [repositories_table(rows), counts_table(rows)]
        if any(s in r.series for r in rows for s in SERIES):
            parts.append(backfill_table(rows))
        notes = notes_table(rows)
        if notes is not None:
            parts.append(notes)
    else:
        parts.append("no repositories tracked")
    parts.append(tokens_table(budgets) if budgets else "no token budgets seen yet")
    return parts


def render_status(rows: list[RepoStatus], budgets: list[BudgetStatus], width: int = WIDTH) -> str:
    """The tables as plain text, `width` columns wide at most."""
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False)
    for part in status_tables(rows, budgets):
        console.print(part)
    return "".join(line.rstrip() + "\n" for line in out.getvalue().splitlines())  # titles are padded


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def series_json(value: str) -> dict[str, Any]:
    """A series' state as data: {"status", "detail"}, the detail decoded when it is JSON (the backfill's
    progress), else its text, null when there is none."""
    status, detail = split_series(value)
    decoded: Any = detail
    if detail is not None:
        try:
            decoded = json.loads(detail)
        except ValueError:
            pass  # text, such as why a series is unavailable
    return {"status": status, "detail": decoded}


def status_json(rows: list[RepoStatus], budgets: list[BudgetStatus]) -> str:
    """The same as the tables, for scripts: one object, dates in ISO 8601 (UTC), unknown as null."""
    repositories = [
        {
            "repo": r.full_name,
            "gone": r.gone_reason,
            "last_success": _iso(r.last_success),
            "last_error": _iso(r.last_error),
            "last_error_message": r.last_error_message,
            "observed_at": _iso(r.observed_at),
            "history": {"from": _iso(r.history_from), "to": _iso(r.history_to)},
            "stars": {"observed": r.observed_stars, "rebuilt": r.reconstructed_stars},
            "forks": {"observed": r.observed_forks, "direct": r.direct_forks},
            "contributors": {"observed": r.observed_contributors, "walked": r.walked_contributors},
            "series": {name: series_json(value) for name, value in sorted(r.series.items())},
        }
        for r in rows
    ]
    tokens = [
        {
            "token": b.label,
            "resource": b.resource,
            "remaining": b.remaining,
            "limit": b.limit,
            "reset_at": _iso(b.reset_at),
        }
        for b in budgets
    ]
    return json.dumps({"repositories": repositories, "tokens": tokens}, indent=2)


@click.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_app
def status(app: App, fmt: str) -> None:
    """Per repository: last success, last error, history coverage and gaps; per token: budget left."""
    with app.sessions() as s:
        rows = load_repo_status(s)
        budgets = load_token_budgets(s)
    if fmt == "json":
        click.echo(status_json(rows, budgets))
        return
    console = Console()
    if console.is_terminal:  # its own width, and styles
        for part in status_tables(rows, budgets):
            console.print(part)
    else:  # Rich assumes 80 columns for a pipe unless COLUMNS says otherwise
        click.echo(render_status(rows, budgets, max(WIDTH, console.width)), nl=False)
