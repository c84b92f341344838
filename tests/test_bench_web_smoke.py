"""bench/bench_web.py in a small size, as CI runs it: every page and API call it times answers 200 from a
real `collector serve` over a filled PostgreSQL store, and the table lands in its own section of the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL, REPO_ROOT, cli_env


@pytest.mark.postgres
def test_bench_web_times_every_page_and_writes_its_section(tmp_path: Path, pg_server: object) -> None:
    markdown = tmp_path / "benchmarks.md"
    markdown.write_text("# Benchmarks\n\nHand-written text stays.\n", encoding="utf-8")
    args = ["--repos", "20", "--runs", "2", "--report-runs", "1", "--markdown", str(markdown)]
    done = subprocess.run(
        [sys.executable, "bench/bench_web.py", "--pg-url", PG_ADMIN_URL, *args],
        cwd=REPO_ROOT,
        env=cli_env(),
        text=True,
        capture_output=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = markdown.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nHand-written text stays.\n")
    section = text.split("<!-- bench_web:begin:20 -->", 1)[1].split("<!-- bench_web:end:20 -->", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and " ms | " in line]
    assert all(line.count(" ms") == 4 for line in rows), "computed p50, p95, the target and kept p95"
    paths = (
        "/healthz",
        "page /",
        "/compare",
        "/repos/X",
        "/groups/NAME",
        "/api/v1/repos",
        "/series",
        "/ranking",
    )
    for path in (*paths, "/api/v1/compare"):
        assert any(path in row for row in rows), (path, section)
    assert all(row.split(" | ")[1] == "200" for row in rows), section
    assert "every row (" in section and "the command, start-up included" in section
