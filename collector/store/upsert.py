"""Idempotent writes: INSERT ... ON CONFLICT DO UPDATE on both PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert


@lru_cache(maxsize=256)
def _statement(
    dialect: str, table: Table, columns: tuple[str, ...], keys: tuple[str, ...], update: tuple[str, ...]
) -> Insert:
    # One statement per shape, executed with a list of parameter sets: SQLAlchemy compiles it once and
    # batches the rows ("insertmanyvalues"), instead of compiling a new multi-row VALUES every call.
    if dialect == "postgresql":
        pg = postgresql.insert(table)
        if update:
            return pg.on_conflict_do_update(
                index_elements=list(keys), set_={c: pg.excluded[c] for c in update}
            )
        return pg.on_conflict_do_nothing(index_elements=list(keys))
    if dialect == "sqlite":
        lite = sqlite.insert(table)
        if update:
            return lite.on_conflict_do_update(
                index_elements=list(keys), set_={c: lite.excluded[c] for c in update}
            )
        return lite.on_conflict_do_nothing(index_elements=list(keys))
    raise NotImplementedError(f"upsert is not implemented for {dialect}")  # pragma: no cover


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
    columns = tuple(rows[0].keys())
    to_update = tuple(c for c in columns if c not in keys) if update is None else tuple(update)
    stmt = _statement(session.get_bind().dialect.name, table, columns, tuple(keys), to_update)
    session.execute(stmt, list(rows))
