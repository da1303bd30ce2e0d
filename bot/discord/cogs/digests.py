"""`/digest list`, `/digest preview`, `/digest explain`: anyone in a server sees its digests and what the
next run of one would post, and why an article is or is not in it. The extension also answers the "+N"
coverage buttons under posted digest stories (bot/discord/ui/coverage.py).

A digest belongs to the guild of its channel. Runtime digests store it when created; config digests get it
here, as soon as the bot sees their channel (on start-up, when a guild becomes available, and before each
command). Thin on purpose: the store and bot/compose decide, bot/render/digests_view renders.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.compose import compose_next, explain_article, next_run
from bot.discord.ui import replies
from bot.discord.ui.choices import article_choices, matching_names
from bot.discord.ui.coverage import CoverageButton
from bot.fair import PREVIEW_BUDGET_SECONDS, TOO_BROAD_PREVIEW, limited_choices
from bot.guild_digests import guild_digest, guild_digests, resolve_guilds
from bot.render.digests_view import (
    DigestListItem,
    digest_list_payload,
    explanation_payload,
    preview_payload,
)
from bot.render.embeds import notice
from bot.render.message import message
from bot.render.text import clean, truncate
from bot.store import digests as store
from bot.store.articles import normalize_id
from bot.store.db import QueryBudgetExceeded, read_budget
from bot.store.fts import MAX_QUERY_CHARS
from bot.target_checks import ping_role_name

log = logging.getLogger(__name__)

#: The commands that compose a digest's next run, so cost what a search does.
COSTLY_COMMANDS = ("preview", "explain")


def list_item(record: store.DigestRecord, now: datetime) -> DigestListItem:
    settings = record.settings
    return DigestListItem(
        name=record.name,
        schedule=settings.schedule,
        timezone=settings.timezone,
        channel_id=settings.channel_id,
        next_run=next_run(settings, max(now, record.last_checked)),
        paused_reason=record.paused_reason,
        source=record.source,
        mode=settings.mode,
    )


def _reply(text: str, *, kind: str = "info") -> dict[str, Any]:
    return message([notice(text, kind=kind)])


@app_commands.guild_only()
class Digests(commands.GroupCog, group_name="digest", group_description="See this server's digests"):
    """The public `/digest` group."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        super().__init__()

    # --- the guild of each digest

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        await resolve_guilds(self.bot, self.bot.db)

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        await resolve_guilds(self.bot, self.bot.db)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await resolve_guilds(self.bot, self.bot.db)

    async def guild_digests(self, guild_id: int) -> list[store.DigestRecord]:
        return await guild_digests(self.bot, self.bot.db, guild_id)

    async def guild_digest(self, guild_id: int, name: str) -> store.DigestRecord | None:
        return await guild_digest(self.bot, self.bot.db, guild_id, name)

    def _unknown(self, name: str) -> dict[str, Any]:
        shown = clean(truncate(" ".join(name.split()), 60))
        return _reply(f"This server has no digest called **{shown}**. See `/digest list`.", kind="warning")

    # --- autocomplete

    async def name_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        return matching_names((record.name for record in await self.guild_digests(interaction.guild_id)),
                              current)

    async def article_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await limited_choices(self.bot.lookup_limits, interaction.user.id,
                                     lambda: article_choices(self.bot.db, current))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """`/digest preview` and `explain` compose like a run: they draw on the member's lookup bucket."""
        command = interaction.command
        if command is not None and command.name in COSTLY_COMMANDS:
            self.bot.lookup_limits.cooldown.check(interaction.user.id)
        return True

    async def _composed(self, interaction: discord.Interaction, work: Callable[[], Awaitable[dict[str, Any]]]
                        ) -> dict[str, Any]:
        """Compose as the member's one heavy query in flight, within the preview budget."""
        with self.bot.lookup_limits.heavy.running(interaction.user.id), read_budget(PREVIEW_BUDGET_SECONDS):
            try:
                return await work()
            except QueryBudgetExceeded:
                log.info("a digest preview by %s ran past its budget", interaction.user.id)
                return _reply(TOO_BROAD_PREVIEW, kind="warning")

    # --- commands

    @app_commands.command(name="list", description="This server's digests: schedule, next run, channel")
    async def list_(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None  # the group is guild_only
        records = await replies.within_deadline(
            interaction, self.guild_digests(interaction.guild_id), ephemeral=True
        )
        now = self.bot.now()
        guild_name = interaction.guild.name if interaction.guild is not None else None
        payload = digest_list_payload([list_item(record, now) for record in records], guild_name=guild_name)
        await replies.send(interaction, payload, ephemeral=True)

    @app_commands.command(name="preview", description="See what the next run of a digest would post")
    @app_commands.describe(name="The digest")
    @app_commands.autocomplete(name=name_autocomplete)
    async def preview(self, interaction: discord.Interaction, name: str) -> None:
        assert interaction.guild_id is not None

        async def work() -> dict[str, Any]:
            record = await self.guild_digest(interaction.guild_id, name)
            if record is None:
                return self._unknown(name)
            now = self.bot.now()
            plan, _ = await compose_next(self.bot.db, record, now=now,
                                         slot_time=next_run(record.settings, max(now, record.last_checked)))
            role_name = ping_role_name(interaction.guild, record.settings)
            return preview_payload(record.name, plan, ping_role_name=role_name)

        composed = self._composed(interaction, work)
        payload = await replies.within_deadline(interaction, composed, ephemeral=True)
        await replies.send(interaction, payload, ephemeral=True)

    @app_commands.command(name="explain", description="Why an article would or would not be in a digest")
    @app_commands.describe(name="The digest", article_id="The article's id (type words of its title)")
    @app_commands.autocomplete(name=name_autocomplete, article_id=article_autocomplete)
    async def explain(
        self,
        interaction: discord.Interaction,
        name: str,
        article_id: app_commands.Range[str, 1, MAX_QUERY_CHARS],
    ) -> None:
        assert interaction.guild_id is not None

        async def work() -> dict[str, Any]:
            record = await self.guild_digest(interaction.guild_id, name)
            if record is None:
                return self._unknown(name)
            wanted = normalize_id(article_id)
            explanation = await explain_article(self.bot.db, record, wanted, now=self.bot.now())
            return explanation_payload(record.name, wanted, explanation,
                                       channel_id=record.settings.channel_id,
                                       ping_role=record.settings.ping_role)

        composed = self._composed(interaction, work)
        payload = await replies.within_deadline(interaction, composed, ephemeral=True)
        await replies.send(interaction, payload, ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Digests(bot))
    bot.add_dynamic_items(CoverageButton)


async def teardown(bot: commands.Bot) -> None:
    bot.remove_dynamic_items(CoverageButton)
