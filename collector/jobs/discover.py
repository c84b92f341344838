"""Discovery: re-evaluate every rule group against GitHub, track new members, mark the ones that left.

A group's rule comes from the config (`[groups.NAME]` with topic/org/user/search) or from
`collector repos add --topic ... --group NAME`; both are kept in the store, so a group made on the
command line is re-evaluated too. Members are never deleted: a repository that stops matching keeps its
history and gets the day it left.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from collector.domain import GroupRule, RepoName, utc_now
from collector.github.api import GitHubAPI
from collector.github.discovery import fetch_rule_members
from collector.github.errors import GitHubError
from collector.logs import event
from collector.store.engine import transaction
from collector.store.groups import load_groups, save_discovery, save_group_rule
from collector.store.repos import save_discovered, save_fixed_names
from collector.store.runs import finish_run, start_run

JOB = "discover"


@dataclass
class GroupOutcome:
    """What discovery did for one group."""

    name: str
    rule: GroupRule
    found: int = 0
    joined: int = 0
    left: int = 0
    members: int = 0
    complete: bool = True
    requests: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def save_config_rules(
    sessions: sessionmaker[Session], rules: Mapping[str, GroupRule], origin: str = "config"
) -> None:
    """Record the config's rule groups in the store (a changed rule replaces the old one)."""
    now = utc_now()
    with transaction(sessions) as session:
        for name, rule in rules.items():
            save_group_rule(session, name, rule, origin, now)


async def run_discover(
    sessions: sessionmaker[Session],
    api: GitHubAPI,
    fixed: Mapping[str, Sequence[RepoName]],
    only: Sequence[str] | None = None,
    logger: logging.Logger | None = None,
) -> list[GroupOutcome]:
    """Discover every rule group in the store (or the `only` ones); one group's failure does not stop
    the others. `fixed` holds each group's `repos` list from the config."""
    log = logger or logging.getLogger("collector.discover")
    with transaction(sessions) as session:
        groups = [g for g in load_groups(session) if only is None or g.name in only]
        if not groups:
            return []
        run_id = start_run(session, JOB)
    outcomes = []
    for group in groups:
        outcome = await discover_group(sessions, api, group.name, group.rule, fixed.get(group.name, ()))
        event(
            log,
            "discover_group",
            logging.WARNING if outcome.error else logging.INFO,
            group=outcome.name,
            found=outcome.found,
            joined=outcome.joined,
            left=outcome.left,
            complete=outcome.complete,
            requests=outcome.requests,
            error=outcome.error,
        )
        outcomes.append(outcome)
    failed = sum(1 for o in outcomes if o.error)
    stats = {"groups": len(outcomes), "failed": failed, "joined": sum(o.joined for o in outcomes)}
    with transaction(sessions) as session:
        status = "ok" if not failed else ("failed" if failed == len(outcomes) else "partial")
        finish_run(session, run_id, status, stats)
    return outcomes


async def discover_group(
    sessions: sessionmaker[Session],
    api: GitHubAPI,
    name: str,
    rule: GroupRule,
    fixed: Sequence[RepoName] = (),
    membership: bool = True,
) -> GroupOutcome:
    """Evaluate one rule, track what it found and (with `membership`) record the group's members;
    GitHub errors end up in `error`."""
    outcome = GroupOutcome(name, rule)
    try:
        found = await fetch_rule_members(api, rule, utc_now().date())
    except GitHubError as exc:
        outcome.error = str(exc)
        return outcome
    outcome.found, outcome.complete = len(found.found), found.complete
    outcome.requests, outcome.notes = found.requests, found.notes
    with transaction(sessions) as session:
        ids = save_discovered(session, [f.repo for f in found.found.values()])
        fixed_ids = save_fixed_names(session, fixed)
        if not membership:
            outcome.joined = outcome.members = len(ids)
            return outcome
        change = save_discovery(session, name, ids.values(), fixed_ids, found.complete, utc_now())
    outcome.joined, outcome.left, outcome.members = len(change.joined), len(change.left), change.members
    return outcome
