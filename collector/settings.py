"""The one settings object. Nothing else in the package reads the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from collector.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///collector.db"
DEFAULT_API_URL = "https://api.github.com"
DEFAULT_CONFIG_NAME = "collector.toml"
# The stores collector runs on (URL schemes as SQLAlchemy spells them), and how a user writes each.
DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
DATABASE_EXAMPLES = "sqlite:///PATH or postgresql://USER@HOST/DB"


class Token:
    """A GitHub token whose value never shows in `repr()`, `str()`, logs or tracebacks."""

    __slots__ = ("_value", "position")

    def __init__(self, value: str, position: int) -> None:
        self._value = value
        self.position = position  # 1-based position in GITHUB_TOKEN, the only way we name a token

    def reveal(self) -> str:
        """The secret itself: call only where the Authorization header is built."""
        return self._value

    def __repr__(self) -> str:
        return f"Token(#{self.position})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Token) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class AppKey:
    """A GitHub App's private key: never in `repr()`, `str()`, logs or tracebacks."""

    __slots__ = ("_pem",)

    def __init__(self, pem: str) -> None:
        self._pem = pem

    def reveal(self) -> str:
        """The PEM text: call only where a JWT is signed."""
        return self._pem

    def __repr__(self) -> str:
        return "AppKey(***)"

    __str__ = __repr__


class Environment(Mapping[str, str]):
    """The environment as the settings were read from it, read-only: where a variable that the config
    names is looked up (an alert's `webhook_env`). Its values may be secrets, so `repr()` shows none."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Environment({len(self._values)} variables)"

    __str__ = __repr__


@dataclass(frozen=True)
class AppCredentials:
    """A GitHub App: its id (or client id), private key, and the installations to collect with
    (empty: every installation `GET /app/installations` lists)."""

    app_id: str
    key: AppKey
    installation_ids: tuple[int, ...] = ()


def _parse_app(env: Mapping[str, str], here: Path) -> AppCredentials | None:
    app_id = (env.get("GITHUB_APP_ID") or "").strip()
    pem, key_file = env.get("GITHUB_APP_PRIVATE_KEY"), env.get("GITHUB_APP_PRIVATE_KEY_FILE")
    installations = (env.get("GITHUB_APP_INSTALLATION_ID") or "").strip()
    if not app_id:
        if pem or key_file or installations:
            raise ConfigError("GITHUB_APP_ID: not set, but other GITHUB_APP_* settings are; set the App's id")
        return None
    if not app_id.replace("Iv", "", 1).isalnum():
        raise ConfigError(f"GITHUB_APP_ID: {app_id!r} is not an App id or client id; expected e.g. 123456")
    if pem and key_file:
        raise ConfigError("GITHUB_APP_PRIVATE_KEY and GITHUB_APP_PRIVATE_KEY_FILE are both set; keep one")
    setting = "GITHUB_APP_PRIVATE_KEY"
    if key_file:
        setting = "GITHUB_APP_PRIVATE_KEY_FILE"
        path = Path(key_file) if Path(key_file).is_absolute() else here / key_file
        try:
            pem = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise ConfigError(f"{setting}: {path} cannot be read ({reason})") from None
    if not pem:
        raise ConfigError(
            "GITHUB_APP_ID is set without a key; set GITHUB_APP_PRIVATE_KEY (the PEM text) or "
            "GITHUB_APP_PRIVATE_KEY_FILE (its path)"
        )
    pem = pem.replace("\\n", "\n")  # a key pasted into one environment line, with literal \n
    _check_private_key(setting, pem)
    ids: list[int] = []
    for part in installations.split(",") if installations else ():
        if not part.strip().isdigit():
            raise ConfigError(
                f"GITHUB_APP_INSTALLATION_ID: {part.strip()!r} is not an installation id; expected numbers "
                "separated by commas"
            )
        ids.append(int(part))
    return AppCredentials(app_id, AppKey(pem), tuple(ids))


def _check_private_key(setting: str, pem: str) -> None:
    """A one-line error naming the setting (never the key) when `pem` is not an RSA private key."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(
            f"{setting}: not an unencrypted RSA private key in PEM form; use the .pem file GitHub generated "
            "for the App"
        )


