"""The HTML pages (server-rendered with Jinja2, autoescaped; readable without JavaScript): thin views
that check the query, read one dict from collector.web.page_data and render it. Every page is a GET
whose URL is its whole state, so it can be shared.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from collector.app import App
from collector.domain import METRICS, RepoName, parse_repo_name, utc_now
from collector.errors import CollectorError
from collector.reports.badge import BADGE_METRICS
from collector.reports.charts import SCALES, render_svg_line_chart
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
from collector.web import data, page_data
from collector.web.cache import AnswerCache

HTML = "text/html; charset=utf-8"
CSV = "text/csv; charset=utf-8"
PAGE_CACHE = "public, max-age=60"  # the store changes once per collection cycle; ETags revalidate
PAGE_EVERY = ("week", "month", "quarter", "year")
ALIGNS = ("date", "age")
COMPARE_PARAMETERS = ("repos", "metric", "since", "until", "every", "scale", "align")
Query = Mapping[str, list[str]]


def _number(value: Any) -> str:
    """Thousands separated; a dash for no value."""
    return "–" if value is None else f"{value:,}"


TEMPLATES = Environment(
    loader=PackageLoader("collector.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters["number"] = _number
TEMPLATES.filters["path"] = lambda text: quote(str(text), safe="/")


class PageError(Exception):
    """A 4xx page with a one-line reason naming what to fix."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Page:
    """What a view answers: a template and its context, a redirect, or a ready body (CSV)."""

    template: str = ""
    context: Mapping[str, Any] | None = None
    redirect: str | None = None
    body: bytes | None = None
    content_type: str = HTML
    status: int = 200


def _params(query: Query, known: tuple[str, ...]) -> dict[str, str]:
    unknown = sorted(set(query) - set(known))
    if unknown:
        takes = ", ".join(known) or "none"
        raise PageError(400, f"unknown query parameter {', '.join(unknown)}; this page takes {takes}")
    return {key: values[-1].strip() for key, values in query.items()}


def _choice(params: Mapping[str, str], key: str, choices: tuple[str, ...], default: str) -> str:
    value = params.get(key) or default
    if value not in choices:
        raise PageError(400, f"{key}: {value!r} is not valid; expected one of {', '.join(choices)}")
    return value


def _name(text: str, key: str) -> RepoName:
    try:
        return parse_repo_name(text)
    except CollectorError as exc:
        raise PageError(400, f"{key}: {exc}") from exc


@dataclass(frozen=True)
class CompareOptions:
    """The compare page's query, checked: what the form shows and the links carry."""

    repos: tuple[RepoName, ...]
    metric: str
    since: date | None
    until: date
    every: str
    scale: str
    align: str
    given: Mapping[str, str]  # as typed, for the form

    def query(self, since: date, **extra: str) -> str:
        """The query string of exactly this data (repos, metric, since, until, every) plus `extra`."""
        base = {
            "repos": ",".join(r.full_name for r in self.repos),
            "metric": self.metric,
            "since": since.isoformat(),
            "until": self.until.isoformat(),
            "every": self.every,
        }
        return urlencode({**base, **extra}, safe=",/")


def compare_options(query: Query, today: date) -> CompareOptions:
    """The compare page's parameters; a PageError names the first one that is wrong."""
    params = _params(query, COMPARE_PARAMETERS)
    names = [n.strip() for n in params.get("repos", "").split(",") if n.strip()]
    if len(names) > MAX_CHART_REPOS:
        raise PageError(400, f"repos: expected 1 to {MAX_CHART_REPOS} comma-separated OWNER/NAME")
    repos = tuple(dict.fromkeys(_name(n, "repos") for n in names))
    metric = _choice(params, "metric", METRICS, "stars")
    every = _choice(params, "every", PAGE_EVERY, "month")
    scale = _choice(params, "scale", SCALES, "linear")
    align = _choice(params, "align", ALIGNS, "date")
    try:
        since = parse_month_or_day(params["since"], "since", end=False) if params.get("since") else None
        until = parse_month_or_day(params["until"], "until", end=True) if params.get("until") else today
    except ReportOptionError as exc:
        raise PageError(400, str(exc)) from exc
    until = min(until, today)
    if since is not None and not EARLIEST <= since <= until:
        raise PageError(
            400, f"since: {since} is not valid; expected a day from {EARLIEST} to until ({until})"
        )
    return CompareOptions(repos, metric, since, until, every, scale, align, params)


