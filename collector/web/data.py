"""The data the API and the pages show: functions over a Session returning plain dicts, built on the
report layer (collector.reports, collector.store.reports) so that they cannot disagree with `collector
report`. No SQL here: it lives in collector.store.

Values are as at the end of each period (`date` is its last day, or the last day asked for), as in
`repo_daily`; None where the store has none (before a repository existed, or history not backfilled).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from collector.config import Config
from collector.domain import RepoName, parse_repo_name
from collector.errors import CollectorError
from collector.reports.build import group_lists, make_report
from collector.reports.model import Ranking, ReportRequest, Trend, compute_ranks, compute_top
from collector.store.alerts import DAILY_METRICS, load_alert_series
from collector.store.groups import load_group
from collector.store.latest import LATEST_METRICS, load_latest_page
from collector.store.report_grid import CUMULATIVE_METRICS
from collector.store.reports import ReportRepo, load_report_repos
from collector.store.repos import find_named_ids

EVERY = ("day", "week", "month", "quarter", "year")
RANKED_BY = CUMULATIVE_METRICS  # what a ranking can be ordered by: stars, forks, contributors
DAILY = DAILY_METRICS  # what a daily series can show (commits are counted per week)
Points = list[dict[str, Any]]


class NotFound(CollectorError):
    """A repository or group the store does not know (an HTTP 404)."""


@dataclass(frozen=True)
class Span:
    """What a series covers: `since` to `until` (inclusive) per `every`; `today` is the last day of data."""

    since: date
    until: date
    every: str
    today: date


def repos_page(session: Session, page: int, per_page: int) -> dict[str, Any]:
    """One page of the tracked repositories (by name) with their latest observed values, and the total."""
    rows, total = load_latest_page(session, (page - 1) * per_page, per_page)
    repos = [
        {
            "repo": r.repo,
            "observed_at": r.observed_at.isoformat() if r.observed_at else None,
            **{m: r.values[m] for m in LATEST_METRICS},
        }
        for r in rows
    ]
    return {"page": page, "per_page": per_page, "total": total, "repos": repos}


def resolve(session: Session, names: Sequence[RepoName]) -> list[ReportRepo]:
    """The repositories known by `names` (current or former names), in that order; NotFound names the
    ones the store does not know."""
    ids, unknown = find_named_ids(session, names)
    if unknown:
        hint = "`collector repos add OWNER/NAME` tracks a repository"
        raise NotFound(f"repos: not in the store: {', '.join(unknown)}; {hint}")
    by_id = {r.id: r for r in load_report_repos(session, ids)}
    return [by_id[i] for i in ids]


def _values(column: pd.Series) -> list[int | None]:
    """A column of whole numbers (pandas Int64, None where unknown) as plain ints and None, in one pass
    rather than cell by cell."""
    values: list[int | None] = column.array.to_numpy(dtype=object, na_value=None).tolist()
    return values


def _points(
    session: Session, config: Config, repos: Sequence[ReportRepo], metric: str, span: Span
) -> dict[int, Points]:
    """Per repository id, its points: `collector report`'s trend for weeks and longer; for days, the
    `repo_daily` view (stars, forks and contributors at the end of each day)."""
    through_today = span.until == span.today
    if span.every != "day":
        request = ReportRequest(
            since=span.since,
            until=span.until,
            every=span.every,
            metrics=(metric,),
            repos=tuple(parse_repo_name(r.full_name) for r in repos),
            through_today=through_today,
        )
        report = make_report(session, request, config)
        assert isinstance(report, Trend)
        id_of = {r.full_name: r.id for r in repos}
        points: dict[int, Points] = {r.id: [] for r in repos}
        as_of = {p.label: p.as_of.isoformat() for p in report.periods}
        table = report.table
        cells = zip(table["repo"].tolist(), table["period"].tolist(), _values(table[metric]), strict=True)
        for repo, label, value in cells:
            points[id_of[str(repo)]].append({"date": as_of[str(label)], "value": value})
        return points
    rows = load_alert_series(session, [r.id for r in repos], metric, span.since, span.until)
    days = [span.since + timedelta(days=k) for k in range((span.until - span.since).days + 1)]
    by_day = {repo_id: dict(values) for repo_id, values in rows.items()}
    return {
        r.id: [{"date": d.isoformat(), "value": by_day.get(r.id, {}).get(d)} for d in days] for r in repos
    }


def series(session: Session, config: Config, name: RepoName, metric: str, span: Span) -> dict[str, Any]:
    """One repository's values of `metric` per period; a former name answers for the current one."""
    (repo,) = resolve(session, [name])
    points = _points(session, config, [repo], metric, span)[repo.id]
    return {"repo": repo.full_name, "metric": metric, "every": span.every, "points": points}


def compare(
    session: Session, config: Config, names: Sequence[RepoName], metric: str, span: Span
) -> dict[str, Any]:
    """Several repositories' series of `metric`, in the order named, each with its creation day (to line
    them up by age)."""
    repos = resolve(session, names)
    points = _points(session, config, repos, metric, span)
    return {
        "metric": metric,
        "every": span.every,
        "since": span.since.isoformat(),
        "until": span.until.isoformat(),
        "series": [
            {
                "repo": r.full_name,
                "created": r.created_at.date().isoformat() if r.created_at else None,
                "points": points[r.id],
            }
            for r in repos
        ],
    }


def check_group(session: Session, config: Config, group: str) -> None:
    """NotFound unless `group` is in the config or the store."""
    if group not in group_lists(config) and load_group(session, group) is None:
        raise NotFound(f"group: {group!r} is not in the config or the store")


def ranking_rows(
    ranks: Sequence[int | None],
    names: Sequence[str],
    values: Mapping[str, Sequence[int | None]],
    order: Iterable[int],
) -> Points:
    """A ranking's rows as the API gives them, in `order` (positions): rank, repo, each RANKED_BY value."""
    return [{"rank": ranks[k], "repo": names[k], **{m: values[m][k] for m in RANKED_BY}} for k in order]


def ranking(
    session: Session,
    config: Config,
    at: date,
    metric: str,
    group: str | None,
    today: date,
    top: int | None = None,
) -> dict[str, Any]:
    """Every repository (of `group`, else every tracked one) at the end of `at`, ranked by `metric`
    (competition ranks, as `collector report --at`; those without a value last, unranked); `top`: only the
    first rows of a ranking by stars (the others' stars are read, not the rest of their values). `ranked`
    counts them all."""
    if group is not None:
        check_group(session, config, group)
    cut = top if metric == "stars" else None  # another order needs every row's value of that metric
    request = ReportRequest(at=at, group=group, totals=False, through_today=at == today, top=cut)
    report = make_report(session, request, config)
    assert isinstance(report, Ranking)
    table = report.table
    names: list[str] = table["repo"].tolist()
    values = {m: _values(table[m]) for m in RANKED_BY}
    if metric == "stars":  # the report ranks by stars: its rows come in this order, with these ranks
        order: Sequence[int] = range(len(names))
        ranked = _values(table["rank"])
    else:
        ranks = compute_ranks(dict(zip(names, values[metric], strict=True)))
        order = compute_top(names, values[metric], len(names))
        ranked = [ranks.get(name) for name in names]
    rows = ranking_rows(ranked, names, values, order)
    shown = {"at": at.isoformat(), "metric": metric, "group": group, "rows": rows[:top] if top else rows}
    return shown | ({"ranked": report.ranked} if top else {})
