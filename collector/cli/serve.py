"""`collector serve`: the HTTP endpoints from the store, without running any job (a replica, a laptop);
and the listener the daemon starts beside its jobs."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from types import FrameType

import click

from collector.app import App
from collector.cli.common import pass_app
from collector.config import parse_listen
from collector.errors import ConfigError
from collector.logs import event, get_logger, setup_logging
from collector.service.http import Endpoints, start_server


def listen_address(app: App, listen: str | None) -> tuple[str, int]:
    """--listen, else the config's [server] listen."""
    text = listen or app.config.listen
    try:
        return parse_listen(text)
    except ValueError as exc:
        raise ConfigError(f"--listen {text!r}: {exc}") from exc


@contextmanager
def serving(app: App, listen: str | None) -> Iterator[ThreadingHTTPServer]:
    """The endpoints served on the listen address while the block runs (a port in use: one line)."""
    host, port = listen_address(app, listen)
    try:
        server = start_server(Endpoints(app), host, port)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another address with --listen "
            "or [server] listen"
        ) from exc
    bound_host, bound_port = server.server_address[:2]
    event(get_logger("http"), "http_listening", address=f"{bound_host!s}:{bound_port}")
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@click.command("serve")
@click.option(
    "--listen", metavar="HOST:PORT", help="Address to serve on (default: [server] listen, 127.0.0.1:8080)."
)
@pass_app
def serve(app: App, listen: str | None) -> None:
    """Serve /healthz, /readyz, /metrics, badges and charts from the store, running no job."""
    setup_logging(app.settings.log_format, app.secrets())
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    with serving(app, listen):
        stop.wait()
    event(get_logger("http"), "http_stopped")
