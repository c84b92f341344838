"""From a request to a report: pick the repositories, load the period values, shape the pandas tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy.orm import Session

from collector.config import DEFAULT_GROUP, DEFAULT_GROUP_NAME, Config
from collector.domain import GroupMember, RepoName, parse_repo_name
from collector.errors import CollectorError
from collector.reports.grid import ShownGrid
from collector.reports.group_build import JoinRule, TrendContext, load_join_rule, make_group_summary
from collector.reports.groups import GroupSummary
from collector.reports.model import (
    CUMULATIVE,
    RANKING_COLUMNS,
    REPORT_METRICS,
    TREND_COLUMNS,
    Footnotes,
    Period,
    Ranking,
    RepoFacts,
    Report,
    ReportOptionError,
    ReportRequest,
    Trend,
    compute_ranks,
    compute_top,
    describe_cut,
    period_start,
)
from collector.reports.periods import compared_periods
from collector.store.groups import load_group, load_group_members, load_groups
from collector.store.releases import load_release_markers
from collector.store.report_downloads import add_downloads, describe_download_series, load_downloads_30d
from collector.store.reports import (
    ReportRepo,
    load_period_grid,
    load_report_repos,
    load_tracked_ids,
    load_unavailable,
)
from collector.store.repos import find_named_ids


class UnknownRepos(CollectorError):
    """Repositories named on the command line that the store does not know (exit code 2)."""

    exit_code = 2


def select_repos(session: Session, request: ReportRequest, config: Config) -> tuple[list[int], list[str]]:
    """Repository ids to report on (named, else the group, else all tracked) and remarks for the reader."""
    if request.repos:
        ids, unknown = find_named_ids(session, request.repos)
        if unknown:
            raise UnknownRepos(
                f"not in the store: {', '.join(unknown)}; `collector repos add {' '.join(unknown)}` asks"
                " GitHub (a former name resolves to its repository), then `collector collect`"
            )
        return ids, []
    if request.group is not None:
        return select_group(session, config, request.group)
    tracked = load_tracked_ids(session)
    if not tracked:
        hint = "no repositories are tracked yet: add them with `collector repos add OWNER/NAME`, then collect"
        return [], [hint]
    return tracked, []


def select_group(
    session: Session, config: Config, group: str, current: Sequence[GroupMember] | None = None
) -> tuple[list[int], list[str]]:
    """A group's repository ids: a rule group's current members (from the last discovery, or `current`
    when the caller has read them) and its fixed `repos`, or a config list; remarks name members the
    store does not know yet."""
    stored = load_group(session, group)
    lists = group_lists(config)
    if group not in lists and stored is None:
        known = sorted(set(lists) | {g.name for g in load_groups(session)})
        raise ReportOptionError(
            f"group: {group!r} is not in the config or the store; expected one of {known}"
        )
    if current is None:
        current = load_group_members(session, group) if stored is not None else []
    members = [m.repo_id for m in current]
    notes = []
    if stored is None and group in config.rules:
        notes.append(f"group {group} has not been discovered yet: run `collector discover`")
    ids, missing = find_named_ids(session, lists.get(group, ()), members)
    if missing:
        notes.append(f"not in the store yet: {', '.join(missing)}")
    return ids, notes


def group_lists(config: Config) -> dict[str, tuple[RepoName, ...]]:
    """The groups that list their repositories: the config's, and the default group that `sync` tracks
    when nothing else is (unless the config has a group of that name)."""
    default = tuple(parse_repo_name(name) for name in DEFAULT_GROUP)
    return {DEFAULT_GROUP_NAME: default, **{name: tuple(names) for name, names in config.groups.items()}}


def make_report(session: Session, request: ReportRequest, config: Config) -> Report:
    """The ranking (`request.at`) or the trends (`request.since`) for the selected repositories; for a
    group (unless `request.totals` is off) with its total, biggest movers and joins per period."""
    ids, notes = select_repos(session, request, config)
    group = SummaryGroup(request.group if request.totals else None, config)
    repos = {r.id: r for r in load_report_repos(session, ids)}
    if request.at is not None:
        return _make_ranking(session, ids, repos, request, notes, group)
    return _make_trend(session, ids, repos, request, notes, group)


@dataclass(frozen=True)
class SummaryGroup:
    """The group whose summary a report shows (name None: none), the config that may define it and, when
    the caller has read it, its join rule."""

    name: str | None
    config: Config
    rule: JoinRule | None = None


def load_shown(
    session: Session,
    ids: Sequence[int],
    repos: Mapping[int, ReportRepo],
    every: str,
    span: tuple[date, date, bool],
    metrics: Sequence[str],
) -> ShownGrid:
    """The grid of `ids` over `span` (first, until, whether until is today) as the report shows it."""
    first, until, through_today = span
    grid = load_period_grid(session, ids, every, first, until, metrics, through_today)
    if "downloads" in metrics:
        grid = add_downloads(session, grid)
    shown = (repos[i] for i in ids)  # not all of `repos` when these are a top N
    return ShownGrid.of(grid, {r.id: r.shown_as() for r in shown})


def _frame(
    session: Session, shown: ShownGrid, metrics: Sequence[str], labels: Sequence[str] | None = None
) -> tuple[pd.DataFrame, Footnotes]:
    """The tidy rows of the repositories shown, in their order: names, `exists` flags, sources and n/a
    notes (`labels`: the periods' labels instead of their first days)."""
    frame = shown.grid.frame()
    periods = len(shown.grid.starts)
    if "downloads" in shown.grid.values:
        values, missing = shown.grid.values["downloads"], shown.grid.missing["downloads"]
        frame["downloads"] = pd.arrays.IntegerArray(values.ravel(), missing.ravel())
    if labels is not None:
        frame["period"] = np.tile(np.array(labels, dtype=object), len(shown.names))
    frame["repo"] = np.repeat(np.array(shown.names, dtype=object), periods)
    frame["exists"] = shown.exists.ravel()
    frame["source"] = shown.row_sources(metrics).ravel()
    unavailable = load_unavailable(session, shown.grid.repo_ids.tolist())
    notes, footnotes = _note_unavailable(shown, unavailable, metrics)
    frame["notes"] = notes.ravel()
    return frame, footnotes


def _note_unavailable(
    shown: ShownGrid, unavailable: Mapping[tuple[int, str], str], metrics: Sequence[str]
) -> tuple[npt.NDArray[np.object_], Footnotes]:
    """Notes where a value is missing because the backfill found its series unavailable, and footnotes."""
    notes = np.full(shown.exists.shape, "", dtype=object)
    firsts: list[tuple[int, int, str, str, str]] = []  # first cell, metric position, repo, metric, why
    row_of = {repo_id: row for row, repo_id in enumerate(shown.grid.repo_ids.tolist())}
    periods = shown.exists.shape[1]
    for position, metric in enumerate(metrics):
        missing = shown.grid.missing[metric] & shown.exists
        for (repo_id, series), reason in unavailable.items():
            row = row_of.get(repo_id)
            if series != metric or row is None:
                continue
            columns = np.flatnonzero(missing[row])
            if len(columns):
                part = f"{metric} n/a: {reason}"
                notes[row, columns] = [f"{n}; {part}" if n else part for n in notes[row, columns]]
                first = row * periods + int(columns[0])
                firsts.append((first, position, shown.names[row], metric, reason))
    return notes, _number_footnotes(firsts)


def _number_footnotes(firsts: Sequence[tuple[int, int, str, str, str]]) -> Footnotes:
    """One footnote per metric and reason, naming its repositories, numbered in the order they first show."""
    by_reason: dict[tuple[str, str], list[str]] = {}
    for _, _, repo, metric, reason in sorted(firsts):
        by_reason.setdefault((metric, reason), []).append(repo)
    marks: dict[tuple[str, str], int] = {}
    texts: list[str] = []
    for (metric, reason), names in by_reason.items():
        texts.append(f"{metric} of {', '.join(names)}: {reason}")
        for name in names:
            marks[(name, metric)] = len(texts)
    return Footnotes(marks=marks, texts=tuple(texts))


def _make_ranking(
    session: Session,
    ids: Sequence[int],
    repos: Mapping[int, ReportRepo],
    request: ReportRequest,
    notes: list[str],
    group: SummaryGroup,
) -> Ranking:
    at, limit = request.at, request.limit
    assert at is not None
    span = (at, at, request.through_today)
    # Cut to its top N, a ranking reads the stars of everyone first, then the rest of those N only; a
    # group's total needs all of everyone's.
    few = group.name is None and limit is not None and limit < len(ids)
    everyone = load_shown(session, ids, repos, "day", span, ("stars",) if few else CUMULATIVE)
    stars = everyone.column("stars", -1)
    ranks = compute_ranks(dict(zip(everyone.names, stars, strict=True)))
    order = compute_top(everyone.names, stars, limit or len(stars))
    summary = None
    if group.name is not None:
        summary, more = make_group_summary(group.name, everyone, CUMULATIVE)
        notes = [*notes, *more]
    cut = describe_cut(request, len(order), len(stars), "stars")
    shown = everyone.take(order)
    if few:
        top = shown.grid.repo_ids.tolist()
        shown = load_shown(session, top, repos, "day", span, CUMULATIVE).take(positions_of(top))
    frame, footnotes = _frame(session, shown, CUMULATIVE)
    # One row per repository shown (one period): from plain lists, not cell by cell of the frame.
    facts = [repos[i] for i in shown.grid.repo_ids.tolist()]
    frame["rank"] = pd.array([ranks.get(name) for name in shown.names], dtype="Int64")
    frame["language"] = [r.primary_language for r in facts]
    frame["archived"] = [r.archived for r in facts]
    frame["description"] = [r.description for r in facts]
    columns = list(RANKING_COLUMNS)
    if group.config.packages:  # downloads over the 30 days ending on `at`, after the counters
        d30 = load_downloads_30d(session, list(frame["repo_id"]), at)
        frame["downloads_30d"] = pd.array([d30.get(i) for i in frame["repo_id"]], dtype="Int64")
        columns.insert(columns.index("contributors") + 1, "downloads_30d")
    table = frame.loc[:, [*columns, "exists"]].reset_index(drop=True)
    return Ranking(
        at=at,
        table=table,
        footnotes=Footnotes(footnotes.marks, footnotes.texts, tuple(notes + ([cut] if cut else []))),
        group=summary,
        ranked=len(stars),
    )


def _make_trend(
    session: Session,
    ids: Sequence[int],
    repos: Mapping[int, ReportRepo],
    request: ReportRequest,
    notes: list[str],
    group: SummaryGroup,
) -> Trend:
    assert request.since is not None and request.until is not None
    periods = request.periods()
    shown, summary, notes = _trend_grid(session, ids, repos, request, periods, notes, group)
    # By name, then period: sorting the repositories of the grid sorts the rows.
    shown = shown.take(sorted(range(len(shown.names)), key=lambda i: shown.names[i].lower()))
    frame, footnotes = _frame(session, shown, request.metrics, [p.label for p in periods])
    facts = tuple(
        RepoFacts(r.full_name, r.primary_language, r.archived, r.description)
        for r in (repos[i] for i in shown.grid.repo_ids.tolist())
    )
    columns = [c for c in TREND_COLUMNS if c not in REPORT_METRICS or c in request.metrics]
    if "downloads" in request.metrics:
        notes = [*notes, *describe_download_series(session, shown.grid.repo_ids.tolist())]
    table = frame.loc[:, [*columns, "exists"]].reset_index(drop=True)
    return Trend(
        every=request.every,
        periods=periods,
        metrics=request.metrics,
        table=table,
        footnotes=Footnotes(
            marks=footnotes.marks, texts=footnotes.texts, notes=(*notes, *_partial_notes(request, periods))
        ),
        repositories=facts,
        group=summary,
        include_partial=request.include_partial,
        releases=_releases(session, shown, periods[0].start),
    )


def _releases(session: Session, shown: ShownGrid, since: date) -> tuple[tuple[str, date, str], ...]:
    """The shown repositories' releases from `since` on: (name, publication day, tag), for charts."""
    name_of = dict(zip(shown.grid.repo_ids.tolist(), shown.names, strict=True))
    markers = load_release_markers(session, name_of, since)
    return tuple((name_of[repo_id], day, tag) for repo_id, days in markers.items() for day, tag in days)


def _partial_notes(request: ReportRequest, periods: Sequence[Period]) -> list[str]:
    """The note on periods marked * (partial): which they are, and what change compares."""
    partial = [p for p in periods if p.partial]
    if not partial:
        return []
    named = ", ".join(f"{p.label} (values as of {p.as_of})" for p in partial)
    if request.include_partial:
        compares = "change and rank move include it (--include-partial)"
    else:
        compared = [periods[k].label for k in compared_periods(periods, False)]
        upto = f"up to {compared[-1]}" if len(compared) > 1 else "none: no two complete periods"
        compares = f"change and rank move compare complete periods, {upto}; --include-partial includes it"
    return [f"* partial {request.every}: {named}; {compares}"]


def _trend_grid(
    session: Session,
    ids: Sequence[int],
    repos: Mapping[int, ReportRepo],
    request: ReportRequest,
    periods: Sequence[Period],
    notes: list[str],
    group: SummaryGroup,
) -> tuple[ShownGrid, GroupSummary | None, list[str]]:
    """The grid of the repositories a trend shows, its group's summary and the notes.

    A group's summary needs every member's values anyway; otherwise a report cut to its top N ranks
    everyone by the last period alone (one period of each) and loads all periods for those N only.
    """
    assert request.until is not None
    every, first, until, metric = request.every, periods[0].start, request.until, request.metrics[0]
    today = request.through_today
    limit, summary = request.limit, None
    if group.name is not None:
        everyone, context = load_group_grid(session, ids, repos, request, periods, group)
        summary, more = make_group_summary(group.name, everyone, request.metrics, context)
        notes = [*notes, *more]
        ranked = everyone
    elif limit is not None and len(ids) > limit:
        ranked = load_shown(session, ids, repos, every, (periods[-1].start, until, today), (metric,))
    else:
        return load_shown(session, ids, repos, every, (first, until, today), request.metrics), None, notes
    if limit is None or len(ranked.names) <= limit:
        return ranked, summary, notes
    top = compute_top(ranked.names, ranked.column(metric, -1), limit)
    cut = describe_cut(request, len(top), len(ranked.names), f"{metric} in {periods[-1].label}")
    notes = [*notes, *([cut] if cut else [])]
    if group.name is not None:
        return ranked.take(top), summary, notes
    shown = load_shown(
        session, ranked.grid.repo_ids[top].tolist(), repos, every, (first, until, today), request.metrics
    )
    return shown, summary, notes


def load_group_grid(
    session: Session,
    ids: Sequence[int],
    repos: Mapping[int, ReportRepo],
    request: ReportRequest,
    periods: Sequence[Period],
    group: SummaryGroup,
) -> tuple[ShownGrid, TrendContext]:
    """Every member's values, and what the group's joins need: with a min_stars rule, the stars of each
    member, from one period before the first (whether it had joined before the report's range)."""
    assert group.name is not None and request.until is not None
    rule = group.rule if group.rule is not None else load_join_rule(session, group.config, group.name)
    if not rule.min_stars:
        span = (periods[0].start, request.until, request.through_today)
        everyone = load_shown(session, ids, repos, request.every, span, request.metrics)
        return everyone, TrendContext(periods, request.every, rule, None, request.include_partial)
    prior = period_start(periods[0].start - timedelta(days=1), request.every)
    metrics = tuple(dict.fromkeys((*request.metrics, "stars")))
    everyone = load_shown(
        session, ids, repos, request.every, (prior, request.until, request.through_today), metrics
    )
    context = TrendContext(periods, request.every, rule, everyone.column("stars", 0), request.include_partial)
    return everyone.since(1), context


def positions_of(ids: Sequence[int]) -> list[int]:
    """Row positions that put a grid loaded for `ids` (which comes by id) in the order of `ids`."""
    by_id = {repo_id: k for k, repo_id in enumerate(sorted(ids))}
    return [by_id[repo_id] for repo_id in ids]
