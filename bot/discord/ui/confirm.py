"""A reusable "are you sure?" View: Confirm / Cancel under a prompt, for actions that cannot be undone.

Only the member who ran the command can answer (anyone else gets a short ephemeral refusal), and only while
they still may: `recheck` runs again when Confirm is clicked (a role or Manage Server can be taken away
while the prompt waits), and a refusal replaces the prompt without running the action. The action
runs from the Confirm button's own callback, never from the command awaiting the view, so the command
answers at once and the action runs exactly once even if both buttons are pressed in a hurry. After an
answer, or when nobody answers before the timeout, the buttons are disabled and the prompt is replaced by
the outcome; Cancel and the timeout change nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import discord

from bot.discord.ui import replies
from bot.discord.ui.errors import ReportingView
from bot.render.embeds import notice
from bot.render.message import message

log = logging.getLogger(__name__)

#: What the Confirm button does: the action, returning the payload that replaces the prompt.
ConfirmAction = Callable[[discord.Interaction], Awaitable[Mapping[str, Any]]]
#: The permission check of the command, applied again to the click: the refusal payload, or None to go on.
ConfirmRecheck = Callable[[discord.Interaction], Awaitable[Mapping[str, Any] | None]]

DEFAULT_TIMEOUT_SECONDS = 60.0
NOT_YOURS = "Only the person who asked can answer this."


class ConfirmView(ReportingView):
    """Confirm / Cancel for `owner_id`; `on_confirm` runs once, on Confirm only, if `recheck` allows it.

    Send it with `await view.start(interaction, prompt)`. `cancelled` and `timed_out` are the payloads
    that replace the prompt when the owner cancels or does not answer in time.
    """

    def __init__(
        self,
        *,
        owner_id: int,
        on_confirm: ConfirmAction,
        recheck: ConfirmRecheck,
        cancelled: Mapping[str, Any],
        timed_out: Mapping[str, Any],
        confirm_label: str = "Confirm",
        confirm_style: discord.ButtonStyle = discord.ButtonStyle.danger,
        timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        refusal: str = NOT_YOURS,
    ) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.refusal = refusal
        self.answer: bool | None = None
        self._on_confirm = on_confirm
        self._recheck = recheck
        self._cancelled = cancelled
        self._timed_out = timed_out
        self._origin: discord.Interaction | None = None
        self._answering = asyncio.Lock()
        self.confirm_button: discord.ui.Button[ConfirmView] = discord.ui.Button(
            label=confirm_label, style=confirm_style
        )
        self.cancel_button: discord.ui.Button[ConfirmView] = discord.ui.Button(
            label="Cancel", style=discord.ButtonStyle.secondary
        )
        self.confirm_button.callback = self._confirm
        self.cancel_button.callback = self._cancel
        self.add_item(self.confirm_button)
        self.add_item(self.cancel_button)

    async def start(self, interaction: discord.Interaction, prompt: Mapping[str, Any]) -> None:
        """Answer the command with the prompt and the buttons (ephemeral: only the asker sees it)."""
        self._origin = interaction
        await replies.send(interaction, prompt, ephemeral=True, view=self)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        log.debug("confirm: refused an answer by %s (owner %s)", interaction.user.id, self.owner_id)
        await replies.whisper(interaction, message([notice(self.refusal)]))
        return False

    def _disable(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True

    async def _confirm(self, interaction: discord.Interaction) -> None:
        async with self._answering:
            if self.answer is not None:
                return
            self.answer = True
            self._disable()
            self.stop()
            outcome = await replies.within_deadline(
                interaction, self._checked_action(interaction), ephemeral=True, thinking=False
            )
            await replies.update(interaction, outcome, view=self)

    async def _checked_action(self, interaction: discord.Interaction) -> Mapping[str, Any]:
        refusal = await self._recheck(interaction)
        if refusal is not None:
            log.info("confirm: %s may no longer do this; the action did not run", interaction.user.id)
            return refusal
        return await self._on_confirm(interaction)

    async def _cancel(self, interaction: discord.Interaction) -> None:
        async with self._answering:
            if self.answer is not None:
                return
            self.answer = False
            self._disable()
            self.stop()
            await replies.update(interaction, self._cancelled, view=self)

    async def on_timeout(self) -> None:
        """Nobody answered: nothing happens, and the prompt says so with its buttons greyed out."""
        async with self._answering:
            if self.answer is not None:
                return
            self.answer = False
            self._disable()
        if self._origin is None:
            return
        try:
            await self._origin.edit_original_response(view=self, **replies.message_kwargs(self._timed_out))
        except discord.HTTPException as error:
            log.info("confirm: could not close the prompt of interaction %s: %s", self._origin.id, error)