def _chart(
    title: str, labels: list[str], series: Mapping[str, list[int | None]], scale: str = "linear"
) -> Markup:
    """Our SVG line chart, inline: every text in it is escaped by the renderer."""
    if not labels or not series:
        return Markup("")
    return Markup(render_svg_line_chart(title, labels, series, 1000, scale=scale))


def _short(labels: list[str], options: CompareOptions) -> list[str]:
    """The chart's x labels: a month's or a year's last day as the month or year (the table keeps days)."""
    if options.align == "age" or options.every not in ("month", "year"):
        return labels
    return [label[: 7 if options.every == "month" else 4] for label in labels]


class Views:
    """The pages over one App: each takes the path parameters and the query (and runs in a worker thread,
    as it reads the store) and returns a Page."""

    def __init__(self, app: App) -> None:
        self.app = app

    def home(self, path: Mapping[str, str], query: Query) -> Page:
        _params(query, ())
        with self.app.sessions() as session:
            found = page_data.home(session, self.app.config, utc_now().date())
        return Page("home.html", found)

    def search(self, path: Mapping[str, str], query: Query) -> Page:
        q = _params(query, ("q",)).get("q", "")
        with self.app.sessions() as session:
            found = page_data.search(session, q)
        if found["exact"]:
            return Page(redirect=f"/repos/{quote(found['exact'], safe='/')}")
        return Page("search.html", found)

    def repo(self, path: Mapping[str, str], query: Query) -> Page:
        _params(query, ())
        name = _name(f"{path['owner']}/{path['name']}", "repository")
        with self.app.sessions() as session:
            found = page_data.repo(session, self.app.config, name, utc_now().date())
        if found["repo"] != name.full_name:  # a former name (or other case): the current one's page
            return Page(redirect=f"/repos/{quote(found['repo'], safe='/')}")
        history = found["history"]
        labels = [row["period"] for row in history]
        charts = {
            metric: _chart(
                f"{metric}, monthly", labels, {found["repo"]: [r[metric] for r in history]}, "linear"
            )
            for metric in ("stars", "forks", "contributors")
        }
        weeks = found["weekly_commits"]
        charts["commits"] = _chart(
            "commits per week, last 52 weeks",
            [p["date"] for p in weeks],
            {found["repo"]: [p["value"] for p in weeks]},
            "linear",
        )
        return Page("repo.html", {**found, "charts": charts})

    def compare(self, path: Mapping[str, str], query: Query) -> Page:
        today = utc_now().date()
        try:
            options = compare_options(query, today)
            context = self._compare(options, today) if options.repos else {}
        except PageError as exc:
            return Page("compare.html", self._form(query, error=str(exc)), status=exc.status)
        except data.NotFound as exc:
            return Page("compare.html", self._form(query, error=str(exc)), status=404)
        return Page("compare.html", {**self._form(query), "options": options, **context})

    def compare_csv(self, path: Mapping[str, str], query: Query) -> Page:
        today = utc_now().date()
        options = compare_options(query, today)
        if not options.repos:
            raise PageError(400, f"repos: expected 1 to {MAX_CHART_REPOS} comma-separated OWNER/NAME")
        context = self._compare(options, today)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        repos = list(context["series"])
        writer.writerow(["date" if options.align == "date" else f"{options.every}s_since_creation", *repos])
        for k, label in enumerate(context["labels"]):
            values = [context["series"][r][k] for r in repos]
            first = label.removeprefix(f"{options.every} ")
            writer.writerow([first, *("" if v is None else v for v in values)])
        return Page(body=out.getvalue().encode(), content_type=CSV)

    def _form(self, query: Query, error: str | None = None) -> dict[str, Any]:
        given = {key: values[-1] for key, values in query.items() if key in COMPARE_PARAMETERS}
        return {
            "given": given,
            "error": error,
            "metrics": METRICS,
            "everies": PAGE_EVERY,
            "scales": SCALES,
            "aligns": ALIGNS,
            "options": None,
            "labels": [],
        }

    def _compare(self, options: CompareOptions, today: date) -> dict[str, Any]:
        with self.app.sessions() as session:
            since = options.since or page_data.default_since(session, options.repos, today)
            span = data.Span(since, options.until, options.every, today)
            found = page_data.compare(
                session, self.app.config, options.repos, options.metric, span, options.align
            )
        axis = f"{options.every}s since creation" if options.align == "age" else f"per {options.every}"
        title = f"{options.metric}, {axis}"
        chart_query = options.query(since, scale=options.scale)
        badge = options.metric if options.metric in BADGE_METRICS else "stars"
        return {
            **found,
            "since": since.isoformat(),
            "chart": _chart(title, _short(found["labels"], options), found["series"], options.scale),
            "json_url": f"/api/v1/compare?{options.query(since)}",
            "csv_url": f"/compare.csv?{options.query(since, scale=options.scale, align=options.align)}",
            "chart_path": f"/chart.svg?{chart_query}",
            "badge_paths": [f"/badge/{r.full_name}/{badge}.svg" for r in options.repos],
            "badge_metric": badge,
        }

    def group(self, path: Mapping[str, str], query: Query) -> Page:
        params = _params(query, ("at", "sort"))
        today = utc_now().date()
        try:
            at = parse_day(params["at"], "at") if params.get("at") else today
        except ReportOptionError as exc:
            raise PageError(400, str(exc)) from exc
        if not EARLIEST <= at <= today:
            raise PageError(400, f"at: {at} is not valid; expected a day from {EARLIEST} to today ({today})")
        sort = _choice(params, "sort", data.RANKED_BY, "stars")
        with self.app.sessions() as session:
            found = page_data.group(session, self.app.config, path["name"], at, sort, today)
        chart = _chart(
            "group total of stars, monthly", found["periods"], {"group total": found["totals"]}, "linear"
        )
        return Page("group.html", {**found, "chart": chart, "ranked_by": data.RANKED_BY})


