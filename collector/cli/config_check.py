"""`collector config check`: whether the config file and the settings are valid, without touching the store.

The App reads both before any command runs, so a broken file already fails here with its one-line reason
(exit 2); this command only says what was read. Compose runs it once before the daemons start, so a broken
`collector.toml` is one clear failure instead of a restart loop.
"""

from __future__ import annotations

import click

from collector.app import App
from collector.cli.common import pass_app
from collector.cli.serve import listen_address


@click.group()
def config() -> None:
    """The config file (collector.toml) and the settings from the environment."""


@config.command("check")
@pass_app
def check(app: App) -> None:
    """Read the config file and the settings; exit 2 with a one-line reason if either is wrong."""
    listen_address(app, None)  # the [server] listen the daemon would use
    cfg = app.config
    where = str(cfg.path) if cfg.path else "no config file"
    schedules = ", ".join(f"{name} {s.describe()}" for name, s in sorted(cfg.schedules.items()))
    groups = f"{len(cfg.groups)} group(s) of {len(cfg.all_repos())} repositories"
    parts = [
        groups if cfg.groups or cfg.rules else "no groups (the default group is tracked)",
        f"{len(cfg.rules)} rule group(s)",
        f"{len(cfg.reports)} report job(s)",
        f"{len(cfg.alerts)} alert(s)",
        f"schedules: {schedules}",
    ]
    click.echo(f"config ok: {where}: " + "; ".join(parts))
