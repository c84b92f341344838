"""Which credentials the client sends: the token pool, and a GitHub App's installations joining it,
renewing their tokens and routing each repository to an installation that can see it. Never logs a
token; labels say which one (position or installation id).

Installations that cannot be used (suspended in GitHub's listing, or refused a token with 403 or 404)
are set aside for the pass with one line each; the others carry it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from collector.github.app_auth import AppSession, Installation, InstallationRefused, Routes, renew_at
from collector.github.errors import GitHubError, NoCredentials
from collector.github.pacing import MinutePacer
from collector.github.responses import ApiResponse, reset_time
from collector.github.throttle import Throttle
from collector.github.tokens import UNKNOWN_RESET_WAIT, TokenPool, TokenState
from collector.settings import AppCredentials, Settings, Token

log = logging.getLogger("collector.github")
Allowed = Callable[[TokenState], bool]


def repo_route(url: str, base_path: str = "") -> str | None:
    """The `owner/name` a REST URL is about (`/repos/{owner}/{name}/...`), else None."""
    path = urlsplit(url).path
    parts = path[len(base_path) :].split("/") if path.startswith(base_path) else []
    return f"{parts[2]}/{parts[3]}" if len(parts) > 3 and parts[1] == "repos" and parts[3] else None


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
        self.routes = Routes()
        self.set_aside: dict[int, str] = {}  # installation -> why it sits out this pass

    @property
    def authenticated(self) -> bool:
        """Whether at least one token (or a GitHub App) was configured."""
        return self.pool.authenticated or self._app is not None

    async def ready(self) -> None:
        """The App's installations join the pool, once: those configured, else every one GitHub lists;
        with several, what each can see is learnt so that each repository is asked through one of them."""
        if self._ready:
            return
        async with self._lock:
            if self._ready or self._app is None or self._session is None:
                return
            installations = await self._usable_installations(self._app, self._session)
            self.pool.add_installations([i.id for i in installations])
            self.routes = Routes(installations)
            if len(installations) > 1:
                await self._learn_routes(self._session)
            self._ready = True

    async def _usable_installations(self, app: AppCredentials, session: AppSession) -> list[Installation]:
        configured = app.installation_ids
        found: list[Installation] = []
        if len(configured) == 1:
            found = [Installation(configured[0])]  # nothing to route: no need to look it up
        elif configured:
            for installation in configured:
                try:
                    found.append(await session.fetch_installation(installation))
                except InstallationRefused as exc:
                    self._set_aside(installation, str(exc))
        else:
            found = await session.fetch_installations()
        for inst in found:
            if inst.suspended:
                # Its token exchange would only answer 403 "This installation has been suspended".
                self._set_aside(
                    inst.id, f"{inst.label} is suspended (GitHub lists it with suspended_at); skipped"
                )
        usable = [i for i in found if not i.suspended]
        if not usable:
            reasons = "; ".join(self.set_aside.values())
            raise NoCredentials(f"no installation of GitHub App {app.app_id} can be used: {reasons}")
        return usable

    async def _learn_routes(self, session: AppSession) -> None:
        for state in self.pool.states:
            inst = self.routes.installations.get(state.installation or 0)
            if inst is None or inst.selection != "selected":
                continue  # one on all of its account's repositories is routed by the owner's name
            await self.renew_if_due(state)
            if state.dead or state.token is None:
                continue
            try:
                self.routes.see(inst.id, await session.fetch_installation_repositories(state.token))
            except GitHubError as exc:
                log.warning(
                    "%s: its repositories could not be listed (%s); none is routed to it", inst.label, exc
                )

    def _set_aside(self, installation: int, reason: str) -> None:
        self.set_aside[installation] = reason
        log.warning("%s", reason)

    async def renew_if_due(self, state: TokenState) -> None:
        """A new token for an App installation whose token is due (one renewal at a time per installation)."""
        if state.installation is None or state.dead or self._clock() < state.renew_at:
            return
        await self._renew(state, None)

    async def refused(
        self, state: TokenState, used: Token | None, response: ApiResponse, renewed: bool
    ) -> bool:
        """A 401 for the token `used`. An installation's first: one renewal, shared by every request in
        flight refused with that token (single flight), and True (retry once). Else the credential stops."""
        if state.installation is not None and not renewed:
            await self._renew(state, used)
            return True
        self.stop(state, response)
        return renewed

    async def _renew(self, state: TokenState, refused: Token | None) -> None:
        assert self._session is not None and state.installation is not None
        lock = self._renewals.setdefault(state.installation, asyncio.Lock())
        async with lock:
            if state.dead or (
                state.token is not refused if refused is not None else self._clock() < state.renew_at
            ):
                return  # set aside, or renewed while this request waited for the lock
            issued = self._clock()
            inst = self.routes.installations.get(state.installation)
            try:
                token, expires_at = await self._session.fetch_installation_token(
                    state.installation, inst.label if inst else state.label
                )
            except InstallationRefused as exc:
                state.dead = True
                self._set_aside(state.installation, str(exc))
                return
            state.token, state.renew_at, state.dead = token, renew_at(issued, expires_at), False
            log.info("%s has a new token, valid until %s", state.label, iso(expires_at))

    def route_group(self, full_name: str) -> frozenset[int]:
        """The installations a repository is asked through (empty: any); a GraphQL batch holds one group."""
        return self.routes.candidates(full_name) if len(self.routes.installations) > 1 else frozenset()

    def untried(self, route: str, state: TokenState, tried: frozenset[int]) -> frozenset[int] | None:
        """After a 404 for `route` through an installation that is not known to see it: the installations
        tried so far when another may still see it, else None (the 404 stands)."""
        if state.installation is None or self.route_group(route) or len(self.routes.installations) < 2:
            return None
        tried = tried | {state.installation}
        left = [s for s in self.pool.states if s.installation is not None and not s.dead]
        return tried if any(s.installation not in tried for s in left) else None

    def _allowed(self, route: str | None, tried: frozenset[int]) -> Allowed | None:
        if route is None or len(self.routes.installations) < 2:
            return None
        ids = self.route_group(route)
        if not ids:
            # Known to none: first the installations on all of their account's repositories (GitHub lets
            # them read public repositories), then the others, each once.
            alive = {s.installation for s in self.pool.states if s.installation is not None and not s.dead}
            ids = frozenset(alive & self.routes.unrestricted - tried) or frozenset(alive - tried)
        return lambda s: s.installation is None or s.installation in ids

    def _check_left(self, route: str | None, allowed: Allowed | None) -> None:
        alive = [s for s in self.pool.states if not s.dead]
        if not alive and self.set_aside:
            raise NoCredentials(f"no credential is left: {'; '.join(self.set_aside.values())}")
        if route is not None and allowed is not None and alive and not any(allowed(s) for s in alive):
            ids = self.route_group(route)
            reasons = "; ".join(self.set_aside.get(i, f"installation {i} was refused") for i in sorted(ids))
            raise InstallationRefused(
                f"{route}: every installation that can see it is set aside ({reasons}); "
                "it is collected again on a later pass"
            )

    def stop(self, state: TokenState, response: ApiResponse) -> None:
        """A 401: this credential is not used again; NoCredentials when none is left."""
        state.dead = True
        log.error("%s was refused (401 Bad credentials); it will not be used again", state.label)
        if not all(s.dead for s in self.pool.states):
            return
        if state.anonymous:
            raise NoCredentials(f"{response.url} requires authentication (401); set GITHUB_TOKEN")
        if state.installation is not None:
            raise NoCredentials(
                f"{state.label} was refused (401 Bad credentials) even with a new token, and no other "
                "credential is left; check the App's installation and GITHUB_APP_INSTALLATION_ID",
                url=response.url,
            )
        raise NoCredentials(
            f"{state.label} was refused (401 Bad credentials) and no other token is left; "
            "replace it in GITHUB_TOKEN",
            position=state.position,
            url=response.url,
        )

    async def acquire(
        self, resource: str, points: int, route: str | None = None, tried: frozenset[int] = frozenset()
    ) -> TokenState:
        """A credential with budget for `points` of `resource` (one that can see the repository `route`,
        and none of the installations `tried`), waiting for pauses, pacing and resets."""
        await self.ready()
        while True:
            allowed = self._allowed(route, tried)
            self._check_left(route, allowed)
            now = self._clock()
            if self._throttle.paused_until > now:
                await self._throttle.wait(self._throttle.paused_until - now)
                continue
            choice = self.pool.pick(resource, now, allowed)
            if isinstance(choice, TokenState):
                pace = self._pacer.delay(choice.key, resource, points, now)
                if pace <= 0:
                    try:
                        await self.renew_if_due(choice)
                    except BaseException:
                        self.pool.release(choice, resource)
                        raise
                    if choice.dead:  # set aside while asking its token: look again
                        self.pool.release(choice, resource)
                        continue
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
