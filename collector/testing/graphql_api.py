"""`POST /graphql`: real query execution against GitHub's public SDL, with the fields we serve resolved.

The schema is built once per process from `data/schema.graphql` (octokit/graphql-schema, MIT), so any
query valid on GitHub validates here; fields the simulator does not serve get a per-field error, not a
validation error. Cost follows GitHub's documented rule (D-GQL in the facts sheet): each connection
costs one request per parent node, parents multiply by `first`/`last`; the sum / 100, rounded, min 1.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    SelectionSetNode,
    VariableNode,
    build_schema,
    execute_sync,
    get_named_type,
    get_operation_ast,
    parse,
    validate,
)
from graphql.type import GraphQLAbstractType
from graphql.type.definition import GraphQLInterfaceType, GraphQLObjectType

from collector.testing.limits import Budget
from collector.testing.model import SimCommit
from collector.testing.rest import RestApi
from collector.testing.views import RepoView, iso

MAX_NODES = 500_000
SCHEMA_BUILD_SECONDS: list[float] = []  # how long the one build took, for the curious and the report


@functools.cache
def load_schema() -> GraphQLSchema:
    """GitHub's schema, built once per process (about a second: 1.2 MB of SDL)."""
    started = time.perf_counter()
    sdl = resources.files("collector.testing").joinpath("data/schema.graphql").read_text(encoding="utf-8")
    # The published SDL repeats a few field definitions and has deprecation mismatches that strict
    # SDL/schema validation rejects; GitHub serves it as is, so we accept it as is.
    schema = build_schema(sdl, assume_valid=True, assume_valid_sdl=True, no_location=True)
    SCHEMA_BUILD_SECONDS.append(time.perf_counter() - started)
    return schema


def _error(message: str, kind: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"message": message}
    if kind:
        out["type"] = kind
    out.update(extra)
    return out


_UNDEFINED = re.compile(r"Cannot query field '([^']+)' on type '([^']+)'\.")


def _github_style(err: GraphQLError) -> dict[str, Any]:
    """graphql-core's error as GitHub words it (`type` at the top level, camelCase codes)."""
    out: dict[str, Any] = {}
    ext = dict(err.extensions or {})
    if "type" in ext:
        out["type"] = ext.pop("type")
    if err.path:
        out["path"] = list(err.path)
    if err.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in err.locations]
    message = err.message
    m = _UNDEFINED.match(message)
    if m:
        message = f"Field '{m.group(1)}' doesn't exist on type '{m.group(2)}'"
        ext = {"code": "undefinedField", "typeName": m.group(2), "fieldName": m.group(1)}
    out["message"] = message
    if ext:
        out["extensions"] = ext
    return out


# --- cost -----------------------------------------------------------------------------------------


@dataclass
class Plan:
    """A parsed, validated and costed query, ready to run once the budget allows it."""

    document: DocumentNode
    operation_name: str | None
    variables: dict[str, Any]
    requests: int = 0
    node_count: int = 0
    dry_run: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def cost(self) -> int:
        return max(1, int(self.requests / 100 + 0.5))


def _int_arg(node: FieldNode, name: str, variables: dict[str, Any]) -> int | None:
    for arg in node.arguments or ():
        if arg.name.value != name:
            continue
        if isinstance(arg.value, IntValueNode):
            return int(arg.value.value)
        if isinstance(arg.value, VariableNode):
            v = variables.get(arg.value.name.value)
            return v if isinstance(v, int) else None
        if arg.value.kind == "boolean_value":
            return int(getattr(arg.value, "value", False))
    return None


