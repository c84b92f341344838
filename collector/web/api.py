"""The JSON API under /api/v1/: thin views over collector.web.data, documented by /api/v1/openapi.json.

Every query parameter is checked before the store is read: an unknown or malformed one is a 400 whose
`error` names it and what it takes; an unknown repository or group is a 404.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from collector.app import App
from collector.domain import METRICS, RepoName, parse_repo_name, utc_now
from collector.errors import CollectorError
from collector.reports.build import UnknownRepos
from collector.reports.model import EARLIEST, ReportOptionError, parse_day, parse_month_or_day
from collector.service.http import (
    MAX_CHART_REPOS,
    STORE_ERRORS,
    Reply,
    first_line,
    query_of,
    respond,
    store_trouble,
)
from collector.web import data
from collector.web.cache import AnswerCache
from collector.web.openapi import document

API_PREFIX = "/api/v1/"
JSON = "application/json"
API_CACHE = "public, max-age=60"  # the store changes once per collection cycle; ETags revalidate
PER_PAGE, MAX_PER_PAGE = 30, 100
MAX_PAGE = 100_000  # keeps OFFSET ((page - 1) * per_page) far inside every database's integers
Params = Mapping[str, str]


class ApiError(Exception):
    """A 4xx with a one-line reason naming the parameter."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _json(status: int, document: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Reply:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(status, body, JSON, {"Cache-Control": API_CACHE, **(headers or {})} if status == 200 else {})


def _params(query: Mapping[str, list[str]], known: tuple[str, ...]) -> dict[str, str]:
    """The query's parameters (the last of repeated ones); a 400 names any the endpoint does not take."""
    unknown = sorted(set(query) - set(known))
    if unknown:
        takes = ", ".join(known) or "none"
        raise ApiError(400, f"unknown query parameter {', '.join(unknown)}; this endpoint takes {takes}")
    return {key: values[-1] for key, values in query.items()}


def _choice(params: Params, key: str, choices: tuple[str, ...], default: str) -> str:
    value = params.get(key) or default
    if value not in choices:
        raise ApiError(400, f"{key}: {value!r} is not valid; expected one of {', '.join(choices)}")
    return value


def _whole(params: Params, key: str, default: int, high: int) -> int:
    """A whole number from 1 to `high`, in ASCII digits (str.isdigit takes "²", which int() refuses)."""
    text = params.get(key, str(default))
    if not re.fullmatch(r"[0-9]{1,9}", text) or not 1 <= int(text) <= high:
        raise ApiError(400, f"{key}: {text!r} is not valid; expected a whole number from 1 up to {high}")
    return int(text)


def _span(params: Params, default_every: str) -> data.Span:
    """since, until (YYYY-MM-DD or YYYY-MM; until defaults to today, since to a year before it), every."""
    today = utc_now().date()
    every = _choice(params, "every", data.EVERY, default_every)
    until = (
        min(today, parse_month_or_day(params["until"], "until", end=True)) if params.get("until") else today
    )
    since = parse_month_or_day(params["since"], "since", end=False) if params.get("since") else None
    since = since or until - timedelta(days=365)
    if since < EARLIEST:
        raise ApiError(400, f"since: {since} is before {EARLIEST}; expected a later day")
    if since > until:
        raise ApiError(400, f"since: {since} is after until ({until}); expected an earlier day")
    return data.Span(since, until, every, today)


def _daily(metric: str, span: data.Span) -> None:
    if span.every == "day" and metric not in data.DAILY:
        raise ApiError(400, f"every: {metric} are counted per week; expected every=week or longer")


def _name(text: str, key: str) -> RepoName:
    try:
        return parse_repo_name(text)
    except CollectorError as exc:
        raise ApiError(400, f"{key}: {exc}") from exc


