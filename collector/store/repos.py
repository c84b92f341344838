"""Saving and loading repositories, their names and aliases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from collector import domain
from collector.domain import RepoName, utc_now
from collector.store.models import RepoAlias, RepoRow
from collector.store.upsert import upsert


@dataclass(frozen=True)
class TrackedRepo:
    """A repository row as the jobs and CLI see it."""

    id: int
    full_name: str
    github_id: int | None
    created_at: datetime | None
    archived: bool
    primary_language: str | None
    description: str | None
    tracked: bool
    gone_reason: str | None

    @classmethod
    def of(cls, row: RepoRow) -> TrackedRepo:
        return cls(
            id=row.id,
            full_name=row.full_name,
            github_id=row.github_id,
            created_at=row.created_at,
            archived=row.archived,
            primary_language=row.primary_language,
            description=row.description,
            tracked=row.tracked,
            gone_reason=row.gone_reason,
        )


def find_repo(session: Session, name: RepoName) -> RepoRow | None:
    """The repository known by `name`, now or formerly (names compare case-insensitively)."""
    row = session.scalar(select(RepoRow).where(RepoRow.name_key == name.key))
    if row is not None:
        return row
    return session.scalar(
        select(RepoRow).join(RepoAlias, RepoAlias.repo_id == RepoRow.id).where(RepoAlias.name_key == name.key)
    )


def find_repo_ids(session: Session, names: Sequence[RepoName]) -> dict[str, int]:
    """The ids of the repositories known by `names`, by name key, in two queries (find_repo's precedence:
    a current name before a former one); names the store does not know are left out."""
    keys = sorted({name.key for name in names})
    if not keys:
        return {}
    former = select(RepoAlias.name_key, RepoAlias.repo_id).where(RepoAlias.name_key.in_(keys))
    current = select(RepoRow.name_key, RepoRow.id).where(RepoRow.name_key.in_(keys))
    found = {key: repo_id for key, repo_id in session.execute(former)}
    found.update({key: repo_id for key, repo_id in session.execute(current)})
    return found


def find_named_ids(
    session: Session, names: Sequence[RepoName], first: Sequence[int] = ()
) -> tuple[list[int], list[str]]:
    """The ids `first`, then those of the repositories known by `names` (current or former names) in the
    order named, each once; and the names the store does not know."""
    found = find_repo_ids(session, names)
    ids, unknown = list(dict.fromkeys(first)), []
    seen = set(ids)
    for name in names:
        repo_id = found.get(name.key)
        if repo_id is None:
            unknown.append(name.full_name)
        elif repo_id not in seen:
            ids.append(repo_id)
            seen.add(repo_id)
    return ids, unknown


def save_tracked_name(session: Session, name: RepoName) -> tuple[RepoRow, bool]:
    """Track `name` (not yet resolved against GitHub); returns the row and whether it was newly tracked."""
    existing = find_repo(session, name)
    if existing is not None:
        was_tracked = existing.tracked
        existing.tracked = True
        return existing, not was_tracked
    now = utc_now()
    row = RepoRow(full_name=name.full_name, name_key=name.key, tracked=True, archived=False, added_at=now)
    session.add(row)
    session.flush()
    _save_alias(session, row.id, name.full_name, now)
    return row, True


def save_repository(
    session: Session,
    repo: domain.Repository,
    tracked: bool | None = None,
    requested: RepoName | None = None,
) -> RepoRow:
    """Record what GitHub says about a repository, keyed by its GitHub id.

    A new `full_name` for a known id is a rename or transfer: the row follows it and the old name stays
    as an alias. A row tracked under a not yet resolved name (`requested`, or the new name) merges in.
    """
    now = utc_now()
    new_key = repo.full_name.lower()
    by_id = session.scalar(select(RepoRow).where(RepoRow.github_id == repo.github_id))
    others = [session.scalar(select(RepoRow).where(RepoRow.name_key == new_key))]
    if requested is not None:
        others.append(find_repo(session, requested))
    row = by_id
    for other in others:
        if other is None or other is row:
            continue
        if row is None and other.github_id in (None, repo.github_id):
            row = other
            continue
        if other.github_id is None and row is not None:
            # An unresolved placeholder for the same repository: fold its aliases and tracking in.
            row.tracked = row.tracked or other.tracked
            session.execute(update(RepoAlias).where(RepoAlias.repo_id == other.id).values(repo_id=row.id))
            session.delete(other)
        elif other.name_key == new_key:
            # Another repository held this name before (GitHub names can be reused): move it aside.
            other.name_key = f"{other.name_key}#{other.github_id}"
        session.flush()
    if row is None:
        row = RepoRow(full_name=repo.full_name, name_key=new_key, added_at=now, tracked=bool(tracked))
        session.add(row)
    row.github_id = repo.github_id
    row.node_id = repo.node_id or row.node_id
    row.full_name = repo.full_name
    row.name_key = new_key
    row.created_at = repo.created_at or row.created_at
    row.archived = repo.archived
    row.primary_language = repo.primary_language
    row.description = repo.description
    row.default_branch = repo.default_branch or row.default_branch
    row.resolved_at = now
    row.gone_reason = None
    if tracked is not None:
        row.tracked = tracked
    session.flush()
    _save_alias(session, row.id, repo.full_name, now)
    return row


def _save_alias(session: Session, repo_id: int, full_name: str, now: datetime) -> None:
    upsert(
        session,
        RepoAlias.__table__,  # type: ignore[arg-type]
        [
            {
                "name_key": full_name.lower(),
                "full_name": full_name,
                "repo_id": repo_id,
                "first_seen_at": now,
                "last_seen_at": now,
            }
        ],
        keys=["name_key"],
        update=["repo_id", "full_name", "last_seen_at"],
    )


def load_aliases(session: Session, repo_id: int) -> list[str]:
    """Former names of a repository (the current one excluded), oldest first."""
    repo = session.get(RepoRow, repo_id)
    rows = session.scalars(
        select(RepoAlias).where(RepoAlias.repo_id == repo_id).order_by(RepoAlias.first_seen_at)
    )
    return [a.full_name for a in rows if repo is None or a.name_key != repo.name_key]


def load_repos(session: Session, tracked_only: bool = True) -> list[TrackedRepo]:
    """Repositories in name order; only the tracked ones unless told otherwise."""
    stmt = select(RepoRow).order_by(RepoRow.name_key)
    if tracked_only:
        stmt = stmt.where(RepoRow.tracked.is_(True))
    return [TrackedRepo.of(r) for r in session.scalars(stmt)]


def any_tracked(session: Session) -> bool:
    """Whether any repository is tracked (stops at the first row, instead of loading every one)."""
    return session.scalar(select(RepoRow.id).where(RepoRow.tracked.is_(True)).limit(1)) is not None


def untrack(session: Session, names: Sequence[RepoName]) -> tuple[list[str], list[str]]:
    """Stop tracking the named repositories; their history stays. Returns (untracked, unknown)."""
    done, unknown = [], []
    for name in names:
        row = find_repo(session, name)
        if row is None or not row.tracked:
            unknown.append(name.full_name)
        else:
            row.tracked = False
            done.append(row.full_name)
    return done, unknown


def mark_gone(session: Session, repo_id: int, reason: str) -> None:
    """Record that GitHub no longer serves this repository (deleted, blocked); history stays."""
    row = session.get(RepoRow, repo_id)
    if row is not None:
        row.gone_reason = reason


def save_discovered(session: Session, repos: Sequence[domain.Repository]) -> dict[int, int]:
    """Track repositories a group rule found; returns store ids by GitHub id. Rows already known under
    the same name are looked up in bulk (a topic can bring thousands), the rest go through
    save_repository (renames, placeholders)."""
    known: dict[int, RepoRow] = {}
    github_ids = [r.github_id for r in repos]
    for start in range(0, len(github_ids), 500):
        chunk = github_ids[start : start + 500]
        for row in session.scalars(select(RepoRow).where(RepoRow.github_id.in_(chunk))):
            assert row.github_id is not None
            known[row.github_id] = row
    ids: dict[int, int] = {}
    for repo in repos:
        found = known.get(repo.github_id)
        if found is not None and found.name_key == repo.full_name.lower():
            found.tracked = True
            found.archived = repo.archived
            found.description = repo.description
            ids[repo.github_id] = found.id
        else:
            ids[repo.github_id] = save_repository(session, repo, tracked=True).id
    session.flush()
    return ids


def save_fixed_names(session: Session, names: Sequence[RepoName]) -> list[int]:
    """Store ids of a group's fixed `repos`, tracking the ones not seen yet (collect resolves them)."""
    return [save_tracked_name(session, name)[0].id for name in names]


def load_current_names(session: Session, names: Sequence[RepoName]) -> dict[str, str]:
    """The current full name of each known name (former names resolve), by the asked name's key, in one
    query whatever the number of names."""
    keys = sorted({name.key for name in names})
    out: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        stmt = (
            select(RepoAlias.name_key, RepoRow.full_name)
            .join(RepoRow, RepoRow.id == RepoAlias.repo_id)
            .where(RepoAlias.name_key.in_(chunk))
        )
        out.update({key: full for key, full in session.execute(stmt)})
        rows = select(RepoRow.name_key, RepoRow.full_name).where(RepoRow.name_key.in_(chunk))
        out.update({key: full for key, full in session.execute(rows)})
    return out
