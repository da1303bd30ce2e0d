"""The Discord side of the bot: a `commands.Bot` subclass built from the config by `create_bot`.

`digestbot run` and the end-to-end tests build the same bot. Start-up (`setup_hook`, run by `login`):
open the database (migrations), refresh the corpus (a refused load or a bad file is logged, never fatal),
load the extensions in `EXTENSIONS` (one failing is logged and recorded without stopping the others), learn
the application's operators (read again every hour and on `/admin sync`), then sync application commands
if they changed (see bot/discord/sync.py).

Cogs register their application commands globally in the tree; where they are synced to (each home guild,
or globally) is decided at sync time, and discord.py finds guild-synced commands in the global registry
(`fallback_to_global`), so the tree never needs per-guild copies.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands
from discord.ext import commands

from bot import clock as default_clock
from bot.config import Config
from bot.delivery import DeliveryPolicy, DigestRunner
from bot.discord.sync import SyncPlan, SyncState, fingerprint, plan_sync
from bot.discord.ui.errors import report_interaction_error
from bot.fair import LookupLimits
from bot.gate import CorpusGate
from bot.ops.health import HEARTBEAT_INTERVAL_SECONDS, Heartbeat, heartbeat_path, write_heartbeat
from bot.permissions import application_operator_ids
from bot.scheduler import DigestScheduler
from bot.shards import IdentifyPacer, ShardSlice
from bot.store import digests as store_digests
from bot.store.articles import current_load_seq
from bot.store.cluster_loads import cluster_load_seq
from bot.store.db import Database
from bot.store.loader import LoadRefused, load_corpus

log = logging.getLogger(__name__)

#: Extensions loaded at start-up, in order (`bot.discord.cogs.admin` first: other cogs add subgroups to
#: /admin).
EXTENSIONS: list[str] = [
    "bot.discord.cogs.admin",
    "bot.discord.cogs.about",
    "bot.discord.cogs.lookup",
    "bot.discord.cogs.events",
    "bot.discord.cogs.admin_ops",
    "bot.discord.cogs.admin_digests",
    "bot.discord.cogs.admin_settings",
    "bot.discord.cogs.digests",
]

SYNC_STATE_KEY = "commands.sync"
#: In a cluster, how often a process looks for a corpus load announced by another one.
CLUSTER_FOLLOW_SECONDS = 5.0
#: How often the application's operators are read again from Discord: a member removed from the team, or
#: moved to read-only, loses the operator's rights within this many seconds, without a restart.
OPERATOR_REFRESH_SECONDS = 3600.0


#: A request Discord rate-limits for longer than this raises instead of holding its caller (publishing in an
#: announcement channel can be held back for up to an hour; the run goes on and publishes later).
MAX_RATE_LIMIT_WAIT = 60.0


def minimal_intents() -> discord.Intents:
    """Guild events only: slash commands need nothing else, and no privileged intent is requested."""
    intents = discord.Intents.none()
    intents.guilds = True
    return intents


def use_api_base(api_base: str | None) -> None:
    """Send REST requests to `{api_base}/api/v10` (an HTTP proxy for Discord, or an emulator).

    discord.py keeps the REST base in the class attribute `Route.BASE`, so this is process-wide: every
    client in this process uses it. None leaves discord.py's default alone.
    """
    if api_base is not None:
        discord.http.Route.BASE = f"{api_base}/api/v10"


class DigestTree(app_commands.CommandTree["DigestBot"]):
    """The command tree, with one error handler for every command (after Red's `RedTree`)."""

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError, /
    ) -> None:
        await report_interaction_error(interaction, error)


@dataclass
class SyncReport:
    """What a sync did: commands synced per target ("global" or a guild id), cleared targets, and why."""

    reason: str
    synced: dict[str, int] = field(default_factory=dict)
    cleared: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def did_sync(self) -> bool:
        return bool(self.synced or self.cleared or self.failed)


