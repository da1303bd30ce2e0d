"""`/about`: what the bot does, how big its corpus is, and the commands the caller may use.

Admin commands are listed only to callers the permission rule lets use them, so the list never advertises
something that would be refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.discord.client import DigestBot
from bot.permissions import Access, AccessRules, Actor, access_of, actor_from_interaction, may, rules_for
from bot.render.embeds import BRAND_COLOR, HEAT_WORDS, QUALITY_WORDS
from bot.render.text import DESCRIPTION_LIMIT, FIELD_VALUE_LIMIT, discord_timestamp, truncate
from bot.store.articles import corpus_stats

WHAT_IT_DOES = (
    "I keep a library of news articles and serve it here: search it and read articles with their related "
    "coverage through slash commands, and get scheduled digests of the best new stories posted to channels."
)




def ratings_text() -> str:
    """What the quality and heat words on articles mean, said once here rather than on every article."""
    quality = ", ".join(
        f"{word} {least}+" if least else f"{word} below {QUALITY_WORDS[-2][0]}"
        for least, word in QUALITY_WORDS
    )
    heat = ", ".join(f"{word} ({least}+)" for least, word in HEAT_WORDS)
    return (
        f"**Quality** is the library's 0–100 rating of an article's source and substance: {quality}. "
        f"**Heat** is how much attention a story is getting right now: {heat}; most articles have too "
        "little measured to mention."
    )


@dataclass(frozen=True)
class CommandEntry:
    """One command as /about lists it: its full name and description."""

    name: str
    description: str


def _leaves(
    command: app_commands.Command[Any, ..., Any] | app_commands.Group,
) -> Iterator[app_commands.Command[Any, ..., Any]]:
    if isinstance(command, app_commands.Group):
        for child in command.commands:
            yield from _leaves(child)
    else:
        yield command


def _root(
    command: app_commands.Command[Any, ..., Any],
) -> app_commands.Command[Any, ..., Any] | app_commands.Group:
    return command.root_parent or command


def usable_by(command: app_commands.Command[Any, ..., Any], actor: Actor, rules: AccessRules) -> bool:
    """Whether `actor` may use `command`: its access tag if it has one; an untagged command under a group
    with default permissions needs a server admin; guild-only commands are not offered in DMs."""
    root = _root(command)
    if actor.guild_id is None and root.guild_only:
        return False
    access = access_of(command)
    if access is not None:
        return may(actor, rules, access)
    if root.default_permissions is not None and root.default_permissions.value:
        return may(actor, rules, Access.GUILD)
    return True


def available_commands(
    tree: app_commands.CommandTree[Any], actor: Actor, rules: AccessRules
) -> list[CommandEntry]:
    entries = [
        CommandEntry(f"/{leaf.qualified_name}", leaf.description)
        for top in tree.get_commands(type=discord.AppCommandType.chat_input)
        if isinstance(top, app_commands.Command | app_commands.Group)
        for leaf in _leaves(top)
        if usable_by(leaf, actor, rules)
    ]
    return sorted(entries, key=lambda entry: entry.name)


def about_embed(
    *, articles: int, last_load_at: datetime | None, commands_available: Sequence[CommandEntry]
) -> dict[str, Any]:
    """The /about embed from plain data."""
    corpus = f"{articles:,} article{'s' if articles != 1 else ''}"
    if last_load_at is not None:
        corpus += f" · last loaded {discord_timestamp(last_load_at, 'R')}"
    lines = [f"`{entry.name}` — {entry.description}" for entry in commands_available]
    listing = "\n".join(lines) if lines else "None here."
    return {
        "title": "About this bot",
        "color": BRAND_COLOR,
        "description": truncate(WHAT_IT_DOES, DESCRIPTION_LIMIT),
        "fields": [
            {"name": "Corpus", "value": corpus, "inline": False},
            {"name": "Reading the ratings", "value": truncate(ratings_text(), FIELD_VALUE_LIMIT),
             "inline": False},
            {"name": "Commands you can use", "value": truncate(listing, FIELD_VALUE_LIMIT), "inline": False},
        ],
        "footer": {"text": f"digestbot {__version__}"},
    }


class About(commands.Cog):
    def __init__(self, bot: DigestBot) -> None:
        self.bot = bot

    @app_commands.command(name="about", description="What this bot does and the commands you can use")
    async def about(self, interaction: discord.Interaction[DigestBot]) -> None:
        stats = await corpus_stats(self.bot.db)
        entries = available_commands(self.bot.tree, actor_from_interaction(interaction), rules_for(self.bot))
        last_load = stats.last_load
        last_load_at = None if last_load is None else last_load.finished_at or last_load.started_at
        embed = about_embed(articles=stats.articles, last_load_at=last_load_at, commands_available=entries)
        await interaction.response.send_message(embed=discord.Embed.from_dict(embed), ephemeral=True)


async def setup(bot: DigestBot) -> None:
    await bot.add_cog(About(bot))
