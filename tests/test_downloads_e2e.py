"""Done when (issue 21): from a fresh PostgreSQL store, `collector sync` with packages configured stores
pypistats.org's 180 days and npm's whole history of each package; a day later the next sync asks one day
per package (npm's unscoped ones in one bulk request), which also brings the day answered low the day
before in full; the views equal the sources. The CLI runs as a subprocess against the GitHub and download
simulators, each a real loopback server."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from collector.store.engine import make_engine
from collector.testing.downloads_catalog import SimPackage, framework_packages
from collector.testing.downloads_sim import DownloadsSimulator, running_downloads_simulator
from collector.testing.simulator import SimulatorApp
from collector.testing.tiny import tiny_scenario
from collector.testing.transport import running_simulator
from tests.conftest import UNPACED_CLIENT, run_cli

TOKEN = "ghp_downloadsE2Etoken0123456789"
CONFIG = (
    UNPACED_CLIENT
    + """
[groups]
tiny = ["acme/rocket", "acme/attic"]

[packages]
"acme/rocket" = [
    "pypi:tensorflow", "pypi:Tensorflow_CPU", "npm:@tensorflow/tfjs", "npm:left-pad", "npm:express"
]
"acme/attic" = ["pypi:keras"]
"""
)
PYPI = ("tensorflow", "tensorflow-cpu", "keras")
NPM_SCOPED = ("@tensorflow/tfjs",)
NPM_UNSCOPED = ("left-pad", "express")


def eighteen_month_ranges(start: date, end: date) -> int:
    """How many requests of at most 18 months cover start..end (npm's single-package limit)."""
    n = 0
    while start <= end:
        n += 1
        month = start.month - 1 + 18
        start = date(start.year + month // 12, month % 12 + 1, min(start.day, 28))
    return n


def held(conn: object, package: str) -> dict[date, int]:
    rows = conn.execute(  # type: ignore[attr-defined]
        text(
            "SELECT d.day, d.downloads FROM package_downloads_daily d JOIN packages p ON p.id = d.package_id "
            "WHERE p.name = :n"
        ),
        {"n": package},
    )
    return {day: n for day, n in rows}


def requests(sim: DownloadsSimulator, before: tuple[int, int]) -> tuple[int, int]:
    return sim.count("pypi") - before[0], sim.count("npm") - before[1]


@pytest.mark.postgres
def test_sync_keeps_180_days_of_pypi_and_all_of_npm_then_asks_one_day_a_day(
    tmp_path: Path, pg_url: str
) -> None:
    today = datetime.now(UTC).date()
    extra = [
        SimPackage("npm", "left-pad", date(2014, 3, 19)),
        SimPackage("npm", "express", date(2010, 12, 29)),
    ]
    # Each source's latest day is answered low at first and in full a day later (settling_days).
    sim = DownloadsSimulator(
        [*framework_packages(), *extra],
        today - timedelta(days=1),
        seed=21,
        settling_days=1,
        settling_share=0.5,
    )
    (tmp_path / "collector.toml").write_text(CONFIG, encoding="utf-8")
    github = SimulatorApp(tiny_scenario())
    with running_simulator(github) as gh, running_downloads_simulator(sim) as downloads:
        env = {
            "GITHUB_API_URL": gh,
            "GITHUB_TOKEN": TOKEN,
            "COLLECTOR_DATABASE_URL": pg_url,
            "PYPISTATS_URL": downloads,
            "NPM_DOWNLOADS_URL": downloads,
        }
        first = run_cli(tmp_path, env, "sync")
        assert first.returncode == 0, first.stderr[-3000:]
        run1 = requests(sim, (0, 0))
        engine = make_engine(pg_url)
        with engine.connect() as conn:
            for name in PYPI:
                assert held(conn, name) == sim.pypi_window(name) and len(held(conn, name)) == 180
            for name in NPM_SCOPED + NPM_UNSCOPED:
                assert held(conn, name) == sim.npm_history(name)
                assert min(held(conn, name)) == date(2015, 1, 10)

        sim.set_today(today)  # a day later: one more day lands at both sources
        counts = (sim.count("pypi"), sim.count("npm"))
        second = run_cli(tmp_path, env, "sync")
        assert second.returncode == 0, second.stderr[-3000:]
        run2 = requests(sim, counts)
        counts = (sim.count("pypi"), sim.count("npm"))
        third = run_cli(tmp_path, env, "collect", "--downloads")  # the same UTC day: nothing newer exists
        run3 = requests(sim, counts)
        assert sim.authorization_headers == 0  # the GitHub token never reached these hosts
        assert all(ua.startswith("collector/") for ua in sim.user_agents)

    print(f"requests: run 1 pypi {run1[0]}, npm {run1[1]}; run 2 pypi {run2[0]}, npm {run2[1]}; run 3 {run3}")
    first_npm_day, yesterday = date(2015, 1, 10), today - timedelta(days=1)
    scoped = eighteen_month_ranges(first_npm_day, yesterday)
    bulk = -(-((yesterday - first_npm_day).days + 1) // 365)  # both unscoped names in one request a year
    assert run1 == (len(PYPI), len(NPM_SCOPED) * scoped + bulk)
    assert run2 == (len(PYPI), len(NPM_SCOPED) + 1)
    assert run3 == (0, 0)
    # Run 2 asks from the last day held on: the day answered low in run 1 comes again, in full, in the
    # same requests as the new day.
    assert "downloads: 6/6 packages asked, 6 new days, 6 corrected, 0 failed; requests: pypi 3, npm 2" in (
        second.stdout
    )
    assert "downloads: 0/6 packages asked" in third.stdout

    with engine.connect() as conn:
        forgotten = today - timedelta(days=181)  # in the first window, not in today's
        for name in PYPI:
            # The day pypistats.org has just forgotten is still held: 181 days now.
            stored = held(conn, name)
            assert stored == {
                **sim.daily(sim.pypi[name], forgotten, forgotten),
                **sim.pypi_window(name),
            }
            assert len(stored) == 181
        settled = today - timedelta(days=2)  # answered low in run 1, in full since
        for name in PYPI + NPM_SCOPED + NPM_UNSCOPED:
            package = sim.pypi.get(name) or sim.npm[name]
            assert held(conn, name)[settled] == package.downloads(settled, sim.seed)
            assert held(conn, name)[yesterday] == package.downloads(yesterday, sim.seed) // 2
        truth: dict[str, dict[date, int]] = {"acme/attic": held(conn, "keras"), "acme/rocket": {}}
        for name in NPM_SCOPED + NPM_UNSCOPED:
            assert held(conn, name) == sim.npm_history(name)
        for name in ("tensorflow", "tensorflow-cpu", *NPM_SCOPED, *NPM_UNSCOPED):
            for day, n in held(conn, name).items():
                truth["acme/rocket"][day] = truth["acme/rocket"].get(day, 0) + n
        view = conn.execute(text("SELECT repo, day, downloads FROM repo_downloads_daily")).all()
        assert {(r, d): n for r, d, n in view} == {
            (r, d): n for r, days in truth.items() for d, n in days.items()
        }
        latest = dict(conn.execute(text("SELECT repo, downloads_30d FROM repo_latest")).all())
        last_30 = [yesterday - timedelta(days=i) for i in range(30)]
        assert latest == {r: sum(days[d] for d in last_30) for r, days in truth.items()}
    engine.dispose()
