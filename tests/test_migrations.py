"""Migrations: idempotent upgrade, downgrade round trip, and models that agree with migrations."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.util.exc import CommandError
from sqlalchemy import inspect, text

from collector.store import migrate
from collector.store.engine import make_engine

VIEWS = {"repo_latest", "repo_daily", "repo_weekly", "group_membership"}


def test_upgrade_twice_is_a_no_op(empty_url: str) -> None:
    engine = make_engine(empty_url)
    before, after = migrate.upgrade(engine)
    assert before is None and after == migrate.head_revision(engine)
    assert migrate.upgrade(engine) == (after, after)
    assert VIEWS <= set(inspect(engine).get_view_names())
    engine.dispose()


def test_downgrade_then_upgrade_round_trip(empty_url: str) -> None:
    engine = make_engine(empty_url)
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert set(inspect(engine).get_view_names()) & VIEWS == set()
    migrate.upgrade(engine)
    with engine.connect() as conn:
        # 1970-2060: 0002's 2000-2060 and 0010's 1970-1999.
        assert conn.execute(text("SELECT COUNT(*) FROM calendar")).scalar() == 33238
        assert conn.execute(text("SELECT COUNT(*) FROM repo_weekly")).scalar() == 0
    engine.dispose()


def test_models_and_migrations_agree(empty_url: str) -> None:
    """`alembic check`: autogenerate finds nothing to do on a fully migrated store."""
    engine = make_engine(empty_url)
    migrate.upgrade(engine)
    try:
        command.check(migrate.alembic_config(engine))
    except CommandError as exc:  # pragma: no cover - the failure message is the useful part
        pytest.fail(f"models and migrations drifted: {exc}")
    engine.dispose()
