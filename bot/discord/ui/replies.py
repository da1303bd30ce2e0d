"""Rendered payloads (plain dicts from `bot.render`) onto Discord: sending, editing, deferring in time.

The renderer decides what a message says; this module only turns its payload into discord.py arguments.
Every send and edit carries `AllowedMentions.none()`, so no reply can ever ping anyone, whatever the
corpus or the user typed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

import discord

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Discord drops an interaction that is not acknowledged within 3 s; past this much work we defer first.
DEFER_AFTER_SECONDS = 1.5


def message_kwargs(payload: Mapping[str, Any]) -> dict[str, Any]:
    """discord.py keyword arguments for a renderer payload: content, embeds and no mentions."""
    return {
        "content": payload.get("content") or None,
        "embeds": [discord.Embed.from_dict(dict(embed)) for embed in payload.get("embeds") or ()],
        "allowed_mentions": discord.AllowedMentions.none(),
    }


async def within_deadline(
    interaction: discord.Interaction, work: Awaitable[T], *, ephemeral: bool, thinking: bool = True
) -> T:
    """Await `work`, deferring the interaction if it has not finished after `DEFER_AFTER_SECONDS`.

    Fast work is answered directly (one round trip, no "thinking…" flicker); slow work still meets
    Discord's 3-second window. `thinking` shows the loading state for a command; a button passes False
    so the message it sits on simply stays as it is until the edit arrives.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.wait_for(asyncio.shield(task), DEFER_AFTER_SECONDS)
    except TimeoutError:
        log.debug("interaction %s: deferring, the answer takes longer than %.1fs", interaction.id,
                  DEFER_AFTER_SECONDS)
        if not interaction.response.is_done():
            await interaction.response.defer(ephemeral=ephemeral, thinking=thinking)
        return await task


async def send(
    interaction: discord.Interaction,
    payload: Mapping[str, Any],
    *,
    ephemeral: bool,
    view: discord.ui.View | None = None,
) -> None:
    """Answer a command with `payload`: the first response, or the edit of a deferred "thinking" one.

    After a deferral the visibility was already chosen by `defer(ephemeral=…)`.
    """
    kwargs = message_kwargs(payload)
    if view is not None:
        kwargs["view"] = view
    if interaction.response.is_done():
        await interaction.edit_original_response(**kwargs)
    else:
        await interaction.response.send_message(**kwargs, ephemeral=ephemeral)


async def update(
    interaction: discord.Interaction, payload: Mapping[str, Any], *, view: discord.ui.View | None
) -> None:
    """Replace the message a component sits on with `payload` (after a deferral too)."""
    kwargs = message_kwargs(payload)
    kwargs["view"] = view
    if interaction.response.is_done():
        await interaction.edit_original_response(**kwargs)
    else:
        await interaction.response.edit_message(**kwargs)


async def whisper(interaction: discord.Interaction, payload: Mapping[str, Any]) -> None:
    """A short ephemeral reply only the clicking or invoking member sees, as a response or a follow-up."""
    kwargs = message_kwargs(payload)
    if interaction.response.is_done():
        await interaction.followup.send(**kwargs, ephemeral=True)
    else:
        await interaction.response.send_message(**kwargs, ephemeral=True)
