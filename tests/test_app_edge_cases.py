"""GitHub App edge cases end to end: `collector collect` as an App against the simulator over HTTP. A
suspended installation, tokens revoked with requests in flight, a clock minutes off, and installations
that each see only some repositories: every repository is collected, nothing is marked gone, and the
one-line notes name the installation and its account."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from collector.domain import parse_repo_name
from collector.github.api import GitHubAPI
from collector.github.client import GitHubClient
from collector.github.errors import NotFound
from collector.settings import AppCredentials, AppKey, Settings
from collector.store.engine import make_engine
from collector.testing.app_auth import SimApp, SimInstallation, make_test_app
from collector.testing.model import Scenario
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.tiny import tiny_scenario
from collector.testing.transport import running_simulator
from tests.conftest import run_cli, unpaced
from tests.test_collect_e2e import track

SYNTHETIC = load_scenario("synthetic-10")
SYNTH_NAMES = [r.full_name for r in SYNTHETIC.repos]
OWNER = "synth-org-000"
WRONG_ADVICE = "check GITHUB_APP_ID"


def app_with(*installations: SimInstallation) -> SimApp:
    return dataclasses.replace(make_test_app(), installations=installations)


def collect(
    tmp_path: Path, pg_url: str, app: SimApp, scenario: Scenario, names: list[str], **options: Any
) -> tuple[subprocess.CompletedProcess[str], SimulatorApp]:
    """Track `names`, run `collector collect` once as the App; the simulator comes back for its stats."""
    track(pg_url, names)
    unpaced(tmp_path)
    key = tmp_path / "app.pem"
    key.write_text(app.private_key_pem, encoding="utf-8")
    sim = SimulatorApp(scenario, points_per_minute=100_000, github_app=app, **options)
    with running_simulator(sim) as base:
        env = {
            "GITHUB_API_URL": base,
            "GITHUB_APP_ID": str(app.app_id),
            "GITHUB_APP_PRIVATE_KEY_FILE": str(key),
            "COLLECTOR_DATABASE_URL": pg_url,
        }
        out = run_cli(tmp_path, env, "collect")
    return out, sim


def gone(pg_url: str) -> list[str]:
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT full_name FROM repositories WHERE gone_reason IS NOT NULL"))
        names = [r.full_name for r in rows]
    engine.dispose()
    return names


def assert_all_collected(out: subprocess.CompletedProcess[str], pg_url: str, count: int) -> None:
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"collected {count}/{count} repositories" in out.stdout, out.stdout + out.stderr[-2000:]
    assert WRONG_ADVICE not in out.stderr
    assert gone(pg_url) == []


# --- 1. a suspended installation ---------------------------------------------------------------------


def test_a_suspended_installation_is_skipped_with_a_note_naming_its_account(
    tmp_path: Path, pg_url: str
) -> None:
    # Listed first, never used: its unknown budget would count as full and make it the preferred one.
    app = app_with(SimInstallation(31, "acme-old", suspended=True), SimInstallation(32, OWNER))
    out, sim = collect(tmp_path, pg_url, app, SYNTHETIC, SYNTH_NAMES)
    assert_all_collected(out, pg_url, len(SYNTH_NAMES))
    notes = [line for line in out.stderr.splitlines() if "suspended" in line]
    assert len(notes) == 1 and "GitHub App installation 31 on acme-old is suspended" in notes[0], out.stderr
    assert sim.stats.count(template="/app/installations/{installation_id}/access_tokens", status=403) == 0


def test_an_installation_refused_a_token_sits_out_the_pass_and_the_others_carry_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Suspended after GitHub listed it (so the listing does not say so): its token exchange answers 403.
    # Both on the repositories' account: either may be asked first.
    app = app_with(SimInstallation(41, OWNER), SimInstallation(42, OWNER))
    suspended = app_with(SimInstallation(41, OWNER, suspended=True), SimInstallation(42, OWNER))
    sim = SimulatorApp(SYNTHETIC, points_per_minute=100_000, github_app=app)
    settings_app = AppCredentials(str(app.app_id), AppKey(app.private_key_pem))

    async def main(base: str) -> dict[str, Any]:
        settings = Settings(api_url=base, graphql_url=base + "/graphql", github_app=settings_app)
        async with GitHubAPI(GitHubClient(settings)) as gh:
            await gh.client.credentials.ready()
            sim.app_auth.app = suspended
            counters = await gh.fetch_repo_counters([parse_repo_name(n) for n in SYNTH_NAMES])
            repos = [await gh.fetch_repository(parse_repo_name(n)) for n in SYNTH_NAMES[:3]]
            return {**counters, "rest": repos}

    with caplog.at_level(logging.WARNING, "collector.github"), running_simulator(sim) as base:
        got = asyncio.run(main(base))
    assert all(not isinstance(v, Exception) for v in got.values()), got
    assert sim.stats.count(template="/app/installations/{installation_id}/access_tokens", status=403) == 1
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    refused = [line for line in lines if "installation 41" in line]
    assert refused == [
        f"GitHub App installation 41 on {OWNER}: GitHub refused it a token (403: This installation has been "
        "suspended); it is set aside for this pass"
    ], lines


def test_when_no_installation_is_left_one_line_names_each_and_why(tmp_path: Path, pg_url: str) -> None:
    app = app_with(SimInstallation(51, "acme-old", suspended=True))
    out, _ = collect(tmp_path, pg_url, app, SYNTHETIC, SYNTH_NAMES[:2])
    assert out.returncode == 1
    # One line for the pass, not one per repository: nothing more could be asked.
    [line] = [text for text in out.stderr.splitlines() if text.startswith("error:")]
    assert "no installation of GitHub App" in line and "installation 51 on acme-old is suspended" in line
    assert WRONG_ADVICE not in out.stderr and "Traceback" not in out.stderr


# --- 2. tokens revoked with requests in flight ---------------------------------------------------------


def test_tokens_revoked_mid_run_are_renewed_once_and_every_request_retried(
    tmp_path: Path, pg_url: str
) -> None:
    app = app_with(SimInstallation(61, "acme"))
    scenario = load_scenario("frameworks")
    names = [r.full_name for r in scenario.repos if r.status == "ok"]
    # Revoked after the 3rd request: the contributors requests of the other repositories are in flight.
    out, sim = collect(
        tmp_path, pg_url, app, scenario, names, revoke_installation_tokens_after=3, latency_ms=20
    )
    assert_all_collected(out, pg_url, len(names))
    assert sim.stats.count(status=401) >= 2, sim.stats.requests  # several requests were refused at once ...
    assert sim.stats.installation_tokens_issued == 2  # ... and shared one renewal
    assert "was refused (401 Bad credentials)" not in out.stderr


# --- 3. a clock minutes off ----------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-300.0, 700.0])
def test_a_clock_minutes_off_is_corrected_by_githubs_date_header(
    tmp_path: Path, pg_url: str, offset: float
) -> None:
    # -300: this machine runs 5 minutes ahead ('exp' too far); 700: it runs behind ('exp' already past).
    app = app_with(SimInstallation(71, OWNER))
    out, sim = collect(tmp_path, pg_url, app, SYNTHETIC, SYNTH_NAMES, server_clock_offset=offset)
    assert_all_collected(out, pg_url, len(SYNTH_NAMES))
    assert sim.stats.installation_tokens_issued == 1


# --- 4. installations that each see some repositories --------------------------------------------------


def test_each_repository_is_asked_through_an_installation_that_sees_it(tmp_path: Path, pg_url: str) -> None:
    names = ["acme/rocket", "acme/empty", "acme/huge", "acme/attic"]
    app = app_with(
        SimInstallation(81, "acme", ("acme/rocket",)),
        SimInstallation(82, "acme", ("acme/empty", "acme/huge", "acme/attic")),
    )
    out, sim = collect(tmp_path, pg_url, app, tiny_scenario(), names)
    assert_all_collected(out, pg_url, len(names))
    assert sim.stats.count(status=404) == 0, sim.stats.requests
    # Two counters queries, one per installation: a batch never mixes what two installations see.
    assert sim.stats.count(method="POST", template="/graphql") == 2, sim.stats.requests


def test_a_404_through_an_installation_not_known_to_see_a_repository_is_asked_through_the_others() -> None:
    rocket = SimInstallation(91, "acme", ("acme/rocket",))
    app = app_with(rocket, SimInstallation(92, "acme", ("acme/attic",)))
    # acme/huge joins 92's selection after the collector read the listings: it is routed to no one.
    later = app_with(rocket, SimInstallation(92, "acme", ("acme/attic", "acme/huge")))
    sim = SimulatorApp(tiny_scenario(), points_per_minute=100_000, github_app=app)
    settings_app = AppCredentials(str(app.app_id), AppKey(app.private_key_pem))

    async def main(base: str) -> str:
        settings = Settings(api_url=base, graphql_url=base + "/graphql", github_app=settings_app)
        async with GitHubAPI(GitHubClient(settings)) as gh:
            await gh.client.credentials.ready()
            sim.app_auth.app = later
            huge = await gh.fetch_repository(parse_repo_name("acme/huge"))
            with pytest.raises(NotFound):  # every installation says 404: then it is not found
                await gh.fetch_repository(parse_repo_name("acme/never-was"))
            return huge.full_name

    with running_simulator(sim) as base:
        assert asyncio.run(main(base)) == "acme/huge"
    # One 404 for acme/huge (through 91, then 92 answered), two for the repository no installation sees.
    assert sim.stats.count(status=404) == 3, sim.stats.requests


def test_configured_installations_that_github_does_not_know_sit_out_with_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = app_with(SimInstallation(93, OWNER))
    sim = SimulatorApp(SYNTHETIC, points_per_minute=100_000, github_app=app)
    configured = AppCredentials(str(app.app_id), AppKey(app.private_key_pem), (99, 93))

    async def main(base: str) -> list[str]:
        settings = Settings(api_url=base, graphql_url=base + "/graphql", github_app=configured)
        async with GitHubAPI(GitHubClient(settings)) as gh:
            counters = await gh.fetch_repo_counters([parse_repo_name(n) for n in SYNTH_NAMES])
            return [k for k, v in counters.items() if not isinstance(v, Exception)]

    with caplog.at_level(logging.WARNING, "collector.github"), running_simulator(sim) as base:
        assert len(asyncio.run(main(base))) == len(SYNTH_NAMES)
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.startswith("GitHub App installation 99: GitHub did not find it (404: Not Found)"), line
    assert "GITHUB_APP_INSTALLATION_ID" in line
