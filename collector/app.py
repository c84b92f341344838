"""The composition root: the one place where settings, config, store and GitHub services are built.

Every command and the daemon get an `App`; nothing else constructs an engine, a session factory, a pacer
or a GitHub client. Each service is built on first use, so `collector --help` and `collector report`
never touch GitHub, and a command that needs no store never opens one.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import cached_property

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from collector import __version__
from collector.alerts.webhook import bind_webhooks, webhook_url
from collector.config import Config, load_config
from collector.domain import Holder
from collector.downloads.http import DownloadsHTTP
from collector.errors import StoreUnavailable
from collector.github.api import GitHubAPI
from collector.github.client import GitHubClient
from collector.github.options import ClientOptions
from collector.github.pacing import MinutePacer
from collector.logs import event, get_logger
from collector.service.metrics import Telemetry
from collector.settings import Settings, load_settings, redact_url
from collector.store import migrate
from collector.store.engine import check_connection, make_engine, session_factory
from collector.store.http_cache import StoreCache


class App:
    """Settings and config, read up front; the store and GitHub services, built lazily and once."""

    def __init__(self, settings: Settings | None = None, config: Config | None = None) -> None:
        self.settings = settings or load_settings()
        # Read the config up front so that a broken file is reported by every command, not only some.
        config = config or load_config(self.settings.config_path, required=self.settings.config_explicit)
        # An alert's webhook_env names a variable: its value comes from the settings, here and only here.
        self.config = replace(config, alerts=bind_webhooks(config.alerts, self.settings.environment))
        self.client_options = ClientOptions(**self.config.client)
        self.holder = Holder.for_this_process()  # this process's name in leases and runs
        self._warned_no_token = False

    def secrets(self) -> list[str]:
        """Everything the logs must mask: tokens and App keys (settings), alert webhook URLs and the web
        server's token or password (config)."""
        hooks = (webhook_url(spec) for spec in self.config.alerts.values())
        auth = self.config.server_auth
        web = self.settings.environment.get(auth.env, "") if auth is not None else ""
        return [*self.settings.secrets(), *(url for url in hooks if url), *([web] if web else [])]

    @property
    def where(self) -> str:
        """The store's URL without its password, for messages."""
        return redact_url(self.settings.database_url)

    @cached_property
    def engine(self) -> Engine:
        """The store's engine, checked to answer (else StoreUnavailable, one line)."""
        engine = make_engine(self.settings.database_url)
        check_connection(engine)
        return engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Sessions on a store that is at the current migration (else a clear error)."""
        current = migrate.current_revision(self.engine)
        head = migrate.head_revision(self.engine)
        if current != head:
            raise StoreUnavailable(
                f"the store at {self.where} is at revision {current or 'none'}, this version needs {head}; "
                "run `collector db upgrade`"
            )
        return session_factory(self.engine)

    @cached_property
    def pacer(self) -> MinutePacer:
        """The per-minute pacing every GitHub client of this process shares: GitHub counts the token's
        minute, not the client's (a sync's collect then backfill, overlapping daemon jobs)."""
        return MinutePacer(*self.client_options.pacing())

    @cached_property
    def telemetry(self) -> Telemetry:
        """This process's counters and the store's numbers, as /metrics serves them."""
        telemetry = Telemetry()
        # The store is opened at each scrape, not now: a store that is down makes /metrics a 503, not the
        # service fail to start.
        telemetry.watch_store(lambda: self.sessions, self.config)
        return telemetry

    def github(self) -> GitHubAPI:
        """A GitHub API over a new client (its own connections and stats), with validators and budgets
        kept in the store; use as `async with app.github() as api:`."""
        if not self.settings.tokens and self.settings.github_app is None and not self._warned_no_token:
            self._warned_no_token = True
            event(
                get_logger("github"),
                "no_token",
                logging.WARNING,
                note="no GITHUB_TOKEN or GitHub App: GitHub allows 60 requests an hour and no GraphQL; "
                "set GITHUB_TOKEN to collect more than a few repositories",
            )
        client = GitHubClient(
            self.settings, self.client_options, cache=StoreCache(self.sessions), pacer=self.pacer
        )
        return GitHubAPI(client)

    def downloads_client(self) -> DownloadsHTTP:
        """A client for the package download sources (pypistats.org, npm): its own httpx client, so no
        GitHub token can reach those hosts; use as `async with app.downloads_client() as http:`."""
        client = httpx.AsyncClient(
            headers={"User-Agent": f"collector/{__version__} (package downloads, once a day per package)"},
            timeout=httpx.Timeout(30.0),
            follow_redirects=True,
        )
        return DownloadsHTTP(client, self.settings.pypistats_url, self.settings.npm_downloads_url)
