"""`collector discover`, and `collector repos add --topic/--org/--user/--search`: groups defined by a rule."""

from __future__ import annotations

import click

from collector.app import App
from collector.cli.common import cli_logging, echo_err, pass_app, run
from collector.domain import GroupRule, make_group_rule, utc_now
from collector.errors import ConfigError
from collector.jobs.discover import GroupOutcome, discover_group, run_discover, save_config_rules
from collector.logs import get_logger
from collector.store.engine import transaction
from collector.store.groups import load_group, load_groups, save_group_rule


def rule_groups_exist(app: App) -> bool:
    """Whether there is any rule group to discover (in the config or made on the command line)."""
    if app.config.rules:
        return True
    with app.sessions() as session:
        return bool(load_groups(session))


def discover_all(app: App, only: tuple[str, ...] = ()) -> list[GroupOutcome]:
    """Record the config's rules, then discover every rule group (or the named ones) and print a line each."""
    save_config_rules(app.sessions, app.config.rules)
    if only:
        with app.sessions() as session:
            unknown = [name for name in only if load_group(session, name) is None]
        if unknown:
            raise ConfigError(
                f"not a rule group: {', '.join(unknown)}; define it with [groups.NAME] topic/org/user/search "
                "in the config or `collector repos add --topic ... --group NAME`"
            )

    async def go() -> list[GroupOutcome]:
        async with app.github() as api:
            try:
                return await run_discover(
                    app.sessions, api, app.config.groups, only or None, get_logger("discover")
                )
            finally:
                app.telemetry.record(api.stats)

    outcomes = run(go())
    for outcome in outcomes:
        echo_outcome(outcome)
    return outcomes


def echo_outcome(outcome: GroupOutcome) -> None:
    """One line per group: what the rule found and what changed; notes and errors on stderr."""
    for note in outcome.notes:
        echo_err(f"note: {outcome.name}: {note}")
    if outcome.error:
        echo_err(f"error: {outcome.name}: {outcome.error}")
        return
    partial = "" if outcome.complete else " (GitHub's answer was partial: nobody marked as left)"
    click.echo(
        f"{outcome.name}: {outcome.rule.describe()} found {outcome.found:,} repositories; "
        f"{outcome.members:,} members, {outcome.joined:,} joined, {outcome.left:,} left "
        f"({outcome.requests} requests){partial}"
    )


@click.command("discover")
@click.argument("groups", nargs=-1, metavar="[GROUP]...")
@pass_app
def discover(app: App, groups: tuple[str, ...]) -> None:
    """Re-evaluate every rule group (topic, org, user, search): track new members, mark those that left."""
    cli_logging(app)
    if not rule_groups_exist(app):
        raise ConfigError(
            "no rule groups to discover; define [groups.NAME] with topic/org/user/search in the config "
            "or run `collector repos add --topic TOPIC --group NAME`"
        )
    outcomes = discover_all(app, groups)
    if any(o.error for o in outcomes):
        raise SystemExit(1)


def rule_from_options(
    topic: str | None,
    org: str | None,
    user: str | None,
    search: str | None,
    min_stars: int,
    include_forks: bool,
    exclude_archived: bool,
) -> GroupRule | None:
    """The rule `repos add` was given, or None for plain names; one rule at a time."""
    given = [(k, v) for k, v in (("topic", topic), ("org", org), ("user", user), ("search", search)) if v]
    if len(given) > 1:
        raise click.UsageError("give one of --topic, --org, --user or --search at a time")
    if not given:
        return None
    kind, value = given[0]
    return make_group_rule(kind, value, min_stars, include_forks, not exclude_archived)


def add_by_rule(app: App, rule: GroupRule, group: str | None) -> GroupOutcome:
    """`repos add` with a rule: track what it finds now; with a group, keep the rule for `discover`."""
    cli_logging(app)
    name = group or f"{rule.kind}:{rule.value}"
    if group is not None and group in app.config.groups:
        raise ConfigError(
            f"group {group!r} is defined in the config; change its rule there, or pick another --group name"
        )
    if group is not None:
        with transaction(app.sessions) as session:
            save_group_rule(session, name, rule, "cli", utc_now())

    async def go() -> GroupOutcome:
        async with app.github() as api:
            return await discover_group(app.sessions, api, name, rule, membership=group is not None)

    outcome = run(go())
    echo_outcome(outcome)
    if group is None and not outcome.error:
        click.echo(
            "tracked them; add --group NAME to keep the rule and re-evaluate it with `collector discover`"
        )
    if outcome.error:
        raise SystemExit(1)
    return outcome
