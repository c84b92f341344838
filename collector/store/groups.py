"""Rule groups and their members: who joined when, who left when. Members are never deleted."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.domain import GroupMember, GroupRule
from collector.store.models import GroupMemberRow, RepoGroup, RepoRow


@dataclass(frozen=True)
class StoredGroup:
    """A rule group as the store knows it, with its last discovery."""

    name: str
    rule: GroupRule
    origin: str  # config | cli
    discovered_at: datetime | None
    found: int | None
    complete: bool | None


@dataclass
class MembershipChange:
    """What one discovery changed: repository ids that joined (or came back) and that left."""

    joined: list[int] = field(default_factory=list)
    left: list[int] = field(default_factory=list)
    members: int = 0


def _rule_of(row: RepoGroup) -> GroupRule:
    return GroupRule(row.kind, row.value, row.min_stars, row.include_forks, row.include_archived)


def save_group_rule(session: Session, name: str, rule: GroupRule, origin: str, now: datetime) -> None:
    """Record (or update) the rule of group `name`; its members stay until the next discovery."""
    row = session.get(RepoGroup, name)
    if row is None:
        row = RepoGroup(name=name, origin=origin, defined_at=now)
        session.add(row)
    elif _rule_of(row) != rule:
        row.defined_at = now
    row.kind, row.value, row.min_stars = rule.kind, rule.value, rule.min_stars
    row.include_forks, row.include_archived = rule.include_forks, rule.include_archived
    row.origin = origin
    session.flush()


def load_group(session: Session, name: str) -> StoredGroup | None:
    """The rule group called `name`, or None."""
    row = session.get(RepoGroup, name)
    return None if row is None else _stored(row)


def load_groups(session: Session) -> list[StoredGroup]:
    """Every rule group, by name."""
    return [_stored(r) for r in session.scalars(select(RepoGroup).order_by(RepoGroup.name))]


def _stored(row: RepoGroup) -> StoredGroup:
    return StoredGroup(row.name, _rule_of(row), row.origin, row.discovered_at, row.found, row.complete)


def load_group_members(session: Session, name: str, current_only: bool = True) -> list[GroupMember]:
    """Members of a rule group (only those that have not left, unless told otherwise), by join day."""
    m = GroupMemberRow
    stmt = select(m.repo_id, m.joined_on, m.left_on, m.fixed).where(m.group_name == name)
    if current_only:
        stmt = stmt.where(m.left_on.is_(None))
    # Plain rows through the connection, without the ORM's work per row: a group can hold 10,000.
    rows = session.connection().execute(stmt.order_by(m.joined_on, m.repo_id)).all()  # one fetch, not 10,000
    return [GroupMember(repo_id, joined, left, fixed) for repo_id, joined, left, fixed in rows]


def load_current_memberships(session: Session) -> dict[str, list[str]]:
    """Current full names of every rule group's members, in one query (for /metrics)."""
    out: dict[str, list[str]] = {}
    for group, _, full_name in _current_members(session):
        out.setdefault(group, []).append(full_name)
    return out


def load_current_member_names(session: Session, name: str) -> list[tuple[int, str]]:
    """(store id, current full name) of one rule group's current members, in one query (for alerts)."""
    return [(repo_id, full_name) for _, repo_id, full_name in _current_members(session, name)]


def _current_members(session: Session, group: str | None = None) -> list[tuple[str, int, str]]:
    m = GroupMemberRow
    stmt = (
        select(m.group_name, m.repo_id, RepoRow.full_name)
        .join(RepoRow, RepoRow.id == m.repo_id)
        .where(m.left_on.is_(None))
        .order_by(m.group_name, RepoRow.name_key)
    )
    if group is not None:
        stmt = stmt.where(m.group_name == group)
    return [(g, repo_id, full_name) for g, repo_id, full_name in session.execute(stmt)]


def save_discovery(
    session: Session,
    name: str,
    found: Collection[int],
    fixed: Collection[int],
    complete: bool,
    now: datetime,
) -> MembershipChange:
    """Record a discovery of group `name`: `found` (ids the rule matched) and `fixed` (its `repos` list)
    are members from today; members missing from a complete answer left today. A partial answer (GitHub's
    `incomplete_results`, a slice that failed) adds members but marks nobody as gone."""
    today: date = now.date()
    wanted = set(found) | set(fixed)
    rows = {
        r.repo_id: r for r in session.scalars(select(GroupMemberRow).where(GroupMemberRow.group_name == name))
    }
    change = MembershipChange()
    for repo_id in sorted(wanted):
        row = rows.get(repo_id)
        if row is None:
            session.add(
                GroupMemberRow(group_name=name, repo_id=repo_id, joined_on=today, fixed=repo_id in fixed)
            )
            change.joined.append(repo_id)
            continue
        if row.left_on is not None:
            row.left_on = None
            change.joined.append(repo_id)
        row.fixed = repo_id in fixed
    if complete:
        for repo_id, row in rows.items():
            if repo_id not in wanted and row.left_on is None:
                row.left_on = today
                change.left.append(repo_id)
    group = session.get(RepoGroup, name)
    if group is not None:
        group.discovered_at, group.found, group.complete = now, len(found), complete
    session.flush()
    change.members = len(wanted) + sum(
        1 for repo_id, row in rows.items() if repo_id not in wanted and row.left_on is None
    )
    return change
