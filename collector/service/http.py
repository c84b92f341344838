"""The HTTP endpoints: health for orchestrators, /metrics for Prometheus, badges and charts for READMEs.

Read-only (GET and HEAD), answered from the store; a threaded stdlib server is enough for scrapes and
README images, and keeps the daemon's event loop free for its jobs. Badges and charts carry an ETag and
Cache-Control, and a matching If-None-Match gets a 304.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.exc import SQLAlchemyError

from collector.app import App
from collector.domain import METRICS, RepoName, parse_repo_name, utc_now
from collector.errors import CollectorError
from collector.reports.badge import BADGE_METRICS, render_badge
from collector.reports.build import UnknownRepos, make_report
from collector.reports.charts import SCALES, THEMES, render_chart_svg
from collector.reports.model import ReportOptionError, Trend, parse_request
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


def _text(status: int, message: str) -> Reply:
    return Reply(status, (message + "\n").encode())


class Endpoints:
    """GET/HEAD routing over one App; `answer` is pure enough to test without a socket."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.routes: dict[str, Callable[[dict[str, list[str]]], Reply]] = {
            "/healthz": lambda _: _text(200, "ok"),
            "/readyz": lambda _: self.ready(),
            "/metrics": lambda _: self.metrics(),
            "/chart.svg": self.chart,
        }

    def answer(self, method: str, target: str, if_none_match: str | None = None) -> Reply:
        """The reply to one request (HEAD: the GET reply, whose body the server leaves out)."""
        if method not in ("GET", "HEAD"):
            return Reply(405, b"only GET and HEAD\n", TEXT, {"Allow": "GET, HEAD"})
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            if parts.path in self.routes:
                reply = self.routes[parts.path](query)
            elif parts.path.startswith("/badge/"):
                _refuse_unknown("badge", query, ())
                reply = self.badge(unquote(parts.path.removeprefix("/badge/")))
            else:
                return _text(404, f"no such endpoint {parts.path}; see the README's HTTP section")
        except BadRequest as exc:
            return _text(exc.status, str(exc))
        except (CollectorError, SQLAlchemyError) as exc:
            return _text(503, f"the store cannot answer: {str(exc).splitlines()[0]}")
        return _conditional(reply, if_none_match)

    def metrics(self) -> Reply:
        return Reply(200, self.app.telemetry.exposition(), METRICS_TYPE, {"Cache-Control": "no-store"})

    def ready(self) -> Reply:
        """200 when the store answers and is at the latest migration, else 503 with the reason."""
        try:
            current = migrate.current_revision(self.app.engine)
            head = migrate.head_revision(self.app.engine)
        except (CollectorError, SQLAlchemyError) as exc:
            return _text(503, f"not ready: the store does not answer ({str(exc).splitlines()[0]})")
        if current != head:
            at = current or "none"
            return _text(503, f"not ready: the store is at revision {at}, this version needs {head}")
        return _text(200, f"ready (store at revision {head})")

    def badge(self, path: str) -> Reply:
        """/badge/{owner}/{name}/{metric}.svg: the latest observed value."""
        owner, _, rest = path.partition("/")
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
        value = latest[0].values[metric] if latest else None
        return Reply(200, render_badge(metric, value).encode(), SVG, {"Cache-Control": IMAGE_CACHE})

    def chart(self, query: dict[str, list[str]]) -> Reply:
        """/chart.svg?repos=a/b,c/d&metric=stars&since=2017-01[&until][&every][&theme][&scale]."""

        def one(key: str, default: str | None = None) -> str | None:
            values = query.get(key)
            return values[-1] if values else default

        _refuse_unknown("chart", query, CHART_PARAMETERS)

        repos = [r for r in (one("repos") or "").split(",") if r]
        if not repos or len(repos) > MAX_CHART_REPOS:
            raise BadRequest(400, f"chart: repos= takes 1 to {MAX_CHART_REPOS} comma-separated OWNER/NAME")
        metric = one("metric", "stars")
        theme, scale = one("theme", "light"), one("scale", "linear")
        # Checked before the store is read (render_chart_svg would refuse them too, but after the query).
        if metric not in METRICS:
            raise BadRequest(400, f"chart: metric={metric!r}; expected one of {list(METRICS)}")
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
        except (CollectorError, SQLAlchemyError) as exc:
            raise BadRequest(503, f"chart: the store cannot answer: {str(exc).splitlines()[0]}") from exc
        assert isinstance(report, Trend)
        svg = render_chart_svg(report, metric, scale=scale, theme=theme)
        return Reply(200, svg.encode(), SVG, {"Cache-Control": IMAGE_CACHE})


def _repo_name(text: str, endpoint: str) -> RepoName:
    try:
        return parse_repo_name(text)
    except CollectorError as exc:
        raise BadRequest(400, f"{endpoint}: {exc}") from exc


def _refuse_unknown(endpoint: str, query: Mapping[str, list[str]], known: tuple[str, ...]) -> None:
    """A 400 naming the query parameters `endpoint` does not take: a misspelt one would otherwise be
    ignored silently (`?metrc=forks` drawing stars)."""
    unknown = sorted(set(query) - set(known))
    if unknown:
        takes = f"it takes {', '.join(known)}" if known else "it takes none"
        raise BadRequest(400, f"{endpoint}: unknown query parameter {', '.join(unknown)}; {takes}")


def _conditional(reply: Reply, if_none_match: str | None) -> Reply:
    if reply.status != 200 or reply.content_type != SVG:
        return reply
    etag = '"' + hashlib.sha256(reply.body).hexdigest()[:20] + '"'
    headers = {**reply.headers, "ETag": etag}
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Reply(304, b"", reply.content_type, headers)
    return Reply(reply.status, reply.body, reply.content_type, headers)


def start_server(endpoints: Endpoints, host: str, port: int) -> ThreadingHTTPServer:
    """Serve `endpoints` on host:port from a background thread; `shutdown()` stops it."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "collector"

        def _serve(self) -> None:
            reply = endpoints.answer(self.command, self.path, self.headers.get("If-None-Match"))
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
