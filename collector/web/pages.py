"""The HTML pages (server-rendered with Jinja2)."""

from __future__ import annotations

from starlette.routing import BaseRoute

PAGE_ROUTES: list[BaseRoute] = []
