"""Shared fixtures. `store` runs each store test on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from collector.store import migrate
from collector.store.engine import make_engine, session_factory
from collector.store.models import Base
from collector.testing.app_auth import make_test_app
from collector.testing.model import Scenario
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimulatorApp
from collector.testing.transport import running_simulator

# Admin URL of the PostgreSQL server the tests may create databases on.
PG_ADMIN_URL = os.environ.get(
    "COLLECTOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"


# For tests whose simulator raises GitHub's per-minute limits so that they run fast: the client's pacing
# would otherwise still hold each token to GitHub's real 900 REST and 2,000 GraphQL points a minute.
UNPACED_CLIENT = "\n[client]\nrest_points_per_minute = 0\ngraphql_points_per_minute = 0\n"


def unpaced(cwd: Path) -> Path:
    """Write a collector.toml in `cwd` with only UNPACED_CLIENT (no groups); returns its path."""
    path = cwd / "collector.toml"
    path.write_text(UNPACED_CLIENT, encoding="utf-8")
    return path


def cli_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without its COLLECTOR_/GITHUB_ variables, plus `env`: a subprocess
    sees only the settings a test gives it, never the developer's own."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("COLLECTOR_", "GITHUB_"))}
    full.update(env or {})
    return full


def run_cli(
    cwd: Path, env: Mapping[str, str] | None, *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run `collector ARGS` as a user would, in `cwd`, with only the COLLECTOR_/GITHUB_ variables given."""
    return subprocess.run(
        [sys.executable, "-m", "collector.cli", *args],
        cwd=cwd,
        env=cli_env(env),
        text=True,
        capture_output=True,
        timeout=timeout,
    )


def _pg_admin_engine() -> Engine | None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            return engine
    except OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable at {PG_ADMIN_URL}: {exc.orig}")
        return None


@dataclass
class PgServer:
    admin: Engine

    def create_database(self) -> str:
        """A new, empty database; returns its SQLAlchemy URL."""
        name = f"collector_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_engine(url).url.database
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    admin = _pg_admin_engine()
    if admin is None:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} (set COLLECTOR_TEST_PG_URL)")
    yield PgServer(admin)
    admin.dispose()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, unmigrated store: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@dataclass
class Store:
    """A migrated store on one backend."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def backend(self) -> str:
        return self.engine.dialect.name


@pytest.fixture(scope="session")
def _pg_store_url(pg_server: PgServer) -> Iterator[str]:
    url = pg_server.create_database()
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    pg_server.drop_database(url)


def _truncate(engine: Engine) -> None:
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name != "calendar"]
    with engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store: the same test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
    else:
        url = request.getfixturevalue("_pg_store_url")
        engine = make_engine(url)
        _truncate(engine)
    yield Store(url=url, engine=engine, sessions=session_factory(engine))
    engine.dispose()


# --- the 2017 frameworks, synced once per session ---------------------------------------------------

TOKEN_SECONDS = 30  # installation tokens' lifetime: the sync takes minutes, so it renews them
Synced = tuple[Path, dict[str, str], Scenario, SimulatorApp, str]


@pytest.fixture(scope="session")
def synced(tmp_path_factory: pytest.TempPathFactory, pg_server: PgServer) -> Iterator[Synced]:
    """`collector sync` of the 2017 frameworks from an empty PostgreSQL store, as a GitHub App whose
    installation tokens live 30 seconds: (cwd, env, scenario, simulator, sync's stdout). The end-to-end
    sync tests read it, and the fault suite takes it as its clean reference."""
    scenario = load_scenario("frameworks")
    github_app = make_test_app()
    app = SimulatorApp(
        scenario, points_per_minute=100_000, github_app=github_app, installation_token_seconds=TOKEN_SECONDS
    )
    url = pg_server.create_database()
    cwd = tmp_path_factory.mktemp("sync")
    unpaced(cwd)
    key = cwd / "app.pem"
    key.write_text(github_app.private_key_pem, encoding="utf-8")
    with running_simulator(app) as base:
        env = {
            "GITHUB_API_URL": base,
            "GITHUB_APP_ID": str(github_app.app_id),
            "GITHUB_APP_PRIVATE_KEY_FILE": str(key),
            "COLLECTOR_DATABASE_URL": url,
        }
        out = run_cli(cwd, env, "sync")
        assert out.returncode == 0, out.stderr[-3000:]
        # The book cites keras and mxnet by their 2017 names: GitHub redirects those to the current ones.
        old = run_cli(cwd, env, "repos", "add", "fchollet/keras", "dmlc/mxnet")
        assert old.returncode == 0, old.stderr
        yield cwd, env, scenario, app, out.stdout
    pg_server.drop_database(url)
