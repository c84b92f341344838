"""`collector report` as a user runs it: a real subprocess on an SQLite store, and atomic writes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.reports.output import write_atomic
from collector.store import migrate
from collector.store.engine import make_engine
from tests.conftest import run_cli
from tests.test_reports_formats import expected_ranking, fill, samples


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
    assert document["notes"] == ["not in the store yet: later/gamma"]
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
