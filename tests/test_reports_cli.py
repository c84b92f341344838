"""`collector report` as a user runs it: a real subprocess on an SQLite store, and atomic writes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.domain import Repository, Snapshot
from collector.reports.output import write_atomic
from collector.store import migrate
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.history import save_snapshot
from collector.store.repos import save_repository
from tests.conftest import run_cli
from tests.test_reports_formats import expected_ranking, fill, samples, terminal_tables


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, env, "report", *args, timeout=120)


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    engine = make_engine(f"sqlite:///{tmp_path / 'collector.db'}")
    migrate.upgrade(engine)
    fill(engine, samples())
    engine.dispose()
    return tmp_path


def test_named_repos_with_a_former_name_as_csv(filled: Path) -> None:
    out = run(filled, "--at", "2016-03-15", "--format", "csv", "old/beta", "deep/alpha")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    expected = expected_ranking(samples(), datetime(2016, 3, 15, tzinfo=UTC).date())
    assert [(r["repo"], r["stars"], r["forks"]) for r in rows] == [
        (n, str(s), str(f)) for n, s, f, _ in expected
    ]


def test_refusals_are_one_line(filled: Path, tmp_path: Path) -> None:
    unknown = run(filled, "nobody/nothing", "deep/alpha")
    assert unknown.returncode == 2 and unknown.stderr.strip().count("\n") == 0
    assert "nobody/nothing" in unknown.stderr and "not in the store" in unknown.stderr
    # An invalid name is refused before any query: here the store is not even migrated.
    empty = tmp_path / "empty"
    empty.mkdir()
    invalid = run(empty, "a b/c")
    assert invalid.returncode == 2 and "invalid repository name" in invalid.stderr
    assert invalid.stderr.strip().count("\n") == 0
    both = run(filled, "--at", "2016-01-01", "--since", "2016-01")
    assert both.returncode == 2 and "exclude each other" in both.stderr


def test_output_follows_extension_and_leaves_no_temp_files(filled: Path) -> None:
    out = run(filled, "--since", "2016-01", "--until", "2016-04", "--output", "out/trend.html")
    assert out.returncode == 0, out.stderr
    page = (filled / "out" / "trend.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 4
    assert "<script>" not in page
    assert sorted(p.name for p in (filled / "out").iterdir()) == ["trend.html"]
    markdown = run(filled, "--at", "2016-03-15", "--output", "table.md")
    assert markdown.returncode == 0 and (filled / "table.md").read_text().startswith("# Popularity")


def test_job_writes_the_configured_report(filled: Path) -> None:
    (filled / "collector.toml").write_text(
        '[groups]\nml = ["deep/alpha", "old/beta", "later/gamma"]\n\n'
        '[reports.trends]\noutput = "reports/trends-{date}.json"\nsince = "2016-01"\nuntil = "2016-04"\n'
        'group = "ml"\nmetric = ["stars", "commits"]\n',
        encoding="utf-8",
    )
    out = run(filled, "--job", "trends")
    assert out.returncode == 0, out.stderr
    today = datetime.now(UTC).date().isoformat()
    document = json.loads((filled / "reports" / f"trends-{today}.json").read_text(encoding="utf-8"))
    assert document["columns"][:4] == ["repo", "period", "stars", "commits"]
    alpha = {r["period"]: r for r in document["rows"] if r["repo"] == "deep/alpha"}
    sample = samples()[0]
    assert alpha["2016-02"]["stars"] == sample.value("stars", datetime(2016, 2, 29).date())
    assert document["notes"][0] == "not in the store yet: later/gamma"
    totals = {r["period"]: r for r in document["rows"] if r["row_type"] == "group_total"}
    assert totals["2016-02"]["repo"] == "(group total)" and totals["2016-02"]["stars"] == sum(
        r["stars"] or 0
        for r in document["rows"]
        if r["period"] == "2016-02" and r["row_type"] == "repository"
    )
    missing = run(filled, "--job", "nightly")
    assert missing.returncode == 2 and "trends" in missing.stderr


def test_write_atomic_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    write_atomic(target, "old\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "new \ud800 text")  # a lone surrogate cannot be written as UTF-8
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"


def test_an_empty_store_says_how_to_start(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'collector.db'}")
    migrate.upgrade(engine)
    engine.dispose()
    out = run(tmp_path)
    assert out.returncode == 0, out.stderr
    assert "no repositories are tracked yet" in out.stdout and "collector repos add" in out.stdout


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """30 tracked repositories, observed once with 100 + 10 x i stars (many/r29 has the most)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'collector.db'}")
    migrate.upgrade(engine)
    at = datetime(2016, 3, 1, 12, tzinfo=UTC)
    with transaction(session_factory(engine)) as s:
        for i in range(30):
            row = save_repository(s, Repository(5000 + i, f"many/r{i:02d}", created_at=at), tracked=True)
            save_snapshot(s, row.id, Snapshot(at, 100 + 10 * i, i, 1, 1))
    engine.dispose()
    return tmp_path


