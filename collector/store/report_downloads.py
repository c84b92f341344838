"""Package downloads in the reports: a flow, summed over the days of each period (repo_downloads_daily)
when every one of them is known for every package of the repository, else unknown: never 0 for days no
source gave, nor a smaller sum that reads like the period's. And, per package, over which days its
series is known, for the reports' footnotes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session

from collector.domain import utc_now
from collector.store.models import Package, PackageDownloadsDaily
from collector.store.packages import load_packages
from collector.store.report_grid import Cells, PeriodGrid, compute_commits, ordinals

# The documented view (migration 0011), as users query it.
REPO_DOWNLOADS_DAILY = table(
    "repo_downloads_daily", column("repo_id"), column("day"), column("downloads"), column("packages")
)

# The facts sheet: the sources land a day's counts once a day, and npm's latest day is yesterday, or the
# day before when yesterday's data has not landed. So in the period that runs to today, the last
# LANDING_DAYS days (yesterday and today) may still come: the days before them must be known.
LANDING_DAYS = 2
RULE = (
    "downloads: a period is empty unless every day of it is known for each package of its repository "
    "(the period running to today: its days up to the day before yesterday)"
)

# What each source keeps (issue 21): PyPI's series reaches 180 days back from the first fetch, npm's to
# 2015-01-10.
SOURCE_KEEPS = {"pypi": "PyPI keeps 180 days", "npm": "npm keeps counts since 2015-01-10"}


def add_downloads(session: Session, grid: PeriodGrid, today: date | None = None) -> PeriodGrid:
    """The grid with `downloads` per repository and period: the sum of its days where each of them is
    known for each package of the repository, unknown elsewhere (see RULE; `today` is UTC's by default);
    a repository has data from its first known day on."""
    today = today or utc_now().date()
    d = REPO_DOWNLOADS_DAILY.c
    ids = grid.repo_ids.tolist()
    rows = session.execute(
        select(d.repo_id, d.day, d.downloads, d.packages).where(
            d.repo_id.in_(ids), d.day >= grid.starts[0], d.day <= grid.ends[-1]
        )
    ).all()
    packages = dict(
        session.execute(
            select(Package.repo_id, func.count()).where(Package.repo_id.in_(ids)).group_by(Package.repo_id)
        ).all()
    )
    repos = np.array([r[0] for r in rows], dtype=np.int64)
    days = ordinals([r[1] if isinstance(r[1], date) else date.fromisoformat(r[1]) for r in rows])
    counts = np.array([int(r[2]) for r in rows], dtype=np.int64)
    whole = np.array([int(r[3]) == packages.get(int(r[0])) for r in rows], dtype=bool)  # every package's
    cells = Cells(grid.repo_ids, ordinals(grid.starts))
    values, none_whole = compute_commits(cells, repos[whole], days[whole], counts[whole])
    _, none_known = compute_commits(cells, repos, days, counts)
    # The days each period needs: all of them, or in the period running to today those before LANDING_DAYS.
    starts, ends = ordinals(grid.starts), ordinals(grid.ends)
    needed_until = np.where(ends >= today.toordinal(), today.toordinal() - LANDING_DAYS, ends)
    at = cells.of(repos[whole], days[whole])
    counted = days[whole] <= needed_until[at % len(starts)]
    have = np.bincount(at[counted], minlength=cells.size).reshape(cells.shape)
    missing = none_whole | (have < np.maximum(needed_until - starts + 1, 0)[np.newaxis, :])
    known_by = np.logical_or.accumulate(~none_known, axis=1) if none_known.size else none_known
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
    """The rule of a period's downloads (RULE), then one line per package of the repositories: over which
    days its series is known, what its source keeps and since when this store collects it, e.g.
    "downloads of acme/rocket, pypi:rocket: known from 2026-06-10 to 2026-12-06 (PyPI keeps 180 days;
    collected since 2026-12-07)", with how many days between are unknown, if any."""
    lines = []
    packages = sorted(load_packages(session, repo_ids), key=lambda p: (p.repo.lower(), str(p.ref)))
    held = _days_held(session, [p.id for p in packages])
    for p in packages:
        known = "nothing known yet"
        if p.known_from and p.fetched_through:
            unknown = (p.fetched_through - p.known_from).days + 1 - held.get(p.id, 0)
            known = f"known from {p.known_from} to {p.fetched_through}"
            known += f", {unknown} days of it unknown" if unknown else ""
        keeps = SOURCE_KEEPS.get(p.ref.source, p.ref.source)
        since = p.added_at.date()
        lines.append(f"downloads of {p.repo}, {p.ref}: {known} ({keeps}; collected since {since})")
    return [RULE, *lines] if lines else []


def _days_held(session: Session, package_ids: list[int]) -> dict[int, int]:
    """How many days are held of each package."""
    t = PackageDownloadsDaily
    query = select(t.package_id, func.count()).where(t.package_id.in_(package_ids)).group_by(t.package_id)
    return {int(package_id): int(n) for package_id, n in session.execute(query)}
