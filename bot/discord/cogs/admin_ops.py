"""`/admin reload corpus|config|extension` and `/admin status`: running the bot without restarting it.

- `reload corpus` (bot-wide) applies the corpus folder through the same atomic load as `digestbot load`,
  waiting for the digest deliveries in progress (`bot.corpus_gate`); a load that looks like a mistake (more
  than half the articles gone, an empty folder) is refused unless forced, a missing folder always.
- `reload config` (bot-wide) re-reads the config file and applies what can apply live; an invalid file
  changes nothing.
- `reload extension` (operators) reloads a cog's code; discord.py puts the old module back when the new
  one fails, so a failure keeps the old code running.
- `status` (server admins) shows the bot's health and this server's digests.

With `corpus.watch` the corpus folder is watched (bot/ops/watch.py) and reloaded by the same path, never
forced.
Every reload and every refusal is audited (bot/ops/audit.py); `status` is read-only and is not.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.announce import log_channel
from bot.cli_text import format_load_report, load_report_json
from bot.compose import next_run
from bot.config import Config, ConfigError, load_config
from bot.config_diff import ConfigDiff, applicable_config, change_record, config_changes, format_value
from bot.corpus.model import LoadReport
from bot.discord.client import DigestBot
from bot.discord.cogs.admin import admin_group
from bot.discord.ui import replies
from bot.discord.ui.choices import matching_names
from bot.guild_digests import guild_digests
from bot.log_routing import Subject
from bot.logs import apply_levels
from bot.ops.audit import APPLIED, FAILED, REFUSED, UNCHANGED, AuditEvent, audit
from bot.ops.watch import CorpusWatcher
from bot.permissions import AdminOnly, bot_wide_admin, guild_admin, operator_only
from bot.render.embeds import BRAND_COLOR, notice
from bot.render.message import message
from bot.render.status import DigestStatus, ShardStatus, StatusData, status_embed
from bot.render.text import DESCRIPTION_LIMIT, FIELD_VALUE_LIMIT, clean, code, truncate
from bot.shards import shard_of
from bot.store.articles import corpus_stats
from bot.store.digests import ConfigDigestChanges, sync_config_digests
from bot.store.loader import LoadRefused, load_corpus
from bot.store.runs import delivery_log

log = logging.getLogger(__name__)

ADMIN_EXTENSION = "bot.discord.cogs.admin"
#: Rejected files listed in the reply; more go to the attached report.
REJECTED_SHOWN = 10
REJECTED_LINE_LIMIT = 200
VALUE_SHOWN_LIMIT = 120
WAITING_FOR_DELIVERY = "Waiting for a digest delivery to finish…"
#: The loader's refusals end with advice for the command line; the Discord reply gives its own.
_CLI_FORCE_HINT = re.compile(r";? ?use --force to [^;]*$")


# --- pure: what the replies say -----------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusReload:
    """How a corpus reload ended: a report when applied, else why it was refused or failed."""

    folder: Path
    forced: bool
    report: LoadReport | None = None
    refused: str | None = None
    failed: str | None = None

    @property
    def outcome(self) -> str:
        if self.refused is not None:
            return REFUSED
        if self.failed is not None or self.report is None:
            return FAILED
        report = self.report
        return APPLIED if report.added or report.updated or report.removed else UNCHANGED

    def summary(self) -> str:
        """One paragraph for the log and the log channel."""
        if self.refused is not None:
            return f"Not reloaded: {self.refused}"
        if self.failed is not None or self.report is None:
            return f"Reload failed: {self.failed}"
        return counts_line(self.report)

    def audit_after(self) -> dict[str, Any]:
        if self.report is None:
            return {"refused": self.refused} if self.refused is not None else {"failed": self.failed}
        report = load_report_json(self.report)
        report["rejected"] = len(self.report.rejected)
        report["duplicates"] = len(self.report.duplicates)
        report["forced"] = self.forced
        return report


def counts_line(report: LoadReport) -> str:
    return (
        f"Load #{report.load}: {report.articles:,} articles in service — {report.added} added, "
        f"{report.updated} updated, {report.removed} removed, {report.unchanged} unchanged, "
        f"{len(report.rejected)} rejected."
    )


def _rejected_lines(report: LoadReport) -> list[str]:
    lines = []
    for rejection in report.rejected[:REJECTED_SHOWN]:
        kept = " (its last good version stays in service)" if rejection.kept_previous else ""
        line = f"{code(rejection.file)}: {clean(rejection.reason)}{kept}"
        lines.append(truncate(line, REJECTED_LINE_LIMIT))
    return lines


def corpus_reload_reply(result: CorpusReload) -> tuple[dict[str, Any], bool]:
    """The reply to `/admin reload corpus`, and whether the full load report should be attached (more
    rejected files than the reply lists, or a list that does not fit)."""
    if result.refused is not None:
        reason = _CLI_FORCE_HINT.sub("", result.refused).rstrip(". ")
        text = (
            f"**The corpus was not reloaded**: {clean(reason)}.\n"
            "Nothing changed; the articles in service stay."
        )
        if result.folder.is_dir():
            text += "\nTo apply it anyway: `/admin reload corpus force: True`."
        return message([notice(text, kind="warning")]), False
    if result.failed is not None or result.report is None:
        text = f"**The corpus reload failed** and nothing changed: {clean(result.failed or 'unknown error')}"
        return message([notice(text, kind="error")]), False
    report = result.report
    embed: dict[str, Any] = {
        "title": "Corpus reloaded" + (" (forced)" if result.forced else ""),
        "color": BRAND_COLOR,
        "description": counts_line(report),
    }
    attach = len(report.rejected) > REJECTED_SHOWN
    if report.rejected:
        lines = _rejected_lines(report)
        value = "\n".join(lines)
        if len(value) > FIELD_VALUE_LIMIT:
            attach = True
            while lines and len("\n".join(lines)) > FIELD_VALUE_LIMIT:
                lines.pop()
            value = "\n".join(lines)
        shown = len(lines)
        name = f"Rejected files ({len(report.rejected)})"
        if shown < len(report.rejected):
            name += f" — first {shown}"
        embed["fields"] = [{"name": name, "value": value or "See the attached report.", "inline": False}]
    if attach:
        embed["footer"] = {"text": "The full list is in the attached load report."}
    return message([embed]), attach


def load_report_files(report: LoadReport) -> list[discord.File]:
    """The load report as `digestbot load` prints it, and as its `--json` output."""
    text = format_load_report(report) + "\n"
    data = json.dumps(load_report_json(report), ensure_ascii=False, indent=2) + "\n"
    return [
        discord.File(io.BytesIO(text.encode("utf-8")), filename="load-report.txt"),
        discord.File(io.BytesIO(data.encode("utf-8")), filename="load-report.json"),
    ]


def _value(value: Any) -> str:
    return clean(truncate(format_value(value), VALUE_SHOWN_LIMIT))


def config_reload_text(diff: ConfigDiff, digests: ConfigDigestChanges, source: Path | None) -> str:
    """What `/admin reload config` applied, what waits for a restart, and what needs `/admin sync`."""
    origin = code(str(source)) if source is not None else "the built-in defaults"
    if diff.empty:
        return f"Configuration reloaded from {origin}: nothing changed."
    lines = [f"Configuration reloaded from {origin}."]
    live = [f"• {code(change.key)}: {_value(change.before)} → {_value(change.after)}" for change in diff.live]
    for change in diff.digests:
        if change.name in digests.conflicts:
            continue
        detail = f" ({', '.join(change.keys)})" if change.keys else ""
        live.append(f"• digest {code(change.name)} {change.kind}{detail}")
    if live:
        lines += ["**Applied now**", *live]
    if digests.conflicts:
        names = ", ".join(code(name) for name in digests.conflicts)
        lines.append(f"**Not applied**: digest {names} — a digest created from Discord has that name.")
    if diff.needs_restart:
        lines.append("**Needs a restart** (the running bot keeps the old value)")
        lines += [
            f"• {code(change.key)}: {_value(change.before)} → {_value(change.after)}"
            for change in diff.needs_restart
        ]
    if diff.needs_sync:
        lines.append("The server list changed: run `/admin sync` to move the slash commands.")
    return truncate("\n".join(lines), DESCRIPTION_LIMIT)


def config_error_text(error: ConfigError) -> str:
    where = f" in {code(error.file)}" if error.file else ""
    key = f"{code(error.key)}: " if error.key else ""
    return (
        f"**The configuration was not reloaded**: the file{where} is invalid, so nothing changed.\n"
        f"{key}{clean(error.message)}"
    )


# --- the cog ------------------------------------------------------------------------------------------


class AdminOps(commands.Cog):
    """`/admin reload …` and `/admin status`, plus the corpus folder watcher."""

    reload_group = app_commands.Group(
        name="reload", description="Reload the corpus, the configuration or a cog's code without a restart"
    )

    def __init__(self, bot: DigestBot) -> None:
        self.bot = bot
        self.config_lock = asyncio.Lock()
        self.watcher: CorpusWatcher | None = None
        self.watch_task: asyncio.Task[Any] | None = None

    async def cog_load(self) -> None:
        group = admin_group(self.bot)
        group.add_command(self.reload_group)
        group.add_command(self.status)
        self.update_watcher()

    async def cog_unload(self) -> None:
        for command in (self.reload_group, self.status):
            if command.parent is not None:
                command.parent.remove_command(command.name)
        self.stop_watcher()

    async def cog_app_command_error(
        self, interaction: discord.Interaction[DigestBot], error: app_commands.AppCommandError
    ) -> None:
        """Refused reloads are audited too (the tree's error handler tells the user why)."""
        command = interaction.command
        if not isinstance(error, AdminOnly) or command is None or command.parent is not self.reload_group:
            return
        event = AuditEvent(
            actor_id=interaction.user.id, guild_id=interaction.guild_id, action=f"reload {command.name}",
            target=None, outcome=REFUSED, summary=error.message,
        )
        self.bot.spawn(audit(self.bot, event), name="audit-refusal")

    # --- the corpus -------------------------------------------------------------------------------

    async def reload_corpus_now(
        self, *, force: bool, on_wait: Callable[[], Awaitable[None]] | None = None
    ) -> CorpusReload:
        """Apply the corpus folder through the loader, after any digest delivery in progress."""
        corpus = self.bot.config.corpus
        gate = self.bot.corpus_gate
        if gate.deliveries_in_progress:
            log.info("corpus reload: waiting for %d digest deliveries to finish", gate.deliveries_in_progress)
            if on_wait is not None:
                await on_wait()
        async with gate.reloading():
            try:
                report = await load_corpus(
                    self.bot.db, corpus.path, force=force, max_file_bytes=corpus.max_file_bytes,
                    now=self.bot.now(),
                )
            except LoadRefused as refusal:
                log.warning("corpus reload refused: %s", refusal)
                return CorpusReload(corpus.path, force, refused=str(refusal))
            except Exception as error:
                log.exception("corpus reload from %s failed", corpus.path)
                return CorpusReload(corpus.path, force, failed=f"{type(error).__name__}: {error}")
        return CorpusReload(corpus.path, force, report=report)

    @reload_group.command(name="corpus", description="Re-read the corpus folder and apply what changed")
    @app_commands.describe(
        force="Apply even a load that would remove more than half of the articles or empty the store"
    )
    @bot_wide_admin("reload the corpus")
    async def reload_corpus(self, interaction: discord.Interaction[DigestBot], force: bool = False) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)

        async def say_waiting() -> None:
            await replies.send(interaction, message([notice(WAITING_FOR_DELIVERY)]), ephemeral=True)

        result = await self.reload_corpus_now(force=force, on_wait=say_waiting)
        payload, attach = corpus_reload_reply(result)
        kwargs = replies.message_kwargs(payload)
        if attach and result.report is not None:
            kwargs["attachments"] = load_report_files(result.report)
        await interaction.edit_original_response(**kwargs)
        await audit(self.bot, self._corpus_event(result, interaction))

    def _corpus_event(self, result: CorpusReload, interaction: discord.Interaction[Any] | None) -> AuditEvent:
        report = result.report
        before = None if report is None else {"articles": report.articles - report.added + report.removed}
        return AuditEvent(
            actor_id=None if interaction is None else interaction.user.id,
            guild_id=None if interaction is None else interaction.guild_id,
            action="reload corpus" if interaction is not None else "reload corpus (watch)",
            target=str(result.folder), outcome=result.outcome, summary=result.summary(),
            before=before, after=result.audit_after(),
        )

    async def _watched_reload(self) -> None:
        """The watcher's reload: the same rules, never forced; a refusal is logged and announced."""
        result = await self.reload_corpus_now(force=False)
        await audit(self.bot, self._corpus_event(result, None))

    def update_watcher(self) -> None:
        """Start or stop watching the corpus folder to match `corpus.watch`."""
        wanted = self.bot.config.corpus.watch
        running = self.watch_task is not None and not self.watch_task.done()
        if wanted and not running:
            self.watcher = CorpusWatcher(
                folder=lambda: self.bot.config.corpus.path,
                quiet_seconds=lambda: self.bot.config.corpus.watch_debounce_seconds,
                reload=self._watched_reload,
            )
            self.watch_task = self.bot.spawn(self.watcher.run(), name="corpus-watch")
        elif not wanted and running:
            self.stop_watcher()

    def stop_watcher(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        if self.watch_task is not None:
            self.watch_task.cancel()
        self.watcher = self.watch_task = None

    # --- the configuration ------------------------------------------------------------------------

    @reload_group.command(name="config", description="Re-read the config file and apply what can apply live")
    @bot_wide_admin("reload the configuration")
    async def reload_config(self, interaction: discord.Interaction[DigestBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with self.config_lock:
            event, payload = await self._reload_config(interaction)
        await replies.send(interaction, payload, ephemeral=True)
        await audit(self.bot, event)

    async def _reload_config(
        self, interaction: discord.Interaction[DigestBot]
    ) -> tuple[AuditEvent, dict[str, Any]]:
        old = self.bot.config
        source = old.source
        target = str(source) if source is not None else None

        def event(outcome: str, summary: str, after: Any) -> AuditEvent:
            return AuditEvent(
                actor_id=interaction.user.id, guild_id=interaction.guild_id, action="reload config",
                target=target, outcome=outcome, summary=summary, after=after,
            )

        try:
            new: Config = await asyncio.to_thread(load_config, source)
        except ConfigError as error:
            log.warning("config reload refused: %s", error)
            text = config_error_text(error)
            return event(REFUSED, str(error), {"error": str(error)}), message([notice(text, kind="error")])
        applied = applicable_config(old, new)
        diff = config_changes(old, new)
        try:
            digests = await self._apply_config(applied)
        except Exception as error:
            log.exception("config reload from %s failed while applying it", source)
            self.bot.config = old
            detail = f"{type(error).__name__}: {error}"
            text = f"**The configuration reload failed**: {clean(detail)}"
            return event(FAILED, detail, None), message([notice(text, kind="error")])
        text = config_reload_text(diff, digests, source)
        outcome = UNCHANGED if diff.empty else APPLIED
        kind = "warning" if diff.needs_restart or digests.conflicts else "info"
        summary = f"{len(diff.settings)} setting(s) and {len(diff.digests)} digest(s) changed"
        return event(outcome, summary, change_record(diff)), message([notice(text, kind=kind)])

    async def _apply_config(self, config: Config) -> ConfigDigestChanges:
        """Store the configured digests, then swap the config in (one assignment of a frozen object), then
        the parts that live outside it: the log level, the digest alarms, the watcher."""
        digests = await sync_config_digests(self.bot.db, config.digests, now=self.bot.now())
        await self.bot.resolve_digest_guilds()
        self.bot.config = config
        apply_levels(config.logging.level, config.logging.libraries)
        if self.bot.digest_scheduler is not None:
            await self.bot.digest_scheduler.refresh()
        self.update_watcher()
        return digests

    # --- code -------------------------------------------------------------------------------------

    @reload_group.command(name="extension", description="Reload a cog's code (a failure keeps the old code)")
    @app_commands.describe(name="The extension to reload, e.g. bot.discord.cogs.lookup")
    @operator_only("reload the bot's code")
    async def reload_extension(self, interaction: discord.Interaction[DigestBot], name: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        name = name.strip()
        before = self.bot.command_payloads()
        outcome, text, summary = await self._reload_extension(name)
        if outcome == APPLIED and self.bot.command_payloads() != before:
            text += "\nIts slash commands changed: run `/admin sync` to update them in Discord."
        kind = {APPLIED: "info", REFUSED: "warning"}.get(outcome, "error")
        await replies.send(interaction, message([notice(text, kind=kind)]), ephemeral=True)
        event = AuditEvent(
            actor_id=interaction.user.id, guild_id=interaction.guild_id, action="reload extension",
            target=name, outcome=outcome, summary=summary,
        )
        await audit(self.bot, event)

    async def _reload_extension(self, name: str) -> tuple[str, str, str]:
        """Reload (or load, after a failed start) extension `name`: the outcome, the reply, and a plain
        summary for the audit trail."""
        loaded = list(self.bot.extensions)
        shown = code(name)
        try:
            if name in loaded:
                # The other cogs hang their subcommands on the /admin group: a new group needs them again.
                dependents = [other for other in loaded if other != name] if name == ADMIN_EXTENSION else []
                names = [name, *dependents]
                for extension in names:
                    await self.bot.reload_extension(extension)
                also = f" (and {', '.join(code(n) for n in names[1:])})" if len(names) > 1 else ""
                return APPLIED, f"Reloaded {shown}{also}.", f"Reloaded {', '.join(names)}."
            if name in self.bot.failed_extensions:
                await self.bot.load_extension(name)
                del self.bot.failed_extensions[name]
                return APPLIED, f"Loaded {shown}, which had failed to load at start-up.", f"Loaded {name}."
        except commands.ExtensionError as error:
            cause = error.__cause__ or error
            log.error("extension %s failed to reload; the previous code stays", name, exc_info=cause)
            detail = truncate(f"{type(cause).__name__}: {cause}", 1500)
            reply = f"**{shown} was not reloaded**; the previous code keeps running.\n{clean(detail)}"
            return FAILED, reply, f"Not reloaded, the previous code stays: {detail}"
        return REFUSED, f"There is no extension {shown}; pick one of the suggestions.", "No such extension."

    @reload_extension.autocomplete("name")
    async def extension_autocomplete(
        self, interaction: discord.Interaction[DigestBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return matching_names([*self.bot.extensions, *self.bot.failed_extensions], current)

    # --- status -----------------------------------------------------------------------------------

    @app_commands.command(name="status", description="The bot's health, its corpus and this server's digests")
    @guild_admin("see the bot's status")
    async def status(self, interaction: discord.Interaction[DigestBot]) -> None:
        assert interaction.guild_id is not None
        work = self.status_data(interaction.guild_id)
        data = await replies.within_deadline(interaction, work, ephemeral=True)
        await replies.send(interaction, message([status_embed(data)]), ephemeral=True)

    async def status_data(self, guild_id: int) -> StatusData:
        bot = self.bot
        now = bot.now()
        stats = await corpus_stats(bot.db)
        last = stats.last_load
        digests = []
        for record in await guild_digests(bot, bot.db, guild_id):
            runs = await delivery_log(bot.db, record.key, limit=1)
            upcoming = None if record.paused else next_run(record.settings, max(now, record.last_checked))
            digests.append(DigestStatus(record, upcoming, runs[0] if runs else None))
        latency = bot.latency
        return StatusData(
            version=__version__,
            uptime_seconds=(now - bot.started_at).total_seconds(),
            latency_seconds=_finite(latency),
            shards=shard_statuses(bot),
            shard_count=bot.shard_count or 1,
            guild_shard=shard_of(guild_id, bot.shard_count or 1),
            articles=stats.articles,
            last_load_seq=None if last is None else last.seq,
            last_load_at=None if last is None else last.finished_at or last.started_at,
            last_load_rejected=0 if last is None else len(last.rejected),
            database_bytes=await asyncio.to_thread(_database_bytes, bot.db.path),
            digests=digests,
            watching=self.watch_task is not None and not self.watch_task.done(),
            log_channel_id=await log_channel(bot, Subject(guild_id, server_scoped=True)),
        )


def _finite(seconds: float) -> float | None:
    return seconds if math.isfinite(seconds) else None


def shard_statuses(bot: DigestBot) -> list[ShardStatus]:
    """Each shard this process runs: its latency and how many servers it carries."""
    guilds: dict[int, int] = {}
    for guild in bot.guilds:
        guilds[guild.shard_id] = guilds.get(guild.shard_id, 0) + 1
    return [
        ShardStatus(shard_id, _finite(shard.latency), guilds.get(shard_id, 0))
        for shard_id, shard in sorted(bot.shards.items())
    ]


def _database_bytes(path: Path) -> int | None:
    """The database's size on disk, its write-ahead log included."""
    try:
        size = path.stat().st_size
    except OSError:
        return None
    for suffix in ("-wal", "-shm"):
        try:
            size += path.with_name(path.name + suffix).stat().st_size
        except OSError:
            continue
    return size


async def setup(bot: DigestBot) -> None:
    # `cog_load` hangs the commands on /admin, so the tree sees them under that existing root: override.
    await bot.add_cog(AdminOps(bot), override=True)
