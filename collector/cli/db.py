"""`collector db create-reader-role`: a read-only PostgreSQL role for people who query the views."""

from __future__ import annotations

from typing import Any

import click

from collector.settings import redact_url
from collector.store.roles import DEFAULT_READER_ROLE, READER_VIEWS, ensure_reader_role


@click.command("create-reader-role")
@click.option("--name", default=DEFAULT_READER_ROLE, show_default=True, help="Name of the role.")
@click.pass_obj
def create_reader_role(app: Any, name: str) -> None:
    """Create (or refresh) a PostgreSQL role that may SELECT the views and nothing else; safe to rerun."""
    if app.engine.dialect.name == "postgresql":
        app.sessions  # noqa: B018 - the views must exist: this refuses a store that is not upgraded
    created = ensure_reader_role(app.engine, name)
    where = redact_url(app.settings.database_url)
    click.echo(
        f"role {name} {'created' if created else 'already existed'}; on {where} it may SELECT "
        f"{', '.join(READER_VIEWS)} and nothing else. Let someone use it with: "
        f"GRANT {name} TO their_login;"
    )
