"""What the HTML pages show, as plain dicts over a Session: built on the report layer and on
collector.web.data (the API's functions), so a page cannot disagree with its JSON twin or with
`collector report`. No SQL here: it lives in collector.store.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from collector.config import Config
from collector.domain import METRICS, RepoName, parse_repo_name
from collector.errors import CollectorError
from collector.reports.build import group_lists, make_report, select_group
from collector.reports.grid import ShownGrid
from collector.reports.group_page import GroupPage, make_group_page
from collector.reports.groups import compute_movers
from collector.reports.model import EARLIEST, ReportRequest, Trend, period_start
from collector.store.groups import load_groups
from collector.store.latest import load_job_health, load_latest
from collector.store.reports import load_period_grid, load_report_repos, load_tracked_ids
from collector.store.repos import load_aliases
from collector.web import data

SEARCH_LIMIT = 50
GROUP_ROWS = 500  # a group page's ranking shows its top rows; the JSON link has them all
FRESHNESS_TASKS = ("collect", "backfill", "discover")


def _value(cell: Any) -> int | None:
    return None if cell is None or pd.isna(cell) else int(cell)


def _minutes(at: datetime | None) -> str | None:
    return at.strftime("%Y-%m-%d %H:%M") if at else None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def group_names(session: Session, config: Config) -> list[str]:
    """Every group: the config's lists (and the default one) and the store's rule groups, by name."""
    return sorted(set(group_lists(config)) | {g.name for g in load_groups(session)})


def _groups_with_ids(session: Session, config: Config) -> list[tuple[str, list[int]]]:
    """(name, member ids in the store) of every group with at least one member in the store."""
    found = []
    for name in group_names(session, config):
        ids, _ = select_group(session, config, name)
        if ids:
            found.append((name, ids))
    return found


def _stars_on(
    session: Session, ids: list[int], repos: dict[int, tuple[str, date | None]], day: date, today: date
) -> ShownGrid:
    """Every repository's stars at the end of `day` (a ranking's read: one period)."""
    grid = load_period_grid(session, ids, "day", day, day, ("stars",), through_today=day == today)
    return ShownGrid.of(grid, repos)


def weekly_movers(session: Session, ids: Sequence[int], today: date, limit: int = 10) -> dict[str, Any]:
    """The biggest movers by stars over the last seven days (absolute, and relative from 100 stars)."""
    start = today - timedelta(days=7)
    found: dict[str, Any] = {
        "since": start.isoformat(),
        "until": today.isoformat(),
        "absolute": [],
        "relative": [],
    }
    if not ids:
        return found
    repos = {r.id: r.shown_as() for r in load_report_repos(session, ids)}
    before, now = (_stars_on(session, sorted(repos), repos, day, today) for day in (start, today))
    absolute, relative = compute_movers(
        before.names, before.column("stars", 0), now.column("stars", 0), before.exists[:, 0], limit
    )
    found["absolute"] = [vars(m) for m in absolute if m.change > 0]
    found["relative"] = [vars(m) for m in relative if m.change > 0]
    return found


def home(session: Session, config: Config, today: date) -> dict[str, Any]:
    """The front page: groups and counts, the data's freshness, this week's movers."""
    ids = load_tracked_ids(session)
    groups = [{"name": n, "members": len(i)} for n, i in _groups_with_ids(session, config)]
    freshness = [
        {
            "task": h.task,
            "last_success": _minutes(h.last_success_at),
            "last_status": h.last_status,
            "failed": h.last_failed_items,
        }
        for h in load_job_health(session, FRESHNESS_TASKS)
        if h.task in FRESHNESS_TASKS and (h.last_status or h.last_success_at)
    ]
    return {
        "today": today.isoformat(),
        "tracked": len(ids),
        "groups": groups,
        "freshness": freshness,
        "movers": weekly_movers(session, ids, today),
    }


def search(session: Session, query: str) -> dict[str, Any]:
    """Repositories whose current name contains `query` (case-insensitive), or the one it names exactly
    (a former name included): `exact` is then its current name."""
    text = query.strip()
    exact = None
    try:
        name: RepoName | None = parse_repo_name(text)
    except CollectorError:
        name = None
    if name is not None:
        try:
            (repo,) = data.resolve(session, [name])
            exact = repo.full_name
        except data.NotFound:
            pass
    matches: list[str] = []
    if text and exact is None:
        needle = text.lower()
        names = sorted(r.full_name for r in load_report_repos(session, load_tracked_ids(session)))
        matches = [n for n in names if needle in n.lower()][:SEARCH_LIMIT]
    return {"q": text, "exact": exact, "matches": matches, "limit": SEARCH_LIMIT}


def _history(session: Session, config: Config, name: str, since: date, today: date) -> list[dict[str, Any]]:
    """A repository's monthly values of every metric with their sources, as `collector report` has them."""
    request = ReportRequest(
        since=since, until=today, every="month", repos=(parse_repo_name(name),), through_today=True
    )
    trend = make_report(session, request, config)
    assert isinstance(trend, Trend)
    table = trend.table
    columns = {c: table[c].tolist() for c in table.columns}  # plain lists: no pandas lookup per cell
    rows = []
    for k in range(len(table)):
        row: dict[str, Any] = {"period": str(columns["period"][k]), "as_of": str(columns["as_of"][k])}
        for metric in METRICS:
            row[metric] = _value(columns[metric][k])
            source = columns.get(f"{metric}_source", [None] * len(table))[k]
            row[f"{metric}_source"] = source if isinstance(source, str) else None
        rows.append(row)
    return rows


