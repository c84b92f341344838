"""Alembic environment: the URL comes from collector's settings, or an engine handed in by the caller."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine

from collector.settings import load_settings
from collector.store import month_state, month_values, releases  # noqa: F401  (their tables are on Base.metadata too)
from collector.store.engine import make_engine
from collector.store.models import Base

config = context.config
target_metadata = Base.metadata


def _include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # Views are created by migrations with plain SQL; autogenerate must not treat them as tables.
    return not (type_ == "table" and reflected and compare_to is None and name in _VIEWS)


_VIEWS = {"repo_latest", "repo_daily", "repo_weekly"}


def run_migrations_online() -> None:
    engine: Engine | None = config.attributes.get("engine")
    if engine is None:
        engine = make_engine(load_settings().database_url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_object=_include_object,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `collector db upgrade`")
run_migrations_online()
