"""APScheduler as an alarm clock for digests.

The database decides what is due (bot/delivery.py `DigestRunner.reconcile`); APScheduler only wakes the
bot at each digest's cron times so posts go out on the minute. A process schedules only the digests it owns
(their server is on its shards, bot/shards.py); the others are its cluster peers' to post. A sweep every
minute reconciles every digest anyway (catching anything an alarm missed: a busy loop, a clock jump, a
digest changed from another process), re-syncs the alarms with the stored digests and prunes the delivery
and audit logs by age (`limits.delivery_log_days`, `limits.audit_log_days`). Start-up reconciles
everything once, which is how slots missed during downtime are dealt with.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Config
from bot.digest.schedule import ScheduleError, cron_trigger, parse_cron, zone
from bot.shards import ShardSlice, owned_names
from bot.store import audit_log, runs
from bot.store import digests as store
from bot.store.db import Database

log = logging.getLogger(__name__)

SWEEP_JOB = "digest-sweep"
ALARM_PREFIX = "digest:"
SWEEP_SECONDS = 60


class SchedulerHost(Protocol):
    """What the scheduler needs of the process it runs in (the client provides it)."""

    db: Database
    config: Config

    @property
    def shard_slice(self) -> ShardSlice: ...

    def now(self) -> datetime: ...


class Runner(Protocol):
    """Runs digests on request (bot/delivery.py `DigestRunner`): the scheduler only says which and when."""

    def request(self, key: str) -> None: ...


class DigestScheduler:
    """Owns the APScheduler instance and wakes the runner; `start()` inside the running event loop."""

    def __init__(self, bot: SchedulerHost, runner: Runner) -> None:
        self.bot = bot
        self.runner = runner
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._alarms: dict[str, tuple[str, str]] = {}

    async def start(self) -> None:
        """Start the alarms and the sweep, then reconcile every digest once (downtime, crashed runs)."""
        self._scheduler.start()
        self._scheduler.add_job(
            self.sweep, IntervalTrigger(seconds=SWEEP_SECONDS, timezone=UTC), id=SWEEP_JOB,
            coalesce=True, max_instances=1, misfire_grace_time=None,
        )
        keys = await self.refresh()
        for key in keys:
            self.runner.request(key)
        log.info("digest scheduler started: %d digest(s)", len(keys))

    async def stop(self) -> None:
        """Stop the alarms; deliveries in progress are cancelled with the bot's background tasks and
        resume from the ledger on the next start."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def refresh(self) -> list[str]:
        """Make the alarms match the stored digests this process owns (those whose server is on its
        shards; call after a digest is created, changed or deleted); returns the owned digests' keys."""
        records = await store.list_digests(self.bot.db)
        owned = set(owned_names(((record.key, record.guild_id) for record in records), self.bot.shard_slice))
        wanted: dict[str, tuple[str, str]] = {}
        for record in records:
            if record.key in owned:
                wanted[record.key] = (record.settings.schedule, record.settings.timezone)
        for key in set(self._alarms) - set(wanted):
            self._scheduler.remove_job(ALARM_PREFIX + key)
            del self._alarms[key]
        for key, (schedule, timezone) in wanted.items():
            if self._alarms.get(key) == (schedule, timezone):
                continue
            try:
                trigger = cron_trigger(parse_cron(schedule), zone(timezone))
            except ScheduleError as error:
                log.error("digest %r: no alarm for schedule %r in %s: %s", key, schedule, timezone, error)
                continue
            self._scheduler.add_job(
                self._alarm, trigger, args=[key], id=ALARM_PREFIX + key, replace_existing=True,
                coalesce=True, max_instances=1, misfire_grace_time=None,
            )
            self._alarms[key] = (schedule, timezone)
        return list(wanted)

    async def _alarm(self, key: str) -> None:
        self.runner.request(key)

    async def sweep(self) -> None:
        """Re-sync the alarms, reconcile every digest (each in its own task) and prune the delivery and
        audit logs."""
        try:
            for key in await self.refresh():
                self.runner.request(key)
            limits = self.bot.config.limits
            await runs.prune_log(self.bot.db, now=self.bot.now(), keep_days=limits.delivery_log_days)
            await audit_log.prune_audit(self.bot.db, now=self.bot.now(), keep_days=limits.audit_log_days)
        except Exception:
            log.exception("digest sweep failed; the next one tries again")
