"""Turns on a shared resource, taken in rotation between clients.

Building sections and putting them into pages is done one piece at a time process-wide
(:mod:`.lazy`).  First come, first served would let one client that opened many heavy pages
at once make everyone else wait for all of them; here each client (a key: its address) has
its own line, and the lines take turns.  Within one client's line the order is kept.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class Turns:
    """An asyncio lock whose waiters are served round-robin by key (FIFO within a key).

    Use ``async with turns.turn(key): ...``; one holder at a time.  For one event loop.
    """

    def __init__(self) -> None:
        self._held = False
        self._lines: OrderedDict[Hashable, deque[asyncio.Future]] = OrderedDict()

    @property
    def waiting(self) -> int:
        """How many wait for a turn (for tests and statistics)."""
        return sum(len(line) for line in self._lines.values())

    @asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[None]:
        if self._held:
            granted = asyncio.get_running_loop().create_future()
            self._lines.setdefault(key, deque()).append(granted)
            try:
                await granted  # set when the turn is handed over: then held for us
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._hand_on()  # handed to us as we were cancelled: pass it on
                raise
        else:
            self._held = True
        try:
            yield
        finally:
            self._hand_on()

    def _hand_on(self) -> None:
        while self._lines:
            key, line = next(iter(self._lines.items()))
            granted = line.popleft()
            del self._lines[key]
            if line:
                self._lines[key] = line  # its next turn comes after every other key's
            if not granted.done():  # a waiter cancelled meanwhile has no turn to take
                granted.set_result(None)
                return
        self._held = False


__all__ = ["Turns"]
