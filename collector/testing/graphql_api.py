"""`POST /graphql`: real query execution against GitHub's public SDL, with the fields we serve resolved.

The schema is built once per process from `data/schema.graphql` (octokit/graphql-schema, MIT), so any
query valid on GitHub validates here; fields the simulator does not serve get a per-field error, not a
validation error (graphql_resolvers). Cost follows GitHub's documented rule (graphql_cost).
"""

from __future__ import annotations

import functools
import json
import re
import time
from dataclasses import replace
from importlib import resources
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    SelectionSetNode,
    build_schema,
    execute_sync,
    get_operation_ast,
    parse,
    validate,
)

from collector.testing.graphql_cost import Plan, add_costs, error
from collector.testing.graphql_resolvers import Context, resolve, type_of
from collector.testing.limits import Budget
from collector.testing.rest import RestApi

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
        return 200, {"errors": [error("No operation named " + repr(op_name))]}
    plan = Plan(document, op_name, variables if isinstance(variables, dict) else {})
    add_costs(schema, operation, plan)
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


def run_query(
    plan: Plan, rest: RestApi, budget: Budget, visible: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """Execute a planned query; partial data and per-alias errors come back together like GitHub's.
    `visible`: the only repositories (lower-case full names) the caller may see, None for no limit."""
    result = execute_sync(
        load_schema(),
        plan.document,
        context_value=Context(rest, plan, budget, visible),
        variable_values=plan.variables,
        operation_name=plan.operation_name,
        field_resolver=resolve,
        type_resolver=type_of,
    )
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [_github_style(e) for e in result.errors]
    return body
