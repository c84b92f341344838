"""What a transport failure means, in words a person can act on ("name resolution failed for HOST"), and
the error a request that kept failing ends in."""

from __future__ import annotations

import errno
from collections.abc import Iterator

import httpx

from collector.github.errors import GitHubError, MalformedResponse, ServerError, Unreachable
from collector.github.responses import TransientBody

# getaddrinfo's failures, as the resolver words them (their errno values are negative EAI_* codes).
_NAME_RESOLUTION = ("name or service not known", "temporary failure in name resolution", "nodename nor")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def describe_transport_error(exc: httpx.TransportError, url: str) -> str:
    """Why `url` could not be reached, as a phrase: "name resolution failed for api.github.com"."""
    target = httpx.URL(url)
    host = target.host or url
    port = target.port or (443 if target.scheme == "https" else 80)
    chain = list(_causes(exc))
    texts = " ".join(str(c).lower() for c in chain)
    codes = {c.errno for c in chain if isinstance(c, OSError) and isinstance(c.errno, int)}
    if any(mark in texts for mark in _NAME_RESOLUTION) or any(code < 0 for code in codes):
        return f"name resolution failed for {host}"
    if errno.ECONNREFUSED in codes or "connection refused" in texts:
        return f"connection refused by {host}:{port}"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer from {host}:{port} in time ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host}:{port} ({str(exc).strip() or type(exc).__name__})"
    return f"the connection to {host}:{port} failed ({type(exc).__name__})"


def gave_up(method: str, url: str, attempts: int, exc: Exception) -> GitHubError:
    """The error for a request that failed `attempts` times in a row with `exc`."""
    if isinstance(exc, TransientBody):
        return MalformedResponse(
            f"{method} {url} answered {exc.status} with a body that is not JSON, {attempts} times; "
            "giving up on it",
            url=url,
            status=exc.status,
        )
    if isinstance(exc, httpx.TransportError):
        return Unreachable(f"GitHub unreachable: {describe_transport_error(exc, url)}", url=url)
    return ServerError(
        f"{method} {url} failed {attempts} times ({type(exc).__name__}); giving up on it", url=url
    )
