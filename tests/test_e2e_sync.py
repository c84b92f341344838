"""End to end: `collector sync` against the simulator as a real loopback server, on PostgreSQL.

The book's Table 2-1 (stars, forks, contributors of 2017-01-03) must come back exactly from an empty
store, and every other date must agree with what the simulator's own events imply. The sync runs as a
GitHub App whose installation tokens live 30 seconds (issue 14): it renews them as it goes.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text

from collector.config import Config
from collector.reports.build import make_report
from collector.reports.model import parse_request
from collector.reports.output import render_report
from collector.store.engine import make_engine, session_factory
from collector.store.month_state import SeriesVersion
from collector.store.month_values import MonthValues
from collector.testing.model import SimRepo
from tests.conftest import Synced, run_cli

TABLE_2_1 = Path(__file__).parent / "fixtures" / "table_2_1_and_dated_points.csv"


def truth(repo: SimRepo, day: date) -> tuple[int, int, int]:
    """Stars, forks and contributors at the end of `day`, straight from the simulator's events."""
    stars = sum(n for d, n in repo.star_days.items() if d <= day)
    forks = sum(1 for f in repo.forks if f.created_at.astimezone(UTC).date() <= day)
    people = {
        f"u:{c.author_user_id}" if c.author_user_id else f"e:{c.author_email.lower()}"
        for c in repo.commits
        if c.authored_at.astimezone(UTC).date() <= day
    }
    return stars, forks, len(people)


def requests_in(line: str) -> int:
    match = re.search(r"; (\d+) requests \((\d+) REST charged, (\d+) answered 304", line)
    assert match, line
    return int(match.group(1))


@pytest.mark.postgres
def test_sync_on_an_empty_store_gives_table_2_1_exactly(
    synced: Synced,
) -> None:
    _, env, _, _, stdout = synced
    assert "tracking the default group" in stdout
    rows = list(csv.DictReader(TABLE_2_1.read_text(encoding="utf-8").splitlines()))
    expected = {
        r["repo_as_cited"].lower(): (int(r["stars"]), int(r["forks"]), int(r["contributors"]))
        for r in rows
        if r["date"] == "2017-01-03"
    }
    assert len(expected) == 11
    engine = make_engine(env["COLLECTOR_DATABASE_URL"])
    with engine.connect() as conn:
        got = conn.execute(
            text(
                "SELECT r.repo, r.stars, r.forks, r.contributors, a.name_key FROM repo_daily r "
                "JOIN repo_aliases a ON a.repo_id = r.repo_id WHERE r.day = :d"
            ),
            {"d": date(2017, 1, 3)},
        ).all()
    engine.dispose()
    # The book cites former names (fchollet/keras, dmlc/mxnet): match through the aliases.
    by_alias = {row.name_key: (row.stars, row.forks, row.contributors) for row in got}
    assert {name: by_alias.get(name) for name in expected} == expected


@pytest.mark.postgres
def test_every_date_agrees_with_the_simulators_events(
    synced: Synced,
) -> None:
    _, env, scenario, _, _ = synced
    days = [date(2016, 6, 30), date(2017, 7, 31), date(2018, 6, 30), date(2020, 3, 31), date(2024, 12, 31)]
    engine = make_engine(env["COLLECTOR_DATABASE_URL"])
    with engine.connect() as conn:
        for repo in scenario.repos:
            for day in days:
                row = conn.execute(
                    text(
                        "SELECT stars, forks, contributors FROM repo_daily WHERE github_id = :g AND day = :d"
                    ),
                    {"g": repo.github_id, "d": day},
                ).first()
                want = truth(repo, day)
                if row is None:  # before the repository's first day of history
                    assert day < repo.created_at.date() or want == (0, 0, 0), (repo.full_name, day)
                    continue
                assert tuple(row) == want, (repo.full_name, day)
        latest = {r.github_id: r for r in conn.execute(text("SELECT * FROM repo_latest"))}
    engine.dispose()
    for repo in scenario.repos:
        observed = latest[repo.github_id]
        assert (observed.stars, observed.forks) == (repo.stars, len(repo.forks)), repo.full_name
        assert observed.repo == repo.full_name  # renamed repositories under their current names


