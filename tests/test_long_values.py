"""Long and strange values from GitHub (issue 18): stored whole on PostgreSQL and SQLite, read back
unchanged through the documented views, walked end to end by `collector backfill`, and shown by reports
and status without breaking a table.

SQLite ignores VARCHAR lengths, so only PostgreSQL ever showed the problem: a 254-character anonymous
author email stopped the backfill with StringDataRightTruncation.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from sqlalchemy import func, inspect, select, text
from sqlalchemy import table as table_clause
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError

from collector.cli.status import render_status
from collector.domain import BudgetRecord, CachedResponse, Repository, Snapshot, make_group_rule
from collector.reports.cells import cell_width, ljust_cells, shown, truncate_cells
from collector.store import migrate
from collector.store.checkpoints import rebuild_contributor_days, save_identities
from collector.store.engine import make_engine, transaction
from collector.store.groups import save_discovery, save_group_rule
from collector.store.history import save_snapshot
from collector.store.http_cache import (
    load_budget_records,
    load_cached_response,
    save_cached_response,
    save_token_budgets,
)
from collector.store.models import ContributorIdentity, RunItem
from collector.store.repos import load_aliases, load_repos, mark_gone, save_repository
from collector.store.roles import ensure_reader_role
from collector.store.runs import load_repo_status, load_token_budgets, save_run_item, start_run
from collector.testing.model import SimRepo
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.strange_repos import (
    LONG_DESCRIPTION,
    LONG_EMAIL,
    LONG_FORMER_NAME,
    LONG_NAME,
    LONG_OWNER,
    STRANGE_AUTHORS,
    STRANGE_CONTRIBUTORS,
)
from collector.testing.transport import running_simulator
from tests.conftest import Store, run_cli, unpaced

# What a terminal acts on instead of showing: C0 and C1 controls, DEL, bidirectional controls.
ACTED_ON = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

LONG_FULL_NAME = f"{LONG_OWNER}/{LONG_NAME}"
LONG_QUERY = "q" * 256 + " in:name,description stars:>=10 pushed:>=2020-01-01 language:python"
GROUP = f"search:{LONG_QUERY}"  # the name `repos add --search` gives a group by default
LONG_BRANCH = "release/" + "b" * 247  # git refs reach 255 bytes
STRANGE_MESSAGE = "Repository access blocked: " + LONG_DESCRIPTION * 3  # GitHub's words, quoted whole
LONG_URL = f"https://api.github.com/repos/{LONG_FULL_NAME}/commits?per_page=100&after=" + "c" * 1800
AT = datetime(2025, 3, 9, 12, 30, tzinfo=UTC)
IDENTITIES = {  # how the commit walk names authors: 'e:<lower-cased email>' or 'u:<user id>'
    f"e:{LONG_EMAIL.lower()}": AT,
    "e:δοκιμή@παράδειγμα.δοκιμή": AT + timedelta(days=1),
    "u:7100000": AT + timedelta(days=2),
}


def _save_everything(store: Store) -> int:
    """A renamed repository with the longest legal values, its snapshot, identities, a rule group, a run
    item with a long error, a cached response and a budget; returns the repository's id."""
    repo = Repository(
        github_id=1_234_567_890_123,
        full_name=LONG_FORMER_NAME,
        created_at=AT - timedelta(days=30),
        primary_language="Objective-C++",
        description=LONG_DESCRIPTION,
        default_branch=LONG_BRANCH,
        node_id="R_kgDO" + "x" * 90,
    )
    with transaction(store.sessions) as s:
        save_repository(s, repo, tracked=True)
        row = save_repository(s, replace(repo, full_name=LONG_FULL_NAME))  # renamed since
        save_snapshot(s, row.id, Snapshot(AT, 7, 2, 1, 0, contributors=len(IDENTITIES)))
        save_identities(s, row.id, IDENTITIES)
        rebuild_contributor_days(s, row.id)
        save_group_rule(s, GROUP, make_group_rule("search", LONG_QUERY), "cli", AT)
        save_discovery(s, GROUP, [row.id], [], True, AT)
        run_id = start_run(s, "collect")
        save_run_item(s, run_id, row.id, "collect", "error", "GitHubError", STRANGE_MESSAGE)
        gone = save_repository(s, Repository(github_id=42, full_name=f"{LONG_OWNER}/{'g' * 100}"), True)
        mark_gone(s, gone.id, STRANGE_MESSAGE)
        response = CachedResponse(200, 'W/"' + "e" * 300 + '"', None, {"link": LONG_URL}, b"[]")
        save_cached_response(s, "k" * 64, LONG_URL, response)
        save_token_budgets(s, [BudgetRecord("k" * 64, 1, "a_resource_github_adds_" + "r" * 40, 5000, 1, AT)])
        return row.id