class Views:
    """The API's answers over one App: each takes the path parameters and the query, returns a Reply."""

    def __init__(self, app: App) -> None:
        self.app = app

    def repos(self, path: Params, query: Mapping[str, list[str]]) -> Reply:
        params = _params(query, ("page", "per_page"))
        page = _whole(params, "page", 1, MAX_PAGE)
        per_page = _whole(params, "per_page", PER_PAGE, MAX_PER_PAGE)
        with self.app.sessions() as session:
            found = data.repos_page(session, page, per_page)
        last = max(1, -(-found["total"] // per_page))
        pages = {"first": 1, "last": last}
        if page > 1:
            pages["prev"] = min(page - 1, last)
        if page < last:
            pages["next"] = page + 1
        url = {
            rel: f"{API_PREFIX}repos?{urlencode({'page': n, 'per_page': per_page})}"
            for rel, n in pages.items()
        }
        found["next"] = url.get("next")
        link = ", ".join(f'<{u}>; rel="{rel}"' for rel, u in url.items())
        return _json(200, found, {"Link": link})

    def series(self, path: Params, query: Mapping[str, list[str]]) -> Reply:
        params = _params(query, ("metric", "since", "until", "every"))
        name = _name(f"{path['owner']}/{path['name']}", "repository")
        metric = _choice(params, "metric", METRICS, "stars")
        span = _span(params, "day")
        _daily(metric, span)
        with self.app.sessions() as session:
            return _json(200, data.series(session, self.app.config, name, metric, span))

    def compare(self, path: Params, query: Mapping[str, list[str]]) -> Reply:
        params = _params(query, ("repos", "metric", "since", "until", "every"))
        names = [n for n in params.get("repos", "").split(",") if n]
        if not 1 <= len(names) <= MAX_CHART_REPOS:
            raise ApiError(400, f"repos: expected 1 to {MAX_CHART_REPOS} comma-separated OWNER/NAME")
        repos = [_name(n, "repos") for n in names]
        metric = _choice(params, "metric", METRICS, "stars")
        span = _span(params, "month")
        _daily(metric, span)
        with self.app.sessions() as session:
            return _json(200, data.compare(session, self.app.config, repos, metric, span))

    def ranking(self, path: Params, query: Mapping[str, list[str]]) -> Reply:
        params = _params(query, ("at", "metric", "group"))
        today = utc_now().date()
        at = parse_day(params["at"], "at") if params.get("at") else today
        if not EARLIEST <= at <= today:
            raise ApiError(400, f"at: {at} is not valid; expected a day from {EARLIEST} to today ({today})")
        metric = _choice(params, "metric", data.RANKED_BY, "stars")
        group = params.get("group") or None
        with self.app.sessions() as session:
            return _json(200, data.ranking(session, self.app.config, at, metric, group, today))

    def openapi(self, path: Params, query: Mapping[str, list[str]]) -> Reply:
        _params(query, ())
        return _json(200, document())


View = Callable[[Params, Mapping[str, list[str]]], Reply]


def _answer(view: View, path: Params, query: Mapping[str, list[str]]) -> Reply:
    """The view's reply, or the JSON error for what it refused."""
    try:
        return view(path, query)
    except ApiError as exc:
        return _json(exc.status, {"error": str(exc)})
    except (data.NotFound, UnknownRepos) as exc:
        return _json(404, {"error": str(exc)})
    except ReportOptionError as exc:  # its messages start with the option they concern
        return _json(400, {"error": str(exc)})
    except STORE_ERRORS as exc:
        return _json(503, {"error": store_trouble(exc, "api")})
    except CollectorError as exc:
        return _json(400, {"error": first_line(exc)})


def _route(path: str, view: View, cache: AnswerCache) -> Route:
    async def endpoint(request: Request) -> Response:
        params = {k: str(v) for k, v in request.path_params.items()}
        compute = partial(_answer, view, params, query_of(request))
        key = (request.url.path, request.url.query)
        reply = await run_in_threadpool(cache.answer, key, compute)
        return respond(reply, request.headers.get("if-none-match"), validated=True)

    return Route(API_PREFIX + path, endpoint, methods=["GET", "HEAD"])


def api_routes(app: App, cache: AnswerCache) -> list[BaseRoute]:
    """The API's routes over one App, their answers kept in `cache` while the store is unchanged."""
    views = Views(app)
    return [
        _route("openapi.json", views.openapi, cache),
        _route("repos", views.repos, cache),
        _route("repos/{owner}/{name}/series", views.series, cache),
        _route("ranking", views.ranking, cache),
        _route("compare", views.compare, cache),
    ]
