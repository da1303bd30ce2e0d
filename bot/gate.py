"""The corpus gate: digest deliveries and corpus reloads never overlap, yet deliveries overlap each other.

A reader/writer gate on the event loop. Deliveries enter shared (`delivering()`), so a fan-out to hundreds
of channels runs at once; a corpus reload enters exclusively (`reloading()`), after every delivery in
progress has sent its last message, and deliveries that start meanwhile wait for it. A waiting reload
holds back new deliveries (writer preference), so a steady stream of deliveries cannot starve it. A
delivery must not enter the gate again while it holds it: with a reload waiting, the inner entry would wait
for the reload, which waits for the outer one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class CorpusGate:
    """Shared entry for digest deliveries, exclusive and writer-preferring entry for corpus reloads."""

    def __init__(self) -> None:
        self._deliveries = 0
        self._reloading = False
        self._reloads_waiting = 0
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def deliveries_in_progress(self) -> int:
        """How many deliveries hold the gate now (a reload starting now has to wait for them)."""
        return self._deliveries

    @property
    def reloading_now(self) -> bool:
        """Whether a corpus reload holds the gate now (a delivery starting now has to wait for it)."""
        return self._reloading

    @property
    def reloads_waiting(self) -> int:
        """How many reloads wait for the gate (new deliveries wait behind them)."""
        return self._reloads_waiting

    @asynccontextmanager
    async def delivering(self) -> AsyncIterator[None]:
        """Hold the gate shared for one delivery: with other deliveries, never during a reload."""
        await self._wait_until(lambda: not self._reloading and self._reloads_waiting == 0)
        self._deliveries += 1
        try:
            yield
        finally:
            self._deliveries -= 1
            if self._deliveries == 0:
                self._wake()

    @asynccontextmanager
    async def reloading(self) -> AsyncIterator[None]:
        """Hold the gate alone for one corpus reload, once every delivery in progress has finished."""
        self._reloads_waiting += 1
        entered = False
        try:
            await self._wait_until(lambda: not self._reloading and self._deliveries == 0)
            self._reloading = entered = True
        finally:
            self._reloads_waiting -= 1
            if not entered:
                self._wake()  # a cancelled reload no longer holds deliveries back
        try:
            yield
        finally:
            self._reloading = False
            self._wake()

    async def _wait_until(self, may_enter: Callable[[], bool]) -> None:
        """Wait until `may_enter()` holds; the state is only changed without awaiting in between, so the
        caller's entry right after this returns cannot be overtaken."""
        loop = asyncio.get_running_loop()
        while not may_enter():
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def _wake(self) -> None:
        """Let every waiter look at the gate again (each checks its own condition)."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
