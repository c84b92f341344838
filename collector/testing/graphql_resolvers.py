"""GraphQL field resolution: the fields the simulator serves, read from the scenario's repository views.

Any other valid field resolves to an `Unserved` error for that field alone, as GitHub answers a field it
cannot resolve: partial data and per-field errors together.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo
from graphql.type import GraphQLAbstractType

from collector.testing.graphql_cost import Plan
from collector.testing.limits import Budget
from collector.testing.model import SimCommit
from collector.testing.releases_sim import releases_connection
from collector.testing.rest import RestApi
from collector.testing.views import RepoView, iso


class Unserved(GraphQLError):
    """A valid field the simulator does not resolve."""


@dataclass
class Context:
    """What every resolver sees: the REST side's repository views, the plan and the budget."""

    rest: RestApi
    plan: Plan
    budget: Budget
    visible: tuple[str, ...] | None = None  # an installation on selected repositories sees only them


@dataclass
class RepoNode:
    view: RepoView
    typename: str = "Repository"


@dataclass
class CommitNode:
    view: RepoView
    index: int  # position in the newest-first commit list
    typename: str = "Commit"

    @property
    def commit(self) -> SimCommit:
        return self.view.commits[self.index]


@dataclass
class History:
    """A `history(...)` connection: commits from `start` back, filtered, windowed by first/after."""

    view: RepoView
    start: int
    since: datetime | None
    until: datetime | None
    args: dict[str, Any]


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _cursor(head: str, offset: int) -> str:
    return base64.b64encode(f"{head} {offset}".encode()).decode()


def _offset(cursor: Any) -> int | None:
    if not isinstance(cursor, str):
        return None
    try:
        return int(base64.b64decode(cursor).decode().rsplit(" ", 1)[1])
    except (ValueError, IndexError):
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from None


def _history_window(h: History) -> tuple[list[int], int, bool, bool]:
    """(indexes of the page's commits, offset of the first, hasNext, hasPrevious)."""
    commits = h.view.commits
    matching = [
        i
        for i in range(h.start, len(commits))
        if (h.since is None or commits[i].authored_at >= h.since)
        and (h.until is None or commits[i].authored_at <= h.until)
    ]
    lo, hi = 0, len(matching)
    after, before = _offset(h.args.get("after")), _offset(h.args.get("before"))
    if after is not None:
        lo = after + 1
    if before is not None:
        hi = min(hi, before)
    first, last = h.args.get("first"), h.args.get("last")
    if first is not None:
        hi = min(hi, lo + first)
    elif last is not None:
        lo = max(lo, hi - last)
    return matching[lo:hi], lo, hi < len(matching), lo > 0


def _actor(c: SimCommit) -> dict[str, Any]:
    user = (
        {
            "__typename": "User",
            "databaseId": c.author_user_id,
            "login": c.author_login,
            "id": f"U_sim{c.author_user_id}",
        }
        if c.author_user_id is not None
        else None
    )
    return {"email": c.author_email, "name": c.author_name, "date": iso(c.authored_at), "user": user}


def _find_repo(ctx: Context, owner: str, name: str, follow: bool) -> RepoNode:
    repo, moved = ctx.rest.find(owner, name)
    hidden = repo is not None and ctx.visible is not None and repo.full_name.lower() not in ctx.visible
    if repo is None or repo.status == "deleted" or (moved and not follow) or hidden:
        raise GraphQLError(
            f"Could not resolve to a Repository with the name '{owner}/{name}'.",
            extensions={"type": "NOT_FOUND"},
        )
    if repo.status == "blocked":
        raise GraphQLError("Repository access blocked", extensions={"type": "FORBIDDEN"})
    return RepoNode(ctx.rest.view(repo))


def _node(ctx: Context, node_id: str) -> RepoNode:
    for repo in ctx.rest.scenario.repos:
        hidden = ctx.visible is not None and repo.full_name.lower() not in ctx.visible
        if repo.node_id == node_id and repo.status == "ok" and not hidden:
            return RepoNode(ctx.rest.view(repo))
    raise GraphQLError(
        f"Could not resolve to a node with the global id of '{node_id}'", extensions={"type": "NOT_FOUND"}
    )


def _rate_limit(ctx: Context) -> dict[str, Any]:
    b = ctx.budget
    return {
        "cost": ctx.plan.cost,
        "limit": b.limit,
        "remaining": b.remaining,
        "used": b.used,
        "resetAt": iso(datetime.fromtimestamp(b.reset_at, UTC)),
        "nodeCount": ctx.plan.node_count,
    }