def test_the_longest_values_read_back_unchanged_on_both_backends(store: Store) -> None:
    repo_id = _save_everything(store)
    with store.sessions() as s:
        repos = {r.full_name: r for r in load_repos(s, tracked_only=False)}
        assert repos[LONG_FULL_NAME].description == LONG_DESCRIPTION
        assert repos[f"{LONG_OWNER}/{'g' * 100}"].gone_reason == STRANGE_MESSAGE
        assert load_aliases(s, repo_id) == [LONG_FORMER_NAME]
        identities = s.scalars(
            select(ContributorIdentity.identity).where(ContributorIdentity.repo_id == repo_id)
        )
        assert set(identities) == set(IDENTITIES)
        assert s.scalar(select(RunItem.message).where(RunItem.repo_id == repo_id)) == STRANGE_MESSAGE
        cached = load_cached_response(s, "k" * 64, LONG_URL)
        assert cached is not None and cached.headers == {"link": LONG_URL} and len(cached.etag or "") == 304
        assert [b.resource for b in load_budget_records(s)] == ["a_resource_github_adds_" + "r" * 40]
    with store.engine.connect() as conn:
        latest = conn.execute(
            text(
                "SELECT repo, description, primary_language, contributors FROM repo_latest WHERE repo_id = :i"
            ),
            {"i": repo_id},
        ).one()
        daily = conn.execute(
            text("SELECT repo, contributors FROM repo_daily WHERE repo_id = :i ORDER BY day DESC"),
            {"i": repo_id},
        ).first()
        member = conn.execute(text("SELECT group_name, repo, rule_value FROM group_membership")).one()
    assert tuple(latest) == (LONG_FULL_NAME, LONG_DESCRIPTION, "Objective-C++", len(IDENTITIES))
    assert daily is not None and tuple(daily) == (LONG_FULL_NAME, len(IDENTITIES))
    assert tuple(member) == (GROUP, LONG_FULL_NAME, LONG_QUERY)


def ragged_tables(output: str) -> list[list[str]]:
    """The box-drawn tables of `output` whose lines do not all take the same number of terminal cells."""
    tables: list[list[str]] = []
    current: list[str] = []
    for line in [*output.splitlines(), ""]:
        if line[:1] in ("┏", "┃", "┡", "│", "├", "└"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return [t for t in tables if len({cell_len(line) for line in t}) != 1]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.integers(min_value=1, max_value=60))
def test_any_text_in_a_terminal_cell_shows_nothing_a_terminal_acts_on_and_fills_its_width(
    value: str, limit: int
) -> None:
    cell = truncate_cells(shown(value), limit)
    assert ACTED_ON.findall(cell) == [] and "\n" not in cell
    assert cell_width(cell) <= limit and cell_len(ljust_cells(cell, limit)) == limit
    if cell_width(shown(value)) <= limit:
        assert cell == shown(value)  # nothing cut that fits


def test_status_shows_strange_text_as_written_without_anything_a_terminal_acts_on(store: Store) -> None:
    _save_everything(store)
    with store.sessions() as s:
        shown = render_status(load_repo_status(s), load_token_budgets(s))
    assert "[bold red]not markup[/bold red]" in shown  # GitHub's text, never read as Rich markup
    assert "\u241b[2J\u241b[31m [bold red]" in shown  # ESC as a visible control picture
    assert ACTED_ON.findall(shown) == []
    assert ragged_tables(shown) == []


# --- the migration ---------------------------------------------------------------------------------------


def _column_length(engine_url: str, table: str, column: str) -> int | None:
    engine = make_engine(engine_url)
    try:
        found = next(c for c in inspect(engine).get_columns(table) if c["name"] == column)
        return getattr(found["type"], "length", None)
    finally:
        engine.dispose()


def _count(conn: Connection, table: str) -> int:
    return int(conn.execute(select(func.count()).select_from(table_clause(table))).scalar_one())