class DigestBot(commands.AutoShardedBot):
    """The bot. `config` is the configuration in force, `db` the store (open after `setup_hook`), `now()`
    the clock our own logic uses, `failed_extensions` maps an extension that did not load to why.

    Sharded: with `discord.shard_count` unset it runs every shard Discord recommends in this process;
    with `discord.shard_ids` it runs that slice of a cluster (see bot/shards.py for who owns what)."""

    tree: DigestTree  # type: ignore[assignment]

    def __init__(
        self, config: Config, *, clock: Callable[[], datetime] | None = None, force_sync: bool = False
    ) -> None:
        shard_ids = config.discord.shard_ids
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=minimal_intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=DigestTree,
            max_ratelimit_timeout=MAX_RATE_LIMIT_WAIT,
            shard_count=config.discord.shard_count,
            shard_ids=None if shard_ids is None else list(shard_ids),
        )
        self.config = config
        self.now: Callable[[], datetime] = clock or default_clock.now
        self.force_sync = force_sync
        self.started_at = self.now()
        self.failed_extensions: dict[str, str] = {}
        self.application_operator_ids: frozenset[int] = frozenset()
        self.operator_refresh_seconds = OPERATOR_REFRESH_SECONDS
        self._db: Database | None = None
        self.digest_scheduler: DigestScheduler | None = None
        self.digest_runner: DigestRunner | None = None
        #: Digest deliveries hold it shared from the claim to their last message, corpus reloads (the admin
        #: command and the folder watcher) exclusively: a reload waits for the deliveries in progress and a
        #: delivery starting during a reload waits for it, while deliveries still run side by side.
        self.corpus_gate = CorpusGate()
        #: One cooldown bucket per member across every lookup, and the heavy queries in flight.
        self.lookup_limits = LookupLimits(lambda: self.config.lookups, self.now)
        self._background: set[asyncio.Task[Any]] = set()
        #: The newest cluster corpus load this process refused to follow: it is not tried again.
        self._followed_load = 0
        self._identify_pacer: IdentifyPacer | None = None

    @property
    def shard_slice(self) -> ShardSlice:
        """The shards this process runs (known from the config, or from `/gateway/bot` at start-up)."""
        if self.shard_count is None:
            raise RuntimeError("the shard count is learnt by setup_hook; the bot has not logged in yet")
        ids = self.shard_ids if self.shard_ids is not None else range(self.shard_count)
        return ShardSlice(tuple(sorted(ids)), self.shard_count)

    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError("the database is opened by setup_hook; the bot has not logged in yet")
        return self._db

    # --- start-up ---------------------------------------------------------------------------------

    async def login(self, token: str) -> None:
        """Log in (running `setup_hook`) against `discord.api_base` when set."""
        use_api_base(self.config.discord.api_base)
        await super().login(token)

    async def learn_gateway(self) -> None:
        """Ask `GET /gateway/bot` once: the recommended shard count (when none is configured), the identify
        concurrency, and, with `discord.api_base` set, the gateway URL (discord.py would otherwise connect
        to Discord's own gateway)."""
        shard_count, url, limits = await self.http.get_bot_gateway()
        if self.shard_count is None:
            self.shard_count = shard_count
            log.info("Discord recommends %d shard(s): running them all in this process", shard_count)
        self._identify_pacer = IdentifyPacer(int(limits.get("max_concurrency", 1)))
        if self.config.discord.api_base is not None:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
            log.info("gateway from %s: %s", self.config.discord.api_base, url)
        log.info("this process runs %s", self.shard_slice.describe())

    async def setup_hook(self) -> None:
        await self.learn_gateway()
        self._db = await Database.open(
            self.config.database.path, create=True, state_url=self.config.database.url
        )
        await self.refresh_corpus()
        self.db.keep_vocabulary()
        await self.load_extensions()
        if self.application is not None:
            self.application_operator_ids = application_operator_ids(self.application)
        self.spawn(self._refresh_operators_periodically(), name="digestbot-operators")
        await self.sync_commands(force=self.force_sync)
        await self.sync_config_digests()
        pace = DeliveryPolicy(messages_per_second=self.config.delivery.messages_per_second)
        self.digest_runner = DigestRunner(self, pace)
        self.digest_scheduler = DigestScheduler(self, self.digest_runner)
        await self.digest_scheduler.start()
        self.spawn(self._heartbeat(), name="digestbot-heartbeat")
        if not self.db.state.beside_corpus:
            self.spawn(self._follow_cluster_loads(), name="digestbot-cluster-loads")

    async def refresh_operators(self) -> frozenset[int]:
        """Ask Discord who the application's operators are now; when Discord does not answer, the last
        known operators stay (the next refresh tries again)."""
        try:
            application = await self.application_info()
        except discord.HTTPException as error:
            log.warning("could not read the application's team from Discord: %s %s", error.status, error.text)
            return self.application_operator_ids
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            log.warning("could not read the application's team from Discord: %s", type(error).__name__)
            return self.application_operator_ids
        operators = application_operator_ids(application)
        if operators != self.application_operator_ids:
            log.info("application operators changed: %s", sorted(operators))
        self.application_operator_ids = operators
        return operators

    async def _refresh_operators_periodically(self) -> None:
        while not self.is_closed():
            await asyncio.sleep(self.operator_refresh_seconds)
            await self.refresh_operators()

    async def resolve_digest_guilds(self) -> None:
        """Record the server of each digest that has none yet (config digests name only a channel), asking
        Discord for the channel: a process must know a digest's server to know whether it owns it, and the
        channel may be on another process's shards. A channel Discord will not show stays unresolved (its
        digest belongs to shard 0, whose process pauses it at its first run with the reason)."""
        for record in await store_digests.list_digests(self.db):
            if record.guild_id is not None:
                continue
            try:
                channel = await self.fetch_channel(record.channel_id)
            except discord.HTTPException as error:
                log.warning("digest %r: cannot see channel %d (%s %s); its server stays unknown",
                            record.name, record.channel_id, error.status, error.text or error)
                continue
            guild = getattr(channel, "guild", None)  # a direct-message channel has none
            if guild is not None:
                await store_digests.set_guild(self.db, record.key, guild.id)
                log.info("digest %r: channel %d is in server %d", record.name, record.channel_id, guild.id)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait for this shard's identify turn: Discord allows one identify per 5 s in each of
        `max_concurrency` buckets (discord.py's default waits 5 s before every shard but the first)."""
        if self._identify_pacer is None:
            self._identify_pacer = IdentifyPacer((await self.fetch_session_start_limits()).max_concurrency)
        wait = self._identify_pacer.delay(shard_id or 0, asyncio.get_running_loop().time())
        if wait > 0:
            await asyncio.sleep(wait)

    async def sync_config_digests(self) -> None:
        """Config digests are created the first time the running bot sees them (their watermark starts
        here); changed ones are updated and removed ones dropped. Digests created from Discord stay."""
        changes = await store_digests.sync_config_digests(self.db, self.config.digests, now=self.now())
        if changes.added or changes.changed or changes.removed:
            log.info("digests from the config: added %s, changed %s, removed %s",
                     changes.added, changes.changed, changes.removed)
        for name in changes.conflicts:
            log.warning("config digest %r is not applied: a digest created from Discord has that name", name)
        await self.resolve_digest_guilds()

    async def refresh_corpus(self) -> None:
        """Bring the store up to date with the corpus folder; the articles already stored keep being served
        when the load is refused or fails."""
        corpus = self.config.corpus
        try:
            report = await load_corpus(
                self.db, corpus.path, max_file_bytes=corpus.max_file_bytes, now=self.now(),
                follow=await cluster_load_seq(self.db),
            )
        except LoadRefused as error:
            log.warning("corpus not refreshed, serving the articles already stored: %s", error)
            return
        except Exception:
            log.exception("corpus load from %s failed; serving the articles already stored", corpus.path)
            return
        if report.rejected:
            names = ", ".join(rejection.file for rejection in report.rejected[:10])
            more = f" and {len(report.rejected) - 10} more" if len(report.rejected) > 10 else ""
            log.warning("corpus: %d file(s) rejected at start-up: %s%s", len(report.rejected), names, more)
        for warning in report.warnings:
            log.info("corpus: value dropped, article kept: %s", warning)

    async def follow_cluster_load(self) -> bool:
        """In a cluster: reload the corpus under the number of a load another process announced, when it
        is newer than this process's latest (after the deliveries in progress, like any reload). True when
        a load was applied."""
        latest = await cluster_load_seq(self.db)
        if latest is None or latest <= max(self._followed_load, await current_load_seq(self.db)):
            return False
        corpus = self.config.corpus
        async with self.corpus_gate.reloading():
            try:
                report = await load_corpus(
                    self.db, corpus.path, max_file_bytes=corpus.max_file_bytes, now=self.now(), follow=latest
                )
            except LoadRefused as error:
                self._followed_load = latest
                log.warning("corpus load %d of the cluster not followed: %s", latest, error)
                return False
        log.info("corpus load %d of the cluster followed: %d added, %d updated, %d removed",
                 latest, report.added, report.updated, report.removed)
        return True

    async def _follow_cluster_loads(self) -> None:
        while not self.is_closed():
            await asyncio.sleep(CLUSTER_FOLLOW_SECONDS)
            try:
                await self.follow_cluster_load()
            except Exception:
                log.exception("following the cluster's corpus loads failed; trying again")

    async def load_extensions(self) -> None:
        for name in EXTENSIONS:
            try:
                await self.load_extension(name)
            except commands.ExtensionError as error:
                cause = error.__cause__ or error
                self.failed_extensions[name] = f"{type(cause).__name__}: {cause}"
                log.error("extension %s failed to load", name, exc_info=cause)
            else:
                log.debug("extension %s loaded", name)

    # --- command sync -----------------------------------------------------------------------------

    def command_payloads(self) -> list[dict[str, Any]]:
        """What a sync sends: every command in the tree as Discord's JSON."""
        return [command.to_dict(self.tree) for command in self.tree._get_all_commands(guild=None)]

    async def sync_commands(self, *, force: bool = False) -> SyncReport:
        """Sync application commands where the config says, if they changed since the last sync (or
        `force`); never while an extension failed to load. Records the new state when every request went
        through, so a partly failed sync is retried on the next start."""
        if self.application_id is None:
            raise RuntimeError("cannot sync commands before login: the application id is unknown")
        guild_ids = self.config.discord.guild_ids
        payloads = self.command_payloads()
        current = fingerprint(payloads, self.application_id, guild_ids)
        previous = SyncState.from_json(await self.db.get_state(SYNC_STATE_KEY))
        plan = plan_sync(
            guild_ids=guild_ids, current=current, previous=previous,
            failed_extensions=self.failed_extensions, force=force,
        )
        if not plan.needed:
            log.log(logging.WARNING if self.failed_extensions else logging.INFO, "commands: %s", plan.reason)
            return SyncReport(reason=plan.reason)
        report = await self._execute(plan, payloads)
        if not report.failed:
            synced = SyncState(current, tuple(dict.fromkeys(guild_ids)))
            await self.db.set_state(SYNC_STATE_KEY, synced.to_json())
        return report

    async def _execute(self, plan: SyncPlan, payloads: list[dict[str, Any]]) -> SyncReport:
        app_id = self.application_id
        assert app_id is not None
        report = SyncReport(reason=plan.reason)
        requests: list[tuple[str, Coroutine[Any, Any, Any], bool]] = []
        if plan.push_global:
            requests.append(("global", self.http.bulk_upsert_global_commands(app_id, payload=payloads), True))
        if plan.clear_global:
            requests.append(("global", self.http.bulk_upsert_global_commands(app_id, payload=[]), False))
        for guild_id in plan.push_guilds:
            upsert = self.http.bulk_upsert_guild_commands(app_id, guild_id, payload=payloads)
            requests.append((str(guild_id), upsert, True))
        for guild_id in plan.clear_guilds:
            upsert = self.http.bulk_upsert_guild_commands(app_id, guild_id, payload=[])
            requests.append((str(guild_id), upsert, False))
        for target, request, pushing in requests:
            try:
                synced = await request
            except discord.HTTPException as error:
                report.failed[target] = f"{error.status} {error.text or error}"
                log.error("commands: sync to %s failed: %s", target, report.failed[target])
                continue
            if pushing:
                report.synced[target] = len(synced)
            else:
                report.cleared.append(target)
        log.info(
            "commands (%s): synced %s; cleared %s",
            plan.reason,
            ", ".join(f"{count} to {target}" for target, count in report.synced.items()) or "nothing",
            ", ".join(report.cleared) or "nothing",
        )
        return report

    # --- background work and shutdown -------------------------------------------------------------

    def spawn(self, coroutine: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run `coroutine` in the background until it ends or the bot closes (then it is cancelled)."""
        task = asyncio.create_task(coroutine, name=name)
        self._background.add(task)
        task.add_done_callback(self._background_done)
        return task

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    def heartbeat_path(self) -> Path:
        return heartbeat_path(self.config.database.path, os.environ)

    async def database_ok(self) -> bool:
        try:
            async with self.db.read() as conn, conn.execute("SELECT 1") as cursor:
                corpus_ok = await cursor.fetchone() == (1,)
            async with self.db.state.read() as state:
                return corpus_ok and await state.fetchone("SELECT 1") == (1,)
        except Exception as error:
            log.warning("database check failed: %s", error)
            return False

    def shards_connected(self) -> bool:
        """Whether every shard of this process has a live gateway connection."""
        shards = self.shards
        return bool(shards) and not any(shard.is_closed() for shard in shards.values())

    async def write_heartbeat(self, *, stopped: bool = False) -> None:
        """Write the health file `digestbot health` reads: time, gateway connection and latency, database,
        and with `stopped`, that the bot has shut down."""
        connected = not stopped and self.is_ready() and self.shards_connected() and not self.is_closed()
        latency = self.latency
        beat = Heartbeat(
            written_at=self.now(),
            gateway_connected=connected,
            latency_ms=round(latency * 1000, 1) if connected and math.isfinite(latency) else None,
            database_ok=not stopped and await self.database_ok(),
            pid=os.getpid(),
            stopped=stopped,
        )
        await asyncio.to_thread(write_heartbeat, self.heartbeat_path(), beat)

    async def _heartbeat(self) -> None:
        """Refresh the health file every HEARTBEAT_INTERVAL_SECONDS once connected (stale means unhealthy)."""
        await self.wait_until_ready()
        while not self.is_closed():
            try:
                await self.write_heartbeat()
            except OSError as error:
                log.warning("could not write the heartbeat file %s: %s", self.heartbeat_path(), error)
            await asyncio.sleep(HEARTBEAT_INTERVAL_SECONDS)

    async def close(self) -> None:
        """Stop background work, unload the cogs, log out, close the database (its connection threads would
        otherwise keep the process alive), then mark the heartbeat stopped so `health` fails at once."""
        if self.digest_scheduler is not None:
            await self.digest_scheduler.stop()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await super().close()
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()
        if self.heartbeat_path().exists():
            try:
                await self.write_heartbeat(stopped=True)
            except OSError as error:
                log.warning("could not mark the heartbeat file %s stopped: %s", self.heartbeat_path(), error)


def create_bot(
    config: Config, *, clock: Callable[[], datetime] | None = None, force_sync: bool = False
) -> DigestBot:
    """The bot for `config`; `clock` replaces bot.clock.now for its own logic, `force_sync` syncs the
    application commands even when they look unchanged (`digestbot run --sync`)."""
    return DigestBot(config, clock=clock, force_sync=force_sync)