def _repo_field(node: RepoNode, name: str, args: dict[str, Any]) -> Any:
    v, r = node.view, node.view.repo
    simple: dict[str, Any] = {
        "databaseId": r.github_id,
        "id": r.node_id,
        "name": r.name,
        "nameWithOwner": r.full_name,
        "createdAt": iso(r.created_at),
        "pushedAt": iso(v.pushed_at),
        "updatedAt": iso(v.pushed_at),
        "isArchived": r.archived,
        "isFork": False,
        "isPrivate": False,
        "isDisabled": False,
        "isEmpty": not v.commits,
        "description": r.description,
        "stargazerCount": v.stars,
        "forkCount": len(v.network),  # "forks ... in the whole network" (schema.graphql)
        "url": f"https://github.com/{r.full_name}",
    }
    if name in simple:
        return simple[name]
    if name == "owner":
        return {"__typename": "Organization", "login": r.owner, "id": f"O_sim{r.owner}"}
    if name == "primaryLanguage":
        return {"name": r.language, "id": f"L_{r.language}"} if r.language else None
    if name == "watchers":
        return {"totalCount": r.watchers}
    if name == "stargazers":
        return {"totalCount": v.stars}
    if name == "forks":
        return {"totalCount": len(v.forks)}  # the connection lists direct forks, like REST /forks
    if name == "issues":
        states = args.get("states")
        return {"totalCount": r.open_issues if not states or "OPEN" in states else 0}
    if name == "releases":
        return releases_connection(r, v.today, args)
    if name == "defaultBranchRef":
        if not v.commits:
            return None  # GitHub: null for an empty repository
        return {"name": r.default_branch, "prefix": "refs/heads/", "target": CommitNode(v, 0)}
    raise Unserved(f"Repository.{name} is not served by the GitHub simulator")


def _commit_field(node: CommitNode, name: str, args: dict[str, Any]) -> Any:
    c = node.commit
    simple: dict[str, Any] = {
        "oid": c.sha,
        "abbreviatedOid": c.sha[:7],
        "id": f"C_sim{c.sha[:20]}",
        "authoredDate": iso(c.authored_at),
        "committedDate": iso(c.authored_at),
        "message": f"Commit {c.sha[:7]}",
        "messageHeadline": f"Commit {c.sha[:7]}",
        "url": f"https://github.com/{node.view.repo.full_name}/commit/{c.sha}",
    }
    if name in simple:
        return simple[name]
    if name in ("author", "committer"):
        return _actor(c)
    if name == "parents":
        # A straight history, as REST's `parents` shows it: each commit's parent is the next older one.
        return {"totalCount": 1 if node.index < len(node.view.commits) - 1 else 0}
    if name == "history":
        return History(node.view, node.index, _when(args.get("since")), _when(args.get("until")), args)
    raise Unserved(f"Commit.{name} is not served by the GitHub simulator")


def _history_field(h: History, name: str) -> Any:
    if name == "totalCount":
        if h.start == 0:
            return h.view.count_commits(h.since, h.until)
        return len(_history_window(History(h.view, h.start, h.since, h.until, {}))[0])
    page, lo, has_next, has_prev = _history_window(h)
    head = h.view.commits[0].sha
    if name == "nodes":
        return [CommitNode(h.view, i) for i in page]
    if name == "edges":
        return [{"cursor": _cursor(head, lo + k), "node": CommitNode(h.view, i)} for k, i in enumerate(page)]
    if name == "pageInfo":
        return {
            "hasNextPage": has_next,
            "hasPreviousPage": has_prev,
            "startCursor": _cursor(head, lo) if page else None,
            "endCursor": _cursor(head, lo + len(page) - 1) if page else None,
        }
    raise Unserved(f"CommitHistoryConnection.{name} is not served by the GitHub simulator")


def resolve(source: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
    """The field resolver for every field: the root's by name, the others by their source's kind."""
    ctx: Context = info.context
    name = info.field_name
    if source is None:  # the root
        if name == "repository":
            return _find_repo(ctx, args["owner"], args["name"], args.get("followRenames", True))
        if name == "rateLimit":
            return _rate_limit(ctx)
        if name == "node":
            return _node(ctx, args["id"])
        if name == "nodes":
            out: list[RepoNode | None] = []
            for node_id in args["ids"]:
                try:
                    out.append(_node(ctx, node_id))
                except GraphQLError:
                    out.append(None)
            return out
        raise Unserved(f"Query.{name} is not served by the GitHub simulator")
    if isinstance(source, RepoNode):
        return _repo_field(source, name, args)
    if isinstance(source, CommitNode):
        return _commit_field(source, name, args)
    if isinstance(source, History):
        return _history_field(source, name)
    if isinstance(source, dict) and name in source:
        return source[name]
    raise Unserved(f"{info.parent_type.name}.{name} is not served by the GitHub simulator")


def type_of(value: Any, info: GraphQLResolveInfo[Any], abstract: GraphQLAbstractType) -> str | None:
    """The type resolver: a dict's `__typename`, a node's `typename`."""
    if isinstance(value, dict):
        found = value.get("__typename")
        return found if isinstance(found, str) else None
    return getattr(value, "typename", None)