def test_terminal_tables_show_the_top_25_and_say_how_to_see_all(many: Path) -> None:
    out = run(many, "--at", "2016-03-02")
    assert out.returncode == 0, out.stderr
    (table,) = terminal_tables(out.stdout)
    assert [r[:3] for r in table[1:4]] == [
        ["1", "many/r29", "390"],
        ["2", "many/r28", "380"],
        ["3", "many/r27", "370"],
    ]
    assert len(table) == 1 + 25 and table[-1][1] == "many/r05"
    assert (
        "note: showing the top 25 of 30 repositories by stars; 5 left out: see them all with --top 30 or"
        " --format csv" in out.stdout
    )
    trend = run(many, "--since", "2016-02", "--until", "2016-03", "--metric", "stars")
    assert trend.returncode == 0, trend.stderr
    stars = terminal_tables(trend.stdout)[0]
    assert len(stars) == 1 + 25 and stars[1][0] == "many/r29"
    assert "showing the top 25 of 30 repositories by stars in 2016-03; 5 left out" in trend.stdout
    # The file formats keep every row unless told.
    assert (
        len(list(csv.DictReader(io.StringIO(run(many, "--at", "2016-03-02", "--format", "csv").stdout))))
        == 30
    )


def test_top_in_the_terminal_and_in_csv(many: Path) -> None:
    table = run(many, "--at", "2016-03-02", "--top", "3")
    assert table.returncode == 0, table.stderr
    assert [r[1] for r in terminal_tables(table.stdout)[0][1:]] == ["many/r29", "many/r28", "many/r27"]
    assert "showing the top 3 of 30 repositories by stars" in table.stdout and "left out" not in table.stdout
    rows = list(
        csv.DictReader(io.StringIO(run(many, "--at", "2016-03-02", "--top", "3", "--format", "csv").stdout))
    )
    assert [(r["rank"], r["repo"], r["stars"]) for r in rows] == [
        ("1", "many/r29", "390"),
        ("2", "many/r28", "380"),
        ("3", "many/r27", "370"),
    ]
    trend = run(many, "--since", "2016-03", "--top", "2", "--format", "csv", "--metric", "stars")
    assert sorted({r["repo"] for r in csv.DictReader(io.StringIO(trend.stdout))}) == ["many/r28", "many/r29"]
    everyone = run(many, "--at", "2016-03-02", "--top", "100")  # more than there are: all, no note
    assert len(terminal_tables(everyone.stdout)[0]) == 31 and "showing the top" not in everyone.stdout
    for bad in ("0", "-2", "many"):
        refused = run(many, "--top", bad)
        assert refused.returncode == 2 and refused.stderr.strip().count("\n") == 0, refused.stderr
        assert "top:" in refused.stderr and "positive whole number" in refused.stderr


def test_a_job_takes_top(many: Path) -> None:
    (many / "collector.toml").write_text(
        '[reports.leaders]\noutput = "out/leaders.csv"\nat = "2016-03-02"\ntop = 2\n', encoding="utf-8"
    )
    out = run(many, "--job", "leaders")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO((many / "out" / "leaders.csv").read_text(encoding="utf-8"))))
    assert [r["repo"] for r in rows] == ["many/r29", "many/r28"]


def test_every_date_is_answered_or_refused_in_one_line(filled: Path) -> None:
    ranking = run(filled, "--at", "1999-01-01", "--format", "csv")
    assert ranking.returncode == 0, ranking.stderr
    rows = list(csv.DictReader(io.StringIO(ranking.stdout)))
    assert {r["repo"] for r in rows} == {"deep/alpha", "new/beta"}
    assert all(r["stars"] == "" and r["rank"] == "" for r in rows)
    trend = run(filled, "--since", "1970-01", "--until", "2016-03", "--every", "year", "--format", "json")
    assert trend.returncode == 0, trend.stderr
    periods = [p["label"] for p in json.loads(trend.stdout)["periods"]]
    assert periods[:2] == ["1970", "1971"] and periods[-1] == "2016" and len(periods) == 47
    for args in (("--since", "1969-12"), ("--at", "0001-01-01")):
        refused = run(filled, *args)
        assert refused.returncode == 2 and refused.stderr.strip().count("\n") == 0, refused.stderr
        assert "before 1970-01-01, the earliest day a report covers" in refused.stderr


def test_the_default_group_that_sync_tracks_is_a_report_group(tmp_path: Path) -> None:
    """`sync` with nothing tracked tracks the default group frameworks-2017: `--group` finds it by name."""
    engine = make_engine(f"sqlite:///{tmp_path / 'collector.db'}")
    migrate.upgrade(engine)
    at = datetime(2026, 11, 20, 12, tzinfo=UTC)
    with transaction(session_factory(engine)) as s:
        for k, (name, stars) in enumerate((("tensorflow/tensorflow", 180_000), ("BVLC/caffe", 34_000))):
            row = save_repository(s, Repository(github_id=70 + k, full_name=name), tracked=True)
            save_snapshot(s, row.id, Snapshot(at, stars, stars // 10, 50, 5))
    engine.dispose()
    out = run(tmp_path, "--group", "frameworks-2017", "--at", "2026-11-21", "--format", "json")
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)
    rows = {r["repo"]: r["stars"] for r in document["rows"] if r["row_type"] == "repository"}
    assert rows == {"tensorflow/tensorflow": 180_000, "BVLC/caffe": 34_000}
    assert document["group"] == {"name": "frameworks-2017", "members": 2}
    assert any(
        n.startswith("not in the store yet: keras-team/keras, microsoft/CNTK") for n in document["notes"]
    )
    unknown = run(tmp_path, "--group", "frameworks-2018")
    assert unknown.returncode == 2 and "expected one of ['frameworks-2017']" in unknown.stderr
