"""From a request to a report: pick the repositories, load the period values, shape the pandas tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from collector.config import Config
from collector.domain import METRICS
from collector.errors import CollectorError
from collector.reports.model import (
    CUMULATIVE,
    RANKING_COLUMNS,
    TREND_COLUMNS,
    Footnotes,
    Ranking,
    RepoFacts,
    Report,
    ReportOptionError,
    ReportRequest,
    Trend,
    compute_periods,
    compute_ranks,
    compute_row_sources,
)
from collector.store.groups import load_group, load_group_members, load_groups
from collector.store.reports import ReportRepo, load_period_values, load_report_repos, load_unavailable
from collector.store.repos import find_repo, load_repos


class UnknownRepos(CollectorError):
    """Repositories named on the command line that the store does not know (exit code 2)."""

    exit_code = 2


def select_repos(session: Session, request: ReportRequest, config: Config) -> tuple[list[int], list[str]]:
    """Repository ids to report on (named, else the group, else all tracked) and remarks for the reader."""
    if request.repos:
        ids, unknown = [], []
        for name in request.repos:
            row = find_repo(session, name)
            if row is None:
                unknown.append(name.full_name)
            elif row.id not in ids:
                ids.append(row.id)
        if unknown:
            raise UnknownRepos(
                f"not in the store: {', '.join(unknown)}; track them with `collector repos add` and collect"
            )
        return ids, []
    if request.group is not None:
        return select_group(session, config, request.group)
    tracked = [r.id for r in load_repos(session)]
    if not tracked:
        hint = "no repositories are tracked yet: add them with `collector repos add OWNER/NAME`, then collect"
        return [], [hint]
    return tracked, []


def select_group(session: Session, config: Config, group: str) -> tuple[list[int], list[str]]:
    """A group's repository ids: a rule group's current members (from the last discovery) and its fixed
    `repos`, or a config list; remarks name members the store does not know yet."""
    stored = load_group(session, group)
    if group not in config.groups and stored is None:
        known = sorted(set(config.groups) | {g.name for g in load_groups(session)})
        raise ReportOptionError(
            f"group: {group!r} is not in the config or the store; expected one of {known}"
        )
    ids = [m.repo_id for m in load_group_members(session, group)] if stored is not None else []
    notes = []
    if stored is None and group in config.rules:
        notes.append(f"group {group} has not been discovered yet: run `collector discover`")
    missing = []
    for name in config.groups.get(group, ()):
        row = find_repo(session, name)
        if row is None:
            missing.append(name.full_name)
        elif row.id not in ids:
            ids.append(row.id)
    if missing:
        notes.append(f"not in the store yet: {', '.join(missing)}")
    return ids, notes


def make_report(session: Session, request: ReportRequest, config: Config) -> Report:
    """The ranking (`request.at`) or the trends (`request.since`) for the selected repositories."""
    ids, notes = select_repos(session, request, config)
    if request.at is not None:
        return _make_ranking(session, ids, request.at, notes)
    assert request.since is not None and request.until is not None
    return _make_trend(session, ids, request, notes)


def _load_frame(
    session: Session, ids: Sequence[int], every: str, first: date, until: date, metrics: Sequence[str]
) -> tuple[pd.DataFrame, Footnotes, dict[int, ReportRepo]]:
    """Period values with names, `exists` flags, blanks before the first data, n/a notes and sources."""
    repos = {r.id: r for r in load_report_repos(session, ids)}
    frame = load_period_values(session, ids, every, first, until)
    unavailable = load_unavailable(session, ids)
    _add_names_and_existence(frame, repos)
    _blank_before_data(frame)
    _add_sources(frame)
    footnotes = _note_unavailable(frame, unavailable, repos, metrics)
    return frame, footnotes, repos


def _add_names_and_existence(frame: pd.DataFrame, repos: Mapping[int, ReportRepo]) -> None:
    """Each row's repository name, and whether the repository existed (from its creation day) at `as_of`."""
    # Looked up once per repository and spread over its rows (121,000 rows for a 10-year monthly trend of
    # 1,000 repositories: no Python loop over rows).
    row_ids, at = np.unique(frame["repo_id"].to_numpy(dtype=np.int64), return_inverse=True)
    owners = [repos[i] for i in row_ids.tolist()]
    frame["repo"] = np.array([r.full_name for r in owners], dtype=object)[at]
    created = [r.created_at.date() if r.created_at is not None else date.min for r in owners]
    starts = np.array(created, dtype=object)[at]
    frame["exists"] = (frame["as_of"].to_numpy(dtype=object) >= starts).astype(bool)


