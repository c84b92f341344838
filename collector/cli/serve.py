"""`collector serve`: the web app from the store, without running any job (a replica, a laptop); and the
uvicorn server the daemon runs in its own event loop beside its jobs.

The web stack (uvicorn, starlette, jinja2, the web app) is imported only when a server starts: every
command imports this module through the CLI group, and most of them serve nothing."""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING

import click

from collector.app import App
from collector.cli.common import pass_app
from collector.config import parse_listen
from collector.errors import ConfigError
from collector.logs import event, get_logger, setup_logging

if TYPE_CHECKING:
    import uvicorn

SHUTDOWN_GRACE = 5  # seconds open requests get to finish after SIGTERM
YOUNGEST_GENERATION = 50_000  # allocations between collections of the youngest generation (default 700)


def listen_address(app: App, listen: str | None) -> tuple[str, int]:
    """--listen, else the config's [server] listen."""
    text = listen or app.config.listen
    try:
        return parse_listen(text)
    except ValueError as exc:
        raise ConfigError(f"--listen {text!r}: {exc}") from exc


def _server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn without signal handlers of its own: the daemon (or `serve`) owns SIGTERM and SIGINT and
    stops the server itself; uvicorn's would replace the daemon's and re-raise the signal on exit."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(config)


def bind_listener(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a port in use is one line before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Made with IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off only on sockets that say TCP, and
    # with it on, every answer written in two parts (headers, body) waits ~40 ms for the client's ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart can rebind at once
        sock.bind((host, port))
        sock.listen(2048)
        return sock
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another address with --listen "
            "or [server] listen"
        ) from exc


@asynccontextmanager
async def serving(app: App, listen: str | None) -> AsyncIterator[uvicorn.Server]:
    """The web app served on the listen address, in the running event loop, while the block runs."""
    import uvicorn

    from collector.web.app import build_app

    web = build_app(app)  # a bad [server.auth] stops here, before the port is taken
    # An answer over 10,000 repositories builds tens of thousands of small objects; CPython's default
    # collects its youngest generation every 700 allocations, which cost a page a fifth of its time
    # (docs/benchmarks.md). Numbers live in numpy arrays, which the collector does not visit.
    gc.set_threshold(YOUNGEST_GENERATION, *gc.get_threshold()[1:])
    sock = bind_listener(*listen_address(app, listen))
    config = uvicorn.Config(
        web, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=SHUTDOWN_GRACE
    )
    server = _server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if task.done():
        sock.close()
        task.result()  # uvicorn's own failure, raised here
        raise ConfigError("the web server stopped at start; see the log above")
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    event(get_logger("http"), "http_listening", address=f"{shown}:{bound_port}")
    try:
        yield server
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _serve_until_signal(app: App, listen: str | None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with serving(app, listen):
        await stop.wait()


@click.command("serve")
@click.option(
    "--listen", metavar="HOST:PORT", help="Address to serve on (default: [server] listen, 127.0.0.1:8080)."
)
@pass_app
def serve(app: App, listen: str | None) -> None:
    """Serve the web app, the JSON API, /healthz, /readyz, /metrics, badges and charts from the store,
    running no job."""
    setup_logging(app.settings.log_format, app.secrets())
    asyncio.run(_serve_until_signal(app, listen))
    event(get_logger("http"), "http_stopped")
