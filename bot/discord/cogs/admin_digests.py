"""`/admin digest …`: server admins set up, change, pause, run and inspect their server's digests.

Every mistake is caught before anything can post into the wrong place: settings pass the same validation
as config.yaml (`digest_settings_from_mapping`), and the bot's permissions in the channel are checked
before a digest is saved or resumed. Digests are per guild: these commands see only the digests whose
channel is in the server they are used in. Config digests can be paused, resumed, run, marked seen and
inspected here, but changed only in config.yaml. Every change is written to the audit log (who, what,
before → after) and announced in the log channel, and so is every refusal (with its reason).

Thin on purpose: bot/digest/edits.py turns options into settings and describes changes, the store and
bot/delivery.py do the work, the replies are built from the renderer's primitives below.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.compose import compose_next, mark_all_seen, next_run
from bot.config import (
    DIGEST_MODES,
    DIGEST_STYLES,
    DIGEST_TITLE_LIMIT,
    FOOTER_MAX,
    ConfigError,
    DigestSettings,
    digest_settings_from_mapping,
)
from bot.delivery import REFUSED, RunOutcome, run_now, runner_of
from bot.digest import edits
from bot.digest.edits import DigestOptions
from bot.digest.schedule import describe, parse_cron, zone
from bot.discord.client import DigestBot
from bot.discord.cogs.admin import AdminSubgroupCog
from bot.discord.ui import replies
from bot.discord.ui.choices import matching_names
from bot.discord.ui.confirm import ConfirmView
from bot.discord.ui.paginator import Paginator, page_count
from bot.guild_digests import guild_digest, guild_digests, resolve_guilds
from bot.log_routing import Subject
from bot.ops.audit import APPLIED, AuditEvent, audit
from bot.ops.audit import FAILED as AUDIT_FAILED
from bot.ops.audit import REFUSED as AUDIT_REFUSED
from bot.permissions import Access, AdminOnly, actor_from_interaction, guild_admin, may, rules_for
from bot.permissions import refusal as refusal_text
from bot.render.digests_view import preview_payload
from bot.render.embeds import NOTICE_COLORS
from bot.render.message import message
from bot.render.text import (
    DESCRIPTION_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    clean,
    discord_timestamp,
    truncate,
)
from bot.store import digests as store
from bot.store import runs
from bot.target_checks import channel_kind_problem, ping_problem, ping_role_name

log = logging.getLogger(__name__)

ACTION = "manage this server's digests"
CONFIG_ONLY = (
    "Digest **{name}** is defined in config.yaml — change it there and run `/admin reload config`."
)
#: Delivery-log rows per page, and how many of the newest rows `/admin digest log` pages through.
LOG_PAGE_SIZE = 10
#: The longest `keywords` text Discord accepts (the keyword caps of `limits` then apply to what it holds).
KEYWORDS_OPTION_CHARS = 1000
LOG_ROWS_SHOWN = 500
NAME_SHOWN = 60

_DESCRIBE = {
    "name": "The digest's name: 1-32 lower-case letters, digits, '-' or '_'",
    "channel": "The text channel it posts to",
    "schedule": (
        "When it posts: daily 08:00, weekdays 08:00, mondays 09:30, every 6 hours, or cron 0 8 * * 1-5"
    ),
    "timezone": "The IANA time zone the schedule is in (e.g. Europe/Paris)",
    "min_quality": "Lowest article quality it posts (0-100)",
    "topics": "Topics, comma-separated; any of them matches ('-' clears)",
    "providers": "Providers by name or domain, comma-separated; any matches ('-' clears)",
    "keywords": "Words or phrases, comma-separated; any matches, full text ('-' clears)",
    "max_articles": "Stories per run (1-10)",
    "max_related": "Related links shown per story (0-10)",
    "backlog": "Existing articles the first run may post (0-50)",
    "mode": "Post in the channel, or as a thread under a header message",
    "published_only": "Only articles marked as published",
    "max_age_days": "Skip articles older than this many days at the slot (0 turns it off)",
    "log_channel": "Where this digest's problems are announced (default: this server's log channel)",
    "title": "The title heading each run (default: the name; '-' goes back to it)",
    "style": "compact: one short item per story; rich: the full article with its image",
    "color": "The embeds' stripe colour, e.g. #1f8b4c ('-' for the bot's blue)",
    "exclude_topics": "Leave out these topics, comma-separated ('-' clears)",
    "exclude_providers": "Leave out these providers by name or domain, comma-separated ('-' clears)",
    "exclude_keywords": "Leave out articles matching these words or phrases, comma-separated ('-' clears)",
    "footer": "A line under every story, up to 200 characters ('-' removes it)",
    "publish": "In an announcement channel, publish every message to following servers",
    "ping_role": "A role to ping once per run (mentionable, or you need Mention Everyone); @everyone: none",
    "forum_tags": "Forum channel: tags for each post, by name, comma-separated ('-' clears)",
}
_MODE_CHOICES = [Choice(name=mode, value=mode) for mode in DIGEST_MODES]
_STYLE_CHOICES = [Choice(name=style, value=style) for style in DIGEST_STYLES]


class DigestChannel(app_commands.Transformer):
    """A channel a digest can post to: text, announcement or forum (Discord's picker offers only those).
    The command uses its id; whether the bot can post there is checked before anything is saved."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return [discord.ChannelType.text, discord.ChannelType.news, discord.ChannelType.forum]

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> Any:
        return value


DigestChannelOption = app_commands.Transform[discord.abc.Snowflake, DigestChannel]


# --- replies (plain payloads, built with the renderer's limits) ----------------------------------------


def reply(text: str, *, kind: str = "info", title: str | None = None, footer: str | None = None
          ) -> dict[str, Any]:
    """One embed of the bot's own wording. Unlike `notice`, channel and user mentions stay live so they
    show as links (embeds never ping, and every payload allows no mentions); pass typed text through
    `clean` first."""
    embed: dict[str, Any] = {"color": NOTICE_COLORS[kind], "description": truncate(text, DESCRIPTION_LIMIT)}
    if title is not None:
        embed["title"] = truncate(title, TITLE_LIMIT)
    if footer is not None:
        embed["footer"] = {"text": truncate(footer, FOOTER_LIMIT)}
    return message([embed])


def typed_name(name: str) -> str:
    """A digest name as typed, on one line and cut short: it may be anything until validated."""
    return truncate(" ".join(name.split()), NAME_SHOWN)


def shown_name(name: str) -> str:
    return clean(typed_name(name))


def unknown_text(name: str) -> str:
    return f"There is no digest named **{shown_name(name)}** in this server. See `/digest list`."


_MARKDOWN_OR_ESCAPE = re.compile(r"\\(.)|\*\*")


def plain_reason(text: str) -> str:
    """A reply of the bot's own wording as plain text for the audit trail: bold markers and the escapes
    `clean` added dropped (the announcement escapes it again)."""
    return _MARKDOWN_OR_ESCAPE.sub(lambda match: match.group(1) or "", text)


def next_run_text(settings: DigestSettings, after: datetime) -> str:
    """The next slot as a Discord timestamp (each reader's own time) and on the digest's own clock."""
    moment = next_run(settings, after)
    if moment is None:
        return "never (the schedule does not fire again)"
    local = moment.astimezone(zone(settings.timezone))
    return (
        f"{discord_timestamp(moment, 'F')} ({discord_timestamp(moment, 'R')}) · "
        f"{local:%Y-%m-%d %H:%M} {clean(settings.timezone)}"
    )


def schedule_words(settings: DigestSettings) -> str:
    """When the digest posts, in words ("at 08:00, Monday to Friday, Europe/London")."""
    return clean(describe(parse_cron(settings.schedule), settings.timezone))


def plain_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str:
    """The changes as one plain line for the audit trail (which escapes it when announcing)."""
    return "; ".join(edits.describe_changes(before, after, str))


def chosen_role(role: discord.Role | None) -> int | None:
    """The ping_role option as a setting change: not given (None), a role's id, or 0 for @everyone, which
    a digest never pings and which so stands for "no ping"."""
    if role is None:
        return None
    return 0 if role.is_default() else role.id


def admin_member(interaction: discord.Interaction) -> discord.Member:
    """The admin as a server member (the /admin commands are guild-only)."""
    if not isinstance(interaction.user, discord.Member):
        raise TypeError("/admin digest is used in a server, by a member")
    return interaction.user


def next_run_after(record: store.DigestRecord, now: datetime) -> datetime:
    """Slots before the digest's schedule start or its last check never run: count from the latest."""
    return max(now, record.schedule_from, record.last_checked)


def created_reply(record: store.DigestRecord, now: datetime) -> dict[str, Any]:
    settings = record.settings
    lines = [
        f"Created digest **{clean(record.name)}**.",
        f"**Posts:** {schedule_words(settings)}",
        f"**Next run:** {next_run_text(settings, next_run_after(record, now))}",
        "",
        *edits.settings_lines(settings.as_mapping(), clean),
    ]
    return reply("\n".join(lines), title="Digest created")


def outcome_reply(name: str, channel_id: int, outcome: RunOutcome) -> dict[str, Any]:
    """What a manual run did, in the admin's terms."""
    shown = f"**{clean(name)}**"
    detail = clean(outcome.detail or "")
    if outcome.status == "posted":
        count = outcome.messages_sent
        return reply(f"Ran {shown}: posted {count} message{'s' if count != 1 else ''} in <#{channel_id}>.")
    if outcome.status == "empty":
        return reply(f"Ran {shown}: nothing new to post in <#{channel_id}>, so nothing was posted.")
    if outcome.status == REFUSED:
        return reply(f"Did not run {shown}: {detail}.", kind="warning")
    if outcome.status == "paused":
        return reply(f"Ran {shown}, but Discord refused it and the digest is now paused: {detail}.",
                     kind="error")
    sent = f"{outcome.messages_sent} of {outcome.messages_planned} message(s) posted"
    return reply(f"Ran {shown}: {outcome.status}, {sent}. {detail}".rstrip(), kind="error")


def log_line(entry: runs.LogEntry) -> str:
    """One delivery-log row: when, which slot, how it ended, what it posted."""
    when = discord_timestamp(entry.claimed_at, "f")
    if entry.status == "skipped":
        count = entry.skipped_count or 0
        span = clean(entry.skipped_first or "")
        if entry.skipped_last and entry.skipped_last != entry.skipped_first:
            span += f" … {clean(entry.skipped_last)}"
        reason = clean(entry.error or "")
        return f"{when} · **skipped** ({reason}): {count} slot{'s' if count != 1 else ''}, {span}"
    parts = [f"{when} · `{clean(entry.slot_key)}` · **{entry.status}**"]
    if entry.messages_planned:
        parts.append(f"{entry.messages_sent}/{entry.messages_planned} message(s)")
    parts.append(f"{entry.article_count} article{'s' if entry.article_count != 1 else ''}")
    if entry.published or entry.publish_pending:
        parts.append(f"published {entry.published}/{entry.published + entry.publish_pending}")
    line = " · ".join(parts)
    if entry.error:
        line += f"\n  ↳ {truncate(clean(entry.error), 300)}"
    if entry.publish_pending:
        when = (f" from {discord_timestamp(entry.publish_after, 'f')}" if entry.publish_after is not None
                else " at the next check")
        line += (f"\n  ↳ publishing delayed by Discord's rate limit (10 an hour per channel): "
                 f"{entry.publish_pending} message(s) wait, tried again{when}")
    return line


def log_page(name: str, entries: Sequence[runs.LogEntry], *, page: int, pages: int, total: int
             ) -> dict[str, Any]:
    """A page of a digest's delivery log, newest first."""
    start = (page - 1) * LOG_PAGE_SIZE
    rows = entries[start : start + LOG_PAGE_SIZE]
    footer = f"Page {page}/{pages} · newest first"
    if total > len(entries):
        footer += f" · the newest {len(entries)} runs shown"
    return reply("\n".join(log_line(entry) for entry in rows), title=f"Delivery log of {name}", footer=footer)


# --- the command group -------------------------------------------------------------------------------


class DigestAdmin(app_commands.Group, name="digest", description="Manage this server's digests"):
    """`/admin digest …`; each command re-checks that the caller administers this server."""

    def __init__(self, bot: DigestBot) -> None:
        super().__init__()
        self.bot = bot

    # --- this guild's digests

    async def guild_digests(self, guild_id: int) -> list[store.DigestRecord]:
        return await guild_digests(self.bot, self.bot.db, guild_id)

    async def guild_digest(self, guild_id: int, name: str) -> store.DigestRecord | None:
        return await guild_digest(self.bot, self.bot.db, guild_id, name)

    @staticmethod
    def unknown(name: str) -> dict[str, Any]:
        return reply(unknown_text(name), kind="warning")

    async def name_autocomplete(self, interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        if interaction.guild_id is None:
            return []
        return matching_names((record.name for record in await self.guild_digests(interaction.guild_id)),
                              current)

    async def timezone_autocomplete(self, interaction: discord.Interaction, current: str
                                    ) -> list[Choice[str]]:
        return [Choice(name=name, value=name) for name in edits.timezone_choices(current)]

    # --- checks shared by the commands

    def validate(self, mapping: Mapping[str, Any]) -> DigestSettings:
        """The same rules as a digest in config.yaml (the configured defaults fill what was not given)."""
        defaults = self.bot.config.digest_defaults
        return digest_settings_from_mapping(mapping, defaults, where="digest", file=None)

    def permission_problem(
        self, guild: discord.Guild, settings: DigestSettings, *, admin: discord.Member | None = None
    ) -> str | None:
        """Why the bot could not post this digest where it should, or None when it can. With `admin` (who
        set the digest's role ping), the ping is checked too: they and the bot must be able to ping it."""
        channel = guild.get_channel(settings.channel_id)
        if not isinstance(channel, discord.TextChannel | discord.ForumChannel):
            return (
                f"I can't see the channel <#{settings.channel_id}> in this server any more (deleted, or "
                "hidden from me). Pick another channel, or let me view it."
            )
        forum = isinstance(channel, discord.ForumChannel)
        perms = channel.permissions_for(guild.me)
        missing = edits.missing_permissions(lambda name: getattr(perms, name),
                                            edits.required_permissions("forum" if forum else settings.mode))
        if missing:
            return edits.permissions_refusal(channel.id, missing)
        problem = channel_kind_problem(channel, settings)
        if problem is None and admin is not None and settings.ping_role is not None:
            problem = ping_problem(guild, channel, settings.ping_role, admin)
        if problem is not None:
            return problem
        if settings.log_channel_id is not None:
            log_channel = guild.get_channel(settings.log_channel_id)
            if isinstance(log_channel, discord.TextChannel):
                log_perms = log_channel.permissions_for(guild.me)
                missing = edits.missing_permissions(lambda name: getattr(log_perms, name),
                                                    edits.LOG_CHANNEL_PERMISSIONS)
                if missing:
                    return edits.permissions_refusal(log_channel.id, missing, what="announce problems")
        return None

    async def refresh_schedule(self) -> None:
        """Let the alarms follow the stored digests at once (the minute sweep would, a minute later)."""
        if self.bot.digest_scheduler is not None:
            await self.bot.digest_scheduler.refresh()

    async def audit(
        self,
        interaction: discord.Interaction,
        *,
        action: str,
        summary: str,
        digest: store.DigestRecord | None = None,
        target: str | None = None,
        outcome: str = APPLIED,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """Record who did what to a digest (state before → after) and announce it in the log channel of
        this server's business: the digest's own, this server's, or for a config digest the bot-wide one.
        `target` names what was asked for when no digest of this server was found."""
        about = Subject(interaction.guild_id, server_scoped=True)
        if digest is not None:
            about = Subject(interaction.guild_id, True, digest.source, digest.settings.log_channel_id)
        event = AuditEvent(
            actor_id=interaction.user.id, guild_id=interaction.guild_id, action=f"digest {action}",
            target=digest.name if digest is not None else target, outcome=outcome, summary=summary,
            before=before, after=after, about=about,
        )
        await audit(self.bot, event)

    async def record_refusal(
        self,
        interaction: discord.Interaction,
        *,
        action: str,
        reason: str,
        digest: store.DigestRecord | None = None,
        target: str | None = None,
    ) -> None:
        """The one audit path of every refusal: who was refused what, on which digest, and why (plain text,
        stored with the entry and announced)."""
        await self.audit(interaction, action=action, digest=digest, target=target, outcome=AUDIT_REFUSED,
                         summary=reason, after={"reason": reason})

    async def refuse(
        self,
        interaction: discord.Interaction,
        *,
        action: str,
        text: str,
        digest: store.DigestRecord | None = None,
        target: str | None = None,
    ) -> dict[str, Any]:
        """Audit a refusal and return the reply telling the admin (`text`, the bot's own markdown)."""
        await self.record_refusal(interaction, action=action, digest=digest, target=target,
                                  reason=plain_reason(text))
        return reply(text, kind="warning")

    async def refuse_unknown(self, interaction: discord.Interaction, action: str, name: str
                             ) -> dict[str, Any]:
        """Refuse acting on a digest this server does not have (another server's stays invisible)."""
        return await self.refuse(interaction, action=action, target=typed_name(name), text=unknown_text(name))

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        """Refusals by the server-admin rule are audited too (the tree's error handler tells the user)."""
        command = interaction.command
        if not isinstance(error, AdminOnly) or command is None:
            return
        refusal = self.record_refusal(interaction, action=command.name, target=None, reason=error.message)
        self.bot.spawn(refusal, name="audit-refusal")

    # --- create and edit

    @app_commands.command(name="create", description="Create a digest that posts to a channel on a schedule")
    @app_commands.describe(**_DESCRIBE)
    @app_commands.choices(mode=_MODE_CHOICES, style=_STYLE_CHOICES)
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
            problem = self.permission_problem(guild, settings, admin=admin_member(interaction))
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
            return created_reply(record, self.bot.now()), record

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
    @app_commands.describe(**{**_DESCRIBE, "name": "The digest", "channel": "Move it to this channel"})
    @app_commands.choices(mode=_MODE_CHOICES, style=_STYLE_CHOICES)
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
        problem = self.permission_problem(guild, settings, admin=admin) if moved else None
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
        lines.append(f"**Next run:** {next_run_text(settings, next_run_after(updated, now))}")
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
        problem = self.permission_problem(guild, record.settings)
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
            f"**Next run:** {next_run_text(resumed.settings, next_run_after(resumed, self.bot.now()))}"
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
        _command.autocomplete("name")(name_autocomplete)
    del _command


class AdminDigests(AdminSubgroupCog):
    """Adds `/admin digest` to the `/admin` group while loaded."""

    def __init__(self, bot: DigestBot) -> None:
        super().__init__(bot, DigestAdmin(bot))


async def setup(bot: DigestBot) -> None:
    await bot.add_cog(AdminDigests(bot))