def repo(session: Session, config: Config, name: RepoName, today: date) -> dict[str, Any]:
    """A repository's page: today's numbers, monthly history with sources, weekly commits of the last
    year, its rank in each group it belongs to, and when it was last observed."""
    (found,) = data.resolve(session, [name])
    latest = load_latest(session, found.id)
    created = found.created_at.date() if found.created_at else None
    since = max(EARLIEST, (created or today - timedelta(days=365)).replace(day=1))
    week_span = data.Span(today - timedelta(days=364), today, "week", today)
    commits = data.series(session, config, parse_repo_name(found.full_name), "commits", week_span)
    return {
        "repo": found.full_name,
        "description": found.description,
        "language": found.primary_language,
        "archived": found.archived,
        "created": _iso(created),
        "former_names": [a for a in load_aliases(session, found.id) if a != found.full_name],
        "latest": latest[0].values if latest else {},
        "observed_at": _minutes(latest[0].observed_at) if latest else None,
        "history": _history(session, config, found.full_name, since, today),
        "weekly_commits": commits["points"],
        "ranks": _ranks(session, config, found.id, today),
    }


def _ranks(session: Session, config: Config, repo_id: int, today: date) -> list[dict[str, Any]]:
    """A repository's rank by stars today in each group it belongs to, as the group's ranking has it
    (competition ranks; none without a value), and the group's size: from one read of today's stars of
    every member of those groups, not a whole ranking (all metrics, every row) per group."""
    groups = [(name, ids) for name, ids in _groups_with_ids(session, config) if repo_id in ids]
    if not groups:
        return []
    members = sorted({i for _, ids in groups for i in ids})
    repos = {r.id: r.shown_as() for r in load_report_repos(session, members)}
    stars = _stars_on(session, members, repos, today, today)
    value = dict(zip(stars.grid.repo_ids.tolist(), stars.column("stars", 0), strict=True))
    mine = value.get(repo_id)

    def rank(ids: list[int]) -> int | None:
        if mine is None:
            return None
        return 1 + sum(1 for i in ids if (v := value.get(i)) is not None and v > mine)

    return [{"group": name, "rank": rank(ids), "of": len(ids)} for name, ids in groups]


@dataclass(frozen=True)
class Aligned:
    """A compare table: a label per row and, per repository, a value per row."""

    labels: list[str]
    series: dict[str, list[int | None]]


def align_by_date(compared: dict[str, Any]) -> Aligned:
    """Rows are the periods' last days, as the API gives them."""
    series = compared["series"]
    labels = [p["date"] for p in series[0]["points"]] if series else []
    return Aligned(labels, {s["repo"]: [p["value"] for p in s["points"]] for s in series})


