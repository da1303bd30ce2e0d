"""How a search applies its filters: the plan chosen from cheap counts, and the same ranked page either way.

The corpus and its full-text index live in the process's SQLite whatever the engine of the shared state,
so these tests run on SQLite alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.store import search as queries
from bot.store.articles import SearchFilters, conditions_of
from bot.store.db import Database
from bot.store.loader import load_corpus
from tests.unit.test_loader import write_article

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
#: 120 articles: "harbour" in every title, "lighthouse" in two; the first 4 published in January 2024,
#: the rest in 2023.
ARTICLES = 120
JANUARY = SearchFilters(since=date(2024, 1, 1), until=date(2024, 1, 31))
YEAR_2023 = SearchFilters(since=date(2023, 1, 1), until=date(2023, 12, 31))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index in range(ARTICLES):
        day = f"2024-01-{1 + index:02d}" if index < 4 else f"2023-{1 + index % 12:02d}-{1 + index % 28:02d}"
        extra = " lighthouse" if index in (3, 70) else ""
        write_article(
            corpus, f"{index:03d}_{index:016x}.txt", title=f"Harbour news {index}{extra}",
            url=f"https://e.com/{index}", published=f"{day}T08:00:00Z", quality=(index * 37) % 101,
            excerpt=f"The harbour{extra} report number {index}",
        )
    database = await Database.open(tmp_path / "store.sqlite3")
    await load_corpus(database, corpus, now=NOW)
    try:
        yield database
    finally:
        await database.close()


async def chosen(db: Database, text: str, filters: SearchFilters) -> list[bool]:
    """The plan `search` chooses for each condition of `filters` (True: read into a set)."""
    match = queries.build_match(text)
    assert match is not None
    async with db.read() as conn:
        return await queries._choose_sets(conn, match, conditions_of(filters), "auto")


async def ranked(db: Database, text: str, filters: SearchFilters, strategy: queries.SearchStrategy) -> tuple:
    page = await queries._search(db, text, filters, limit=10, offset=0, strategy=strategy)
    return page.keys, [(hit.article.id, hit.snippet) for hit in page.hits], page.total, page.total_capped


@pytest.mark.parametrize(
    ("text", "filters", "as_set"),
    [
        ("harbour", JANUARY, True),  # 4 admitted of 120 matches: a set beats reading 120 rows
        ("lighthouse", YEAR_2023, False),  # 2 matches, 116 admitted: check the 2 matches
        ("lighthouse", JANUARY, True),  # 4 admitted, 2 matches: building 4 costs less than 2 lookups
    ],
)
async def test_each_plan_is_chosen_and_ranks_exactly_as_the_other(
    db: Database, text: str, filters: SearchFilters, as_set: bool
) -> None:
    assert await chosen(db, text, filters) == [as_set]
    other = "lookup" if as_set else "sets"
    auto = await ranked(db, text, filters, "auto")
    assert auto == await ranked(db, text, filters, other)
    assert auto[2] > 0


async def test_a_filter_too_broad_for_a_set_costs_no_count_of_the_matches(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With 1 candidate, no set over 24 rows (√(1 × 120 × 5)) can pay off, and 2023 admits 116.
    monkeypatch.setattr(queries, "SEARCH_CANDIDATES", 1)
    assert queries._largest_useful_set(ARTICLES) == 24

    async def no_count(*_: object) -> int:
        raise AssertionError("the matches were counted for a filter that cannot pay off as a set")

    monkeypatch.setattr(queries, "_count_matches", no_count)
    assert await chosen(db, "harbour", YEAR_2023) == [False]
    assert await ranked(db, "harbour", YEAR_2023, "auto") == await ranked(db, "harbour", YEAR_2023, "sets")


@pytest.mark.parametrize("articles", [10, 3_000, 100_000, 2_000_000])
def test_matches_counted_only_so_far_decide_as_all_of_them(articles: int) -> None:
    largest = queries._largest_useful_set(articles)
    for admitted in sorted({0, 1, 2, 7, 50, 499, 2_811, largest, largest + 1, 33_496}):
        bound = queries._matches_worth_counting(admitted)
        for matches in sorted({0, 1, bound - 1, bound, bound + 1, 44_506, 10 * articles}):
            assert queries._set_pays_off(admitted, min(matches, bound), articles) == queries._set_pays_off(
                admitted, matches, articles
            ), (admitted, matches)
            if admitted > largest:
                assert not queries._set_pays_off(admitted, matches, articles)