def _parse_tokens(raw: str | None) -> tuple[Token, ...]:
    if not raw:
        return ()
    values = [part.strip() for part in raw.split(",")]
    tokens = []
    for position, value in enumerate(values, start=1):
        if not value:
            raise ConfigError(
                f"GITHUB_TOKEN: entry #{position} is empty; expected tokens separated by single commas"
            )
        if any(ch.isspace() or not ch.isprintable() for ch in value):
            raise ConfigError(
                f"GITHUB_TOKEN: entry #{position} contains whitespace or control characters; "
                "expected a plain token"
            )
        tokens.append(Token(value, position))
    return tuple(tokens)


def _check_http_url(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}: {url!r} is not an http(s) URL; expected e.g. https://api.github.com")
    return url.rstrip("/")


def default_graphql_url(api_url: str) -> str:
    """GraphQL endpoint for a REST base: `{base}/graphql`, or `https://HOST/api/graphql` for GHES."""
    parts = urlsplit(api_url)
    path = parts.path.rstrip("/")
    if path.endswith("/api/v3"):
        return urlunsplit((parts.scheme, parts.netloc, path[: -len("/v3")] + "/graphql", "", ""))
    return api_url.rstrip("/") + "/graphql"


@dataclass(frozen=True)
class Settings:
    """Everything configurable through the environment."""

    database_url: str = DEFAULT_DATABASE_URL
    tokens: tuple[Token, ...] = ()
    api_url: str = DEFAULT_API_URL
    graphql_url: str = DEFAULT_API_URL + "/graphql"
    config_path: Path | None = None
    config_explicit: bool = False
    api_version: str = "2022-11-28"
    star_history_api_version: str = "2026-03-10"
    log_format: str = "kv"
    github_app: AppCredentials | None = None
    # Package download sources (a mirror, or the simulator); never sent a GitHub token.
    pypistats_url: str = "https://pypistats.org"
    npm_downloads_url: str = "https://api.npmjs.org"
    # Not compared: two settings alike in every value above are the same settings whatever else is set.
    environment: Environment = field(default_factory=Environment, compare=False)

    def for_reading(self) -> Settings:
        """These settings for a command that only reads the store (see `read_only_url`)."""
        return replace(self, database_url=read_only_url(self.database_url))

    def secrets(self) -> list[str]:
        """Every secret configured (tokens, the App's key), for the log formatter to mask."""
        key = [self.github_app.key.reveal()] if self.github_app else []
        return [t.reveal() for t in self.tokens] + key

    def __repr__(self) -> str:
        # Tokens render as Token(#n); the database URL may carry a password, so hide it.
        return (
            f"Settings(database_url={redact_url(self.database_url)!r}, tokens={list(self.tokens)!r}, "
            f"api_url={self.api_url!r}, graphql_url={self.graphql_url!r}, config_path={self.config_path!r})"
        )


def _default_config(candidate: Path) -> Path | None:
    """The config file in the working directory when there is one (a link to a missing file: none), or one
    line when this user may not look (the container's uid cannot read a mounted config directory)."""
    try:
        return candidate if candidate.exists() else None
    except OSError as exc:
        raise ConfigError(
            f"{candidate}: cannot be read ({exc.strerror}); make the file and its directory readable by "
            "the user collector runs as (uid 1000 in the image)"
        ) from exc


