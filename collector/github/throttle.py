"""How fast the client may go: the in-flight cap, the process-wide pause on a secondary limit, backoff.

GitHub asks clients that hit a secondary limit to slow down [D-SEC]: the cap halves on each one and grows
back by one after a run of clean answers, and every request pauses, not only the one that was refused.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from collector.github.responses import ClientStats

log = logging.getLogger("collector.github")

CLEAN_ANSWERS_TO_GROW = 20  # answers without a secondary limit before one more request may fly
SECONDARY_MAX_WAIT = 900.0
BACKOFF_MAX = 60.0


class Throttle:
    """Shared by every request of one client."""

    def __init__(
        self,
        concurrency: int,
        stats: ClientStats,
        *,
        sleep: Callable[[float], Awaitable[None]],
        clock: Callable[[], float],
        secondary_wait: float,
        backoff_base: float,
        seed: int | None,
    ) -> None:
        self.concurrency = concurrency
        self.stats = stats
        self.paused_until = 0.0
        self._sleep = sleep
        self._clock = clock
        self._secondary_wait = secondary_wait
        self._backoff_base = backoff_base
        self._random = random.Random(seed)
        self._allowed = concurrency
        self._in_flight = 0
        self._clean_answers = 0
        self._secondary_streak = 0
        self._gate = asyncio.Condition()

    async def enter(self) -> None:
        """Wait for a slot under the current cap."""
        async with self._gate:
            await self._gate.wait_for(lambda: self._in_flight < self._allowed)
            self._in_flight += 1

    async def leave(self) -> None:
        """Give the slot back."""
        async with self._gate:
            self._in_flight -= 1
            self._gate.notify_all()

    def answered_cleanly(self) -> None:
        """An answer without a secondary limit: the streak ends; enough of them raise the cap again."""
        self._secondary_streak = 0
        self._clean_answers += 1
        if self._allowed < self.concurrency and self._clean_answers >= CLEAN_ANSWERS_TO_GROW:
            self._allowed += 1
            self._clean_answers = 0

    def pause(self, url: str, retry_after: str | None) -> None:
        """A secondary limit: pause every request (retry-after, else a growing wait) and halve the cap."""
        self.stats.retries += 1
        now = self._clock()
        if now < self.paused_until:
            return  # sent before the pause began: the pause already covers it
        try:
            delay = float(retry_after) if retry_after is not None else -1.0
        except ValueError:
            delay = -1.0
        self._secondary_streak += 1
        if delay < 0:
            # GitHub: without retry-after wait at least a minute, and back off exponentially while the
            # limit repeats [D-SEC]. The streak ends with the next clean answer.
            delay = min(SECONDARY_MAX_WAIT, self._secondary_wait * 2 ** (self._secondary_streak - 1))
        # Continuing while limited can get an integration banned [D-SEC].
        self.paused_until = now + delay
        self._allowed = max(1, self._allowed // 2)
        self._clean_answers = 0
        log.warning("secondary rate limit on %s; pausing all requests for %.0fs", url, delay)

    async def backoff(self, attempt: int, failure: str | None = None) -> None:
        """Wait before retrying a 5xx, a timeout or a cut body: exponential, with jitter. A `failure` (no
        route to GitHub, a dropped connection) is logged at each attempt: a stuck pass must not be silent."""
        self.stats.retries += 1
        base = min(BACKOFF_MAX, self._backoff_base * 2 ** (attempt - 1))
        delay = base * (0.5 + self._random.random() / 2)
        if failure is not None:
            log.warning("%s; attempt %d, retrying in %.0fs", failure, attempt, delay)
        await self.wait(delay)

    async def wait(self, seconds: float) -> None:
        """Sleep through the injected `sleep`, counted in the stats."""
        if seconds > 0:
            self.stats.waited_seconds += seconds
            await self._sleep(seconds)
        await asyncio.sleep(0)  # let requests in flight finish, whatever `sleep` was injected
