"""A reusable Previous/Next paginator over lazily fetched pages, for search results and lists alike.

Only the member who ran the command can turn its pages (anyone else gets a short ephemeral refusal and
the message stays as it is); pages are fetched through a callback only when asked for, so a search with a
thousand hits costs one query per page viewed; when the view times out its buttons are disabled by editing
the original response, the only way to reach an ephemeral message. A page of articles can carry an
"Open an article…" menu (`bot.discord.ui.article_menu`), which follows the page shown and which anyone
may use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import discord

from bot.discord.ui import replies
from bot.discord.ui.article_menu import ArticleMenu
from bot.discord.ui.errors import ReportingView
from bot.render.embeds import notice
from bot.render.message import message

log = logging.getLogger(__name__)

#: A 1-based page number → the complete message payload for that page (see `bot.render.message.message`).
PageFetcher = Callable[[int], Awaitable[Mapping[str, Any]]]

DEFAULT_TIMEOUT_SECONDS = 180.0
NOT_YOURS = "Only the person who searched can page through these results."


def page_count(total: int, page_size: int) -> int:
    """How many pages `total` rows fill at `page_size` per page (at least one, so page 1 always exists)."""
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, got {page_size}")
    return max(1, -(-total // page_size))


def page_offset(page: int, page_size: int) -> int:
    """The row offset where 1-based `page` starts."""
    if page < 1:
        raise ValueError(f"pages are numbered from 1, got {page}")
    return (page - 1) * page_size


class Paginator(ReportingView):
    """Previous · n/N · Next under a message whose pages come from `fetch_page`.

    Start it with `await paginator.start(interaction, first_page, ephemeral=…)` where `first_page` is the
    payload of page 1 the command already fetched (it needed the total to count the pages anyway). A page
    fetch that fails is reported the way a failing command is (`ReportingView`).
    """

    def __init__(
        self,
        *,
        owner_id: int,
        pages: int,
        fetch_page: PageFetcher,
        timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        refusal: str = NOT_YOURS,
        menu: ArticleMenu | None = None,
        before_turn: Callable[[discord.Interaction], None] | None = None,
    ) -> None:
        super().__init__(timeout=timeout)
        if pages < 1:
            raise ValueError(f"a paginator needs at least one page, got {pages}")
        self.owner_id = owner_id
        self.pages = pages
        self.page = 1
        self.refusal = refusal
        self._before_turn = before_turn
        self._fetch_page = fetch_page
        self._origin: discord.Interaction | None = None
        self._turning = asyncio.Lock()
        self.previous_page: discord.ui.Button[Paginator] = discord.ui.Button(
            label="Previous", emoji="\N{BLACK LEFT-POINTING TRIANGLE}", style=discord.ButtonStyle.secondary
        )
        # Shows where the reader is; disabled, so Discord never sends a click for it.
        self.counter: discord.ui.Button[Paginator] = discord.ui.Button(
            label="1/1", style=discord.ButtonStyle.secondary, disabled=True
        )
        self.next_page: discord.ui.Button[Paginator] = discord.ui.Button(
            label="Next", emoji="\N{BLACK RIGHT-POINTING TRIANGLE}", style=discord.ButtonStyle.primary
        )
        self.previous_page.callback = self._previous
        self.next_page.callback = self._next
        for button in (self.previous_page, self.counter, self.next_page):
            self.add_item(button)
        self.menu = menu
        if menu is not None:
            self.add_item(menu)
        self._sync_buttons()

    async def start(self, interaction: discord.Interaction, first_page: Mapping[str, Any], *,
                    ephemeral: bool) -> None:
        """Send page 1 as the command's answer; a single page needs no buttons and gets none (only its
        menu, if it has one)."""
        self._origin = interaction
        if self.menu is not None:
            self.menu.show_page(first_page)
        if self.pages == 1:
            if self.menu is None:
                self.stop()
                await replies.send(interaction, first_page, ephemeral=ephemeral)
                return
            for button in (self.previous_page, self.counter, self.next_page):
                self.remove_item(button)
        await replies.send(interaction, first_page, ephemeral=ephemeral, view=self)

    def _sync_buttons(self) -> None:
        self.previous_page.disabled = self.page <= 1
        self.next_page.disabled = self.page >= self.pages
        self.counter.label = f"{self.page}/{self.pages}"

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the owner turns pages; anyone may pick in the article menu. `before_turn` may refuse either
        by raising (a cooldown, say), which is reported to the member like a refused command."""
        if interaction.user.id == self.owner_id or self._is_menu(interaction):
            if self._before_turn is not None:
                self._before_turn(interaction)
            return True
        log.debug("paginator: refused a page turn by %s (owner %s)", interaction.user.id, self.owner_id)
        await replies.whisper(interaction, message([notice(self.refusal)]))
        return False

    def _is_menu(self, interaction: discord.Interaction) -> bool:
        """Whether the interaction is a pick in the article menu, which opens an article only for the
        member who picked it and so is anyone's to use."""
        data = interaction.data or {}
        return self.menu is not None and data.get("custom_id") == self.menu.custom_id

    async def _turn_to(self, interaction: discord.Interaction, page: int) -> None:
        async with self._turning:
            target = min(max(page, 1), self.pages)
            payload = await replies.within_deadline(
                interaction, self._fetch_page(target), ephemeral=True, thinking=False
            )
            self.page = target
            self._sync_buttons()
            if self.menu is not None:
                self.menu.show_page(payload)
            await replies.update(interaction, payload, view=self)

    async def _previous(self, interaction: discord.Interaction) -> None:
        await self._turn_to(interaction, self.page - 1)

    async def _next(self, interaction: discord.Interaction) -> None:
        await self._turn_to(interaction, self.page + 1)

    async def on_timeout(self) -> None:
        """Grey the buttons and the menu out so nobody clicks a dead paginator (the message itself stays)."""
        for item in self.children:
            if isinstance(item, discord.ui.Button | discord.ui.Select):
                item.disabled = True
        if self._origin is None:
            return
        try:
            await self._origin.edit_original_response(
                view=self, allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.HTTPException as error:
            log.info("paginator: could not disable the buttons of interaction %s: %s", self._origin.id, error)
