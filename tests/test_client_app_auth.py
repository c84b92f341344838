"""GitHub App authentication in the client, against MockTransport handlers: the JWT GitHub expects,
installation tokens renewed by `expires_at`, one renewal and one retry on a 401, settings errors that
name the setting and never the key."""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from collector.errors import ConfigError
from collector.github.api import GitHubAPI
from collector.github.client import GitHubClient
from collector.github.errors import BadCredentials
from collector.settings import AppCredentials, AppKey, Settings, load_settings
from tests.test_client import API, NAME, START, FakeTime, limits, repo_body

APP_ID = "424242"


@functools.cache
def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def app_settings(*installations: int) -> Settings:
    private, _ = key_pair()
    return Settings(
        api_url=API,
        graphql_url=API + "/graphql",
        github_app=AppCredentials(APP_ID, AppKey(private), tuple(installations)),
    )


def run(handler: Any, body: Any, *, settings: Settings, time: FakeTime | None = None) -> None:
    """Run `body(gh)` on the API over a client with App credentials whose transport is `handler`."""
    fake = time or FakeTime()

    async def main() -> None:
        transport = httpx.MockTransport(handler)
        client = GitHubClient(settings, transport=transport, sleep=fake.sleep, clock=fake.clock)
        async with GitHubAPI(client) as gh:
            await body(gh)

    asyncio.run(main())


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeGitHub:
    """Installations, token minting with a lifetime, and repository answers for valid tokens only."""

    def __init__(self, time: FakeTime, lifetime: float, installations: tuple[int, ...] = (77,)) -> None:
        self.time, self.lifetime, self.installations = time, lifetime, installations
        self.tokens: dict[str, float] = {}  # token -> expires_at
        self.jwts: list[dict[str, Any]] = []
        self.refused_expired = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "").removeprefix("Bearer ")
        if request.url.path.startswith("/app/"):
            _, public = key_pair()
            self.jwts.append(
                jwt.decode(
                    auth, public, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
                )
            )
            if request.url.path == "/app/installations":
                return httpx.Response(
                    200, json=[{"id": i, "account": {"login": "o"}} for i in self.installations]
                )
            token = f"ghs_{len(self.jwts):036d}"  # one JWT per exchange: a new name each time
            self.tokens[token] = self.time.now + self.lifetime
            return httpx.Response(201, json={"token": token, "expires_at": iso(self.tokens[token])})
        if auth not in self.tokens:
            return httpx.Response(401, json={"message": "Bad credentials"})
        if self.time.now >= self.tokens[auth]:
            self.refused_expired += 1
            return httpx.Response(401, json={"message": "Bad credentials"})
        return httpx.Response(200, json=repo_body(), headers=limits(4000))


def test_the_jwt_is_what_github_asks_for_and_the_token_is_renewed_by_its_expiry() -> None:
    time = FakeTime()
    github = FakeGitHub(time, lifetime=3600)

    async def body(gh: Any) -> None:
        for _ in range(10):
            await gh.fetch_repository(NAME)
            await time.sleep(600)  # ten minutes between requests: 100 minutes in all

    run(github, body, time=time, settings=app_settings())
    first = github.jwts[0]
    assert first["iss"] == APP_ID and first["iat"] == START - 60 and first["exp"] - START <= 600
    # The installations were listed (JWT 1), a token minted (JWT 2) and renewed once (JWT 3).
    assert list(github.tokens) == ["ghs_" + "0" * 35 + "2", "ghs_" + "0" * 35 + "3"]
    assert github.refused_expired == 0  # renewed before it expired, never after


def test_short_lived_tokens_are_renewed_ahead_and_a_401_renews_once_then_retries() -> None:
    time = FakeTime()
    github = FakeGitHub(time, lifetime=30)

    async def body(gh: Any) -> None:
        for _ in range(12):
            await gh.fetch_repository(NAME)
            await time.sleep(10)

    run(github, body, time=time, settings=app_settings(77))
    assert github.refused_expired == 0 and len(github.tokens) >= 4

    # GitHub revokes the current token early: one renewal and one retry, not the installation's end.
    time = FakeTime()
    github = FakeGitHub(time, lifetime=3600)

    async def revoked(gh: Any) -> None:
        await gh.fetch_repository(NAME)
        github.tokens.clear()
        await gh.fetch_repository(NAME)

    run(github, revoked, time=time, settings=app_settings(77))
    assert list(github.tokens) == ["ghs_" + "0" * 35 + "2"]  # exactly one new token after the 401
    assert len(github.jwts) == 2  # two exchanges: the first token and the one renewal


