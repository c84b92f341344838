"""Answers kept for as long as the HTTP answers say they may be reused.

A page or an API call computes its numbers from the whole store (a ranking of 10,000 repositories at a
date takes about a second), while the store changes once per collection pass. Every 200 answer already
tells browsers and proxies that they may reuse it for 60 s (`Cache-Control: public, max-age=60`); the
server keeps it for the same 60 s, so that visitors behind different browsers share one computation
instead of each paying for it. An answer is never older than what a browser would show from its own
cache. Refusals and errors are never kept: a fix shows on the next request. `[server] cache_seconds`
shortens the 60 s (0: every answer is computed, for those who want each write shown at once).

(Keying answers by the store's version instead would be exact, but PostgreSQL offers no per-database
version that is cheap, immediate and free of locks for writers: the current snapshot moves with every
write to any database of the server, and the statistics counters lag by up to seconds.)
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from collector.service.http import Reply

KEEP_SECONDS = 60.0  # the pages' and the API's max-age
MAX_BYTES = 64 << 20  # kept answers in all; the least recently used go first
MAX_ANSWER = 4 << 20  # an answer larger than this is not kept (a 10,000-row ranking is about 1 MB)


def now() -> float:
    """Seconds on a clock that only goes forward (looked up on each use: tests move it)."""
    return time.monotonic()


class AnswerCache:
    """200 answers by key for `keep` seconds, the least recently used dropped past `max_bytes`; `served`
    hears how each answer was served ("kept" or "computed")."""

    def __init__(
        self,
        keep: float = KEEP_SECONDS,
        max_bytes: int = MAX_BYTES,
        served: Callable[[str], None] = lambda how: None,
    ) -> None:
        self._keep, self._max_bytes, self._served = keep, max_bytes, served
        self._entries: OrderedDict[Hashable, tuple[float, Reply]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def answer(self, key: Hashable, compute: Callable[[], Reply]) -> Reply:
        """The answer kept for `key` if it is fresh, else `compute()`'s (kept if a 200)."""
        asked = now()
        with self._lock:
            kept = self._entries.get(key)
            if kept is not None and asked - kept[0] < self._keep:
                self._entries.move_to_end(key)
                self._served("kept")
                return kept[1]
        self._served("computed")
        reply = compute()  # outside the lock: other answers are served meanwhile
        if self._keep > 0 and reply.status == 200 and len(reply.body) <= min(MAX_ANSWER, self._max_bytes):
            self._put(key, asked, reply)
        return reply

    def _put(self, key: Hashable, at: float, reply: Reply) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1].body)
            self._entries[key] = (at, reply)
            self._bytes += len(reply.body)
            while self._bytes > self._max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)
