"""`downloads` in reports, badges and metrics (issue 21): a flow, summed per period from the days the
sources gave, a period with an unknown day empty (not 0, nor a smaller sum); the footnote says over which
days each package's series is known; the badge and `collector_repo_downloads_30d` show
repo_latest.downloads_30d."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector.domain import Release, ReleaseAsset, Repository, parse_repo_name
from collector.downloads.refs import PackageRef
from collector.store import migrate
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.packages import save_downloads, save_fetch, save_package
from collector.store.releases import save_releases
from collector.store.repos import save_repository, save_tracked_name
from tests.conftest import UNPACED_CLIENT, run_cli
from tests.test_web_server import make_app, served


def days(first: date, last: date, n: int) -> dict[date, int]:
    return {first + timedelta(days=i): n for i in range((last - first).days + 1)}


# Weeks start on Sunday: 2026-11-01, -08, -15, -22. Nothing is known of the second week; npm's days
# stop on the 25th (its later days are not fetched yet).
NOV = date(2026, 11, 1)
PYPI_DAYS = {**days(NOV, date(2026, 11, 7), 10), **days(date(2026, 11, 15), date(2026, 11, 28), 0)}
NPM_DAYS = {
    **days(NOV, date(2026, 11, 7), 5),
    **days(date(2026, 11, 15), date(2026, 11, 21), 0),
    **days(date(2026, 11, 22), date(2026, 11, 25), 1),
}
RELEASES = [
    Release("v1.0.0", "One", datetime(2026, 11, 10, 12, tzinfo=UTC), False, (ReleaseAsset("r.whl", 3),)),
    Release("v0.9.0", "Old", datetime(2026, 10, 1, 12, tzinfo=UTC), False),  # before the report
]
CONFIG = UNPACED_CLIENT + '\n[packages]\n"acme/rocket" = ["pypi:rocket", "npm:rocket"]\n'


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store: acme/rocket with a PyPI and an npm package and the days above; acme/attic without."""
    url = f"sqlite:///{tmp_path_factory.mktemp('downloads') / 'store.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with transaction(session_factory(engine)) as s:
        for github_id, name in ((1, "acme/rocket"), (2, "acme/attic")):
            save_tracked_name(s, parse_repo_name(name))
            repo_id = save_repository(s, Repository(github_id, name), requested=parse_repo_name(name)).id
            if name == "acme/rocket":
                save_releases(s, repo_id, RELEASES, date(2026, 11, 25))
                for ref, days in (
                    (PackageRef("pypi", "rocket"), PYPI_DAYS),
                    (PackageRef("npm", "rocket"), NPM_DAYS),
                ):
                    package_id, _ = save_package(s, repo_id, ref, "config")
                    save_downloads(s, package_id, days)
                    save_fetch(
                        s,
                        package_id,
                        fetched_at=datetime.now(UTC),
                    )
    engine.dispose()
    return url


