"""`collector db`: migrations, and a read-only role for people who query the views."""

from __future__ import annotations

import click

from collector.app import App
from collector.cli.common import pass_app
from collector.store import migrate
from collector.store.roles import DEFAULT_READER_ROLE, READER_VIEWS, ensure_reader_role


@click.group()
def db() -> None:
    """Manage the store (migrations)."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Bring the store to the latest migration (safe to rerun)."""
    before, after = migrate.upgrade(app.engine)
    if before == after:
        click.echo(f"store {app.where} is up to date (revision {after})")
    else:
        click.echo(f"store {app.where} upgraded from revision {before or 'none'} to {after}")


@db.command("create-reader-role")
@click.option("--name", default=DEFAULT_READER_ROLE, show_default=True, help="Name of the role.")
@pass_app
def create_reader_role(app: App, name: str) -> None:
    """Create (or refresh) a PostgreSQL role that may SELECT the views and nothing else; safe to rerun."""
    if app.engine.dialect.name == "postgresql":
        app.sessions  # noqa: B018 - the views must exist: this refuses a store that is not upgraded
    created = ensure_reader_role(app.engine, name)
    click.echo(
        f"role {name} {'created' if created else 'already existed'}; on {app.where} it may SELECT "
        f"{', '.join(READER_VIEWS)} and nothing else. Let someone use it with: "
        f"GRANT {name} TO their_login;"
    )
