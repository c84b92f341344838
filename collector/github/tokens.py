"""Token budgets: which token to use next, and how long to wait when every one is spent.

Budgets come from GitHub's `x-ratelimit-*` headers, per token and resource (`core`, `graphql`). Nothing
here does I/O or sleeps; the client asks `pick()` and waits itself when told to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from collector.domain import BudgetRecord
from collector.github.errors import NoCredentials
from collector.settings import Token

# What GitHub grants per hour when we have not seen a header yet: 5,000 with a token, 60 without.
DEFAULT_LIMIT = 5000
ANONYMOUS_LIMIT = 60
ANONYMOUS_KEY = "anonymous"
UNLIMITED = 10**9  # a server that sends no x-ratelimit headers enforces no primary limit
PENDING_POLL = 0.05  # seconds between looks while every spare request is in flight
UNKNOWN_RESET_WAIT = 60.0  # a budget whose reset time GitHub did not give is looked at again after this


def installation_key(installation: int) -> str:
    """The key naming an App installation in the store: its tokens change hourly, its budget does not."""
    return f"installation:{installation}"


def token_key(token: Token | None) -> str:
    """A one-way key naming a token in the store (http_cache, token_budgets); never the token itself."""
    if token is None:
        return ANONYMOUS_KEY
    # The secret is read here only to hash it: the key survives restarts but cannot be reversed.
    return hashlib.sha256(token.reveal().encode()).hexdigest()[:16]


@dataclass
class Budget:
    """The last `x-ratelimit-*` values seen for one token and resource."""

    limit: int
    remaining: int
    reset_at: float  # epoch seconds; 0 when unknown
    known: bool = False

    def current(self, now: float) -> int:
        """Requests left now: a budget whose reset time has passed is full again."""
        if self.known and self.reset_at and now >= self.reset_at:
            return self.limit
        return self.remaining


@dataclass
class TokenState:
    """One token (or the anonymous caller) with its budgets and requests in flight."""

    token: Token | None
    key: str
    budgets: dict[str, Budget] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    dead: bool = False
    installation: int | None = None  # a GitHub App installation: its token is renewed, the state stays
    renew_at: float = 0.0  # when the installation's token must be renewed (0: it has none yet)

    @property
    def anonymous(self) -> bool:
        return self.token is None and self.installation is None

    @property
    def position(self) -> int | None:
        return None if self.token is None else self.token.position

    @property
    def label(self) -> str:
        if self.installation is not None:
            return f"GitHub App installation {self.installation}"
        return "unauthenticated" if self.token is None else f"GITHUB_TOKEN #{self.token.position}"

    def budget(self, resource: str) -> Budget:
        default = ANONYMOUS_LIMIT if self.anonymous else DEFAULT_LIMIT
        return self.budgets.setdefault(resource, Budget(default, default, 0.0))


class TokenPool:
    """Chooses the token with the most budget left, keeping `reserve` requests per token untouched."""

    def __init__(self, tokens: Sequence[Token], reserve: int = 50) -> None:
        self.states = [TokenState(t, token_key(t)) for t in tokens] or [TokenState(None, ANONYMOUS_KEY)]
        self.reserve = max(0, reserve)
        self.authenticated = bool(tokens)

    def add_installations(self, ids: Sequence[int]) -> None:
        """Add a state per GitHub App installation (budgets are per installation, tokens come and go);
        the anonymous caller goes, since the pool is now authenticated."""
        self.states = [s for s in self.states if not s.anonymous]
        self.states += [TokenState(None, installation_key(i), installation=i) for i in ids]
        self.authenticated = True

    def _reserve_for(self, state: TokenState, budget: Budget) -> int:
        # The anonymous 60/h is too small to keep a reserve; a token keeps at most a tenth of its limit
        # so that small GHES or test limits stay usable.
        if state.anonymous:
            return 0
        return min(self.reserve, budget.limit // 10)

    def available(self, state: TokenState, resource: str, now: float) -> int:
        """Requests this token may still send for `resource`, after the reserve and those in flight."""
        budget = state.budget(resource)
        pending = state.pending.get(resource, 0)
        if not budget.known:
            # Until GitHub's headers tell us the budget: assume the usual one (so an unused token is
            # preferred), but send one request at a time, so a small budget is learnt before overspent.
            return budget.limit - self._reserve_for(state, budget) if pending == 0 else 0
        return budget.current(now) - self._reserve_for(state, budget) - pending

    def pick(
        self, resource: str, now: float, allowed: Callable[[TokenState], bool] | None = None
    ) -> TokenState | float:
        """The token to use now (among those `allowed`, when given), or the epoch time of the earliest
        reset when every such token is spent."""
        alive = [s for s in self.states if not s.dead]
        if not alive:
            if all(s.installation is None for s in self.states):
                positions = ", ".join(f"#{s.position}" for s in self.states)
                raise NoCredentials(
                    f"every token in GITHUB_TOKEN ({positions}) was refused with 401 Bad credentials; "
                    "replace them and retry",
                    position=self.states[-1].position,
                )
            labels = ", ".join(s.label for s in self.states)
            raise NoCredentials(
                f"every credential was refused with 401 Bad credentials ({labels}); check GITHUB_TOKEN and "
                "the GitHub App settings",
                position=self.states[-1].position,
            )
        alive = [s for s in alive if allowed(s)] if allowed is not None else alive
        if not alive:
            return now + UNKNOWN_RESET_WAIT  # the caller checks that some credential is allowed first
        best = max(alive, key=lambda s: self.available(s, resource, now))
        if self.available(best, resource, now) > 0:
            best.pending[resource] = best.pending.get(resource, 0) + 1
            return best
        if any(s.pending.get(resource, 0) for s in alive):
            # The budget left is held by requests in flight: their answers free it (or tell us it is
            # spent), so look again shortly rather than sleep until a reset that may already be past.
            return now + PENDING_POLL
        resets = [s.budget(resource).reset_at for s in alive if s.budget(resource).reset_at > now]
        # A second past the reset, as clocks differ; no reset time known (no header seen): a minute.
        return min(resets) + 1.0 if resets else now + 60.0

    def release(self, state: TokenState, resource: str) -> None:
        """A request picked for `resource` is finished (answered or failed)."""
        state.pending[resource] = max(0, state.pending.get(resource, 0) - 1)

    def observe(self, state: TokenState, resource: str, headers: Mapping[str, str], now: float) -> str:
        """Update the budget from `x-ratelimit-*` headers; returns the resource they name."""
        resource = headers.get("x-ratelimit-resource") or resource
        try:
            limit = int(headers["x-ratelimit-limit"])
            remaining = int(headers["x-ratelimit-remaining"])
        except (KeyError, ValueError):
            # GHES with rate limits off sends no such headers: nothing limits us, so stop probing.
            if resource not in state.budgets or not state.budgets[resource].known:
                state.budgets[resource] = Budget(UNLIMITED, UNLIMITED, 0.0, known=True)
            return resource
        try:
            reset_at = float(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            # A budget without a reset time (proxies, odd servers) is looked at again after a bounded
            # wait instead of being taken as spent forever.
            reset_at = now + UNKNOWN_RESET_WAIT
        seen = state.budgets.get(resource)
        if seen is not None and seen.known:
            # Concurrent answers arrive out of order: within one window the budget only goes down,
            # and an answer from an earlier window says nothing about the current one.
            if reset_at < seen.reset_at:
                return resource
            if reset_at == seen.reset_at:
                remaining = min(remaining, seen.remaining)
        state.budgets[resource] = Budget(limit, remaining, reset_at, known=True)
        return resource

    def exhaust(self, state: TokenState, resource: str, reset_at: float) -> None:
        """Mark a budget spent until `reset_at` (a 403/429 or GraphQL RATE_LIMITED said so)."""
        budget = state.budget(resource)
        state.budgets[resource] = Budget(budget.limit, 0, reset_at, known=True)

    def records(self) -> list[BudgetRecord]:
        """The known budgets of real tokens, for `token_budgets`."""
        out = []
        for state in self.states:
            if state.anonymous:
                continue
            for resource, b in sorted(state.budgets.items()):
                if b.known and b.limit < UNLIMITED:
                    reset = datetime.fromtimestamp(b.reset_at, UTC)
                    position = state.token.position if state.installation is None and state.token else 0
                    out.append(BudgetRecord(state.key, position, resource, b.limit, b.remaining, reset))
        return out
