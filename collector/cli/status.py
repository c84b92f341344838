"""`collector status`: per repository, what was collected and how far the history reaches; per token, the
budget left."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import click
from rich.console import Console
from rich.table import Table

from collector.app import App
from collector.cli.common import pass_app
from collector.store.runs import BudgetStatus, RepoStatus, load_repo_status, load_token_budgets

# GitHub's numbers first, then ours: the gap for stars (both count stargazers); for forks the direct forks
# listed (GitHub counts the whole network), for contributors the identities the commit walk found (GitHub's
# anon=1 count links only the first 500 emails to users).
COLUMNS = (
    "repo",
    "last success",
    "last error",
    "history",
    "stars obs/gap",
    "forks obs/listed",
    "contrib. obs/walk",
    "series",
)


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


def _row(r: RepoStatus) -> tuple[str, ...]:
    return (
        r.full_name + (f" (gone: {r.gone_reason})" if r.gone_reason else ""),
        _when(r.last_success),
        f"{_when(r.last_error)} {r.last_error_message or ''}".strip() if r.last_error else "-",
        f"{r.history_from} .. {r.history_to}" if r.history_from else "none",
        render_gap(r.observed_stars, r.reconstructed_stars),
        render_versus(r.observed_forks, r.direct_forks, "direct"),
        render_versus(r.observed_contributors, r.walked_contributors, "walked"),
        ", ".join(f"{k}: {v}" for k, v in sorted(r.series.items())) or "-",
    )


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


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
            "series": dict(sorted(r.series.items())),
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
    console = Console(width=max(100, Console().width))
    table = Table(title="repositories")
    for col in COLUMNS:
        table.add_column(col)
    for r in rows:
        table.add_row(*_row(r))
    console.print(table)
    if not rows:
        console.print("no repositories tracked")
    tokens = Table(title="tokens (by position in GITHUB_TOKEN, or GitHub App installation)")
    for col in ("token", "resource", "remaining", "limit", "resets at (UTC)"):
        tokens.add_column(col)
    for b in budgets:
        tokens.add_row(b.label, b.resource, str(b.remaining), str(b.limit), _when(b.reset_at))
    console.print(tokens if budgets else "no token budgets seen yet")