def supported_database_url(url: str) -> str:
    """`url` as the store's engine takes it (postgresql:// and postgres:// with psycopg 3, the driver we
    ship, where SQLAlchemy would ask for psycopg2); ConfigError naming the supported ones for any other."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    scheme, found, _ = url.partition("://")
    if not found or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        # Not a URL (libpq's "host=... password=...", a forgotten scheme): nothing of it is shown, since
        # where a password lies in it is unknown.
        raise ConfigError(
            f"COLLECTOR_DATABASE_URL is not a URL (expected SCHEME://...); use {DATABASE_EXAMPLES}"
        )
    if scheme.lower() not in DATABASE_SCHEMES:
        # Only the scheme is shown: the rest of the URL may hold a password.
        raise ConfigError(
            f"COLLECTOR_DATABASE_URL: {scheme}:// is not supported; collector stores its data in SQLite or "
            f"PostgreSQL: use {DATABASE_EXAMPLES}"
        )
    return url


def redact_url(url: str) -> str:
    """A database URL with any password shown as *** (SQLAlchemy renders it; a URL it cannot parse is
    cut to its scheme, since where its password lies is unknown); a SQLite file as `sqlite:///PATH`."""
    path = sqlite_path(url)
    if path is not None:
        return f"sqlite:///{path}"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url.split(":", 1)[0] + "://..." if ":" in url else url


def _sqlite_url(url: str) -> URL | None:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    return parsed if parsed.get_backend_name() == "sqlite" else None


def sqlite_path(url: str) -> str | None:
    """The file a SQLite URL names, as written (relative to the working directory, or absolute); None for
    other databases and in-memory ones."""
    parsed = _sqlite_url(url)
    database = parsed.database if parsed is not None else None
    if parsed is not None and database and parsed.query.get("uri") == "true":
        database = unquote(database.removeprefix("file:").split("?", 1)[0])
    return database if database and database != ":memory:" else None


def is_read_only_url(url: str) -> bool:
    """Whether `url` opens a SQLite file read-only (`read_only_url`)."""
    parsed = _sqlite_url(url)
    return parsed is not None and parsed.query.get("mode") == "ro"


def read_only_url(url: str) -> str:
    """`url` for a command that only reads: a SQLite file marked `mode=ro`, which `store.engine.make_engine`
    never creates or writes. PostgreSQL URLs are unchanged (see `collector db create-reader-role`)."""
    parsed, path = _sqlite_url(url), sqlite_path(url)
    if parsed is None or path is None:
        return url
    query = {**parsed.query, "mode": "ro", "uri": "true"}
    return parsed.set(database=f"file:{quote(path)}", query=query).render_as_string(hide_password=False)


def load_settings(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Read the settings from the environment (or the mapping given), validating every value."""
    env = os.environ if environ is None else environ
    here = cwd or Path.cwd()
    database_url = env.get("COLLECTOR_DATABASE_URL") or DEFAULT_DATABASE_URL
    database_url = supported_database_url(database_url)  # also: not a URL at all, shown in no part
    api_url = _check_http_url("GITHUB_API_URL", env.get("GITHUB_API_URL") or DEFAULT_API_URL)
    graphql_raw = env.get("GITHUB_GRAPHQL_URL")
    graphql_url = (
        _check_http_url("GITHUB_GRAPHQL_URL", graphql_raw) if graphql_raw else default_graphql_url(api_url)
    )
    config_raw = env.get("COLLECTOR_CONFIG")
    config_path: Path | None
    if config_raw:
        given = Path(config_raw)
        config_path = given if given.is_absolute() else here / given
    else:
        config_path = _default_config(here / DEFAULT_CONFIG_NAME)
    log_format = (env.get("COLLECTOR_LOG_FORMAT") or "kv").lower()
    if log_format not in ("kv", "json"):
        raise ConfigError(f"COLLECTOR_LOG_FORMAT: {log_format!r} is not valid; expected kv or json")
    api_version = env.get("GITHUB_API_VERSION") or "2022-11-28"
    return Settings(
        database_url=database_url,
        tokens=_parse_tokens(env.get("GITHUB_TOKEN")),
        api_url=api_url,
        graphql_url=graphql_url,
        config_path=config_path,
        config_explicit=bool(config_raw),
        api_version=api_version,
        log_format=log_format,
        github_app=_parse_app(env, here),
        pypistats_url=_check_http_url("PYPISTATS_URL", env.get("PYPISTATS_URL") or "https://pypistats.org"),
        npm_downloads_url=_check_http_url(
            "NPM_DOWNLOADS_URL", env.get("NPM_DOWNLOADS_URL") or "https://api.npmjs.org"
        ),
        environment=Environment(env),
    )