def test_an_installation_that_stays_refused_ends_with_one_clear_line() -> None:
    time = FakeTime()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/app/"):
            return httpx.Response(201, json={"token": "ghs_x", "expires_at": iso(time.now + 3600)})
        return httpx.Response(401, json={"message": "Bad credentials"})

    with pytest.raises(BadCredentials, match="GitHub App installation 77 was refused") as info:
        run(handler, lambda gh: gh.fetch_repository(NAME), time=time, settings=app_settings(77))
    assert "ghs_x" not in str(info.value)


def test_a_jwt_github_refuses_names_the_settings_not_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "A JSON web token could not be decoded"})

    with pytest.raises(BadCredentials, match="GITHUB_APP_ID and the App's private key") as info:
        run(handler, lambda gh: gh.fetch_repository(NAME), settings=app_settings())
    assert "BEGIN" not in str(info.value)


def test_app_settings_errors_are_one_line_and_never_show_the_key(tmp_path: Path) -> None:
    private, _ = key_pair()
    good = load_settings({"GITHUB_APP_ID": APP_ID, "GITHUB_APP_PRIVATE_KEY": private.replace("\n", "\\n")})
    assert good.github_app is not None and good.github_app.key.reveal() == private
    assert private not in repr(good) and "BEGIN" not in repr(good.github_app)
    key_file = tmp_path / "app.pem"
    key_file.write_text(private, encoding="utf-8")
    env = {
        "GITHUB_APP_ID": APP_ID,
        "GITHUB_APP_PRIVATE_KEY_FILE": str(key_file),
        "GITHUB_APP_INSTALLATION_ID": "5,6",
    }
    from_file = load_settings(env).github_app
    assert (
        from_file is not None and from_file.installation_ids == (5, 6) and from_file.key.reveal() == private
    )
    cases = {
        "GITHUB_APP_PRIVATE_KEY_FILE": {
            "GITHUB_APP_ID": APP_ID,
            "GITHUB_APP_PRIVATE_KEY_FILE": str(tmp_path / "no.pem"),
        },
        "GITHUB_APP_PRIVATE_KEY:": {"GITHUB_APP_ID": APP_ID, "GITHUB_APP_PRIVATE_KEY": "-----BEGIN nonsense"},
        "GITHUB_APP_ID is set without a key": {"GITHUB_APP_ID": APP_ID},
        "GITHUB_APP_ID: not set": {"GITHUB_APP_PRIVATE_KEY": private},
        "GITHUB_APP_INSTALLATION_ID": {**env, "GITHUB_APP_INSTALLATION_ID": "5,x"},
    }
    for expected, case in cases.items():
        with pytest.raises(ConfigError) as info:
            load_settings(case)
        message = str(info.value)
        assert expected in message and "\n" not in message and "BEGIN" not in message, message


def test_a_jwt_refused_for_its_times_even_by_githubs_clock_says_how_far_off_this_clock_is() -> None:
    time = FakeTime()
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        # GitHub's clock is 400 s behind ours, and it refuses every JWT for its `iat` all the same.
        claims = jwt.decode(
            request.headers["authorization"].removeprefix("Bearer "),
            key_pair()[1],
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False},
        )
        seen.append(claims)
        date = format_datetime(datetime.fromtimestamp(time.now - 400, UTC), usegmt=True)
        message = "'Issued at' claim ('iat') must be an Integer representing a time in the past"
        return httpx.Response(401, json={"message": message}, headers={"date": date})

    with pytest.raises(BadCredentials) as info:
        run(handler, lambda gh: gh.fetch_repository(NAME), time=time, settings=app_settings())
    message = str(info.value)
    assert "the clock of this machine is 400 s off GitHub's (ahead)" in message, message
    assert "GITHUB_APP_ID" not in message and "\n" not in message
    # Signed by our clock first, then once more by GitHub's (from its Date header), then no more.
    assert [c["iat"] - START for c in seen] == [-60, -460]