View = Callable[[Mapping[str, str], Query], Page]


def _answer(view: View, path: Mapping[str, str], query: Query) -> Page:
    """The view's page, or the error page for what it refused (one line naming what to fix)."""
    try:
        return view(path, query)
    except PageError as exc:
        return Page("error.html", {"message": str(exc)}, status=exc.status)
    except data.NotFound as exc:
        return Page("error.html", {"message": str(exc)}, status=404)
    except ReportOptionError as exc:
        return Page("error.html", {"message": str(exc)}, status=400)
    except STORE_ERRORS as exc:
        return Page("error.html", {"message": store_trouble(exc, "page")}, status=503)
    except CollectorError as exc:
        return Page("error.html", {"message": first_line(exc)}, status=400)


def _render(page: Page, base: str) -> bytes:
    """The page's body; `base` (scheme and host, as the browser asked) makes embed snippets absolute."""
    if page.body is not None:
        return page.body
    return TEMPLATES.get_template(page.template).render(**(page.context or {}), base=base).encode()


def _reply(view: View, path: Mapping[str, str], query: Query, base: str) -> Reply:
    """The view's page rendered (or its redirect: a 302 with its Location)."""
    page = _answer(view, path, query)
    if page.redirect is not None:
        return Reply(302, b"", HTML, {"Location": page.redirect})
    body = _render(page, base)
    content_type = page.content_type if page.body is not None or page.status == 200 else HTML
    headers = {"Cache-Control": PAGE_CACHE} if page.status == 200 else {"Cache-Control": "no-store"}
    return Reply(page.status, body, content_type, headers)


def _route(path: str, view: View, name: str, cache: AnswerCache) -> Route:
    async def endpoint(request: Request) -> Response:
        params = {k: str(v) for k, v in request.path_params.items()}
        base = str(request.base_url).rstrip("/")
        compute = partial(_reply, view, params, query_of(request), base)
        key = (request.url.path, request.url.query, base)
        reply = await run_in_threadpool(cache.answer, key, compute)
        if reply.status == 302:
            return RedirectResponse(reply.headers["Location"], status_code=302)
        return respond(reply, request.headers.get("if-none-match"), validated=True)

    return Route(path, endpoint, methods=["GET", "HEAD"], name=name)


def page_routes(app: App, cache: AnswerCache) -> list[BaseRoute]:
    """The pages' routes over one App, their answers kept in `cache` while the store is unchanged."""
    views = Views(app)
    return [
        _route("/", views.home, "home", cache),
        _route("/search", views.search, "search", cache),
        _route("/repos/{owner}/{name}", views.repo, "repo", cache),
        _route("/compare", views.compare, "compare", cache),
        _route("/compare.csv", views.compare_csv, "compare_csv", cache),
        _route("/groups/{name}", views.group, "group", cache),
    ]
