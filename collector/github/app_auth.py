"""GitHub App authentication: a JWT signed with the App's key, exchanged for installation tokens.

GitHub's rules (docs: "Generating a JSON Web Token (JWT) for a GitHub App", "Generating an installation
access token"): RS256, `iat` 60 s in the past against clock drift, `exp` at most 10 minutes ahead, `iss`
the App id or client id; `POST /app/installations/{id}/access_tokens` answers 201 with `token` and
`expires_at` (one hour). The JWT endpoints do not count against an installation's budget, so they are
called here directly, outside the client's budget bookkeeping, with a few retries of their own.

`iat` and `exp` are set by GitHub's clock: ours corrected by the offset the `Date` header of GitHub's
answers shows, so a machine whose clock is minutes off still signs JWTs GitHub accepts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
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
CLOCK_CLAIMS = ("'iat'", "'exp'")  # GitHub's refusals of a JWT whose times are off its clock name these


class InstallationRefused(GitHubError):
    """GitHub refused a token for one installation (403 suspended, 404 gone): it sits out the pass."""

    kind = "installation_refused"


@dataclass(frozen=True)
class Installation:
    """One installation as `GET /app/installations` lists it: its account and repository selection."""

    id: int
    account: str = ""  # the login; "" when not known (an installation id set in the settings)
    selection: str = "all"  # "all" of the account's repositories, or "selected" ones
    suspended: bool = False

    @property
    def label(self) -> str:
        on = f" on {self.account}" if self.account else ""
        return f"GitHub App installation {self.id}{on}"


class Routes:
    """Which installations can see a repository: those on its owner's account with every repository
    selected, and those whose `GET /installation/repositories` lists it."""

    def __init__(self, installations: Iterable[Installation] = ()) -> None:
        self.installations = {i.id: i for i in installations}
        self._listed: dict[int, frozenset[str]] = {}

    def see(self, installation: int, full_names: Iterable[str]) -> None:
        """Record what a selected installation lists."""
        self._listed[installation] = frozenset(n.lower() for n in full_names)

    def candidates(self, full_name: str) -> frozenset[int]:
        """The installations known to see `full_name` (empty: none is known to)."""
        name = full_name.lower()
        owner = name.partition("/")[0]
        return frozenset(
            i.id
            for i in self.installations.values()
            if name in self._listed.get(i.id, ()) or (i.selection == "all" and i.account.lower() == owner)
        )

    @property
    def unrestricted(self) -> frozenset[int]:
        """Installations on every repository of their account (they may read public ones elsewhere)."""
        return frozenset(i.id for i in self.installations.values() if i.selection == "all")


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
    """The App's JWT for the next few minutes (RS256, iat in the past, exp under 10 minutes) by GitHub's
    clock `now`."""
    claims = {"iat": int(now) - JWT_PAST, "exp": int(now) + JWT_LIFETIME, "iss": app.app_id}
    return jwt.encode(claims, app.key.reveal(), algorithm="RS256")


def renew_at(issued_at: float, expires_at: float) -> float:
    """When to renew a token: a few minutes before it expires, by `expires_at`, never by a guess."""
    return expires_at - min(RENEW_AHEAD, (expires_at - issued_at) * RENEW_SHARE)


class AppSession:
    """Talks to the App endpoints of one API host with fresh JWTs, signed by GitHub's clock."""

    def __init__(
        self,
        app: AppCredentials,
        api_url: str,
        http: httpx.AsyncClient,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.app, self.api_url, self._http, self._clock, self._sleep = app, api_url, http, clock, sleep
        self.offset = 0.0  # GitHub's clock minus ours, from the Date header of its last answer

    async def fetch_installations(self) -> list[Installation]:
        """Every installation of the App (`GET /app/installations`, all pages)."""
        found: list[Installation] = []
        url: str | None = f"{self.api_url}/app/installations?per_page=100"
        while url:
            response = await self._send("GET", url, "listing the App's installations")
            body = _json(response)
            if not isinstance(body, list):
                raise GitHubError(f"GET {url}: expected a list of installations", url=url, status=200)
            found += [_installation(item) for item in body if isinstance(item, dict) and "id" in item]
            next_url = response.links.get("next", {}).get("url")
            url = str(next_url) if next_url else None
        if not found:
            raise BadCredentials(
                f"GitHub App {self.app.app_id} has no installations; install it on the organisations or "
                "repositories to collect, or set GITHUB_APP_INSTALLATION_ID"
            )
        return found

    async def fetch_installation(self, installation: int) -> Installation:
        """One installation (`GET /app/installations/{id}`): its account, selection and suspension."""
        url = f"{self.api_url}/app/installations/{installation}"
        label = f"GitHub App installation {installation}"
        response = await self._send("GET", url, f"looking up {label}", label)
        body = _json(response)
        return _installation(body) if isinstance(body, dict) and "id" in body else Installation(installation)

    async def fetch_installation_token(
        self, installation: int, label: str = ""
    ) -> tuple[InstallationToken, float]:
        """A new token for `installation` and its expiry (epoch seconds, by our clock)."""
        url = f"{self.api_url}/app/installations/{installation}/access_tokens"
        label = label or f"GitHub App installation {installation}"
        response = await self._send("POST", url, f"asking a token for {label}", label)
        body = _json(response)
        try:
            token, expires = body["token"], body["expires_at"]
            expires_at = datetime.fromisoformat(str(expires).replace("Z", "+00:00")).timestamp()
        except (KeyError, TypeError, ValueError) as exc:
            raise GitHubError(f"POST {url}: no token and expiry in the answer", url=url, status=201) from exc
        # `expires_at` is by GitHub's clock: renew by ours.
        return InstallationToken(str(token), installation), expires_at - self.offset

    async def fetch_installation_repositories(self, token: Token) -> list[str]:
        """The full names an installation on selected repositories sees (`GET /installation/repositories`,
        all pages; a request each on the installation's budget, made once when the pool is set up)."""
        names: list[str] = []
        url: str | None = f"{self.api_url}/installation/repositories?per_page=100"
        while url:
            headers = {**_headers(), "Authorization": f"Bearer {token.reveal()}"}
            response = await self._http.get(url, headers=headers)
            body = _json(response) if response.status_code == 200 else None
            if not isinstance(body, dict) or not isinstance(body.get("repositories"), list):
                raise GitHubError(
                    f"GET {url} answered {response.status_code}", url=url, status=response.status_code
                )
            names += [str(r["full_name"]) for r in body["repositories"] if isinstance(r, dict)]
            next_url = response.links.get("next", {}).get("url")
            url = str(next_url) if next_url else None
        return names

    async def _send(
        self, method: str, url: str, what: str, installation: str | None = None
    ) -> httpx.Response:
        """`installation` names the installation a 403 or 404 concerns (InstallationRefused), if any."""
        attempt, corrected = 0, False
        while True:
            attempt += 1
            signed_with = self.offset
            headers = {
                **_headers(),
                "Authorization": f"Bearer {make_jwt(self.app, self._clock() + signed_with)}",
            }
            try:
                response = await self._http.request(method, url, headers=headers)
            except httpx.TransportError as exc:
                if attempt >= ATTEMPTS:
                    raise GitHubError(
                        f"{method} {url} ({what}) failed: {type(exc).__name__}", url=url
                    ) from exc
                await self._sleep(attempt)
                continue
            self._learn_clock(response)
            if response.status_code >= 500 and attempt < ATTEMPTS:
                await self._sleep(attempt)
                continue
            message = _message(response)
            if response.status_code == 401 and any(c in message for c in CLOCK_CLAIMS):
                if not corrected and abs(self.offset - signed_with) >= 1:
                    corrected = True  # signed by a clock that GitHub's Date now corrects: once more
                    continue
                raise BadCredentials(
                    f"GitHub refused the App's JWT while {what} (401: {message}): the clock of this machine "
                    f"is {abs(round(self.offset))} s off GitHub's ({'behind' if self.offset > 0 else 'ahead'}"
                    "); set it right (NTP) and retry",
                    url=url,
                )
            _raise_for_app_status(response, method, url, what, self.app, installation)
            return response

    def _learn_clock(self, response: httpx.Response) -> None:
        try:
            served = parsedate_to_datetime(response.headers["date"]).timestamp()
        except (KeyError, TypeError, ValueError, IndexError):
            return
        self.offset = served - self._clock()


def _headers() -> dict[str, str]:
    return {"Accept": "application/vnd.github+json", "User-Agent": f"collector/{__version__}"}


def _installation(item: dict[str, Any]) -> Installation:
    account = item.get("account")
    login = str(account.get("login") or "") if isinstance(account, dict) else ""
    selection = "selected" if item.get("repository_selection") == "selected" else "all"
    return Installation(int(item["id"]), login, selection, item.get("suspended_at") is not None)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise GitHubError(
            f"{response.request.method} {response.request.url}: an answer that is not JSON",
            url=str(response.request.url),
            status=response.status_code,
        ) from exc


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        return ""


def _raise_for_app_status(
    response: httpx.Response, method: str, url: str, what: str, app: AppCredentials, installation: str | None
) -> None:
    status = response.status_code
    if status in (200, 201):
        return
    message = _message(response)
    if status in (403, 404) and installation is not None and message != "Integration not found":
        # One installation refused (suspended, uninstalled, a wrong id): the others carry the pass.
        hint = (
            "; list the App's installations, or leave GITHUB_APP_INSTALLATION_ID out" if status == 404 else ""
        )
        refusal = "GitHub refused it a token" if method == "POST" else "GitHub did not find it"
        raise InstallationRefused(
            f"{installation}: {refusal} ({status}: {message or 'no message'}); "
            f"it is set aside for this pass{hint}",
            url=url,
            status=status,
        )
    if status in (401, 403, 404):
        raise BadCredentials(
            f"GitHub refused the App's JWT while {what} ({status}: {message or 'no message'}); "
            f"check {KEY_SETTINGS}",
            url=url,
        )
    raise GitHubError(f"{method} {url} ({what}): GitHub answered {status}: {message}", url=url, status=status)
