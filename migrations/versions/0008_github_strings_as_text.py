"""strings that come from GitHub are TEXT: identities, name keys, cached URLs, rate-limit resources,
rule group names

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

GitHub allows a 254-character commit email, a 39-character owner and a 100-character repository name,
and a search query (a rule group's default name is "search:<query>") of 256 characters plus qualifiers.
The bounded VARCHARs these went into stopped a backfill on PostgreSQL with StringDataRightTruncation;
SQLite never enforced them, so only PostgreSQL saw it.

PostgreSQL refuses to change the type of a column a view reads: group_membership reads the group names,
so it is dropped and recreated around the change, from its own stored definition, with its grants (the
reader role's SELECT). SQLite keeps the same bytes on disk for VARCHAR(n) and TEXT (both TEXT affinity),
so there only the declared type in the schema is rewritten, as SQLite documents for changes that leave
the stored content alone (https://www.sqlite.org/lang_altertable.html#otheralter); rebuilding the tables
would drop `repositories` under foreign keys that cascade.
"""

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

from collector.store.grants import load_grants, save_grants

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, the length it had before); the group columns come parent first for the foreign key.
COLUMNS = (
    ("repositories", "name_key", 200),
    ("repo_aliases", "name_key", 200),
    ("contributor_identities", "identity", 80),
    ("http_cache", "url", 2000),
    ("token_budgets", "resource", 30),
    ("repo_groups", "name", 100),
    ("group_members", "group_name", 100),
)
VIEWS_OVER_COLUMNS = ("group_membership",)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_declare({(t, c): (f"VARCHAR({n})", "TEXT") for t, c, n in COLUMNS})
        return
    with _pg_views_dropped(VIEWS_OVER_COLUMNS):
        for table, column, length in COLUMNS:
            op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length))


def downgrade() -> None:
    _refuse_longer_values()
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_declare({(t, c): ("TEXT", f"VARCHAR({n})") for t, c, n in COLUMNS})
        return
    with _pg_views_dropped(VIEWS_OVER_COLUMNS):
        for table, column, length in reversed(COLUMNS):
            op.alter_column(table, column, type_=sa.String(length), existing_type=sa.Text())


def _refuse_longer_values() -> None:
    """The old types cannot hold longer values; say which instead of a truncation error halfway."""
    bind = op.get_bind()
    for table, column, length in COLUMNS:
        too_long = sa.func.length(sa.column(column)) > length
        count = sa.select(sa.func.count()).select_from(sa.table(table)).where(too_long)
        longer = bind.execute(count).scalar()
        if longer:
            raise RuntimeError(
                f"cannot go below revision 0008: {longer} value(s) of {table}.{column} are longer than "
                f"{length} characters; delete those rows first or stay at 0008"
            )


@contextmanager
def _pg_views_dropped(names: Sequence[str]) -> Iterator[None]:
    """Drop the views, then recreate them as they were defined, with the same grants."""
    bind = op.get_bind()
    saved = []
    for name in names:
        definition = bind.execute(sa.text("SELECT pg_get_viewdef(to_regclass(:v))"), {"v": name}).scalar()
        saved.append((name, definition, load_grants(bind, name)))
    for name in reversed(names):
        op.execute(f"DROP VIEW {name}")
    yield
    for name, definition, grants in saved:
        op.execute(f"CREATE VIEW {name} AS {definition}")
        save_grants(bind, name, grants)


def _sqlite_declare(changes: dict[tuple[str, str], tuple[str, str]]) -> None:
    """Rewrite declared column types in SQLite's schema (same affinity, so nothing stored changes)."""
    bind = op.get_bind()
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar()
    op.execute("PRAGMA writable_schema=ON")
    for (table, column), (old, new) in changes.items():
        sql = bind.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
        ).scalar_one()
        pattern = rf'(\b{column}\b"?\s+){re.escape(old)}'
        updated, count = re.subn(pattern, rf"\g<1>{new}", sql, flags=re.IGNORECASE)
        if count != 1:
            raise RuntimeError(f"{table}.{column} is not declared {old} in this SQLite store")
        bind.execute(
            sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :t"),
            {"sql": updated, "t": table},
        )
    op.execute(f"PRAGMA schema_version={int(version or 0) + 1}")
    op.execute("PRAGMA writable_schema=OFF")
