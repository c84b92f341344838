"""The service endpoints: health for orchestrators, /metrics for Prometheus, badges and charts for READMEs.

Read-only (GET and HEAD), answered from the store in a worker thread (run_in_threadpool), so the daemon's
jobs on the event loop are never blocked by a request. Badges and charts carry an ETag and Cache-Control,
and a matching If-None-Match (strong or weak, as proxies rewrite them) gets a 304.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from collector.app import App
from collector.domain import RepoName, parse_repo_name, utc_now
from collector.errors import CollectorError, StoreMissing, StoreReadOnly, StoreUnavailable
from collector.jobs.outages import first_line as first_line  # the web app's views import it from here
from collector.logs import event
from collector.reports.badge import BADGE_LABELS, BADGE_METRICS, BADGE_VALUES, render_badge
from collector.reports.build import UnknownRepos, make_report
from collector.reports.charts import SCALES, THEMES, render_chart_svg
from collector.reports.model import REPORT_METRICS, ReportOptionError, Trend, parse_request
from collector.service.metrics import CONTENT_TYPE as METRICS_TYPE
from collector.store import migrate
from collector.store.latest import load_latest
from collector.store.repos import find_repo

log = logging.getLogger("collector.http")

MAX_CHART_REPOS = 20
CHART_PARAMETERS = ("repos", "metric", "since", "until", "every", "theme", "scale")
SVG = "image/svg+xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
IMAGE_CACHE = "public, max-age=300"  # GitHub's image proxy (camo) and browsers may keep it five minutes
# What "the store does not answer" means: a 503. Any other CollectorError is the request's fault (a 400).
STORE_ERRORS = (StoreUnavailable, StoreMissing, StoreReadOnly, SQLAlchemyError)
Query = Mapping[str, list[str]]


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = TEXT
    headers: Mapping[str, str] = field(default_factory=dict)


class BadRequest(Exception):
    """A 4xx with a one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def text_reply(status: int, message: str) -> Reply:
    """A one-line plain-text reply."""
    return Reply(status, (message + "\n").encode())


def store_trouble(exc: Exception, where: str) -> str:
    """What a caller is told when the store fails: the error's kind only, since a driver's message names
    the database host and user; the whole message goes to the log."""
    event(log, "http_store_error", logging.WARNING, endpoint=where, error=first_line(exc))
    return f"the store does not answer ({type(exc).__name__}); see the server's log"


class Endpoints:
    """The service endpoints over one App, each a function of the path and query returning a Reply."""

    def __init__(self, app: App) -> None:
        self.app = app

    def health(self, path: Mapping[str, str], query: Query) -> Reply:
        return text_reply(200, "ok")

    def metrics(self, path: Mapping[str, str], query: Query) -> Reply:
        return Reply(200, self.app.telemetry.exposition(), METRICS_TYPE, {"Cache-Control": "no-store"})

    def ready(self, path: Mapping[str, str], query: Query) -> Reply:
        """200 when the store answers and is at the latest migration, else 503 with the reason."""
        try:
            current = migrate.current_revision(self.app.engine)
            head = migrate.head_revision(self.app.engine)
        except (CollectorError, SQLAlchemyError) as exc:  # not ready, whatever the kind
            return text_reply(503, f"not ready: {store_trouble(exc, 'readyz')}")
        if current != head:
            at = current or "none"
            return text_reply(503, f"not ready: the store is at revision {at}, this version needs {head}")
        return text_reply(200, f"ready (store at revision {head})")

    def badge(self, path: Mapping[str, str], query: Query) -> Reply:
        """/badge/{owner}/{name}/{metric}.svg: the latest observed value."""
        refuse_unknown("badge", query, ())
        owner, _, rest = path["path"].partition("/")
        name, _, tail = rest.partition("/")
        metric = tail.removesuffix(".svg")
        if not tail.endswith(".svg") or metric not in BADGE_METRICS:
            expected = f"/badge/OWNER/NAME/METRIC.svg with METRIC one of {list(BADGE_METRICS)}"
            raise BadRequest(400, f"badge: expected {expected}")
        repo_name = _repo_name(f"{owner}/{name}", "badge")
        with self.app.sessions() as session:
            row = find_repo(session, repo_name)
            latest = load_latest(session, row.id) if row is not None else []
        if row is None:
            hint = f"`collector repos add {repo_name}` asks GitHub (a former name resolves to the repository)"
            raise BadRequest(404, f"badge: {repo_name} is not tracked here; {hint}")
        value = latest[0].values[BADGE_VALUES.get(metric, metric)] if latest else None
        svg = render_badge(BADGE_LABELS.get(metric, metric), value)
        return Reply(200, svg.encode(), SVG, {"Cache-Control": IMAGE_CACHE})

    def chart(self, path: Mapping[str, str], query: Query) -> Reply:
        """/chart.svg?repos=a/b,c/d&metric=stars&since=2017-01[&until][&every][&theme][&scale]."""

        def one(key: str, default: str | None = None) -> str | None:
            values = query.get(key)
            return values[-1] if values else default

        refuse_unknown("chart", query, CHART_PARAMETERS)
        repos = [r for r in (one("repos") or "").split(",") if r]
        if not repos or len(repos) > MAX_CHART_REPOS:
            raise BadRequest(400, f"chart: repos= takes 1 to {MAX_CHART_REPOS} comma-separated OWNER/NAME")
        metric = one("metric", "stars")
        theme, scale = one("theme", "light"), one("scale", "linear")
        # Checked before the store is read (render_chart_svg would refuse them too, but after the query).
        if metric not in REPORT_METRICS:
            raise BadRequest(400, f"chart: metric={metric!r}; expected one of {list(REPORT_METRICS)}")
        if theme not in THEMES or scale not in SCALES:
            raise BadRequest(400, f"chart: theme is {' or '.join(THEMES)}, scale is {' or '.join(SCALES)}")
        today = utc_now().date()
        options = {
            "repos": [str(_repo_name(r, "chart")) for r in repos],
            "since": one("since", date(today.year - 1, today.month, 1).isoformat()[:7]),
            "until": one("until"),
            "every": one("every"),
            "metric": [metric],
        }
        try:
            request = parse_request(options, today)
            with self.app.sessions() as session:
                report = make_report(session, request, self.app.config)
        except ReportOptionError as exc:
            raise BadRequest(400, f"chart: {exc}") from exc
        except UnknownRepos as exc:
            raise BadRequest(404, f"chart: {exc}") from exc
        assert isinstance(report, Trend)
        svg = render_chart_svg(report, metric, scale=scale, theme=theme)
        return Reply(200, svg.encode(), SVG, {"Cache-Control": IMAGE_CACHE})