def _blank_before_data(frame: pd.DataFrame) -> None:
    """Blank the values before a repository existed or had its first known data."""
    as_of = frame["as_of"].to_numpy(dtype=object)
    first_day = np.array([d if d is not None else date.max for d in frame["first_day"]], dtype=object)
    hidden = ~(frame["exists"].to_numpy(dtype=bool) & (as_of >= first_day).astype(bool))
    for metric in METRICS:
        frame[metric] = frame[metric].mask(hidden)


def _add_sources(frame: pd.DataFrame) -> None:
    """Drop the source of each blank value, then give each row its one-word source."""
    columns = [f"{metric}_source" for metric in CUMULATIVE]
    for metric, column in zip(CUMULATIVE, columns, strict=True):
        frame[column] = frame[column].where(frame[metric].notna(), None)
    frame["source"] = compute_row_sources(frame[columns])


def _note_unavailable(
    frame: pd.DataFrame,
    unavailable: Mapping[tuple[int, str], str],
    repos: Mapping[int, ReportRepo],
    metrics: Sequence[str],
) -> Footnotes:
    """Notes where a value is missing because the backfill found its series unavailable, and footnotes."""
    notes = np.full(len(frame), "", dtype=object)
    firsts: list[tuple[int, int, str, str, str]] = []  # first row, metric position, repo, metric, why
    repo_ids = frame["repo_id"].to_numpy(dtype=np.int64)
    exists = frame["exists"].to_numpy(dtype=bool)
    for position, metric in enumerate(metrics):
        missing = frame[metric].isna().to_numpy() & exists
        for (repo_id, series), reason in unavailable.items():
            if series != metric:
                continue
            rows = np.flatnonzero(missing & (repo_ids == repo_id))
            if len(rows):
                part = f"{metric} n/a: {reason}"
                notes[rows] = [f"{n}; {part}" if n else part for n in notes[rows]]
                firsts.append((int(rows[0]), position, repos[repo_id].full_name, metric, reason))
    frame["notes"] = notes
    return _number_footnotes(firsts)


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


def _make_ranking(session: Session, ids: Sequence[int], at: date, notes: list[str]) -> Ranking:
    frame, footnotes, repos = _load_frame(session, ids, "day", at, at, CUMULATIVE)
    stars = frame["stars"].astype(object).where(frame["stars"].notna(), None)
    ranks = compute_ranks({str(r): v for r, v in zip(frame["repo"], stars, strict=True)})
    frame["rank"] = pd.array([ranks.get(str(r)) for r in frame["repo"]], dtype="Int64")
    frame["language"] = [repos[i].primary_language for i in frame["repo_id"]]
    frame["archived"] = [repos[i].archived for i in frame["repo_id"]]
    frame["description"] = [repos[i].description for i in frame["repo_id"]]
    frame["_order"] = [ranks.get(str(r), len(ranks) + 1) for r in frame["repo"]]
    frame["_name"] = frame["repo"].str.lower()
    frame = frame.sort_values(["_order", "_name"], kind="stable")
    table = frame.loc[:, [*RANKING_COLUMNS, "exists"]].reset_index(drop=True)
    return Ranking(
        at=at,
        table=table,
        footnotes=Footnotes(marks=footnotes.marks, texts=footnotes.texts, notes=tuple(notes)),
    )


def _make_trend(session: Session, ids: Sequence[int], request: ReportRequest, notes: list[str]) -> Trend:
    assert request.since is not None and request.until is not None
    periods = compute_periods(request.every, request.since, request.until)
    frame, footnotes, repos = _load_frame(
        session, ids, request.every, periods[0].start, request.until, request.metrics
    )
    facts = sorted(
        (RepoFacts(r.full_name, r.primary_language, r.archived, r.description) for r in repos.values()),
        key=lambda f: f.repo.lower(),
    )
    labels = {p.start: p.label for p in periods}
    frame["period"] = frame["period"].map(labels)
    # By name, then period: the rows come by repository, then period, so a stable sort by name suffices.
    codes, names = pd.factorize(frame["repo"])
    rank = np.argsort(np.argsort(np.array([n.lower() for n in names], dtype=object), kind="stable"))
    frame = frame.take(np.argsort(rank[codes], kind="stable"))
    columns = [c for c in TREND_COLUMNS if c not in METRICS or c in request.metrics]
    table = frame.loc[:, [*columns, "exists"]].reset_index(drop=True)
    return Trend(
        every=request.every,
        periods=periods,
        metrics=request.metrics,
        table=table,
        footnotes=Footnotes(marks=footnotes.marks, texts=footnotes.texts, notes=tuple(notes)),
        repositories=tuple(facts),
    )
