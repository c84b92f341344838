"""Which credentials the client sends: the token pool, and a GitHub App's installations joining it and
renewing their tokens. Never logs a token; labels say which one (position or installation id)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx

from collector.github.app_auth import AppSession, renew_at
from collector.github.errors import BadCredentials
from collector.github.pacing import MinutePacer
from collector.github.responses import ApiResponse, reset_time
from collector.github.throttle import Throttle
from collector.github.tokens import UNKNOWN_RESET_WAIT, TokenPool, TokenState
from collector.settings import Settings

log = logging.getLogger("collector.github")


def iso(epoch: float) -> str:
    """A Unix time as `YYYY-MM-DD HH:MM:SS UTC`, for messages."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class Credentials:
    """The pool of tokens (and App installations) one client picks from."""

    def __init__(
        self,
        settings: Settings,
        reserve: int,
        http: httpx.AsyncClient,
        throttle: Throttle,
        pacer: MinutePacer,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._throttle = throttle
        # Each token's points per minute stay under GitHub's secondary limits. Clients that run at the
        # same time in one process (a sync's collect then backfill, overlapping daemon jobs) share one
        # pacer: GitHub counts the token's minute, not the client's.
        self._pacer = pacer
        self._announced_wait: dict[str, float] = {}
        self.pool = TokenPool(settings.tokens, reserve)
        self._app = settings.github_app
        self._ready = self._app is None
        self._lock = asyncio.Lock()
        self._renewals: dict[int, asyncio.Lock] = {}
        self._clock = clock
        self._session = AppSession(self._app, settings.api_url, http, clock, sleep) if self._app else None

    @property
    def authenticated(self) -> bool:
        """Whether at least one token (or a GitHub App) was configured."""
        return self.pool.authenticated or self._app is not None

    async def ready(self) -> None:
        """The App's installations join the pool, once: those configured, else every one GitHub lists."""
        if self._ready:
            return
        async with self._lock:
            if self._ready or self._app is None or self._session is None:
                return
            ids = list(self._app.installation_ids) or await self._session.fetch_installation_ids()
            self.pool.add_installations(ids)
            self._ready = True

    async def renew_if_due(self, state: TokenState) -> None:
        """A new token for an App installation whose token is due (one renewal at a time per installation)."""
        if state.installation is None or self._clock() < state.renew_at:
            return
        assert self._session is not None
        lock = self._renewals.setdefault(state.installation, asyncio.Lock())
        async with lock:
            if self._clock() < state.renew_at:
                return  # renewed while this request waited for the lock
            issued = self._clock()
            token, expires_at = await self._session.fetch_installation_token(state.installation)
            state.token, state.renew_at, state.dead = token, renew_at(issued, expires_at), False
            log.info("%s has a new token, valid until %s", state.label, iso(expires_at))

    def stop(self, state: TokenState, response: ApiResponse) -> None:
        """A 401: this credential is not used again; BadCredentials when none is left."""
        state.dead = True
        log.error("%s was refused (401 Bad credentials); it will not be used again", state.label)
        if not all(s.dead for s in self.pool.states):
            return
        if state.anonymous:
            raise BadCredentials(f"{response.url} requires authentication (401); set GITHUB_TOKEN")
        if state.installation is not None:
            raise BadCredentials(
                f"{state.label} was refused (401 Bad credentials) even with a new token, and no other "
                "credential is left; check the App's installation and GITHUB_APP_INSTALLATION_ID",
                url=response.url,
            )
        raise BadCredentials(
            f"{state.label} was refused (401 Bad credentials) and no other token is left; "
            "replace it in GITHUB_TOKEN",
            position=state.position,
            url=response.url,
        )

    async def acquire(self, resource: str, points: int) -> TokenState:
        """A credential with budget for `points` of `resource`, waiting for pauses, pacing and resets."""
        await self.ready()
        while True:
            now = self._clock()
            if self._throttle.paused_until > now:
                await self._throttle.wait(self._throttle.paused_until - now)
                continue
            choice = self.pool.pick(resource, now)
            if isinstance(choice, TokenState):
                pace = self._pacer.delay(choice.key, resource, points, now)
                if pace <= 0:
                    try:
                        await self.renew_if_due(choice)
                    except BaseException:
                        self.pool.release(choice, resource)
                        raise
                    return choice
                # This token's last minute is full: give the pick back and look again when it frees up
                # (another token, or this one a little later).
                self.pool.release(choice, resource)
                self._throttle.stats.paced_seconds += pace
                await self._throttle.wait(pace)
                continue
            if choice - now > 1.0 and self._announced_wait.get(resource) != choice:
                # Once per exhaustion, with the time; short polls while requests are in flight say nothing.
                self._announced_wait[resource] = choice
                log.warning(
                    "every token's %s budget is spent; sending nothing until %s", resource, iso(choice)
                )
            await self._throttle.wait(max(0.0, choice - now))

    def exhaust(self, state: TokenState, resource: str, response: ApiResponse) -> None:
        """GitHub says this credential's `resource` budget is spent: nothing more until its reset."""
        now = self._clock()
        reset_at = reset_time(response)
        # A reset in the past or not given at all (proxies, odd servers) must neither spin nor hang: look
        # again after a bounded wait, and keep doing so while the answer stays the same.
        if reset_at is None or reset_at <= now:
            reset_at = now + UNKNOWN_RESET_WAIT
        self.pool.exhaust(state, response.headers.get("x-ratelimit-resource") or resource, reset_at)