def test_0008_keeps_rows_and_grants_and_goes_back_only_when_the_values_fit(empty_url: str) -> None:
    engine = make_engine(empty_url)
    postgres = engine.dialect.name == "postgresql"
    role = f"test_reader_{uuid.uuid4().hex[:12]}"
    long_identity = f"e:{LONG_EMAIL.lower()}"
    try:
        migrate.upgrade(engine, "0007")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO repositories (id, full_name, name_key, archived, tracked, added_at) "
                    "VALUES (1, 'acme/rocket', 'acme/rocket', false, true, :at)"
                ),
                {"at": AT},
            )
            conn.execute(
                text(
                    "INSERT INTO snapshots (repo_id, observed_day, observed_at, stars, forks, watchers, "
                    "open_issues, archived) VALUES (1, :day, :at, 5, 1, 1, 0, false)"
                ),
                {"day": AT.date(), "at": AT},
            )
            conn.execute(
                text("INSERT INTO contributor_identities VALUES (1, 'e:short@example.com', :at)"), {"at": AT}
            )
            conn.execute(
                text(
                    "INSERT INTO repo_groups (name, kind, value, min_stars, include_forks, "
                    "include_archived, origin, defined_at) "
                    "VALUES ('topic:rockets', 'topic', 'rockets', 0, false, true, 'cli', :at)"
                ),
                {"at": AT},
            )
            conn.execute(
                text("INSERT INTO group_members VALUES ('topic:rockets', 1, :day, NULL, false)"),
                {"day": AT.date()},
            )
        if postgres:
            ensure_reader_role(engine, role)
            with pytest.raises(DataError, match="too long"), engine.begin() as conn:  # the bug, at 0007
                conn.execute(
                    text("INSERT INTO contributor_identities VALUES (1, :i, :at)"),
                    {"i": long_identity, "at": AT},
                )

        migrate.upgrade(engine, "0008")
        with engine.begin() as conn:  # nothing lost (SQLite cascades would empty the children of a rebuild)
            counts = [
                _count(conn, t)
                for t in ("repositories", "snapshots", "contributor_identities", "group_members")
            ]
            assert counts == [1, 1, 1, 1]
            conn.execute(
                text("INSERT INTO contributor_identities VALUES (1, :i, :at)"), {"i": long_identity, "at": AT}
            )
            assert conn.execute(text("SELECT group_name, repo FROM group_membership")).one() == (
                "topic:rockets",
                "acme/rocket",
            )
            if postgres:  # the reader role still reads the recreated view
                granted = text("SELECT has_table_privilege(:r, 'group_membership', 'SELECT')")
                assert conn.execute(granted, {"r": role}).scalar() is True
        assert _column_length(empty_url, "contributor_identities", "identity") is None

        with pytest.raises(
            RuntimeError, match=r"1 value\(s\) of contributor_identities.identity are longer than 80"
        ):
            migrate.downgrade(engine, "0007")
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM contributor_identities WHERE identity = :i"), {"i": long_identity})
        migrate.downgrade(engine, "0007")
        assert _column_length(empty_url, "contributor_identities", "identity") == 80
        assert _column_length(empty_url, "repo_groups", "name") == 100
        with engine.connect() as conn:
            assert _count(conn, "group_members") == 1
            assert conn.execute(text("SELECT COUNT(*) FROM group_membership")).scalar() == 1
    finally:
        if postgres:
            with engine.begin() as conn:
                conn.execute(text(f"DROP OWNED BY {role}"))
                conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        engine.dispose()


# --- end to end ------------------------------------------------------------------------------------------


def truth(repo: SimRepo) -> set[str]:
    """The author identities GitHub's commits imply: the user id when linked, else the email in lower case."""
    return {
        f"u:{c.author_user_id}" if c.author_user_id else f"e:{c.author_email.lower()}" for c in repo.commits
    }


def test_backfill_collect_status_and_reports_of_strange_values_on_postgresql(
    tmp_path: Path, pg_url: str
) -> None:
    scenario = load_scenario("edge")
    sim = next(r for r in scenario.repos if r.owner == LONG_OWNER)
    assert len(truth(sim)) == STRANGE_CONTRIBUTORS == len(STRANGE_AUTHORS)
    app = SimulatorApp(scenario, points_per_minute=100_000)
    unpaced(tmp_path)
    out = {}
    with running_simulator(app) as base:
        env = {"GITHUB_API_URL": base, "GITHUB_TOKEN": "long-values-token", "COLLECTOR_DATABASE_URL": pg_url}
        out["upgrade"] = run_cli(tmp_path, env, "db", "upgrade")
        out["add"] = run_cli(tmp_path, env, "repos", "add", LONG_FORMER_NAME)  # the old name: followed
        out["backfill"] = run_cli(tmp_path, env, "backfill")
        out["collect"] = run_cli(tmp_path, env, "collect")
        wide = {**env, "COLUMNS": "250"}
        out["status"] = run_cli(tmp_path, wide, "status")
        out["report"] = run_cli(tmp_path, wide, "report")
        out["trend"] = run_cli(
            tmp_path, wide, "report", "--since", (scenario.today - timedelta(days=500)).strftime("%Y-%m")
        )
    for name, result in out.items():
        assert result.returncode == 0, (name, result.stderr[-2000:])
        assert "Traceback" not in result.stderr, name
    assert (
        f"{LONG_FULL_NAME} contributors: complete ({STRANGE_CONTRIBUTORS} contributors)"
        in out["backfill"].stdout
    )

    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            stored = set(conn.execute(text("SELECT identity FROM contributor_identities")).scalars())
            latest = conn.execute(text("SELECT repo, description, contributors FROM repo_latest")).one()
            walked = conn.execute(
                text("SELECT contributors FROM repo_daily ORDER BY day DESC LIMIT 1")
            ).scalar()
    finally:
        engine.dispose()
    assert stored == truth(sim) and f"e:{LONG_EMAIL.lower()}" in stored
    assert tuple(latest) == (LONG_FULL_NAME, LONG_DESCRIPTION, STRANGE_CONTRIBUTORS)
    assert walked == STRANGE_CONTRIBUTORS
    for name in ("status", "report", "trend"):
        assert ACTED_ON.findall(out[name].stdout) == [], name
        assert ragged_tables(out[name].stdout) == [], name
    assert "[bold red]not markup[/bold red]" in out["trend"].stdout  # the repositories table, whole
    assert "\u241b[2J\u241b[31m [bold red]" in out["report"].stdout  # the ranking's first 48 cells
