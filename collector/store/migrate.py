"""Run the Alembic migrations that ship with the package, from code (used by `collector db upgrade`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
MIGRATION_LOCK_KEY = 0x636F6C6C  # "coll": one advisory lock id for this application's migrations


def migrations_dir() -> Path:
    """The migrations folder: `migrations/` in a checkout, `collector/_migrations` in an installed wheel."""
    for candidate in (_PACKAGE_DIR.parent / "migrations", _PACKAGE_DIR / "_migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("the collector migrations are missing from this installation")


def alembic_config(engine: Engine) -> AlembicConfig:
    """An Alembic config bound to `engine` (env.py uses the connection passed in attributes)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The revision the store is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    """The newest revision shipped with this version."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the store to `revision`; returns (before, after). Processes that start together (several
    daemons, compose services) take turns: the second finds the work done."""
    with _migration_lock(engine):
        before = current_revision(engine)
        command.upgrade(alembic_config(engine), revision)
        return before, current_revision(engine)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """A PostgreSQL advisory lock around a migration (SQLite's writers are serialised already)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()


def downgrade(engine: Engine, revision: str) -> None:
    """Step the store down to `revision` (used by the round-trip test and by operators)."""
    command.downgrade(alembic_config(engine), revision)
