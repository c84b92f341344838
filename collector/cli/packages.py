"""`collector packages`: which PyPI and npm packages belong to which repository; and the downloads job as
`collect --downloads`, `sync` and the daemon run it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from collector.app import App
from collector.cli.common import cli_logging, echo_err, pass_app, run
from collector.config import Schedule
from collector.domain import RepoName, parse_repo_name
from collector.downloads.manifests import MANIFESTS, compute_manifest_names
from collector.downloads.refs import PackageRef, parse_package_ref
from collector.errors import CollectorError
from collector.github.errors import GitHubError
from collector.jobs.daemon import DaemonJob
from collector.jobs.downloads import DownloadsOutcome, run_downloads
from collector.logs import get_logger
from collector.store.engine import transaction
from collector.store.packages import delete_package, load_packages, save_package
from collector.store.repos import find_repo, load_repos, save_tracked_name


@click.group()
def packages() -> None:
    """The PyPI and npm packages of repositories, whose daily downloads are collected."""


def _ref(text: str) -> PackageRef:
    try:
        return parse_package_ref(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _tracked(app: App, repo: str) -> int:
    with app.sessions() as s:
        row = find_repo(s, parse_repo_name(repo))
        if row is None or not row.tracked:
            raise CollectorError(f"{repo} is not tracked; add it with `collector repos add {repo}` first")
        return row.id


@packages.command("add")
@click.argument("repo", metavar="OWNER/NAME")
@click.argument("package", metavar="pypi:NAME|npm:NAME")
@pass_app
def packages_add(app: App, repo: str, package: str) -> None:
    """Count a package's downloads for a tracked repository (PyPI names are normalised as PEP 503 says)."""
    ref = _ref(package)
    repo_id = _tracked(app, repo)
    with transaction(app.sessions) as s:
        _, new = save_package(s, repo_id, ref, "cli")
    click.echo(f"{'added' if new else 'already there'}: {repo} {ref}")


@packages.command("list")
@pass_app
def packages_list(app: App) -> None:
    """List the packages of tracked repositories, with the days held and the last fetch."""
    with app.sessions() as s:
        rows = load_packages(s)
    if not rows:
        click.echo("no packages; add some with `collector packages add OWNER/NAME pypi:NAME` or [packages]")
        return
    for p in rows:
        held = f"{p.known_from} to {p.fetched_through}" if p.known_from else "no days yet"
        fetched = f"last asked {p.last_fetched_at:%Y-%m-%d %H:%M}Z" if p.last_fetched_at else "never asked"
        note = f"  note: {p.note}" if p.note else ""
        click.echo(f"{p.repo}  {p.ref}  ({p.origin})  {held}  {fetched}{note}")


@packages.command("remove")
@click.argument("repo", metavar="OWNER/NAME")
@click.argument("package", metavar="pypi:NAME|npm:NAME")
@pass_app
def packages_remove(app: App, repo: str, package: str) -> None:
    """Stop counting a package and forget the downloads held for it."""
    ref = _ref(package)
    repo_id = _tracked(app, repo)
    with transaction(app.sessions) as s:
        removed = delete_package(s, repo_id, ref)
    if not removed:
        raise CollectorError(f"{repo} has no package {ref}; see `collector packages list`")
    click.echo(f"removed: {repo} {ref} (and its downloads)")
    if ref in app.config.packages.get(parse_repo_name(repo), ()):
        echo_err(f"note: {ref} is in [packages] of {app.config.path}: the next run adds it again")


@packages.command("suggest")
@click.argument("repos", nargs=-1, metavar="[OWNER/NAME]...")
@pass_app
def packages_suggest(app: App, repos: tuple[str, ...]) -> None:
    """Propose packages from each repository's pyproject.toml, setup.cfg, setup.py or package.json (read
    through GitHub); nothing is added."""
    if repos:
        names = [parse_repo_name(r) for r in repos]
    else:
        with app.sessions() as s:
            names = [parse_repo_name(r.full_name) for r in load_repos(s)]
    found = run(_suggest(app, names))
    for name, proposals, error in found:
        if error:
            echo_err(f"error: {name}: {error}")
        elif not proposals:
            click.echo(f"{name}: no package named in {', '.join(MANIFESTS)} at its root")
        for ref, manifest in proposals:
            click.echo(f"{name}: {ref} (from {manifest}); add it: collector packages add {name} {ref}")
    if any(error for _, _, error in found):
        raise SystemExit(1)


Proposals = list[tuple[PackageRef, str]]  # (package, the manifest naming it)


async def _suggest(app: App, names: list[RepoName]) -> list[tuple[RepoName, Proposals, str]]:
    async with app.github() as api:

        async def one(name: RepoName) -> tuple[RepoName, Proposals, str]:
            proposals: dict[PackageRef, str] = {}
            try:
                for manifest in MANIFESTS:
                    text = await api.fetch_file_text(name, manifest)
                    for ref in compute_manifest_names(manifest, text or ""):
                        proposals.setdefault(ref, manifest)
            except GitHubError as exc:
                return name, [], str(exc)
            return name, list(proposals.items()), ""

        return list(await asyncio.gather(*(one(n) for n in names)))


# --- the downloads job ------------------------------------------------------------------------------


def save_config_packages(app: App) -> None:
    """Record [packages] in the store (tracking the repositories named there); idempotent."""
    if not app.config.packages:
        return
    with transaction(app.sessions) as s:
        for repo, refs in app.config.packages.items():
            row, _ = save_tracked_name(s, repo)
            for ref in refs:
                save_package(s, row.id, ref, "config")


def packages_exist(app: App) -> bool:
    """Whether any package is configured or stored (the downloads job has something to do)."""
    if app.config.packages:
        return True
    with app.sessions() as s:
        return bool(load_packages(s))


async def downloads_once(app: App) -> DownloadsOutcome:
    """One downloads run over every package, on a client of its own (no GitHub token)."""
    save_config_packages(app)
    async with app.downloads_client() as http:
        return await run_downloads(app.sessions, http, logger=get_logger("downloads"), worker=str(app.holder))


def report_downloads(outcome: DownloadsOutcome) -> None:
    """Print the run's line, and one error line per package that failed."""
    for package, message in outcome.failed:
        echo_err(f"error: {package}: {message}")
    click.echo(outcome.line())


def collect_downloads(app: App) -> None:
    """`collect --downloads`: the downloads job alone."""
    cli_logging(app)
    if not packages_exist(app):
        raise CollectorError(
            "no packages configured; add some with `collector packages add OWNER/NAME pypi:NAME`"
        )
    outcome = run(downloads_once(app))
    report_downloads(outcome)
    if outcome.failed:
        raise SystemExit(1)


def downloads_daemon_job(app: App, first_in_cluster: Callable[[str, Schedule], bool]) -> DaemonJob | None:
    """The daemon's daily downloads job (once per cluster), or None when no package is configured."""
    try:
        if not packages_exist(app):
            return None
    except (CollectorError, SQLAlchemyError):
        pass  # the store is down at start: schedule it; with no packages it does nothing

    async def body(cycle: datetime) -> dict[str, Any]:
        if not first_in_cluster("downloads", app.config.schedules["downloads"]):
            return {"skipped": "another daemon fetches downloads this cycle"}
        outcome = await downloads_once(app)
        return {
            "packages": outcome.packages,
            "asked": outcome.asked,
            "new_days": outcome.new_days,
            "failed": len(outcome.failed),
            **outcome.requests,
        }

    return DaemonJob("downloads", app.config.schedules["downloads"], body, run_at_start=True)
