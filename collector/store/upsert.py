"""Idempotent writes: INSERT ... ON CONFLICT DO UPDATE on both PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# SQLite allows 32766 bound parameters per statement; PostgreSQL 65535. Stay well below both.
_MAX_PARAMS = 30000


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert `rows`; rows whose `keys` exist already get the `update` columns (all others by default)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    columns = list(rows[0].keys())
    to_update = [c for c in columns if c not in keys] if update is None else list(update)
    chunk = max(1, _MAX_PARAMS // max(1, len(columns)))
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        if dialect == "postgresql":
            pg_stmt = postgresql.insert(table).values(part)
            if to_update:
                pg_stmt = pg_stmt.on_conflict_do_update(
                    index_elements=list(keys), set_={c: pg_stmt.excluded[c] for c in to_update}
                )
            else:
                pg_stmt = pg_stmt.on_conflict_do_nothing(index_elements=list(keys))
            session.execute(pg_stmt)
        elif dialect == "sqlite":
            lite_stmt = sqlite.insert(table).values(part)
            if to_update:
                lite_stmt = lite_stmt.on_conflict_do_update(
                    index_elements=list(keys), set_={c: lite_stmt.excluded[c] for c in to_update}
                )
            else:
                lite_stmt = lite_stmt.on_conflict_do_nothing(index_elements=list(keys))
            session.execute(lite_stmt)
        else:  # pragma: no cover - only the two supported stores
            raise NotImplementedError(f"upsert is not implemented for {dialect}")
