"""Autocomplete choices, built one way for every command: ≤ 25 of them, labels and values ≤ 100 characters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from discord import app_commands

from bot.render.text import truncate
from bot.store import articles as store
from bot.store.db import Database

CHOICES_LIMIT = 25
CHOICE_TEXT_LIMIT = 100


def choice_name(text: str) -> str:
    """An autocomplete label: one line, at most 100 characters (Discord shows it without markdown)."""
    name = truncate(" ".join(text.split()), CHOICE_TEXT_LIMIT)
    return name or "(untitled)"


def name_choices(names: Sequence[str]) -> list[app_commands.Choice[str]]:
    """Names as choices; names longer than a choice value allows are left out."""
    return [
        app_commands.Choice(name=choice_name(name), value=name)
        for name in names
        if 0 < len(name) <= CHOICE_TEXT_LIMIT
    ][:CHOICES_LIMIT]


def matching_names(names: Iterable[str], typed: str) -> list[app_commands.Choice[str]]:
    """The names containing what is typed (case-insensitive), those starting with it first."""
    needle = typed.strip().lower()
    found = sorted(
        (name for name in names if needle in name.lower()),
        key=lambda name: (not name.lower().startswith(needle), name.lower()),
    )
    return name_choices(found)


async def article_choices(db: Database, typed: str) -> list[app_commands.Choice[str]]:
    """Articles whose title matches what is typed: the title shown, the id as the value."""
    found = await store.suggest_articles(db, typed, limit=CHOICES_LIMIT)
    return [
        app_commands.Choice(name=choice_name(title), value=article_id)
        for article_id, title in found
        if 0 < len(article_id) <= CHOICE_TEXT_LIMIT
    ][:CHOICES_LIMIT]
