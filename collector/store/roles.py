"""A read-only PostgreSQL role for people who query the store: the public views, nothing else.

Roles belong to the whole PostgreSQL cluster, privileges to one database: `ensure_reader_role` creates
the role once and (re)grants it on the store it is pointed at. Identifiers cannot be bound parameters,
so the role name is checked against a strict pattern and quoted by the dialect before it reaches SQL.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from collector.errors import CollectorError, ConfigError

READER_VIEWS = (
    "repo_latest",
    "repo_daily",
    "repo_weekly",
    "group_membership",
    "repo_downloads_daily",
    "repo_releases",
)
DEFAULT_READER_ROLE = "collector_reader"
_ROLE_NAME_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def check_role_name(name: str) -> str:
    """The role name if it is a plain lower-case PostgreSQL identifier; ConfigError otherwise."""
    if not _ROLE_NAME_RE.fullmatch(name) or name.startswith("pg_"):
        shown = name.encode("unicode_escape").decode("ascii")
        raise ConfigError(
            f"--name: {shown!r} is not a usable role name; expected lower-case letters, digits and '_' "
            "(at most 63, not starting with a digit or pg_), e.g. collector_reader"
        )
    return name


def ensure_reader_role(engine: Engine, name: str = DEFAULT_READER_ROLE) -> bool:
    """Create the NOLOGIN role if missing and leave it with SELECT on the views only; True if created."""
    if engine.dialect.name != "postgresql":
        raise CollectorError(
            "database roles exist only on PostgreSQL; SQLite has no users (share a copy of the file, or "
            "open it read-only with sqlite3 'file:collector.db?mode=ro')"
        )
    quote = engine.dialect.identifier_preparer.quote
    role = quote(check_role_name(name))
    try:
        with engine.begin() as conn:
            created = _create_role(conn, name, role)
            database = quote(conn.execute(text("SELECT current_database()")).scalar_one())
            schema = quote(conn.execute(text("SELECT current_schema()")).scalar_one())
            # Start from nothing so that a rerun also takes back anything granted by hand since.
            conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}"))
            conn.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}"))
            conn.execute(text(f"GRANT CONNECT ON DATABASE {database} TO {role}"))
            conn.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO {role}"))
            for view in READER_VIEWS:
                # Views run with their owner's rights: the role never needs the tables behind them. A
                # store at an older revision has fewer views: `db upgrade` grants the newer ones.
                if conn.execute(text("SELECT to_regclass(:v) IS NOT NULL"), {"v": view}).scalar():
                    conn.execute(text(f"GRANT SELECT ON {schema}.{quote(view)} TO {role}"))
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        raise CollectorError(
            f"could not set up role {name}: {reason}; connect as a user with CREATEROLE that owns the store "
            "and run `collector db upgrade` first"
        ) from exc
    return created


def _create_role(conn: Connection, name: str, role: str) -> bool:
    if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": name}).first():
        return False
    # NOLOGIN: people log in as themselves and are granted membership (see the README).
    conn.execute(text(f"CREATE ROLE {role} NOLOGIN"))
    return True