def periods_between(first: date, later: date, every: str) -> int:
    """How many periods (week, month, quarter, year) `later`'s period comes after `first`'s."""
    a, b = period_start(first, every), period_start(later, every)
    if every == "week":
        return (b - a).days // 7
    months = (b.year - a.year) * 12 + b.month - a.month
    return {"month": months, "quarter": months // 3, "year": months // 12}[every]


def align_by_age(compared: dict[str, Any]) -> Aligned:
    """Rows are periods since each repository's creation: row N is the end of the N-th period after the
    one it was created in (0: that period), so every line starts at its creation; repositories without
    a creation day are left out."""
    every = compared["every"]
    ages: dict[str, dict[int, int | None]] = {}
    for s in compared["series"]:
        if not s["created"]:
            continue
        born = date.fromisoformat(s["created"])
        ages[s["repo"]] = {
            periods_between(born, day, every): p["value"]
            for p in s["points"]
            if (day := date.fromisoformat(p["date"])) >= born
        }
    oldest = max((max(a, default=-1) for a in ages.values()), default=-1)
    rows = list(range(oldest + 1))
    return Aligned(
        [f"{every} {n}" for n in rows], {repo: [a.get(n) for n in rows] for repo, a in ages.items()}
    )


def compare(
    session: Session, config: Config, names: Sequence[RepoName], metric: str, span: data.Span, align: str
) -> dict[str, Any]:
    """The compare page's numbers: the API's compare and its table, by date or by age."""
    compared = data.compare(session, config, names, metric, span)
    table = align_by_date(compared) if align == "date" else align_by_age(compared)
    return {"compared": compared, "labels": table.labels, "series": table.series}


def default_since(session: Session, names: Sequence[RepoName], today: date) -> date:
    """The first day of the month the oldest of these repositories was created (a year ago if unknown)."""
    created = [r.created_at.date() for r in data.resolve(session, names) if r.created_at]
    return max(EARLIEST, min(created, default=today - timedelta(days=365)).replace(day=1))


def _ranking_rows(page: GroupPage) -> list[dict[str, Any]]:
    """The page's top rows by stars as the API's ranking gives them."""
    values = {m: page.top.column(m, 0) for m in data.RANKED_BY}
    return data.ranking_rows(page.ranks, page.top.names, values, range(len(page.ranks)))


def group(
    session: Session, config: Config, name: str, at: date, sort: str, today: date, rows: int = GROUP_ROWS
) -> dict[str, Any]:
    """A group's page: the first `rows` of its ranking at `at` by `sort`, its total of stars per month
    over the two years to `at`, the biggest movers over them, and the members that joined and left."""
    data.check_group(session, config, name)
    by_stars = sort == "stars"
    page = make_group_page(session, config, name, at, today, rows if by_stars else 0)
    if by_stars:
        ranking, ranked = _ranking_rows(page), page.ranked
    else:  # another order needs every member's value of that metric: the API's ranking reads them
        by_sort = data.ranking(session, config, at, sort, name, today, top=rows)
        ranking, ranked = by_sort["rows"], by_sort["ranked"]
    summary = page.summary
    periods = [p.label for p in page.periods]
    # The latest 50 joins and leaves, named: not the names of every member.
    latest = heapq.nlargest(50, page.members, key=lambda m: max(m.joined_on, m.left_on or m.joined_on))
    names = {r.id: r.full_name for r in load_report_repos(session, [m.repo_id for m in latest])}
    changes = [
        {"repo": names.get(m.repo_id), "joined": _iso(m.joined_on), "left": _iso(m.left_on)} for m in latest
    ]
    stored = page.stored
    return {
        "group": name,
        "at": at.isoformat(),
        "sort": sort,
        "rule": None if stored is None else f"{stored.rule.kind} {stored.rule.value}",
        "rows": ranking,
        "total_rows": ranked,
        "periods": periods,
        "totals": list(summary.totals["stars"]),
        "joined": list(summary.joined),
        "joined_before": summary.joined_before,
        "movers_span": [periods[page.compared[0]], periods[page.compared[-1]]] if page.compared else [],
        "movers": [vars(m) for m in summary.absolute],
        "relative": [vars(m) for m in summary.relative],
        "changes": changes,
    }
