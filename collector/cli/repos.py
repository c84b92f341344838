"""`collector repos`: track, list and untrack repositories."""

from __future__ import annotations

import asyncio

import click

from collector.app import App
from collector.cli.common import exit_with_errors, parse_names, pass_app
from collector.cli.discover import add_by_rule, rule_from_options
from collector.domain import RepoName, Repository, parse_repo_name
from collector.github.errors import GitHubError, NotFound
from collector.store.engine import transaction
from collector.store.repos import (
    find_repo,
    load_aliases,
    load_repos,
    save_repository,
    save_tracked_name,
    untrack,
)


@click.group()
def repos() -> None:
    """Track, list and untrack repositories."""


@repos.command("add")
@click.argument("names", nargs=-1, metavar="[OWNER/NAME]...")
@click.option("--topic", metavar="TOPIC", help="Every repository with this GitHub topic.")
@click.option("--org", metavar="ORG", help="Every repository of this organisation.")
@click.option("--user", metavar="LOGIN", help="Every repository this user owns.")
@click.option("--search", metavar="QUERY", help="Every repository matching this GitHub search.")
@click.option("--min-stars", type=click.IntRange(min=0), default=0, help="Only those with this many stars.")
@click.option("--include-forks", is_flag=True, help="Keep forks (left out by default).")
@click.option("--exclude-archived", is_flag=True, help="Leave archived repositories out (kept by default).")
@click.option("--group", metavar="NAME", help="Keep the rule as group NAME for `collector discover`.")
@pass_app
def repos_add(
    app: App,
    names: tuple[str, ...],
    topic: str | None,
    org: str | None,
    user: str | None,
    search: str | None,
    min_stars: int,
    include_forks: bool,
    exclude_archived: bool,
    group: str | None,
) -> None:
    """Track repositories by name, or every one a rule finds (--topic, --org, --user, --search); unknown or
    invalid names are refused."""
    rule = rule_from_options(topic, org, user, search, min_stars, include_forks, exclude_archived)
    if rule is not None and names:
        raise click.UsageError("give OWNER/NAME arguments or a rule (--topic, --org, ...), not both")
    if rule is not None:
        add_by_rule(app, rule, group)
        return
    if not names:
        raise click.UsageError("give OWNER/NAME arguments, or a rule: --topic, --org, --user or --search")
    if group is not None or min_stars or include_forks or exclude_archived:
        raise click.UsageError("--group, --min-stars, --include-forks and --exclude-archived go with a rule")
    good, errors = parse_names(names)
    resolved = asyncio.run(_resolve_names(app, good)) if good else []
    with transaction(app.sessions) as session:
        for name, found in resolved:
            if isinstance(found, NotFound):
                errors.append(f"{name} was not found on GitHub (missing, deleted, or private without access)")
                continue
            if isinstance(found, GitHubError):
                errors.append(f"{name} could not be resolved: {found}")
                continue
            before = find_repo(session, parse_repo_name(found.full_name)) or find_repo(session, name)
            was_tracked = before is not None and before.tracked and before.github_id == found.github_id
            if name.key != found.full_name.lower():
                # Record the name asked for as an alias: save_repository folds this placeholder in.
                save_tracked_name(session, name)
            row = save_repository(session, found, tracked=True, requested=name)
            renamed = f" (requested as {name})" if name.key != row.name_key else ""
            click.echo(f"{'already tracked' if was_tracked else 'tracking'}: {row.full_name}{renamed}")
    exit_with_errors(errors)


async def _resolve_names(app: App, names: list[RepoName]) -> list[tuple[RepoName, Repository | GitHubError]]:
    async with app.github() as api:

        async def one(name: RepoName) -> tuple[RepoName, Repository | GitHubError]:
            try:
                return name, await api.fetch_repository(name)
            except GitHubError as exc:
                return name, exc

        return list(await asyncio.gather(*(one(name) for name in names)))


@repos.command("list")
@pass_app
def repos_list(app: App) -> None:
    """List tracked repositories with their GitHub id and former names."""
    with app.sessions() as session:
        rows = load_repos(session)
        if not rows:
            click.echo("no repositories tracked; add some with `collector repos add OWNER/NAME`")
            return
        for row in rows:
            aliases = load_aliases(session, row.id)
            parts = [row.full_name, f"id={row.github_id}" if row.github_id else "id=unresolved"]
            if aliases:
                parts.append("formerly " + ", ".join(aliases))
            if row.gone_reason:
                parts.append(f"gone: {row.gone_reason}")
            click.echo("  ".join(parts))


@repos.command("remove")
@click.argument("names", nargs=-1, required=True, metavar="OWNER/NAME...")
@pass_app
def repos_remove(app: App, names: tuple[str, ...]) -> None:
    """Stop tracking repositories; their stored history is kept."""
    good, errors = parse_names(names)
    with transaction(app.sessions) as session:
        done, unknown = untrack(session, good)
    for full_name in done:
        click.echo(f"untracked: {full_name} (history kept)")
    errors.extend(f"{full_name} is not tracked; see `collector repos list`" for full_name in unknown)
    exit_with_errors(errors)
