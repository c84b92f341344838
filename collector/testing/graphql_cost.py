"""What a GraphQL query costs, by GitHub's documented rule (D-GQL in the facts sheet).

Each connection costs one request per parent node, parents multiply by `first`/`last`; the sum / 100,
rounded, min 1. The same walk finds what GitHub refuses before running a query: connections without
`first`/`last`, pages over 100 and more than MAX_NODES nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from graphql.type.definition import GraphQLInterfaceType, GraphQLObjectType

MAX_NODES = 500_000


def error(message: str, kind: str | None = None, **extra: Any) -> dict[str, Any]:
    """One entry of a GraphQL `errors` list, `type` at the top level as GitHub puts it."""
    out: dict[str, Any] = {"message": message}
    if kind:
        out["type"] = kind
    out.update(extra)
    return out


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


def add_costs(schema: GraphQLSchema, operation: OperationDefinitionNode, plan: Plan) -> None:
    """Count the operation's requests and nodes into `plan`, with the errors GitHub reports up front."""
    frags = {d.name.value: d for d in plan.document.definitions if isinstance(d, FragmentDefinitionNode)}
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    _walk(schema, operation.selection_set, root, frags, plan, 1)
    if plan.node_count > MAX_NODES:
        plan.errors.append(
            error(
                f"By the time this query traverses to the {plan.node_count} node, it exceeds the maximum "
                f"of {MAX_NODES} nodes.",
                "MAX_NODE_LIMIT_EXCEEDED",
            )
        )


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
            child = _connection(s, plan, mult)
        if s.name.value == "rateLimit" and _int_arg(s, "dryRun", plan.variables):
            plan.dry_run = True
        if s.selection_set:
            _walk(schema, s.selection_set, named, frags, plan, child)


def _connection(s: FieldNode, plan: Plan, mult: int) -> int:
    """Count one paginated connection under `mult` parents; returns the parents of its own fields."""
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
            error(
                f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.",
                "MISSING_PAGINATION_BOUNDARIES",
            )
        )
    elif size is not None and not 0 <= size <= 100:
        which = "first" if first is not None else "last"
        plan.errors.append(
            error(
                f"Requesting {size} records on the `{name}` connection exceeds the `{which}` limit "
                "of 100 records.",
                "EXCESSIVE_PAGINATION",
            )
        )
    size = size or 0
    plan.node_count += mult * size
    return mult * max(size, 1)
