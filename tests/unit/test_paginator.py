"""Page arithmetic and the paginator's button states, without Discord."""

from __future__ import annotations

from typing import Any

import pytest

from bot.discord.ui.article_menu import ArticleMenu, with_menu
from bot.discord.ui.paginator import Paginator, page_count, page_offset
from bot.render.embeds import notice
from bot.render.message import message


async def _page(number: int) -> dict[str, Any]:
    return message([notice(f"page {number}")])


@pytest.mark.parametrize(
    ("total", "page_size", "pages"), [(0, 5, 1), (1, 5, 1), (5, 5, 1), (6, 5, 2), (12, 5, 3), (1000, 5, 200)]
)
def test_page_count(total: int, page_size: int, pages: int) -> None:
    assert page_count(total, page_size) == pages


def test_page_offset_starts_each_page_after_the_previous_one() -> None:
    assert [page_offset(page, 5) for page in (1, 2, 3)] == [0, 5, 10]


def test_bad_page_arithmetic_is_refused() -> None:
    with pytest.raises(ValueError, match="page_size must be at least 1"):
        page_count(10, 0)
    with pytest.raises(ValueError, match="pages are numbered from 1"):
        page_offset(0, 5)


async def test_buttons_start_on_page_one() -> None:
    paginator = Paginator(owner_id=1, pages=3, fetch_page=_page)
    assert paginator.previous_page.disabled and not paginator.next_page.disabled
    assert paginator.counter.disabled and paginator.counter.label == "1/3"
    assert [item.label for item in paginator.children] == ["Previous", "1/3", "Next"]


async def test_a_single_page_has_nowhere_to_go() -> None:
    paginator = Paginator(owner_id=1, pages=1, fetch_page=_page)
    assert paginator.previous_page.disabled and paginator.next_page.disabled


async def test_a_paginator_needs_a_page() -> None:
    with pytest.raises(ValueError, match="at least one page"):
        Paginator(owner_id=1, pages=0, fetch_page=_page)


async def _open(interaction: object, article_id: str) -> None:
    raise AssertionError("no article is opened in these tests")


async def test_the_article_menu_follows_the_page_shown() -> None:
    menu = ArticleMenu(_open)
    paginator = Paginator(owner_id=1, pages=2, fetch_page=_page, menu=menu)
    kinds = [type(item).__name__ for item in paginator.children]
    assert kinds == ["Button", "Button", "Button", "ArticleMenu"]
    option = {"label": "A story", "value": "4f07", "description": "Outlet"}
    menu.show_page(with_menu(await _page(1), [option]))
    assert [(o.label, o.value, o.description) for o in menu.options] == [("A story", "4f07", "Outlet")]
    assert menu.placeholder == "Open an article…" and not menu.disabled
    menu.show_page(await _page(2))
    assert menu.disabled and len(menu.options) == 1, "Discord needs an option even when none can be opened"
