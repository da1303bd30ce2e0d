"""One way to fail: every error in a command or a View becomes a short ephemeral notice, and is logged.

Users get the specific reason when it is theirs to fix (a refused check, a cooldown, a bad value) and
"Something went wrong" otherwise; the log gets the full error with the command, guild and user ids. The
reply goes where Discord still accepts it: the initial response if it is open; after a deferral the notice
replaces the "thinking…" message (editing the original); otherwise an ephemeral followup. Nothing here
raises: an interaction that can no longer be answered (expired, deleted) is logged and left.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import discord
from discord import app_commands

from bot import clock
from bot.render.embeds import notice
from bot.render.text import clean, discord_timestamp

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = "Something went wrong while handling that. It has been logged; please try again later."
OUT_OF_DATE = "This command is out of date. Discord should catch up within a minute; please try again then."
GENERIC_REFUSAL = "You can't use this command here."


class BadOptionValue(app_commands.TransformerError):
    """A transformer's refusal whose message is written for the person who typed the value."""

    def __init__(self, message: str, value: Any, transformer: app_commands.Transformer) -> None:
        super().__init__(value, discord.AppCommandOptionType.string, transformer)
        self.user_message = message


def _describe(interaction: discord.Interaction[Any], item: discord.ui.Item[Any] | None) -> str:
    if item is not None:
        custom_id = getattr(item, "custom_id", None)
        return f"component {custom_id or type(item).__name__}"
    command = interaction.command
    return f"/{command.qualified_name}" if command is not None else "interaction"


def _now(interaction: discord.Interaction[Any]) -> Any:
    """The bot's clock when it has one (tests control it), else the shared one."""
    source = getattr(interaction.client, "now", None)
    return source() if callable(source) else clock.now()


def user_message(interaction: discord.Interaction[Any], error: Exception) -> str | None:
    """The reason shown for an error the user can act on, or None for an unexpected failure."""
    if isinstance(error, app_commands.CommandOnCooldown):
        retry = max(1, round(error.retry_after))
        when = _now(interaction) + timedelta(seconds=error.retry_after)
        return f"You're going a bit fast. Try again in {retry} s ({discord_timestamp(when, 'R')})."
    if isinstance(error, app_commands.CheckFailure):
        if type(error) is app_commands.CheckFailure or not error.args:
            return GENERIC_REFUSAL
        return str(error)
    if isinstance(error, BadOptionValue):
        return error.user_message
    if isinstance(error, app_commands.TransformerError):
        value = clean(str(error.value))[:100]
        return f"`{value}` is not a valid value for this option; please check it and try again."
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        return OUT_OF_DATE
    return None


async def _send(interaction: discord.Interaction[Any], embed: discord.Embed) -> None:
    response = interaction.response
    if not response.is_done():
        await response.send_message(embed=embed, ephemeral=True)
        return
    if response.type is discord.InteractionResponseType.deferred_channel_message:
        try:
            await interaction.edit_original_response(content=None, embed=embed, view=None, attachments=[])
            return
        except discord.NotFound:
            log.debug("original response of interaction %s is gone; sending a followup", interaction.id)
    await interaction.followup.send(embed=embed, ephemeral=True)


async def report_interaction_error(
    interaction: discord.Interaction[Any], error: Exception, *, item: discord.ui.Item[Any] | None = None
) -> None:
    """Log `error` with its context and tell the user, ephemerally, what went wrong."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    reason = user_message(interaction, original)
    where = _describe(interaction, item)
    guild_id, user_id = interaction.guild_id, interaction.user.id
    if reason is None:
        log.error("%s failed (guild %s, user %s)", where, guild_id, user_id, exc_info=original)
    else:
        log.info("%s refused (guild %s, user %s): %s", where, guild_id, user_id, original)
    kind = "warning" if reason is not None else "error"
    embed = discord.Embed.from_dict(notice(reason or SOMETHING_WENT_WRONG, kind=kind))
    try:
        await _send(interaction, embed)
    except discord.HTTPException as send_error:
        log.warning("could not tell user %s about the failure of %s: %s", user_id, where, send_error)


class ReportingView(discord.ui.View):
    """A View whose callbacks fail the same way commands do."""

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await report_interaction_error(interaction, error, item=item)
