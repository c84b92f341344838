"""GitHub App authentication: a JWT signed with the App's key, exchanged for installation tokens.

GitHub's rules (docs: "Generating a JSON Web Token (JWT) for a GitHub App", "Generating an installation
access token"): RS256, `iat` 60 s in the past against clock drift, `exp` at most 10 minutes ahead, `iss`
the App id or client id; `POST /app/installations/{id}/access_tokens` answers 201 with `token` and
`expires_at` (one hour). The JWT endpoints do not count against an installation's budget, so they are
called here directly, outside the client's budget bookkeeping, with a few retries of their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import jwt

from collector import __version__
from collector.github.errors import BadCredentials, GitHubError
from collector.settings import AppCredentials, Token

JWT_PAST = 60  # iat this far back, as GitHub recommends against clock drift
JWT_LIFETIME = 540  # exp 9 minutes after now: under GitHub's 10-minute maximum, whatever the drift
RENEW_AHEAD = 300.0  # renew an installation token this long before it expires ...
RENEW_SHARE = 0.25  # ... or a quarter of its lifetime before, for short-lived tokens
ATTEMPTS = 3
KEY_SETTINGS = (
    "GITHUB_APP_ID and the App's private key (GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE)"
)


class InstallationToken(Token):
    """An installation's current token: named by its installation, never shown."""

    __slots__ = ("installation",)

    def __init__(self, value: str, installation: int) -> None:
        super().__init__(value, 0)
        self.installation = installation

    def __repr__(self) -> str:
        return f"Token(installation {self.installation})"

    __str__ = __repr__


def make_jwt(app: AppCredentials, now: float) -> str:
    """The App's JWT for the next few minutes (RS256, iat in the past, exp under 10 minutes)."""
    claims = {"iat": int(now) - JWT_PAST, "exp": int(now) + JWT_LIFETIME, "iss": app.app_id}
    return jwt.encode(claims, app.key.reveal(), algorithm="RS256")


def renew_at(issued_at: float, expires_at: float) -> float:
    """When to renew a token: a few minutes before it expires, by `expires_at`, never by a guess."""
    return expires_at - min(RENEW_AHEAD, (expires_at - issued_at) * RENEW_SHARE)


class AppSession:
    """Talks to the App endpoints of one API host with fresh JWTs."""

    def __init__(
        self,
        app: AppCredentials,
        api_url: str,
        http: httpx.AsyncClient,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.app, self.api_url, self._http, self._clock, self._sleep = app, api_url, http, clock, sleep

    async def fetch_installation_ids(self) -> list[int]:
        """Every installation of the App (`GET /app/installations`, all pages)."""
        ids: list[int] = []
        url: str | None = f"{self.api_url}/app/installations?per_page=100"
        while url:
            response = await self._send("GET", url, "listing the App's installations")
            body = _json(response)
            if not isinstance(body, list):
                raise GitHubError(f"GET {url}: expected a list of installations", url=url, status=200)
            ids += [int(item["id"]) for item in body if isinstance(item, dict) and "id" in item]
            next_url = response.links.get("next", {}).get("url")
            url = str(next_url) if next_url else None
        if not ids:
            raise BadCredentials(
                f"GitHub App {self.app.app_id} has no installations; install it on the organisations or "
                "repositories to collect, or set GITHUB_APP_INSTALLATION_ID"
            )
        return ids

    async def fetch_installation_token(self, installation: int) -> tuple[InstallationToken, float]:
        """A new token for `installation` and its expiry (epoch seconds)."""
        url = f"{self.api_url}/app/installations/{installation}/access_tokens"
        response = await self._send("POST", url, f"a token for installation {installation}", installation)
        body = _json(response)
        try:
            token, expires = body["token"], body["expires_at"]
            expires_at = datetime.fromisoformat(str(expires).replace("Z", "+00:00")).timestamp()
        except (KeyError, TypeError, ValueError) as exc:
            raise GitHubError(f"POST {url}: no token and expiry in the answer", url=url, status=201) from exc
        return InstallationToken(str(token), installation), expires_at

    async def _send(
        self, method: str, url: str, what: str, installation: int | None = None
    ) -> httpx.Response:
        for attempt in range(1, ATTEMPTS + 1):
            headers = {
                "Accept": "application/vnd.github+json",
                "User-Agent": f"collector/{__version__}",
                "Authorization": f"Bearer {make_jwt(self.app, self._clock())}",
            }
            try:
                response = await self._http.request(method, url, headers=headers)
            except httpx.TransportError as exc:
                if attempt == ATTEMPTS:
                    raise GitHubError(
                        f"{method} {url} ({what}) failed: {type(exc).__name__}", url=url
                    ) from exc
                await self._sleep(attempt)
                continue
            if response.status_code >= 500 and attempt < ATTEMPTS:
                await self._sleep(attempt)
                continue
            _raise_for_app_status(response, method, url, what, self.app, installation)
            return response
        raise AssertionError("unreachable")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise GitHubError(
            f"{response.request.method} {response.request.url}: an answer that is not JSON",
            url=str(response.request.url),
            status=response.status_code,
        ) from exc


def _raise_for_app_status(
    response: httpx.Response, method: str, url: str, what: str, app: AppCredentials, installation: int | None
) -> None:
    status = response.status_code
    if status in (200, 201):
        return
    try:
        message = str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        message = ""
    if status == 404 and installation is not None:
        raise BadCredentials(
            f"GITHUB_APP_INSTALLATION_ID: installation {installation} of GitHub App {app.app_id} was not "
            "found (404); list the App's installations or leave the setting out to use all of them",
            url=url,
        )
    if status in (401, 403, 404):
        raise BadCredentials(
            f"GitHub refused the App's JWT while {what} ({status}: {message or 'no message'}); "
            f"check {KEY_SETTINGS}",
            url=url,
        )
    raise GitHubError(f"{method} {url} ({what}): GitHub answered {status}: {message}", url=url, status=status)
