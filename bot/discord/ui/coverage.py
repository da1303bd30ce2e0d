"""The "+N" button under a digest story: shows the member the story's full coverage, as `/article` does.

A digest message outlives the process that posted it, so the button is a discord.py `DynamicItem`: its
custom id carries the lead article's id, and the bot answers a click on any message, before or after a
restart, by matching that id — no view has to be kept in memory.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands

from bot.discord.ui import replies
from bot.discord.ui.errors import report_interaction_error
from bot.render.digest_items import COVERAGE_CUSTOM_ID, COVERAGE_PREFIX
from bot.render.embeds import article_embed, notice
from bot.render.message import message
from bot.store.articles import get_article

log = logging.getLogger(__name__)

GONE = ("That article is no longer in the corpus, so its coverage cannot be shown. Find the story again "
        "with /search.")


class CoverageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=COVERAGE_CUSTOM_ID.pattern):
    """A coverage button as discord.py rebuilds it from a click's custom id."""

    def __init__(self, article_id: str) -> None:
        super().__init__(discord.ui.Button(label="Full coverage", custom_id=f"{COVERAGE_PREFIX}{article_id}"))
        self.article_id = article_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> CoverageButton:
        return cls(match["article_id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        try:  # a click is a lookup: it draws on the member's cooldown bucket (bot/fair.py)
            interaction.client.lookup_limits.cooldown.check(interaction.user.id)  # type: ignore[attr-defined]
        except app_commands.CommandOnCooldown as cooldown:
            await report_interaction_error(interaction, cooldown)
            return
        db = interaction.client.db  # type: ignore[attr-defined]
        found = await replies.within_deadline(interaction, get_article(db, self.article_id), ephemeral=True)
        if found is None:
            log.info("coverage button for article %s, which is gone", self.article_id)
            await replies.send(interaction, message([notice(GONE, kind="warning")]), ephemeral=True)
            return
        await replies.send(interaction, message([article_embed(found).embed]), ephemeral=True)
