"""`/admin digest …`: server admins set up, change, pause, run and inspect their server's digests.

Every mistake is caught before anything can post into the wrong place: settings pass the same validation
as config.yaml (`digest_settings_from_mapping`), and the bot's permissions in the channel are checked
before a digest is saved or resumed. Digests are per guild: these commands see only the digests whose
channel is in the server they are used in. Config digests can be paused, resumed, run, marked seen and
inspected here, but changed only in config.yaml. Every change is written to the audit log (who, what,
before → after) and announced in the log channel, and so is every refusal (with its reason).

Thin on purpose: bot/digest/edits.py turns options into settings and describes changes, the store and
bot/delivery.py do the work, bot/render/digest_admin.py builds the replies.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.compose import compose_next, mark_all_seen, next_run
from bot.config import (
    DIGEST_TITLE_LIMIT,
    FOOTER_MAX,
    ConfigError,
)
from bot.delivery import run_now, runner_of
from bot.digest import edits
from bot.digest.edits import DigestOptions
from bot.digest.model import REFUSED
from bot.discord.client import DigestBot
from bot.discord.cogs.admin import AdminSubgroupCog
from bot.discord.cogs.admin_digest_base import (
    DESCRIBE,
    MODE_CHOICES,
    STYLE_CHOICES,
    DigestAdminBase,
    DigestChannelOption,
    admin_member,
    chosen_role,
    next_moment,
)
from bot.discord.ui import replies
from bot.discord.ui.confirm import ConfirmView
from bot.discord.ui.paginator import Paginator, page_count
from bot.guild_digests import resolve_guilds
from bot.ops.audit import APPLIED
from bot.ops.audit import FAILED as AUDIT_FAILED
from bot.permissions import Access, actor_from_interaction, guild_admin, may, rules_for
from bot.permissions import refusal as refusal_text
from bot.render.digest_admin import (
    LOG_PAGE_SIZE,
    created_reply,
    log_page,
    next_run_text,
    outcome_reply,
    plain_changes,
    reply,
    schedule_words,
    typed_name,
)
from bot.render.digests_view import preview_payload
from bot.render.text import (
    clean,
)
from bot.store import digests as store
from bot.store import runs
from bot.target_checks import ping_role_name, target_problem

log = logging.getLogger(__name__)

ACTION = "manage this server's digests"
CONFIG_ONLY = (
    "Digest **{name}** is defined in config.yaml — change it there and run `/admin reload config`."
)
#: The longest `keywords` text Discord accepts (the keyword caps of `limits` then apply to what it holds).
KEYWORDS_OPTION_CHARS = 1000
#: How many of the newest rows `/admin digest log` pages through.
LOG_ROWS_SHOWN = 500

class DigestAdmin(DigestAdminBase, name="digest", description="Manage this server's digests"):
    """`/admin digest …`; each command re-checks that the caller administers this server."""

    # --- create and edit

    @app_commands.command(name="create", description="Create a digest that posts to a channel on a schedule")
    @app_commands.describe(**DESCRIBE)
    @app_commands.choices(mode=MODE_CHOICES, style=STYLE_CHOICES)
    @guild_admin(ACTION)
    async def create(
        self,
        interaction: discord.Interaction,
        name: str,
        channel: DigestChannelOption,
        schedule: str,
        timezone: str | None = None,
        min_quality: int | None = None,
        topics: str | None = None,
        providers: str | None = None,
        keywords: app_commands.Range[str, 1, KEYWORDS_OPTION_CHARS] | None = None,
        max_articles: int | None = None,
        max_related: int | None = None,
        backlog: int | None = None,
        mode: str | None = None,
        published_only: bool | None = None,
        max_age_days: int | None = None,
        log_channel: discord.TextChannel | None = None,
        title: app_commands.Range[str, 1, DIGEST_TITLE_LIMIT] | None = None,
        style: str | None = None,
        color: app_commands.Range[str, 1, 16] | None = None,
        exclude_topics: str | None = None,
        exclude_providers: str | None = None,
        exclude_keywords: str | None = None,
        footer: app_commands.Range[str, 1, FOOTER_MAX] | None = None,
        publish: bool | None = None,
        ping_role: discord.Role | None = None,
        forum_tags: str | None = None,
    ) -> None:
        options = DigestOptions(
            timezone=timezone, min_quality=min_quality, topics=topics, providers=providers,
            keywords=keywords, max_articles=max_articles, max_related=max_related, backlog=backlog, mode=mode,
            published_only=published_only, max_age_days=max_age_days,
            log_channel_id=None if log_channel is None else log_channel.id, title=title, style=style,
            color=color,
            exclude_topics=exclude_topics, exclude_providers=exclude_providers,
            exclude_keywords=exclude_keywords, footer=footer, publish=publish,
            ping_role=chosen_role(ping_role), forum_tags=forum_tags,
        )
        guild = interaction.guild
        assert guild is not None  # /admin is guild-only

        async def refused(text: str) -> tuple[dict[str, Any], None]:
            return await self.refuse(interaction, action="create", target=typed_name(name), text=text), None

        async def work() -> tuple[dict[str, Any], store.DigestRecord | None]:
            try:
                settings = self.validate(edits.creation_mapping(name, channel.id, schedule, options))
            except ConfigError as error:
                return await refused(f"Not created: {edits.settings_problem(error, clean)}")
            limits = self.bot.config.limits
            beyond = edits.limit_problem(settings, limits, clean)
            if beyond is not None:
                return await refused(f"Not created: {beyond}")
            problem = target_problem(guild, settings, admin=admin_member(interaction))
            if problem is not None:
                return await refused(f"Not created. {problem}")
            await resolve_guilds(self.bot, self.bot.db)  # config digests posting here count too
            try:
                record = await store.create_digest(
                    self.bot.db, settings, guild_id=guild.id, now=self.bot.now(),
                    per_guild_limit=limits.digests_per_server,
                )
            except store.DuplicateDigest as error:
                return await refused(f"Not created: {clean(str(error))}.")
            except store.DigestLimitReached as error:
                return await refused(f"Not created: {error}.")
            await self.refresh_schedule()
            after = settings.as_mapping()
            await self.audit(
                interaction, action="create", digest=record, after=after,
                summary=f"Created digest {record.name}. {plain_changes(None, after)}",
            )
            return created_reply(record, next_moment(record, self.bot.now())), record

        payload, record = await replies.within_deadline(interaction, work(), ephemeral=True)
        await replies.send(interaction, payload, ephemeral=True)
        if record is not None:
            now = self.bot.now()
            plan, _selection = await compose_next(self.bot.db, record, now=now,
                                                  slot_time=next_run(record.settings, now))
            shown = preview_payload(record.name, plan, ping_role_name=ping_role_name(guild, record.settings))
            preview = replies.message_kwargs(shown)
            await interaction.followup.send(**preview, ephemeral=True)

    @create.autocomplete("timezone")
    async def _create_timezone(self, interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return await self.timezone_autocomplete(interaction, current)

    @app_commands.command(name="edit", description="Change a digest's settings (digests made in Discord)")
    @app_commands.describe(**{**DESCRIBE, "name": "The digest", "channel": "Move it to this channel"})
    @app_commands.choices(mode=MODE_CHOICES, style=STYLE_CHOICES)
    @guild_admin(ACTION)
    async def edit(
        self,
        interaction: discord.Interaction,
        name: str,
        channel: DigestChannelOption | None = None,
        schedule: str | None = None,
        timezone: str | None = None,
        min_quality: int | None = None,
        topics: str | None = None,
        providers: str | None = None,
        keywords: app_commands.Range[str, 1, KEYWORDS_OPTION_CHARS] | None = None,
        max_articles: int | None = None,
        max_related: int | None = None,
        backlog: int | None = None,
        mode: str | None = None,
        published_only: bool | None = None,
        max_age_days: int | None = None,
        log_channel: discord.TextChannel | None = None,
        title: app_commands.Range[str, 1, DIGEST_TITLE_LIMIT] | None = None,
        style: str | None = None,
        color: app_commands.Range[str, 1, 16] | None = None,
        exclude_topics: str | None = None,
        exclude_providers: str | None = None,
        exclude_keywords: str | None = None,
        footer: app_commands.Range[str, 1, FOOTER_MAX] | None = None,
        publish: bool | None = None,
        ping_role: discord.Role | None = None,
        forum_tags: str | None = None,
    ) -> None:
        options = DigestOptions(
            channel_id=None if channel is None else channel.id, schedule=schedule, timezone=timezone,
            min_quality=min_quality, topics=topics, providers=providers, keywords=keywords,
            max_articles=max_articles, max_related=max_related, backlog=backlog, mode=mode,
            published_only=published_only, max_age_days=max_age_days,
            log_channel_id=None if log_channel is None else log_channel.id, title=title, style=style,
            color=color,
            exclude_topics=exclude_topics, exclude_providers=exclude_providers,
            exclude_keywords=exclude_keywords, footer=footer, publish=publish,
            ping_role=chosen_role(ping_role), forum_tags=forum_tags,
        )
        guild = interaction.guild
        assert guild is not None
        payload = await replies.within_deadline(interaction, self._edit(interaction, guild, name, options),
                                                ephemeral=True)
        await replies.send(interaction, payload, ephemeral=True)

    async def _edit(
        self, interaction: discord.Interaction, guild: discord.Guild, name: str, options: DigestOptions
    ) -> dict[str, Any]:
        record = await self.guild_digest(guild.id, name)
        if record is None:
            return await self.refuse_unknown(interaction, "edit", name)
        if record.source == "config":
            return await self.refuse(interaction, action="edit", digest=record,
                                     text=CONFIG_ONLY.format(name=clean(record.name)))
        if not options.given:
            return await self.refuse(interaction, action="edit", digest=record,
                                     text="Nothing to change: give at least one setting to edit.")
        try:
            settings = self.validate(edits.edited_mapping(record.settings, options))
        except ConfigError as error:
            return await self.refuse(interaction, action="edit", digest=record,
                                     text=f"Not changed: {edits.settings_problem(error, clean)}")
        beyond = edits.limit_problem(settings, self.bot.config.limits, clean)
        if beyond is not None:
            return await self.refuse(interaction, action="edit", target=record.name,
                                     text=f"Not changed: {beyond}")
        before, after = record.settings.as_mapping(), settings.as_mapping()
        changes = edits.describe_changes(before, after, clean)
        if not changes:
            return reply(f"Nothing changed: **{clean(record.name)}** already has those settings.")
        placed = ("channel_id", "mode", "log_channel_id", "publish", "forum_tags", "ping_role")
        moved = any(getattr(settings, key) != getattr(record.settings, key) for key in placed)
        pinging = settings.ping_role is not None and settings.ping_role != record.settings.ping_role
        admin = admin_member(interaction) if pinging else None
        problem = target_problem(guild, settings, admin=admin) if moved else None
        if problem is not None:
            return await self.refuse(interaction, action="edit", digest=record,
                                     text=f"Not changed. {problem}")
        now = self.bot.now()
        updated = await store.update_digest(self.bot.db, record.key, settings, now=now)
        if updated.guild_id != guild.id:
            await store.set_guild(self.bot.db, record.key, guild.id)
        await self.refresh_schedule()
        await self.audit(interaction, action="edit", digest=updated, before=before, after=after,
                         summary=f"Changed digest {record.name}. {plain_changes(before, after)}")
        lines = [f"Changed digest **{clean(record.name)}**:", *changes, ""]
        if edits.schedule_changed(record.settings, settings):
            lines.append("The new schedule counts from now: earlier slots will not run.")
        lines.append(f"**Posts:** {schedule_words(settings)}")
        lines.append(f"**Next run:** {next_run_text(settings, next_moment(updated, now))}")
        return reply("\n".join(lines), title="Digest changed")

    # --- delete

    @app_commands.command(name="delete", description="Delete a digest made in Discord (asks to confirm)")
    @app_commands.describe(name="The digest")
    @guild_admin(ACTION)
    async def delete(self, interaction: discord.Interaction, name: str) -> None:
        guild_id = interaction.guild_id
        assert guild_id is not None

        async def deletable() -> tuple[store.DigestRecord | None, dict[str, Any] | None]:
            """The digest to delete, or the refusal (only runtime digests of this server can be)."""
            record = await self.guild_digest(guild_id, name)
            if record is None:
                return None, await self.refuse_unknown(interaction, "delete", name)
            if record.source == "config":
                refusal = CONFIG_ONLY.format(name=clean(record.name))
                return None, await self.refuse(interaction, action="delete", digest=record, text=refusal)
            return record, None

        record, refusal = await replies.within_deadline(interaction, deletable(), ephemeral=True)
        if record is None:
            assert refusal is not None
            await replies.send(interaction, refusal, ephemeral=True)
            return
        shown = f"**{clean(record.name)}**"

        async def confirmed(click: discord.Interaction) -> dict[str, Any]:
            current = await self.guild_digest(guild_id, record.name)
            if current is None or current.key != record.key:
                return await self.refuse(click, action="delete", digest=record,
                                         text=f"Digest {shown} is already gone.")
            await store.delete_digest(self.bot.db, current.key)
            await self.refresh_schedule()
            before = current.settings.as_mapping()
            await self.audit(click, action="delete", digest=current, before=before,
                             summary=f"Deleted digest {current.name}. {plain_changes(before, None)}")
            return reply(f"Deleted digest {shown}. What it posted stays recorded for "
                         f"<#{current.channel_id}>, so no other digest posts it there again.")

        async def still_allowed(click: discord.Interaction) -> dict[str, Any] | None:
            """The server-admin rule, applied again to whoever clicks Delete, as they are now."""
            if may(actor_from_interaction(click), rules_for(self.bot), Access.GUILD):
                return None
            return await self.refuse(click, action="delete", digest=record,
                                     text=f"Not deleted. {refusal_text(Access.GUILD, ACTION)}")

        view = ConfirmView(
            owner_id=interaction.user.id,
            on_confirm=confirmed,
            recheck=still_allowed,
            cancelled=reply(f"Cancelled: digest {shown} was not deleted."),
            timed_out=reply(f"No answer: digest {shown} was not deleted.", kind="warning"),
            confirm_label="Delete",
        )
        prompt = reply(
            f"Delete digest {shown}? It stops posting to <#{record.channel_id}> and its delivery log is "
            "deleted. This cannot be undone.",
            kind="warning", title="Delete this digest?",
        )
        await view.start(interaction, prompt)

    # --- pause and resume

    @app_commands.command(name="pause", description="Stop a digest posting until it is resumed")
    @app_commands.describe(name="The digest", reason="Why (shown in /digest list)")
    @guild_admin(ACTION)
    async def pause(self, interaction: discord.Interaction, name: str, reason: str | None = None) -> None:
        payload = await replies.within_deadline(interaction, self._pause(interaction, name, reason),
                                                ephemeral=True)
        await replies.send(interaction, payload, ephemeral=True)

    async def _pause(self, interaction: discord.Interaction, name: str, reason: str | None) -> dict[str, Any]:
        assert interaction.guild_id is not None
        record = await self.guild_digest(interaction.guild_id, name)
        if record is None:
            return await self.refuse_unknown(interaction, "pause", name)
        shown = f"**{clean(record.name)}**"
        if record.paused_reason is not None:
            return await self.refuse(interaction, action="pause", digest=record,
                                     text=f"Digest {shown} is already paused: {clean(record.paused_reason)}.")
        stated = " ".join((reason or "").split())
        why = f"paused by {interaction.user.display_name}" + (f": {stated}" if stated else "")
        paused = await store.set_paused(self.bot.db, record.key, why, now=self.bot.now())
        await self.audit(interaction, action="pause", digest=paused, before={"paused": None},
                         after={"paused": why}, summary=f"Paused digest {paused.name}: {why}.")
        return reply(
            f"Paused digest {shown}. Its slots are skipped (and logged) until `/admin digest resume`."
        )

    @app_commands.command(name="resume", description="Resume a paused digest (re-checks my permissions)")
    @app_commands.describe(name="The digest")
    @guild_admin(ACTION)
    async def resume(self, interaction: discord.Interaction, name: str) -> None:
        payload = await replies.within_deadline(interaction, self._resume(interaction, name), ephemeral=True)
        await replies.send(interaction, payload, ephemeral=True)

    async def _resume(self, interaction: discord.Interaction, name: str) -> dict[str, Any]:
        guild = interaction.guild
        assert guild is not None
        record = await self.guild_digest(guild.id, name)
        if record is None:
            return await self.refuse_unknown(interaction, "resume", name)
        shown = f"**{clean(record.name)}**"
        if record.paused_reason is None:
            return await self.refuse(interaction, action="resume", digest=record,
                                     text=f"Digest {shown} is not paused.")
        problem = target_problem(guild, record.settings)
        if problem is not None:
            return await self.refuse(interaction, action="resume", digest=record,
                                     text=f"Still paused. {problem}")
        # Slots that passed during the pause are recorded as skipped before resuming: no catching up.
        await runner_of(self.bot).reconcile(record.key)
        resumed = await store.set_paused(self.bot.db, record.key, None, now=self.bot.now())
        await self.audit(interaction, action="resume", digest=resumed,
                         before={"paused": record.paused_reason}, after={"paused": None},
                         summary=f"Resumed digest {resumed.name} (was: {record.paused_reason}).")
        return reply(
            f"Resumed digest {shown}.\n"
            f"**Next run:** {next_run_text(resumed.settings, next_moment(resumed, self.bot.now()))}"
        )

    # --- run, mark seen, log

    @app_commands.command(name="run", description="Post a digest's next run now (only what is new)")
    @app_commands.describe(name="The digest")
    @guild_admin(ACTION)
    async def run(self, interaction: discord.Interaction, name: str) -> None:
        guild_id = interaction.guild_id
        assert guild_id is not None

        async def runnable() -> tuple[store.DigestRecord | None, dict[str, Any] | None]:
            record = await self.guild_digest(guild_id, name)
            if record is None:
                return None, await self.refuse_unknown(interaction, "run", name)
            return record, None

        record, refusal = await replies.within_deadline(interaction, runnable(), ephemeral=True)
        if record is None:
            assert refusal is not None
            await replies.send(interaction, refusal, ephemeral=True)
            return
        if not interaction.response.is_done():
            await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await run_now(self.bot, record.key, actor=interaction.user.id)
        if outcome.status == REFUSED:
            await self.record_refusal(interaction, action="run", digest=record,
                                      reason=f"Did not run digest {record.name}: {outcome.detail}.")
        else:
            after = {"slot": outcome.slot_key, "status": outcome.status, "messages": outcome.messages_sent}
            ran = outcome.status in ("posted", "empty")
            await self.audit(
                interaction, action="run", digest=record, after=after,
                outcome=APPLIED if ran else AUDIT_FAILED,
                summary=f"Ran digest {record.name} now: {outcome.status}, "
                        f"{outcome.messages_sent} message(s) posted. {outcome.detail or ''}".rstrip(),
            )
        payload = outcome_reply(record.name, record.channel_id, outcome)
        await replies.send(interaction, payload, ephemeral=True)

    @app_commands.command(name="mark-seen", description="Treat everything a digest matches now as posted")
    @app_commands.describe(name="The digest")
    @guild_admin(ACTION)
    async def mark_seen(self, interaction: discord.Interaction, name: str) -> None:
        work = self._mark_seen(interaction, name)
        payload = await replies.within_deadline(interaction, work, ephemeral=True)
        await replies.send(interaction, payload, ephemeral=True)

    async def _mark_seen(self, interaction: discord.Interaction, name: str) -> dict[str, Any]:
        assert interaction.guild_id is not None
        record = await self.guild_digest(interaction.guild_id, name)
        if record is None:
            return await self.refuse_unknown(interaction, "mark-seen", name)
        added = await mark_all_seen(self.bot.db, record, now=self.bot.now())
        shown = f"**{clean(record.name)}**"
        await self.audit(interaction, action="mark-seen", digest=record, after={"marked": added},
                         summary=f"Marked everything digest {record.name} matches as seen: {added} "
                                 "article(s) newly recorded as delivered.")
        return reply(
            f"Marked {added} article{'s' if added != 1 else ''} matching {shown} as delivered to "
            f"<#{record.channel_id}> (nothing was posted). Its runs now post only what arrives later."
        )

    @app_commands.command(name="log", description="A digest's delivery log, newest first")
    @app_commands.describe(name="The digest")
    @guild_admin(ACTION)
    async def log_(self, interaction: discord.Interaction, name: str) -> None:
        assert interaction.guild_id is not None

        async def work() -> tuple[str | None, list[runs.LogEntry]]:
            record = await self.guild_digest(interaction.guild_id, name)
            if record is None:
                return None, []
            return record.name, await runs.delivery_log(self.bot.db, record.key, limit=LOG_ROWS_SHOWN + 1)

        found, entries = await replies.within_deadline(interaction, work(), ephemeral=True)
        if found is None:
            await replies.send(interaction, self.unknown(name), ephemeral=True)
            return
        if not entries:
            never = reply(f"Digest **{clean(found)}** has not run yet.")
            await replies.send(interaction, never, ephemeral=True)
            return
        total, entries = len(entries), entries[:LOG_ROWS_SHOWN]
        pages = page_count(len(entries), LOG_PAGE_SIZE)

        async def fetch_page(page: int) -> dict[str, Any]:
            return log_page(found, entries, page=page, pages=pages, total=total)

        paginator = Paginator(owner_id=interaction.user.id, pages=pages, fetch_page=fetch_page,
                              refusal="Only the person who asked can page through this log.")
        await paginator.start(interaction, await fetch_page(1), ephemeral=True)

    for _command in (edit, delete, pause, resume, run, mark_seen, log_):
        _command.autocomplete("name")(DigestAdminBase.name_autocomplete)
    del _command


class AdminDigests(AdminSubgroupCog):
    """Adds `/admin digest` to the `/admin` group while loaded."""

    def __init__(self, bot: DigestBot) -> None:
        super().__init__(bot, DigestAdmin(bot))


async def setup(bot: DigestBot) -> None:
    await bot.add_cog(AdminDigests(bot))