def _walk(
    schema: GraphQLSchema,
    sel: SelectionSetNode,
    parent: Any,
    frags: dict[str, FragmentDefinitionNode],
    plan: Plan,
    mult: int,
) -> None:
    for s in sel.selections:
        if isinstance(s, InlineFragmentNode):
            t = schema.get_type(s.type_condition.name.value) if s.type_condition else parent
            _walk(schema, s.selection_set, t, frags, plan, mult)
            continue
        if isinstance(s, FragmentSpreadNode):
            frag = frags[s.name.value]
            _walk(
                schema, frag.selection_set, schema.get_type(frag.type_condition.name.value), frags, plan, mult
            )
            continue
        assert isinstance(s, FieldNode)
        if (
            not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
            or s.name.value not in parent.fields
        ):
            continue  # __typename and friends
        fdef = parent.fields[s.name.value]
        named = get_named_type(fdef.type)
        child = mult
        if named.name.endswith("Connection") and ("first" in fdef.args or "last" in fdef.args):
            plan.requests += mult
            first, last = _int_arg(s, "first", plan.variables), _int_arg(s, "last", plan.variables)
            size = first if first is not None else last
            listed = {
                x.name.value
                for x in (s.selection_set.selections if s.selection_set else ())
                if isinstance(x, FieldNode)
            }
            name = s.name.value
            if size is None and listed & {"nodes", "edges"}:
                plan.errors.append(
                    _error(
                        "You must provide a `first` or `last` value to properly paginate the "
                        f"`{name}` connection.",
                        "MISSING_PAGINATION_BOUNDARIES",
                    )
                )
            elif size is not None and not 0 <= size <= 100:
                which = "first" if first is not None else "last"
                plan.errors.append(
                    _error(
                        f"Requesting {size} records on the `{name}` connection exceeds the `{which}` limit "
                        "of 100 records.",
                        "EXCESSIVE_PAGINATION",
                    )
                )
            size = size or 0
            plan.node_count += mult * size
            child = mult * max(size, 1)
        if s.name.value == "rateLimit" and _int_arg(s, "dryRun", plan.variables):
            plan.dry_run = True
        if s.selection_set:
            _walk(schema, s.selection_set, named, frags, plan, child)


def plan_query(body: bytes) -> Plan | tuple[int, dict[str, Any]]:
    """Parse, validate and cost a request body; a (status, body) pair when it cannot run."""
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return 400, {
            "message": "Problems parsing JSON",
            "documentation_url": "https://docs.github.com/graphql",
        }
    query = payload.get("query") if isinstance(payload, dict) else None
    if not isinstance(query, str):
        return 400, {"message": "A query attribute must be specified and must be a string."}
    variables = payload.get("variables") or {}
    op_name = payload.get("operationName")
    schema = load_schema()
    try:
        document = parse(query)
    except GraphQLError as exc:
        return 200, {"errors": [_github_style(exc)]}
    invalid = validate(schema, document)
    if invalid:
        return 200, {"errors": [_github_style(e) for e in invalid]}
    operation = get_operation_ast(document, op_name)
    if operation is None:
        return 200, {"errors": [_error("No operation named " + repr(op_name))]}
    plan = Plan(document, op_name, variables if isinstance(variables, dict) else {})
    frags = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    _walk(schema, operation.selection_set, root, frags, plan, 1)
    if plan.node_count > MAX_NODES:
        plan.errors.append(
            _error(
                f"By the time this query traverses to the {plan.node_count} node, it exceeds the maximum "
                f"of {MAX_NODES} nodes.",
                "MAX_NODE_LIMIT_EXCEEDED",
            )
        )
    if plan.errors:
        return 200, {"errors": plan.errors}
    if plan.dry_run:
        # rateLimit(dryRun: true) returns the cost without running the query: keep only rateLimit.
        kept = tuple(
            s
            for s in operation.selection_set.selections
            if isinstance(s, FieldNode) and s.name.value == "rateLimit"
        )
        only = replace(operation, selection_set=SelectionSetNode(selections=kept))
        plan.document = DocumentNode(definitions=(only,))
        plan.operation_name = None
    return plan


# --- resolvers ------------------------------------------------------------------------------------


class Unserved(GraphQLError):
    """A valid field the simulator does not resolve."""


@dataclass
class Context:
    rest: RestApi
    plan: Plan
    budget: Budget


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
    if repo is None or repo.status == "deleted" or (moved and not follow):
        raise GraphQLError(
            f"Could not resolve to a Repository with the name '{owner}/{name}'.",
            extensions={"type": "NOT_FOUND"},
        )
    if repo.status == "blocked":
        raise GraphQLError("Repository access blocked", extensions={"type": "FORBIDDEN"})
    return RepoNode(ctx.rest.view(repo))


def _node(ctx: Context, node_id: str) -> RepoNode:
    for repo in ctx.rest.scenario.repos:
        if repo.node_id == node_id and repo.status == "ok":
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


def _resolve(source: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
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


def _type_of(value: Any, info: GraphQLResolveInfo[Any], abstract: GraphQLAbstractType) -> str | None:
    if isinstance(value, dict):
        found = value.get("__typename")
        return found if isinstance(found, str) else None
    return getattr(value, "typename", None)


def run_query(plan: Plan, rest: RestApi, budget: Budget) -> dict[str, Any]:
    """Execute a planned query; partial data and per-alias errors come back together like GitHub's."""
    result = execute_sync(
        load_schema(),
        plan.document,
        context_value=Context(rest, plan, budget),
        variable_values=plan.variables,
        operation_name=plan.operation_name,
        field_resolver=_resolve,
        type_resolver=_type_of,
    )
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [_github_style(e) for e in result.errors]
    return body
