"""Downloads summed over a period are known only when every day of it is known for every package of the
repository, on SQLite and PostgreSQL: a period that a package's series starts in, stops in or has a hole in
is empty, never a smaller sum that reads like the whole period's. The period that runs to today needs its
days up to the day before yesterday (the sources land a day once it is over, npm's sometimes a day late)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from collector.config import Config
from collector.domain import Repository, parse_repo_name
from collector.downloads.refs import parse_package_ref
from collector.reports import parse_request, render_csv
from collector.reports.build import make_report
from collector.store.engine import transaction
from collector.store.packages import save_downloads, save_fetch, save_package
from collector.store.report_downloads import add_downloads
from collector.store.reports import load_period_grid
from collector.store.repos import save_repository, save_tracked_name
from tests.conftest import Store

TODAY = date(2026, 12, 6)


def days(first: date, last: date, n: int) -> dict[date, int]:
    return {first + timedelta(days=i): n for i in range((last - first).days + 1)}


def put(store: Store, repos: dict[str, dict[str, dict[date, int]]]) -> dict[str, int]:
    """Repositories with their packages' days, as the downloads job leaves them; their ids by name."""
    ids = {}
    with transaction(store.sessions) as s:
        for github_id, (name, packages) in enumerate(repos.items(), start=1):
            save_tracked_name(s, parse_repo_name(name))
            created = datetime(2015, 1, 1, tzinfo=UTC)
            repo = save_repository(
                s, Repository(github_id, name, created_at=created), requested=parse_repo_name(name)
            )
            for ref, held in packages.items():
                package_id, _ = save_package(s, repo.id, parse_package_ref(ref), "config")
                save_downloads(s, package_id, held)
                save_fetch(s, package_id, datetime(2026, 12, 6, 3, tzinfo=UTC))
            ids[name] = repo.id
    return ids


SEP1, SEP15, NOV20, DEC5 = date(2026, 9, 1), date(2026, 9, 15), date(2026, 11, 20), date(2026, 12, 5)
REPOS = {
    # PyPI's 180 days reach back to September 15; npm's series is whole (a 0 is a count the source gave).
    "acme/rocket": {
        "pypi:rocket": days(SEP15, DEC5, 10),
        "npm:rocket": {**days(SEP1, DEC5, 1), date(2026, 10, 3): 0},
    },
    "acme/stale": {"pypi:stale": days(SEP1, NOV20, 2)},  # its fetches have failed since November 20
    "acme/holey": {"npm:holey": {d: n for d, n in days(SEP1, DEC5, 3).items() if d != date(2026, 10, 10)}},
}


def downloads(store: Store, **options: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(repo, period) -> (downloads, partial) as the report's CSV has them."""
    with store.sessions() as session:
        request = parse_request({**options, "metric": ["downloads"]}, TODAY)
        report = make_report(session, request, Config())
    rows = csv.DictReader(io.StringIO(render_csv(report)))
    return {(r["repo"], r["period"]): (r["downloads"], r["partial"]) for r in rows}


def test_a_period_with_an_unknown_day_for_any_package_is_empty(store: Store) -> None:
    put(store, REPOS)
    months = downloads(store, since="2026-09", until="2026-11")
    assert {k: v for k, v in months.items() if k[0] == "acme/rocket"} == {
        ("acme/rocket", "2026-09"): ("", "false"),  # PyPI's days before the 15th are unknown
        ("acme/rocket", "2026-10"): (str(31 * 10 + 30 * 1), "false"),
        ("acme/rocket", "2026-11"): (str(30 * 11), "false"),
    }
    assert [months[("acme/stale", m)][0] for m in ("2026-09", "2026-10", "2026-11")] == ["60", "62", ""]
    assert [months[("acme/holey", m)][0] for m in ("2026-09", "2026-10", "2026-11")] == ["90", "", "90"]
    # A quarter that the report cuts short is partial for every metric; within it, downloads still need
    # each day up to where it is cut.
    quarters = downloads(store, since="2026-07", until="2026-11", every="quarter")
    assert quarters[("acme/rocket", "2026-Q3")] == ("", "false")
    assert quarters[("acme/rocket", "2026-Q4")] == (str(340 + 330), "true")
    assert quarters[("acme/stale", "2026-Q4")] == ("", "true")
    weeks = downloads(store, since="2026-09-13", until="2026-09-26", every="week")
    assert [weeks[("acme/rocket", w)][0] for w in ("2026-09-13", "2026-09-20")] == ["", str(7 * 11)]


def test_the_period_running_to_today_needs_its_days_up_to_the_day_before_yesterday(store: Store) -> None:
    ids = put(
        store,
        {
            # Yesterday (December 5) has landed at PyPI, not yet at npm: December 1-4 of both are summed.
            "acme/rocket": {
                "pypi:rocket": days(SEP1, DEC5, 10),
                "npm:rocket": days(SEP1, date(2026, 12, 4), 1),
            },
            "acme/late": {"pypi:late": days(SEP1, date(2026, 12, 3), 2)},  # the day before yesterday lacks
        },
    )
    order = sorted(ids.values())

    def months(today: date) -> dict[str, list[int | None]]:
        """November's and December's downloads (None: unknown) of each repository, in a report to `today`."""
        with store.sessions() as session:
            grid = load_period_grid(session, order, "month", date(2026, 11, 1), today, ("downloads",), True)
            grid = add_downloads(session, grid, today=today)
        values, missing = grid.values["downloads"], grid.missing["downloads"]
        return {
            name: [None if m else v for v, m in zip(values[row].tolist(), missing[row].tolist(), strict=True)]
            for name, row in ((name, order.index(repo_id)) for name, repo_id in ids.items())
        }

    assert months(TODAY) == {"acme/rocket": [30 * 11, 4 * 11], "acme/late": [60, None]}
    # Read a day later without a new fetch, npm's December 5 is overdue: December is unknown.
    assert months(TODAY + timedelta(days=1)) == {"acme/rocket": [30 * 11, None], "acme/late": [60, None]}