def test_weekly_downloads_are_summed_and_a_week_with_an_unknown_day_is_empty(
    tmp_path: Path, store_url: str
) -> None:
    (tmp_path / "collector.toml").write_text(CONFIG, encoding="utf-8")
    env = {"COLLECTOR_DATABASE_URL": store_url}
    args = ("--metric", "downloads", "--since", "2026-11-01", "--until", "2026-11-28", "--every", "week")
    out = run_cli(tmp_path, env, "report", *args, "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    got = {(r["repo"], r["period"]): r["downloads"] for r in rows}
    assert [got[("acme/rocket", p)] for p in ("2026-11-01", "2026-11-08", "2026-11-15", "2026-11-22")] == [
        "105",
        "",
        "0",  # the sources said 0 every day of it
        "",  # npm's 26th to 28th are not known yet
    ]
    assert {got[("acme/attic", p)] for p in ("2026-11-01", "2026-11-08", "2026-11-15", "2026-11-22")} == {""}
    assert "stars" not in rows[0]
    text = run_cli(tmp_path, env, "report", *args, "--format", "markdown")
    assert text.returncode == 0, text.stderr
    assert "Downloads within each week" in text.stdout
    for line in (
        "acme/rocket, pypi:rocket: known from 2026-11-01 to 2026-11-28, 7 days of it unknown (PyPI keeps",
        "acme/rocket, npm:rocket: known from 2026-11-01 to 2026-11-25, 7 days of it unknown (npm keeps",
    ):
        assert f"downloads of {line}" in text.stdout
    assert "a period is empty unless every day of it is known" in text.stdout
    html = run_cli(tmp_path, env, "report", *args, "--format", "html")
    assert html.returncode == 0, html.stderr
    # A release is a marker on the chart, in the week it was published, its tag in the title for hover.
    assert html.stdout.count('<g class="release"><title>') == 1
    assert '<g class="release"><title>acme/rocket v1.0.0 (2026-11-10)</title>' in html.stdout


def test_badge_and_metric_show_the_30_days_to_the_latest_known_day(tmp_path: Path, store_url: str) -> None:
    with served(make_app(tmp_path, store_url, CONFIG)) as base:
        badge = httpx.get(f"{base}/badge/acme/rocket/downloads.svg", timeout=30)
        none = httpx.get(f"{base}/badge/acme/attic/downloads.svg", timeout=30)
        metrics = httpx.get(f"{base}/metrics", timeout=30)
        query = "repos=acme/rocket&metric=downloads&since=2026-11-01&until=2026-11-28&every=week"
        chart = httpx.get(f"{base}/chart.svg?{query}", timeout=30)
    assert badge.status_code == 200 and badge.headers["content-type"].startswith("image/svg+xml")
    assert "<title>downloads/30d: 109</title>" in badge.text  # 70 + 35 + 4, Oct 30 to Nov 28
    assert "<title>downloads/30d: n/a</title>" in none.text
    samples = {
        s.labels["repo"]: s.value
        for family in text_string_to_metric_families(metrics.text)
        if family.name == "collector_repo_downloads_30d"
        for s in family.samples
    }
    assert samples == {"acme/rocket": 109.0}
    assert chart.status_code == 200, chart.text
    assert "Downloads within each week" in chart.text
    assert "<title>acme/rocket v1.0.0 (2026-11-10)</title>" in chart.text


def test_a_ranking_has_downloads_30d_when_packages_are_configured(tmp_path: Path, store_url: str) -> None:
    (tmp_path / "collector.toml").write_text(CONFIG, encoding="utf-8")
    env = {"COLLECTOR_DATABASE_URL": store_url}
    out = run_cli(tmp_path, env, "report", "--at", "2026-11-10", "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = {r["repo"]: r for r in csv.DictReader(io.StringIO(out.stdout))}
    # 2026-10-12 to 2026-11-10: PyPI's 70 and npm's 35; the 15th and later are after it.
    assert (rows["acme/rocket"]["downloads_30d"], rows["acme/attic"]["downloads_30d"]) == ("105", "")
    table = run_cli(
        tmp_path, {**env, "COLUMNS": "200"}, "report", "--at", "2026-11-10", "--format", "markdown"
    )
    assert table.returncode == 0, table.stderr
    header = next(line for line in table.stdout.splitlines() if line.startswith("| rank"))
    assert header.split("|")[5:7] == [" contributors ", " downloads\\_30d "]  # Markdown escapes the _
    assert "| acme/rocket |  |  |  | 105 |" in table.stdout
    (tmp_path / "collector.toml").write_text(UNPACED_CLIENT, encoding="utf-8")
    plain = run_cli(tmp_path, env, "report", "--at", "2026-11-10", "--format", "csv")
    assert plain.returncode == 0, plain.stderr
    assert "downloads_30d" not in plain.stdout.splitlines()[0]
