"""The JSON API under /api/v1/: thin views over collector.web.data, documented by /api/v1/openapi.json."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collector.app import App

API_PREFIX = "/api/v1/"


def api_routes(app: App) -> list[BaseRoute]:
    """The API's routes over one App."""

    async def openapi(request: Request) -> Response:
        return JSONResponse({"openapi": "3.1.0", "info": {"title": "collector", "version": "1"}, "paths": {}})

    return [Route(API_PREFIX + "openapi.json", openapi, methods=["GET", "HEAD"])]
