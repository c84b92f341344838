"""Cross-cutting HTTP rules, as one pure ASGI middleware: read-only (GET and HEAD), the optional
[server.auth] check, and the security headers on every response."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector.web.spec import ServerAuth

# No inline script or style anywhere: pages load our own files only; badges and charts may be data: URLs.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


@dataclass(frozen=True)
class Credentials:
    """What [server.auth] accepts, with the secret taken from the environment: a bearer token, or a
    user and password for basic auth."""

    auth: ServerAuth
    secret: str

    def accepts(self, header: str) -> bool:
        """Whether an Authorization header carries these credentials (compared in constant time)."""
        scheme, _, value = header.partition(" ")
        if self.auth.user is None:
            return scheme.lower() == "bearer" and hmac.compare_digest(
                value.strip().encode(), self.secret.encode()
            )
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        same_user = hmac.compare_digest(user.encode(), self.auth.user.encode())
        return bool(sep) and same_user & hmac.compare_digest(password.encode(), self.secret.encode())

    def is_open(self, path: str) -> bool:
        """Whether `path` is served without credentials (an `open` entry ending in / opens a prefix)."""
        return any(path == p or (p.endswith("/") and path.startswith(p)) for p in self.auth.open)


def _private(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers of an answer that needed credentials: a shared cache must not keep it for others
    (RFC 9111 5.2.2.7), so Cache-Control's `public` becomes `private`, and Vary names Authorization."""
    kept: list[tuple[bytes, bytes]] = []
    vary: list[bytes] = []
    for name, value in headers:
        if name.lower() == b"vary":
            vary += [v.strip() for v in value.split(b",") if v.strip()]
            continue
        if name.lower() == b"cache-control":
            directives = [d.strip() for d in value.split(b",") if d.strip()]
            value = b", ".join(b"private" if d.lower() == b"public" else d for d in directives)
        kept.append((name, value))
    if not any(v.lower() in (b"authorization", b"*") for v in vary):
        vary.append(b"Authorization")
    return [*kept, (b"vary", b", ".join(vary))]


def _refusal(path: str, status: int, message: str, extra: list[tuple[bytes, bytes]]) -> Message:
    api = path.startswith("/api/")
    body = json.dumps({"error": message}).encode() if api else (message + "\n").encode()
    kind = b"application/json" if api else b"text/plain; charset=utf-8"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode()), *extra]
    return {"start": {"type": "http.response.start", "status": status, "headers": headers}, "body": body}


class Guard:
    """GET and HEAD only (405 otherwise), credentials when [server.auth] is set (401, and what they
    guard is cached privately only), security headers."""

    def __init__(self, app: ASGIApp, credentials: Credentials | None = None) -> None:
        self.app = app
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        path, refusal = scope["path"], None
        guarded = self.credentials is not None and not self.credentials.is_open(path)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                message["headers"] = [*(_private(headers) if guarded else headers), *SECURITY_HEADERS]
            await send(message)

        if scope["method"] not in ("GET", "HEAD"):
            refusal = _refusal(path, 405, "only GET and HEAD", [(b"allow", b"GET, HEAD")])
        elif self.credentials is not None and guarded:
            header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            if not self.credentials.accepts(header):
                scheme = b"Bearer" if self.credentials.auth.user is None else b"Basic"
                challenge = [(b"www-authenticate", scheme + b' realm="collector"')]
                refusal = _refusal(
                    path, 401, f"authentication required: {scheme.decode()} credentials", challenge
                )
        if refusal is None:
            await self.app(scope, receive, send_with_headers)
            return
        await send_with_headers(refusal["start"])
        body = b"" if scope["method"] == "HEAD" else refusal["body"]
        await send_with_headers({"type": "http.response.body", "body": body})
