"""SIGINT and SIGTERM for the offline commands: the work in progress is cancelled, so its cleanup runs,
and the command exits 128 + the signal number with one line, as a shell reports a signal."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any


class SignalReceived(Exception):
    """`until_signal` stopped its work because of this signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Interrupted(Exception):
    """SIGINT or SIGTERM stopped a command; it exits 128 + the signal number, as a shell reports it."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum


async def until_signal(work: Coroutine[Any, Any, Any]) -> Any:
    """`work`'s result; SIGINT or SIGTERM cancels it, so its cleanup runs (worker processes shut down, the
    open transaction rolled back), and then raises SignalReceived."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    try:
        return await task
    except asyncio.CancelledError:
        if not received:
            raise
        raise SignalReceived(received[0]) from None
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
