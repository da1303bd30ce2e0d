"""Watching the corpus folder: reload automatically when its files change, once per burst of writes.

Polling the folder's listing — each corpus file's (name, size, mtime_ns) — every fraction of a second is
cheap, portable (bind mounts and network shares included, where inotify stays silent) and needs no extra
dependency. The `Debouncer` turns those snapshots into reload decisions: a change starts a quiet period,
every further change restarts it, and the reload comes once the folder has been still for the whole
period. A folder that ends up exactly as it was at the last reload triggers nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.store.loader import CORPUS_SUFFIXES

log = logging.getLogger(__name__)

#: The folder as the watcher sees it: (name, size, mtime_ns) of every corpus file; None when it is missing.
Snapshot = frozenset[tuple[str, int, int]] | None

#: Look at the folder at least this often; shorter quiet periods poll more often.
MAX_POLL_SECONDS = 1.0


def snapshot(folder: Path) -> Snapshot:
    """The corpus files directly in `folder` (the same selection the loader reads), or None if the folder
    cannot be listed."""
    entries: set[tuple[str, int, int]] = set()
    try:
        with os.scandir(folder) as listing:
            for entry in listing:
                if entry.name.startswith(".") or not entry.name.endswith(CORPUS_SUFFIXES):
                    continue
                try:
                    stat = entry.stat()
                except OSError:
                    continue
                entries.add((entry.name, stat.st_size, stat.st_mtime_ns))
    except OSError:
        return None
    return frozenset(entries)


class Debouncer:
    """Decides when a changing folder has settled. Pure: the caller supplies snapshots and times."""

    def __init__(self, baseline: Snapshot) -> None:
        self.baseline = baseline
        self.last_seen = baseline
        self.changed_at: float | None = None

    def observe(self, seen: Snapshot, at: float, quiet_seconds: float) -> bool:
        """Record the folder as `seen` at time `at`; True when a reload is due now (the folder differs from
        the last reload's and has not changed for `quiet_seconds`)."""
        if seen != self.last_seen:
            self.last_seen = seen
            self.changed_at = at
            return False
        if self.changed_at is None or at - self.changed_at < quiet_seconds:
            return False
        self.changed_at = None
        if seen == self.baseline:
            return False
        self.baseline = seen
        return True

    def reset(self, baseline: Snapshot) -> None:
        """Start over from `baseline` (the watched folder moved)."""
        self.baseline = self.last_seen = baseline
        self.changed_at = None


class CorpusWatcher:
    """Polls the corpus folder and calls `reload` once per settled burst of changes.

    `folder` and `quiet_seconds` are read on every poll, so a config reload that moves the folder or
    changes the debounce takes effect at once; a moved folder becomes the new baseline without a reload.
    `clock`, `sleep` and `scan` are injectable for tests.
    """

    def __init__(
        self,
        *,
        folder: Callable[[], Path],
        quiet_seconds: Callable[[], float],
        reload: Callable[[], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        scan: Callable[[Path], Snapshot] = snapshot,
    ) -> None:
        self.folder = folder
        self.quiet_seconds = quiet_seconds
        self.reload = reload
        self.clock = clock
        self.sleep = sleep
        self.scan = scan
        self.stopped = False

    def poll_seconds(self) -> float:
        return min(MAX_POLL_SECONDS, self.quiet_seconds() / 2)

    def stop(self) -> None:
        """End `run` after the current poll."""
        self.stopped = True

    async def run(self) -> None:
        """Watch until stopped or cancelled. A failing reload is logged and the watch goes on; it is not
        retried until the folder changes again (a reload that keeps failing must not run in a loop)."""
        folder = self.folder()
        debouncer = Debouncer(await asyncio.to_thread(self.scan, folder))
        log.info(
            "watching corpus folder %s (reload after %.1fs without changes)", folder, self.quiet_seconds()
        )
        while not self.stopped:
            await self.sleep(self.poll_seconds())
            if self.stopped:
                break
            current = self.folder()
            seen = await asyncio.to_thread(self.scan, current)
            if current != folder:
                log.info("corpus folder is now %s; watching it instead of %s", current, folder)
                folder = current
                debouncer.reset(seen)
                continue
            if not debouncer.observe(seen, self.clock(), self.quiet_seconds()):
                continue
            log.info("corpus folder %s changed: reloading", folder)
            try:
                await self.reload()
            except Exception:
                log.exception("automatic reload of the corpus folder %s failed", folder)
