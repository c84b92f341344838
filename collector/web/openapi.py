"""The OpenAPI 3.1 document of /api/v1/, written by hand beside the views it describes (collector.web.api)."""

from __future__ import annotations

from typing import Any

from collector.domain import METRICS
from collector.store.latest import LATEST_METRICS

_EVERY = ["day", "week", "month", "quarter", "year"]
_RANKED = ["stars", "forks", "contributors"]
_STRING = {"type": "string"}
_DAY = {"type": "string", "format": "date", "example": "2017-01-03"}
_COUNT = {"type": ["integer", "null"], "minimum": 0}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

Schema = dict[str, Any]


def _query(name: str, description: str, schema: Schema, required: bool = False) -> Schema:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def _object(properties: Schema) -> Schema:
    return {"type": "object", "required": list(properties), "properties": properties}


def _get(summary: str, parameters: list[Schema], description: str, schema: Schema) -> Schema:
    """A GET operation answering `schema` as JSON, or an error (400, 404)."""
    responses = {
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "400": {"$ref": "#/components/responses/BadRequest"},
        "404": {"$ref": "#/components/responses/NotFound"},
    }
    return {"get": {"summary": summary, "parameters": parameters, "responses": responses}}


_POINTS = {"type": "array", "items": _object({"date": _DAY, "value": _COUNT})}
_SPAN = [
    _query("metric", "What to show.", {"type": "string", "enum": list(METRICS), "default": "stars"}),
    _query("since", "First day: YYYY-MM-DD, or YYYY-MM; default a year before until.", _STRING),
    _query("until", "Last day: YYYY-MM-DD, or YYYY-MM (its last day); default and at most today.", _STRING),
]


def _every(default: str) -> Schema:
    described = "Period; day (the repo_daily view) takes stars, forks and contributors, not commits."
    return _query("every", described, {"type": "string", "enum": _EVERY, "default": default})


def _repos() -> Schema:
    row = _object(
        {"repo": _STRING, "observed_at": {"type": ["string", "null"], "format": "date-time"}}
        | {m: _COUNT for m in LATEST_METRICS}
    )
    per_page = {"type": "integer", "minimum": 1, "maximum": 100, "default": 30}
    page = {"type": "integer", "minimum": 1, "maximum": 100_000, "default": 1}  # api.MAX_PAGE
    return _get(
        "Tracked repositories with their latest observed values, by name.",
        [
            _query("page", "Page, from 1 to 100000.", page),
            _query("per_page", "Repositories per page.", per_page),
        ],
        "One page; the Link header has first, prev, next and last.",
        _object(
            {
                "page": {"type": "integer"},
                "per_page": {"type": "integer"},
                "total": {"type": "integer"},
                "repos": {"type": "array", "items": row},
                "next": {"type": ["string", "null"]},
            }
        ),
    )


def _series() -> Schema:
    path = [{"name": n, "in": "path", "required": True, "schema": _STRING} for n in ("owner", "name")]
    return _get(
        "One repository's values per period (a former name answers for it).",
        [*path, *_SPAN, _every("day")],
        "The series; repo is the current name.",
        _object({"repo": _STRING, "metric": _STRING, "every": _STRING, "points": _POINTS}),
    )


def _ranking() -> Schema:
    row = _object({"rank": {"type": ["integer", "null"]}, "repo": _STRING} | {m: _COUNT for m in _RANKED})
    return _get(
        "Repositories ranked at the end of a day (no value: last, unranked).",
        [
            _query("at", "The day; default today.", {"type": "string", "format": "date"}),
            _query("metric", "Ranked by.", {"type": "string", "enum": _RANKED, "default": "stars"}),
            _query("group", "Only this group's members.", _STRING),
        ],
        "The ranking.",
        _object(
            {
                "at": _DAY,
                "metric": _STRING,
                "group": {"type": ["string", "null"]},
                "rows": {"type": "array", "items": row},
            }
        ),
    )


def _compare() -> Schema:
    created = {"type": ["string", "null"], "format": "date"}
    one = _object({"repo": _STRING, "created": created, "points": _POINTS})
    return _get(
        "Several repositories' series, in the order named, with creation days.",
        [
            _query("repos", "1 to 20 comma-separated OWNER/NAME.", _STRING, required=True),
            *_SPAN,
            _every("month"),
        ],
        "The series.",
        _object(
            {
                "metric": _STRING,
                "every": _STRING,
                "since": _DAY,
                "until": _DAY,
                "series": {"type": "array", "items": one},
            }
        ),
    )


def document() -> Schema:
    """The OpenAPI document."""
    error = _object(
        {"error": {"type": "string", "description": "One line naming the parameter and what it takes."}}
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "collector",
            "version": "1",
            "description": "Read-only numbers of the tracked GitHub repositories, as `collector report` "
            "gives them. Values are as at the end of each period, null where the store has none.",
        },
        "paths": {
            "/api/v1/repos": _repos(),
            "/api/v1/repos/{owner}/{name}/series": _series(),
            "/api/v1/ranking": _ranking(),
            "/api/v1/compare": _compare(),
            "/api/v1/openapi.json": {
                "get": {"summary": "This document.", "responses": {"200": {"description": "OpenAPI 3.1"}}}
            },
        },
        "components": {
            "schemas": {"Error": error},
            "responses": {
                "BadRequest": {"description": "A parameter is unknown or malformed.", "content": _ERROR},
                "NotFound": {"description": "An unknown repository or group.", "content": _ERROR},
            },
        },
    }
