"""Package downloads in the reports: a flow, summed over the days of each period that a source gave
(repo_downloads_daily); a period without one known day is unknown, never 0. And, per package, from when
its series is known, for the reports' footnotes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session

from collector.store.packages import load_packages
from collector.store.report_grid import Cells, PeriodGrid, compute_commits, ordinals

# The documented view (migration 0011), as users query it.
REPO_DOWNLOADS_DAILY = table("repo_downloads_daily", column("repo_id"), column("day"), column("downloads"))

# What each source keeps (issue 21): PyPI's series reaches 180 days back from the first fetch, npm's to
# 2015-01-10.
SOURCE_KEEPS = {"pypi": "PyPI keeps 180 days", "npm": "npm keeps counts since 2015-01-10"}


def add_downloads(session: Session, grid: PeriodGrid) -> PeriodGrid:
    """The grid with `downloads` per repository and period: the days known summed, unknown where none is
    known; a repository has data from its first known day on."""
    first, until = grid.starts[0], grid.ends[-1]
    d = REPO_DOWNLOADS_DAILY.c
    rows = session.execute(
        select(d.repo_id, d.day, d.downloads).where(
            d.repo_id.in_(grid.repo_ids.tolist()), d.day >= first, d.day <= until
        )
    ).all()
    repos = np.array([r[0] for r in rows], dtype=np.int64)
    days = ordinals([r[1] if isinstance(r[1], date) else date.fromisoformat(r[1]) for r in rows])
    counts = np.array([int(r[2]) for r in rows], dtype=np.int64)
    values, missing = compute_commits(Cells(grid.repo_ids, ordinals(grid.starts)), repos, days, counts)
    known_by = np.logical_or.accumulate(~missing, axis=1) if missing.size else missing
    return replace(
        grid,
        has_data=grid.has_data | known_by,
        values={**grid.values, "downloads": values},
        missing={**grid.missing, "downloads": missing},
    )


def load_downloads_30d(session: Session, repo_ids: list[int], at: date) -> dict[int, int]:
    """Per repository with packages, its downloads over the 30 days ending on `at` (days known only);
    repositories without a known day in them are left out."""
    d = REPO_DOWNLOADS_DAILY.c
    rows = session.execute(
        select(d.repo_id, func.sum(d.downloads))
        .where(d.repo_id.in_(repo_ids), d.day > at - timedelta(days=30), d.day <= at)
        .group_by(d.repo_id)
    ).all()
    return {int(repo_id): int(total) for repo_id, total in rows}


def describe_download_series(session: Session, repo_ids: list[int]) -> list[str]:
    """One line per package of the repositories: from when its series is known, what its source keeps
    and since when this store collects it, e.g. "downloads of acme/rocket, pypi:rocket: known from
    2026-06-10 (PyPI keeps 180 days; collected since 2026-12-07)"."""
    lines = []
    for p in sorted(load_packages(session, repo_ids), key=lambda p: (p.repo.lower(), str(p.ref))):
        known = f"known from {p.known_from}" if p.known_from else "nothing known yet"
        keeps = SOURCE_KEEPS.get(p.ref.source, p.ref.source)
        since = p.added_at.date()
        lines.append(f"downloads of {p.repo}, {p.ref}: {known} ({keeps}; collected since {since})")
    return lines
