"""The web app, built in one place: the service endpoints, the JSON API, the HTML pages and their static
files, behind one guard (read-only, optional auth, security headers)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from collector.app import App
from collector.errors import ConfigError
from collector.service.http import service_routes
from collector.web.api import API_PREFIX, api_routes
from collector.web.cache import AnswerCache
from collector.web.middleware import Credentials, Guard
from collector.web.pages import page_routes


def credentials(app: App) -> Credentials | None:
    """[server.auth] with its secret from the settings' environment; unset: one line naming the variable."""
    auth = app.config.server_auth
    if auth is None:
        return None
    secret = app.settings.environment.get(auth.env, "")
    if not secret:
        raise ConfigError(
            f"[server.auth] names the environment variable {auth.env}, which is not set or empty; "
            "set it, or remove [server.auth] to serve without authentication"
        )
    return Credentials(auth, secret)


async def _not_found(request: Request, exc: Exception) -> Response:
    path = request.url.path
    if path.startswith(API_PREFIX):
        return JSONResponse({"error": f"no such API endpoint {path}; see {API_PREFIX}openapi.json"}, 404)
    return PlainTextResponse(f"no such endpoint {path}; see the README's HTTP section\n", 404)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return await _not_found(request, exc)
    return PlainTextResponse(f"{exc.detail}\n", exc.status_code)


async def _server_error(request: Request, exc: Exception) -> Response:
    # One line, no traceback and no driver message (it may name the database host and user).
    message = f"internal error ({type(exc).__name__}); see the server's log"
    if request.url.path.startswith(API_PREFIX):
        return JSONResponse({"error": message}, 500)
    return PlainTextResponse(message + "\n", 500)


def build_app(app: App) -> Starlette:
    """The ASGI app serving `app`'s store."""
    answers = app.telemetry.web_answers
    cache = AnswerCache(keep=app.config.cache_seconds, served=lambda how: answers.labels(how).inc())
    routes = [
        *service_routes(app),
        *api_routes(app, cache),
        *page_routes(app, cache),
        Mount("/static", StaticFiles(packages=[("collector.web", "static")]), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, credentials=credentials(app))],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
