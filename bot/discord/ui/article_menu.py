"""The "Open an article…" menu under a page of results: picking one shows its `/article` view to the
member who picked it (ephemerally), so result lists need no raw ids.

The page's options travel with its payload under `MENU_KEY` (built by
`bot.render.embeds.article_menu_options`), so each page turned brings its own menu.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import discord

log = logging.getLogger(__name__)

#: The payload key holding a page's menu options (label, value = article id, description).
MENU_KEY = "menu"
PLACEHOLDER = "Open an article…"

#: Shows the article with this id to the member behind the interaction.
ArticleOpener = Callable[[discord.Interaction, str], Awaitable[None]]


def with_menu(payload: Mapping[str, Any], options: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """`payload` carrying the options of its page's menu."""
    return {**payload, MENU_KEY: [dict(option) for option in options]}


class ArticleMenu(discord.ui.Select[Any]):
    """A select menu of the articles on the current page. Anyone who sees the page may use it: the
    article opens only for them, so a public result list stays useful to the whole channel."""

    def __init__(self, open_article: ArticleOpener) -> None:
        super().__init__(placeholder=PLACEHOLDER, min_values=1, max_values=1, row=1)
        self._open_article = open_article

    def show_page(self, payload: Mapping[str, Any]) -> None:
        """Offer the articles of the page `payload` shows (disabled when it offers none)."""
        options = payload.get(MENU_KEY) or ()
        self.options = [
            discord.SelectOption(
                label=option["label"], value=option["value"], description=option.get("description") or None
            )
            for option in options
        ] or [discord.SelectOption(label="No article to open on this page", value="-")]
        self.disabled = not options

    async def callback(self, interaction: discord.Interaction) -> None:
        article_id = self.values[0]
        log.debug("article menu: %s opens %s", interaction.user.id, article_id)
        await self._open_article(interaction, article_id)
