"""GitHub App authentication in the simulator: the App, its JWTs and its installation tokens.

An App signs a JWT with RS256 (`iat`, `exp`, `iss`) and trades it at
`POST /app/installations/{id}/access_tokens` for an installation token (`ghs_...`) that expires after
an hour; an expired token gets 401. Docs, under apps/creating-github-apps/authenticating-with-a-github-app/:
generating-a-json-web-token-jwt-for-a-github-app, generating-an-installation-access-token-for-a-github-app.
"""

from __future__ import annotations

import functools
import json
import math
import random
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

JWT_MAX_LIFETIME = 600  # "exp ... must be no more than 10 minutes into the future" (docs)
TOKEN_CHARS = string.ascii_letters + string.digits
PERMISSIONS = {"metadata": "read", "contents": "read"}

# GitHub's words for a refused JWT, as clients recorded them (401 unless noted):
# A wrong key or signature (reproduced by GitHub staff in actions/create-github-app-token #153):
NOT_DECODED = "A JSON web token could not be decoded"
NO_INTEGRATION = "Integration not found"  # 404: `iss` names no App (issc29/probot-prevent-public-repos #4)
ISS_NOT_INTEGER = "'Issuer' claim ('iss') must be an Integer"  # actions/create-github-app-token #386
EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"  # octokit/auth-app.js #698
EXP_NOT_FUTURE = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at which "
    "the assertion expires"
)
IAT_INVALID = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
)
# An `iat` ahead of GitHub's clock, as GitHub words it today (the older wording above is for a non-integer).
IAT_FUTURE = "'Issued at' claim ('iat') must be an Integer representing a time in the past"
# 403 on the token exchange of a suspended installation (octokit/octokit.rb #1307, ossf/allstar #314).
SUSPENDED = "This installation has been suspended"
SUSPENDED_AT = "2024-06-01T12:00:00Z"


@dataclass(frozen=True)
class SimInstallation:
    """One installation of the App on an account; `repos` None means all of its repositories.

    A suspended installation is still listed (with `suspended_at`) but gets no token."""

    id: int
    account: str
    repos: tuple[str, ...] | None = None
    suspended: bool = False


@dataclass(frozen=True)
class SimApp:
    """A GitHub App: ids, its RSA key pair (PEM) and where it is installed."""

    app_id: int
    client_id: str
    private_key_pem: str
    public_key_pem: str
    installations: tuple[SimInstallation, ...]

    def __repr__(self) -> str:  # keep the private key out of logs and assertion messages
        ids = [i.id for i in self.installations]
        return f"SimApp(app_id={self.app_id}, client_id={self.client_id!r}, installations={ids})"


def make_test_app(
    app_id: int = 424242, installation_ids: Sequence[int] = (5550001,), *, seed: int | None = None
) -> SimApp:
    """An App with a fresh RSA 2048 key pair; the same arguments give the same App (keys are slow to make).

    `seed` only tells Apps apart (another seed: another key pair and client id, e.g. for a wrong-key test).
    """
    return _make_app(app_id, tuple(installation_ids), seed)


@functools.cache
def _make_app(app_id: int, installation_ids: tuple[int, ...], seed: int | None) -> SimApp:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem, traditional = serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL
    private = key.private_bytes(pem, traditional, serialization.NoEncryption())
    public = key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    rng = random.Random(f"{app_id}:{seed}") if seed is not None else random.SystemRandom()
    client_id = "Iv23li" + "".join(rng.choice("0123456789abcdef") for _ in range(14))
    accounts = ["acme", *(f"acme{n}" for n in range(2, len(installation_ids) + 1))]
    installations = tuple(SimInstallation(i, a) for i, a in zip(installation_ids, accounts, strict=True))
    return SimApp(app_id, client_id, private.decode(), public.decode(), installations)


def looks_like_jwt(token: str) -> bool:
    """Whether a bearer credential is a JWT (three base64url parts, a JSON header) rather than a token."""
    return token.count(".") == 2 and token.startswith("eyJ")


@dataclass(frozen=True)
class Refusal:
    """Why a JWT was refused: the status and GitHub's message."""

    status: int
    message: str


@dataclass
class IssuedToken:
    """An installation token the simulator handed out."""

    token: str
    installation_id: int
    expires_at: int  # epoch seconds; refused from this moment on

    def __repr__(self) -> str:
        return f"IssuedToken(installation_id={self.installation_id}, expires_at={self.expires_at})"


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


