"""Two ways to reach a SimulatorApp: an httpx transport (in-process) and a real loopback HTTP server."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from collector.testing.core import SimulatorApp
    from collector.testing.replies import SimResponse


def _to_httpx(resp: SimResponse, request: httpx.Request) -> httpx.Response:
    if resp.hang:
        # In process there is no socket to hold open: report what the client's timeout would.
        raise httpx.ReadTimeout("simulated: GitHub did not answer in time", request=request)
    if resp.drop:
        # What httpx (h11) raises when the server closes the socket before the announced content-length.
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body "
            f"(received {len(_partial(resp))} bytes, expected {len(resp.body)})",
            request=request,
        )
    return httpx.Response(resp.status, headers=list(resp.headers.items()), content=resp.body, request=request)


def _partial(resp: SimResponse) -> bytes:
    """The part of a dropped answer's body that gets through before the connection breaks."""
    return resp.body[: len(resp.body) // 2]


class SimulatorTransport(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """An httpx transport (sync and async) that hands every request to the app, in process."""

    def __init__(self, app: SimulatorApp) -> None:
        self.app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer a sync client's request."""
        body = request.read()
        resp = self.app.handle(request.method, str(request.url), dict(request.headers.items()), body)
        return _to_httpx(resp, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer an async client's request (latency is slept on the event loop)."""
        body = await request.aread()
        resp = await self.app.handle_async(
            request.method, str(request.url), dict(request.headers.items()), body
        )
        return _to_httpx(resp, request)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: SimulatorApp

    def __init__(self, address: tuple[str, int], app: SimulatorApp) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished mid-request (killed, timed out) is routine here, not a traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Wake handler threads idling on keep-alive connections so they end now."""
        with self.sockets_lock:
            for s in list(self.open_sockets):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        host = (
            self.headers.get("host") or f"{self.server.server_address[0]!s}:{self.server.server_address[1]}"
        )
        app = self.server.app
        resp = app.handle(
            self.command,
            f"http://{host}{self.path}",
            dict(self.headers.items()),
            body,
            client_ip=self.client_address[0],
        )
        if resp.hang:
            app.wait_hang()
        try:
            self.send_response_only(resp.status)
            for name, value in resp.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if resp.drop:
                # Headers announce the full content-length; half the body goes out, then the socket closes.
                self.wfile.write(_partial(resp))
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif resp.body and self.command != "HEAD":
                self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout after a hang)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and benchmarks read app.stats instead of an access log."""


@contextmanager
def running_simulator(app: SimulatorApp, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` over HTTP on `host` (loopback) in a thread; yields the base URL; stops on exit."""
    server = _Server((host, port), app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        app.stop_hangs()
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join(timeout=5)
