"""The daemon's downloads job: scheduled only when packages exist, and run by one daemon per store each
cycle (the cluster lock), so the sources see one request per package however many daemons there are."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collector.app import App
from collector.cli.daemon import _DaemonJobs
from collector.cli.packages import downloads_daemon_job
from collector.config import load_config
from collector.domain import parse_repo_name
from collector.downloads.refs import PackageRef
from collector.settings import load_settings
from collector.store import migrate
from collector.testing.downloads_catalog import framework_packages
from collector.testing.downloads_sim import DownloadsSimulator, running_downloads_simulator


def test_one_daemon_per_cycle_fetches_and_none_without_packages(tmp_path: Path, pg_url: str) -> None:
    today = datetime.now(UTC).date()
    sim = DownloadsSimulator(framework_packages(), today)
    with running_downloads_simulator(sim) as base:
        env = {"COLLECTOR_DATABASE_URL": pg_url, "PYPISTATS_URL": base, "NPM_DOWNLOADS_URL": base}
        settings = load_settings(env, cwd=tmp_path)
        bare = App(settings, load_config(None))
        migrate.upgrade(bare.engine)
        assert downloads_daemon_job(bare, _DaemonJobs(bare)._first_in_cluster) is None
        config = replace(
            load_config(None), packages={parse_repo_name("keras-team/keras"): (PackageRef("pypi", "keras"),)}
        )
        daemons = [App(settings, config), App(settings, config)]  # two processes' worth: two holders
        jobs = [downloads_daemon_job(app, _DaemonJobs(app)._first_in_cluster) for app in daemons]
        cycle = datetime.now(UTC)
        try:
            done = [asyncio.run(job.body(cycle)) for job in jobs if job is not None]
        finally:
            for app in (bare, *daemons):  # their pools, closed before pg_url drops the database
                app.engine.dispose()
    assert jobs[0] is not None and jobs[0].schedule.interval_seconds == timedelta(days=1).total_seconds()
    assert done[0]["asked"] == 1 and done[0]["new_days"] == 180
    assert done[1] == {"skipped": "another daemon fetches downloads this cycle"}
    assert sim.count("pypi") == 1
