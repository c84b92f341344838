"""[server.auth] in the config: who may read the web app when it is exposed beyond a trusted network.

The file names environment variables, never secrets: `token_env` (a bearer token) or `user` and
`password_env` (basic auth); `open` lists the paths served without credentials (health and metrics by
default, so orchestrators and Prometheus need none; an entry ending in / opens everything under it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collector.config_checks import check_keys, expect

DEFAULT_OPEN = ("/healthz", "/readyz", "/metrics")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ServerAuth:
    """[server.auth]: the variable holding the secret, the user for basic auth (None: bearer)."""

    env: str
    user: str | None = None
    open: tuple[str, ...] = DEFAULT_OPEN


def parse_server_auth(path: Path, raw: Any) -> ServerAuth:
    """The [server.auth] table: token_env, or user and password_env; and open."""
    key = "server.auth"
    expect(isinstance(raw, dict), path, key, "a table with token_env, or user and password_env", raw)
    check_keys(path, key, raw, ("token_env", "user", "password_env", "open"))
    bearer, basic = "token_env" in raw, "user" in raw or "password_env" in raw
    expected = 'token_env = "ENV_VAR", or user = "NAME" and password_env = "ENV_VAR"'
    expect(bearer != basic, path, key, expected, sorted(raw))
    env_key = "token_env" if bearer else "password_env"
    env = raw.get(env_key)
    ok = isinstance(env, str) and bool(_ENV_NAME.match(env))
    expect(ok, path, f"{key}.{env_key}", "the name of an environment variable, e.g. COLLECTOR_WEB_TOKEN", env)
    user = raw.get("user")
    if basic:
        ok = isinstance(user, str) and bool(user) and ":" not in user
        expect(ok, path, f"{key}.user", "a user name without ':'", user)
    paths = raw.get("open", list(DEFAULT_OPEN))
    ok = isinstance(paths, list) and all(isinstance(p, str) and p.startswith("/") for p in paths)
    expect(ok, path, f"{key}.open", 'a list of paths such as ["/healthz", "/metrics"]', paths)
    return ServerAuth(env=str(env), user=user, open=tuple(paths))
