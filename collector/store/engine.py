"""Engines and sessions for the store, with the same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from collector.errors import ConfigError, StoreMissing, StoreReadOnly, StoreUnavailable
from collector.settings import (
    DATABASE_EXAMPLES,
    is_read_only_url,
    redact_url,
    sqlite_path,
    supported_database_url,
)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and a busy timeout so several writers wait. A
    read-only SQLite URL (`settings.read_only_url`) must name an existing file: it is never created."""
    url = supported_database_url(url)
    try:
        if url.lower().startswith("sqlite"):
            _check_sqlite_file(url)
            reader = is_read_only_url(url)
            if reader:
                # mode=rw never creates the file either, and unlike mode=ro lets the last connection
                # remove the -wal and -shm files as it closes; query_only refuses every write.
                url = make_url(url).update_query_dict({"mode": "rw"}).render_as_string(hide_password=False)
            engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
            event.listen(engine, "connect", _sqlite_reader_pragmas if reader else _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, **kwargs)
            event.listen(engine, "connect", _postgresql_settings)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigError(
            f"COLLECTOR_DATABASE_URL: {redact_url(url)!r} is not usable ({exc}); expected e.g. "
            f"{DATABASE_EXAMPLES}"
        ) from exc
    return engine


def _check_sqlite_file(url: str) -> None:
    """A reader needs the file to exist; a writer needs to be allowed to write it (SQLite would otherwise
    open it read-only without a word, and fail at the first write)."""
    path = sqlite_path(url)
    if path is None:
        return
    shown = os.path.abspath(path)
    if is_read_only_url(url):
        if not os.path.exists(path):
            raise StoreMissing(f"no store at {shown}: run `collector sync` (or `collector db upgrade`) first")
    elif os.path.exists(path) and not os.access(path, os.W_OK):
        raise StoreReadOnly(
            f"{shown} is read-only; make it writable (chmod u+w {shown}) or point COLLECTOR_DATABASE_URL at "
            "a store this user may write"
        )


def _postgresql_settings(dbapi_connection: Any, _record: Any) -> None:
    """No JIT compilation: our queries are short index reads whose row estimates (over views such as
    repo_daily) are high enough for PostgreSQL to compile them, which costs more than running them. One
    repository's daily series took 90 ms instead of 11 at 1,000 repositories, 770 ms at 10,000."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True  # a SET outside any transaction lasts for the whole session
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
    finally:
        dbapi_connection.autocommit = autocommit


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The journal mode belongs to the file and is set by its writers; a reader leaves it as it is.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def check_connection(engine: Engine) -> None:
    """Raise StoreUnavailable with a one-line reason naming the host (never the user or password) when the
    database cannot be reached."""
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        url = engine.url
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        # psycopg says 'connection failed: connection to server at "HOST", port N failed: WHY': keep WHY.
        reason = reason.rpartition(" failed: ")[2].strip() or reason
        if url.username:
            reason = reason.replace(f'"{url.username}"', "(the URL's user)")
        path = sqlite_path(url.render_as_string())
        if path:
            where, fix = (
                f"the store {os.path.abspath(path)}",
                "check that its directory exists and is writable",
            )
        else:
            where = f"the database at {url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
            fix = "start it"
        raise StoreUnavailable(
            f"{where} is unreachable ({reason}); {fix} or fix COLLECTOR_DATABASE_URL"
        ) from exc


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session