def _repo_name(text: str, endpoint: str) -> RepoName:
    try:
        return parse_repo_name(text)
    except CollectorError as exc:
        raise BadRequest(400, f"{endpoint}: {exc}") from exc


def refuse_unknown(endpoint: str, query: Query, known: tuple[str, ...]) -> None:
    """A 400 naming the query parameters `endpoint` does not take: a misspelt one would otherwise be
    ignored silently (`?metrc=forks` drawing stars)."""
    unknown = sorted(set(query) - set(known))
    if unknown:
        takes = f"it takes {', '.join(known)}" if known else "it takes none"
        raise BadRequest(400, f"{endpoint}: unknown query parameter {', '.join(unknown)}; {takes}")


def etag_of(body: bytes) -> str:
    """A strong validator for a body."""
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def matches(etag: str, if_none_match: str | None) -> bool:
    """Whether If-None-Match names `etag`: weak comparison (RFC 9110 13.1.2), so `W/"x"` matches `"x"`."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


def respond(reply: Reply, if_none_match: str | None, validated: bool = False) -> Response:
    """The Starlette response for a reply; SVG (and `validated`) 200s get an ETag and answer 304."""
    headers = dict(reply.headers)
    if reply.status == 200 and (validated or reply.content_type == SVG):
        headers["ETag"] = etag_of(reply.body)
        if matches(headers["ETag"], if_none_match):
            return Response(status_code=304, headers=headers)
    return Response(reply.body, reply.status, headers, media_type=reply.content_type)


Answer = Callable[[Mapping[str, str], Query], Reply]


def _guarded(answer: Answer, path: Mapping[str, str], query: Query, where: str) -> Reply:
    try:
        return answer(path, query)
    except BadRequest as exc:
        return text_reply(exc.status, str(exc))
    except STORE_ERRORS as exc:
        return text_reply(503, f"{where}: {store_trouble(exc, where)}")
    except CollectorError as exc:
        return text_reply(400, f"{where}: {first_line(exc)}")


def query_of(request: Request) -> dict[str, list[str]]:
    """The query string as lists of values per key (blank values kept, so `?x=` is refused too)."""
    query: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        query.setdefault(key, []).append(value)
    return query


def _route(path: str, answer: Answer, where: str) -> Route:
    async def endpoint(request: Request) -> Response:
        params = {k: str(v) for k, v in request.path_params.items()}
        reply = await run_in_threadpool(_guarded, answer, params, query_of(request), where)
        return respond(reply, request.headers.get("if-none-match"))

    return Route(path, endpoint, methods=["GET", "HEAD"], name=where)


def service_routes(app: App) -> list[BaseRoute]:
    """/healthz, /readyz, /metrics, /badge/{owner}/{name}/{metric}.svg and /chart.svg."""
    endpoints = Endpoints(app)
    return [
        _route("/healthz", endpoints.health, "healthz"),
        _route("/readyz", endpoints.ready, "readyz"),
        _route("/metrics", endpoints.metrics, "metrics"),
        _route("/chart.svg", endpoints.chart, "chart"),
        _route("/badge/{path:path}", endpoints.badge, "badge"),
    ]