class AppAuth:
    """The App's side of GitHub: checks JWTs, issues installation tokens and recognises them later."""

    def __init__(
        self, app: SimApp | None, token_seconds: float = 3600.0, revoke_after: int | None = None
    ) -> None:
        self.app = app
        self.token_seconds = token_seconds
        # A test hook: every installation token is revoked once, right after this many requests made
        # with one (GitHub revoking tokens in the middle of a run, several requests in flight).
        self.revoke_after = revoke_after
        self.token_requests = 0
        self._key: rsa.RSAPublicKey | None = None
        if app is not None:
            key = serialization.load_pem_public_key(app.public_key_pem.encode())
            if not isinstance(key, rsa.RSAPublicKey):
                raise ValueError("a GitHub App's key is an RSA key")
            self._key = key
        self._issued: dict[str, IssuedToken] = {}

    def installation(self, installation_id: int) -> SimInstallation | None:
        """The App's installation with this id, if any."""
        if self.app is None:
            return None
        return next((i for i in self.app.installations if i.id == installation_id), None)

    # --- JWTs -----------------------------------------------------------------------------------

    def check_jwt(self, token: str, now: float) -> Refusal | None:
        """None if GitHub would accept this JWT now, else why not (checked in the order GitHub reports)."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.PyJWS().decode_complete(token, options={"verify_signature": False})
            claims = json.loads(unverified["payload"])
        except (jwt.PyJWTError, ValueError):
            return Refusal(401, NOT_DECODED)
        if not isinstance(claims, dict) or header.get("alg") != "RS256":
            return Refusal(401, NOT_DECODED)
        refused = self._check_issuer(claims.get("iss"))
        if refused is not None:
            return refused
        try:
            if self._key is None:
                return Refusal(404, NO_INTEGRATION)
            jwt.PyJWS().decode_complete(token, key=self._key, algorithms=["RS256"])
        except jwt.PyJWTError:
            return Refusal(401, NOT_DECODED)  # signed with another key (actions/create-github-app-token #153)
        # `exp` is judged against GitHub's clock, not `iat`: the docs' own example signs iat = now - 60 and
        # exp = now + 600. A clock running ahead trips `exp` first (octokit/auth-app.js #698).
        exp, iat = claims.get("exp"), claims.get("iat")
        if not _number(exp) or exp <= now:
            return Refusal(401, EXP_NOT_FUTURE)
        if exp > now + JWT_MAX_LIFETIME:
            return Refusal(401, EXP_TOO_FAR)
        # An `iat` in GitHub's future is refused outright; the docs recommend 60 s in the past for drift.
        if not _number(iat):
            return Refusal(401, IAT_INVALID)
        if iat > now:
            return Refusal(401, IAT_FUTURE)
        return None

    def _check_issuer(self, iss: Any) -> Refusal | None:
        app = self.app
        if isinstance(iss, str) and iss.isdigit():
            iss = int(iss)
        if isinstance(iss, int) and not isinstance(iss, bool):
            return None if app is not None and iss == app.app_id else Refusal(404, NO_INTEGRATION)
        if isinstance(iss, str) and iss.startswith("Iv"):  # a client id (recommended by the docs since 2024)
            return None if app is not None and iss == app.client_id else Refusal(404, NO_INTEGRATION)
        return Refusal(401, ISS_NOT_INTEGER)

    # --- installation tokens --------------------------------------------------------------------

    def issue(self, installation_id: int, now: float) -> IssuedToken:
        """A new installation token, valid for `token_seconds` (whole seconds, as `expires_at` shows)."""
        token = "ghs_" + "".join(secrets.choice(TOKEN_CHARS) for _ in range(36))
        issued = IssuedToken(token, installation_id, math.floor(now + self.token_seconds))
        self._issued[token] = issued
        return issued

    def check_token(self, token: str, now: float) -> tuple[str | None, str | None]:
        """(rate-limit key, refusal) for a bearer token.

        A live installation token: ("installation:<id>", None); expired: (None, "expired"); a `ghs_`
        token this App never issued: (None, "unknown"); anything else (a personal token): (None, None).
        """
        issued = self._issued.get(token)
        if issued is None:
            return None, ("unknown" if self.app is not None and token.startswith("ghs_") else None)
        if now >= issued.expires_at:
            return None, "expired"
        self.token_requests += 1
        if self.token_requests == self.revoke_after:
            self.revoke_all()
        return f"installation:{issued.installation_id}", None

    def revoke(self, token: str) -> bool:
        """Forget an installation token (DELETE /installation/token); True if it was one."""
        return self._issued.pop(token, None) is not None

    def revoke_all(self, installation_id: int | None = None) -> int:
        """Revoke every token issued (to one installation): requests in flight keep their answer, the
        next ones get 401 Bad credentials. Returns how many were revoked."""
        gone = [t for t, i in self._issued.items() if installation_id in (None, i.installation_id)]
        for token in gone:
            del self._issued[token]
        return len(gone)

    def visible(self, key: str) -> tuple[str, ...] | None:
        """The repositories (lower-case full names) an installation's key may see; None: no limit."""
        if not key.startswith("installation:"):
            return None
        found = self.installation(int(key.removeprefix("installation:")))
        return None if found is None or found.repos is None else tuple(r.lower() for r in found.repos)

    def covers(self, key: str, full_name: str) -> bool:
        """Whether the installation behind a rate-limit key may see this repository."""
        repos = self.visible(key)
        return repos is None or full_name.lower() in repos