@pytest.mark.postgres
def test_second_backfill_and_second_collect_are_nearly_free(
    synced: Synced,
) -> None:
    cwd, env, scenario, app, _ = synced
    again = run_cli(cwd, env, "backfill")
    assert again.returncode == 0, again.stderr[-2000:]
    assert requests_in(again.stdout.strip().splitlines()[-1]) <= 4 * len(scenario.repos)
    collect = run_cli(cwd, env, "collect")
    assert collect.returncode == 0, collect.stderr[-2000:]
    line = collect.stdout.strip().splitlines()[-1]
    match = re.search(r"(\d+) requests \((\d+) REST charged, (\d+) answered 304", line)
    assert match, line
    total, charged, not_modified = map(int, match.groups())
    points = int(re.search(r"(\d+) GraphQL points", line).group(1))  # type: ignore[union-attr]
    assert (charged + points) / len(scenario.repos) <= 0.1  # budget units per repository
    assert not_modified / total >= 0.9
    assert app.stats.while_exhausted == 0
    secrets = {h.removeprefix("Bearer ") for h in app.stats.authorization_headers}
    printed = again.stdout + again.stderr + collect.stdout + collect.stderr
    assert secrets and not [s for s in secrets if s in printed]


@pytest.mark.postgres
def test_installation_tokens_are_renewed_and_no_secret_is_printed_or_stored(
    synced: Synced,
) -> None:
    cwd, env, _, app, stdout = synced
    # Tokens of 30 seconds over a sync of minutes: renewed by their expires_at, so GitHub refused at most
    # one request per renewal for an expired token (in practice none).
    issued = app.stats.installation_tokens_issued
    assert issued >= 3
    assert app.stats.expired_token_refusals <= issued - 1
    # The key, every JWT and every installation token: in no output, file, log or database row.
    key = (cwd / "app.pem").read_text(encoding="utf-8")
    secrets = {h.removeprefix("Bearer ") for h in app.stats.authorization_headers} | {key.strip()}
    assert any(s.startswith("ghs_") for s in secrets) and any(s.startswith("eyJ") for s in secrets)
    status = run_cli(cwd, env, "status")
    report = run_cli(cwd, env, "report", "--since", "2017-01", "--format", "html")
    assert status.returncode == 0 and report.returncode == 0, status.stderr + report.stderr
    assert "installation 5550001" in status.stdout  # budgets by installation, never the token
    engine = make_engine(env["COLLECTOR_DATABASE_URL"])
    with engine.connect() as conn:
        tables = [
            r[0] for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        ]
        stored = "\n".join(
            str(row)
            for table in tables
            for row in conn.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608
        )
    engine.dispose()
    files = "\n".join(
        p.read_text(errors="replace") for p in cwd.rglob("*") if p.is_file() and p.name != "app.pem"
    )
    everything = stdout + status.stdout + status.stderr + report.stdout + report.stderr + files + stored
    assert not [s[:12] for s in secrets if s in everything]


@pytest.mark.postgres
def test_the_sync_packs_the_monthly_values_and_reports_read_them_unchanged(synced: Synced) -> None:
    """The backfill packs each repository's months (month_values) as it ends; a monthly report of every
    repository reads them, and prints exactly what it prints when it computes every month."""
    _, env, scenario, _, _ = synced
    engine = make_engine(env["COLLECTOR_DATABASE_URL"])
    today = datetime.now(UTC).date()
    with session_factory(engine)() as s:
        current = s.scalar(
            select(func.count())
            .select_from(MonthValues)
            .join(
                SeriesVersion,
                (SeriesVersion.repo_id == MonthValues.repo_id)
                & (SeriesVersion.version == MonthValues.version),
            )
        )
        assert current == len(scenario.repos)
        requests = [
            parse_request({"since": "2015-06"}, today),
            parse_request({"since": "2016-01", "top": 3}, today),
        ]
        packed = [render_report(make_report(s, r, Config()), "csv") for r in requests]
        s.execute(delete(MonthValues))
        live = [render_report(make_report(s, r, Config()), "csv") for r in requests]
        s.rollback()
    engine.dispose()
    assert packed == live
    assert len(packed[0].splitlines()) > 100
