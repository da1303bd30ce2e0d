"""Exclusions through the store: the pool narrowed in SQL never keeps what the pure rules exclude nor drops
what they keep, explain names the exclusion, and mark-seen leaves excluded articles alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.compose import compose_next, explain_article, mark_all_seen
from bot.store import digests as store
from bot.store.db import Database
from tests.unit.test_compose import T0, add_article, corpus, db, digest

__all__ = ["corpus", "db"]  # fixtures shared with test_compose.py

NOLA = ("f49c33e8b2a4a914", "48933d0774f4b3c7")


def ids_in(selection: object) -> set[str]:
    stories = selection.stories  # type: ignore[attr-defined]
    return {article.id for story in stories for article in (story.lead, *story.folded)}


@pytest.mark.parametrize("settings", [
    {"exclude_providers": ["nola.com"]},
    {"exclude_providers": ["NOLA.com"]},
    {"exclude_keywords": ['"emails reveal"', "assurances"]},
    {"topics": ["AI"], "exclude_providers": ["nola.com"]},
])
async def test_excluded_articles_are_never_posted_and_the_rest_still_are(
    db: Database, settings: dict[str, object]
) -> None:
    everything = await store.create_digest(db, digest("all", backlog=10, max_articles=10), guild_id=1, now=T0)
    _plan, unfiltered = await compose_next(db, everything, now=T0)
    some = digest("some", backlog=10, max_articles=10, **settings)
    record = await store.create_digest(db, some, guild_id=1, now=T0)
    _plan, selection = await compose_next(db, record, now=T0)
    assert ids_in(selection) == ids_in(unfiltered) - set(NOLA)


async def test_a_non_ascii_exclusion_is_left_to_the_pure_rules(db: Database, corpus: Path) -> None:
    await add_article(db, corpus, url="https://example.com/zurich", title="Zürich trams", quality=90)
    record = await store.create_digest(
        db, digest(backlog=10, max_articles=10, exclude_topics=["Ärger", "ai"]), guild_id=1, now=T0
    )
    _plan, selection = await compose_next(db, record, now=T0)
    assert selection.stories == ()


async def test_explain_names_the_excluded_keyword_for_an_article_the_pool_left_out(db: Database) -> None:
    record = await store.create_digest(db, digest(exclude_keywords=["emails reveal"]), guild_id=1, now=T0)
    explanation = await explain_article(db, record, NOLA[1], now=T0)
    assert explanation.reason == "Filtered out by digest 'morning': excluded by keyword 'emails reveal'."


async def test_mark_seen_leaves_excluded_articles_unmarked(db: Database) -> None:
    record = await store.create_digest(db, digest(exclude_providers=["nola.com"]), guild_id=1, now=T0)
    assert await mark_all_seen(db, record, now=T0) == 3
