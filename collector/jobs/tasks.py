"""Running a job's concurrent parts so that one failing stops the others."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def gather_or_cancel(parts: Iterable[Awaitable[T]]) -> list[T]:
    """Await all parts; if one raises (or we are cancelled), cancel and await the rest, then re-raise.

    Plain asyncio.gather leaves the siblings of a failed task running: when the store goes away they
    could still write after their leases were given back, and a retry would do the work twice.
    """
    tasks = [asyncio.ensure_future(part) for part in parts]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
