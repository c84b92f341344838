"""The reader role across the migrations that rebuild or add a public view (0011, 0013): what repo_latest
was granted goes to the recreated view and to each new one, and back to repo_latest on the way down."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.engine import Engine

from collector.store import migrate
from collector.store.engine import make_engine
from collector.store.roles import ensure_reader_role


def _granted(engine: Engine, role: str) -> dict[str, set[str]]:
    """Each view or table `role` holds a privilege on, with those privileges."""
    query = text(
        "SELECT table_name, privilege_type FROM information_schema.table_privileges WHERE grantee = :r"
    )
    found: dict[str, set[str]] = {}
    with engine.connect() as conn:
        for table, privilege in conn.execute(query, {"r": role}):
            found.setdefault(table, set()).add(privilege)
    return found


def test_a_reader_granted_at_0010_reads_the_views_later_migrations_rebuild_and_add(pg_url: str) -> None:
    engine = make_engine(pg_url)
    role = f"test_reader_{uuid.uuid4().hex[:12]}"
    try:
        migrate.upgrade(engine, "0010")
        ensure_reader_role(engine, role)
        at_0010 = {"repo_latest", "repo_daily", "repo_weekly", "group_membership"}
        assert _granted(engine, role) == dict.fromkeys(at_0010, {"SELECT"})

        migrate.upgrade(engine)  # 0011 recreates repo_latest, adds repo_downloads_daily; 0013 repo_releases
        added = {"repo_downloads_daily", "repo_releases"}
        assert _granted(engine, role) == dict.fromkeys(at_0010 | added, {"SELECT"})

        migrate.downgrade(engine, "0010")  # 0011's downgrade recreates repo_latest once more
        assert _granted(engine, role) == dict.fromkeys(at_0010, {"SELECT"})
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        engine.dispose()
