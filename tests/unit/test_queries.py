"""The read side: ranked search with filters and snippets, lookups, counts, stats and autocomplete."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.render.text import HIGHLIGHT_END, HIGHLIGHT_START, highlighted_pieces
from bot.store import articles as queries
from bot.store import search as search_module
from bot.store.articles import SearchFilters
from bot.store.db import Database
from bot.store.fts import EmptyQuery
from bot.store.loader import load_corpus
from bot.store.search import search
from tests.unit.test_loader import SEEDS, bump_mtime, write_article

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "store.sqlite3")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def seeded(db: Database) -> Database:
    await load_corpus(db, SEEDS, now=NOW)
    return db


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    return folder


async def test_search_ranks_and_highlights(seeded: Database) -> None:
    page = await search(seeded, "facial recognition")
    assert page.total == 5 and not page.total_capped
    assert len(page.hits) == 5
    assert all(hit.article.id and hit.article.secured is None for hit in page.hits)
    matched = {text.lower() for hit in page.hits for text, bold in highlighted_pieces(hit.snippet) if bold}
    assert matched <= {"facial", "recognition"} and matched


async def test_snippets_come_from_the_excerpt_never_the_title_or_related_headlines(seeded: Database) -> None:
    """The seeds' related headlines match "facial" far more often than their excerpts: a snippet picked
    from the best-matching column showed other outlets' headlines as if they were the article's text."""
    page = await search(seeded, "facial")
    for hit in page.hits:
        text = "".join(part for part, _ in highlighted_pieces(hit.snippet))
        assert text.rstrip("…").lstrip("…") in (hit.article.excerpt or ""), (text, hit.article.excerpt)
        detail = await queries.get_article(seeded, hit.article.id)
        assert detail is not None
        for item in detail.related:
            assert item.title not in text
    first = next(hit for hit in page.hits if hit.article.id == "4f079d8d5eeb6983")
    assert first.snippet.startswith("Many jurisdictions have banned the technology")


async def test_an_article_without_an_excerpt_has_an_empty_snippet(db: Database, corpus: Path) -> None:
    write_article(corpus, "a_000000000000000a.txt", title="Zeppelin over the bay", url="https://e.com/a",
                  excerpt="")
    await load_corpus(db, corpus, now=NOW)
    assert [hit.snippet for hit in (await search(db, "zeppelin")).hits] == [""]


def test_highlighted_pieces_split_the_markers() -> None:
    start, end = HIGHLIGHT_START, HIGHLIGHT_END
    assert highlighted_pieces(f"a {start}b{end} c {start}d{end}") == [
        ("a ", False), ("b", True), (" c ", False), ("d", True)
    ]
    assert highlighted_pieces("plain **not bold**") == [("plain **not bold**", False)]
    assert highlighted_pieces("") == []


async def test_since_finds_an_article_published_at_midnight_utc(db: Database, corpus: Path) -> None:
    write_article(corpus, "a_000000000000000a.txt", title="Midnight zeppelin", url="https://e.com/a",
                  published="2024-03-05T00:00:00Z")
    await load_corpus(db, corpus, now=NOW)
    found = await search(db, "zeppelin", SearchFilters(since=date(2024, 3, 5), until=date(2024, 3, 5)))
    assert [hit.article.id for hit in found.hits] == ["000000000000000a"]
    assert (await search(db, "zeppelin", SearchFilters(since=date(2024, 3, 6)))).total == 0
    assert (await search(db, "zeppelin", SearchFilters(until=date(2024, 3, 4)))).total == 0


async def test_ids_are_found_in_any_letter_case(seeded: Database) -> None:
    found = await queries.get_article(seeded, " 4F079D8D5EEB6983 ")
    assert found is not None and found.id == "4f079d8d5eeb6983"
    suggested = await queries.suggest_articles(seeded, "4F079D8D5EEB6983")
    assert suggested[0][0] == "4f079d8d5eeb6983"


async def test_title_match_outranks_excerpt_match(db: Database, corpus: Path) -> None:
    write_article(corpus, "a_000000000000000a.txt", title="Quiet harbour", url="https://e.com/a",
                  excerpt="A note on the zeppelin", quality=90)
    write_article(corpus, "b_000000000000000b.txt", title="Zeppelin returns", url="https://e.com/b",
                  excerpt="Nothing else", quality=10)
    await load_corpus(db, corpus, now=NOW)
    page = await search(db, "zeppelin")
    assert [hit.article.id for hit in page.hits] == ["000000000000000b", "000000000000000a"]
    assert page.hits[0].snippet == "Nothing else", "the excerpt, never the title again"
    assert page.hits[1].snippet == f"A note on the {HIGHLIGHT_START}zeppelin{HIGHLIGHT_END}"


async def test_changed_title_no_longer_matches_old_words(db: Database, corpus: Path) -> None:
    path = write_article(corpus, "a_000000000000000a.txt", title="Walrus parade", url="https://e.com/a")
    await load_corpus(db, corpus, now=NOW)
    assert (await search(db, "walrus")).total == 1
    write_article(corpus, "a_000000000000000a.txt", title="Penguin parade", url="https://e.com/a")
    bump_mtime(path)
    await load_corpus(db, corpus, now=NOW)
    assert (await search(db, "walrus")).total == 0
    assert (await search(db, "penguin")).total == 1
    conn = sqlite3.connect(db.path)
    try:
        conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        conn.close()


@pytest.mark.parametrize("text", ['"', "AND", "C++", "(", "x" * 300, "NEAR(", "title:police", "-", "*"])
async def test_hostile_queries_do_not_fail(seeded: Database, text: str) -> None:
    page = await search(seeded, text)
    assert page.total == len(page.hits) or page.total > len(page.hits)


async def test_punctuation_matches_nothing_and_blank_is_a_usage_error(seeded: Database) -> None:
    assert (await search(seeded, "(( ))")).hits == ()
    with pytest.raises(EmptyQuery):
        await search(seeded, "   ")


async def test_filters(seeded: Database) -> None:
    async def ids(filters: SearchFilters) -> set[str]:
        return {hit.article.id for hit in (await search(seeded, "facial", filters, limit=10)).hits}

    everything = await ids(SearchFilters())
    assert len(everything) == 5
    assert await ids(SearchFilters(provider="nola.COM")) == await ids(SearchFilters(provider="NOLA.com"))
    assert len(await ids(SearchFilters(provider="nola.com"))) == 2
    assert await ids(SearchFilters(topic="computer vision")) == everything
    assert await ids(SearchFilters(topic="cooking")) == set()
    assert await ids(SearchFilters(min_quality=70)) == {"48933d0774f4b3c7"}
    assert await ids(SearchFilters(published_only=True)) == {"48933d0774f4b3c7"}
    assert await ids(SearchFilters(since=date(2022, 7, 29), until=date(2022, 7, 29))) == {"4f079d8d5eeb6983"}
    assert await ids(SearchFilters(until=date(2020, 12, 31))) == {"f49c33e8b2a4a914", "48933d0774f4b3c7"}


async def test_paging_and_capped_total(db: Database, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for index in range(12):
        write_article(corpus, f"{index:02d}_{index:016x}.txt", title=f"Common word {index}",
                      url=f"https://e.com/{index}", quality=index * 5)
    await load_corpus(db, corpus, now=NOW)
    first, second = await search(db, "common", limit=5), await search(db, "common", limit=5, offset=5)
    assert first.total == 12 and not first.total_capped
    assert not {hit.article.id for hit in first.hits} & {hit.article.id for hit in second.hits}

    monkeypatch.setattr(search_module, "SEARCH_CANDIDATES", 4)
    capped = await search(db, "common", limit=10)
    assert capped.total == 4 and capped.total_capped
    # the capped candidates are the best-quality matches
    assert sorted(hit.article.quality or 0 for hit in capped.hits) == [40, 45, 50, 55]
    beyond = await search(db, "common", limit=5, offset=20)
    assert beyond.hits == () and beyond.total_capped


async def test_get_article_with_related_and_no_secret(seeded: Database) -> None:
    article = await queries.get_article(seeded, "4f079d8d5eeb6983")
    assert article is not None
    assert article.id == "4f079d8d5eeb6983" and article.first_load == 1
    assert article.title == "New Orleans Mayor OKs Police Use of Facial Recognition Technology"
    assert article.provider is not None and article.provider.label == "thecrimereport.org"
    assert article.topics == ("Computer Vision", "AI")
    assert article.image and article.image.startswith("https://")
    qualities = [item.quality for item in article.related]
    assert len(qualities) >= 2 and qualities == sorted(qualities, key=lambda q: -(q or -1))
    assert article.secured is None
    assert await queries.get_article(seeded, "0000000000000000") is None

    conn = sqlite3.connect(seeded.path)
    try:
        stored = conn.execute("SELECT secured FROM articles WHERE id = '4f079d8d5eeb6983'").fetchone()[0]
    finally:
        conn.close()
    assert stored and stored in (SEEDS / "000_4f079d8d5eeb6983.txt").read_text(encoding="utf-8")


async def test_secured_never_returned_by_any_query(seeded: Database) -> None:
    found = [
        *(hit.article for hit in (await search(seeded, "facial", limit=10)).hits),
        *(await queries.latest(seeded, limit=10, with_related=True)),
        *(await queries.top(seeded, now=NOW, limit=10)),
        *(await queries.get_articles_by_url(seeded, [a.url for a in await queries.latest(seeded)])).values(),
    ]
    assert len(found) == 20
    assert all(article.secured is None for article in found)


async def test_get_articles_by_url(seeded: Database) -> None:
    url = "https://www.nola.com/news/crime_police/article_2e2fccb2-3e5c-11eb-a45d-032cabc1b089.html"
    found = await queries.get_articles_by_url(seeded, [url, "https://nowhere.example/"])
    assert list(found) == [url] and found[url].id == "48933d0774f4b3c7" and found[url].related


async def test_latest_and_top(seeded: Database) -> None:
    newest = await queries.latest(seeded, limit=3)
    assert [a.published_at for a in newest] == sorted((a.published_at for a in newest), reverse=True)
    assert newest[0].id == "7e22685a7d214d17"
    assert [a.id for a in await queries.latest(seeded, limit=2, offset=1)] == [a.id for a in newest[1:3]]
    best = await queries.top(seeded, now=NOW, limit=5)
    assert [a.quality for a in best] == sorted((a.quality for a in best), reverse=True)
    assert best[0].id == "48933d0774f4b3c7"
    assert await queries.top(seeded, now=NOW, days=30) == []
    assert await queries.latest(seeded, topic="nothing") == []
    assert len(await queries.top(seeded, topic="ai", now=NOW)) == 5


async def test_top_breaks_quality_ties_by_heat(db: Database, corpus: Path) -> None:
    for name, heat in (("a", 1), ("b", 9)):
        path = write_article(corpus, f"{name}.txt", title=name, url=f"https://e.com/{name}", quality=50)
        path.write_text(path.read_text(encoding="utf-8").replace("quality: 50", f"quality: 50\nheat: {heat}"))
    await load_corpus(db, corpus, now=NOW)
    assert [a.title for a in await queries.top(db, now=NOW)] == ["b", "a"]


async def test_counts_stats_and_load_records(seeded: Database) -> None:
    assert await queries.topic_counts(seeded) == [("AI", 5), ("Computer Vision", 5)]
    assert await queries.provider_counts(seeded) == [
        ("NOLA.com", 2), ("thecrimereport.org", 2), ("New Orleans City Business", 1)
    ]
    stats = await queries.corpus_stats(seeded)
    assert (stats.articles, stats.providers, stats.topics) == (5, 3, 2)
    assert stats.earliest == datetime(2020, 11, 13, 19, 30, tzinfo=UTC)
    assert stats.latest is not None and stats.latest.year == 2023
    assert stats.last_load is not None and stats.last_load.seq == 1 and stats.last_load.added == 5
    assert await queries.current_load_seq(seeded) == 1
    record = await queries.last_load(seeded)
    assert record == stats.last_load and record.started_at == NOW


async def test_last_load_lists_rejections(db: Database, corpus: Path) -> None:
    write_article(corpus, "a.txt", title="Alpha", url="https://e.com/a")
    (corpus / "b.txt").write_text("---\ntitle: only a title\n---\n", encoding="utf-8")
    await load_corpus(db, corpus, now=NOW)
    record = await queries.last_load(db)
    assert record is not None and [(r.file, r.kept_previous) for r in record.rejected] == [("b.txt", False)]
    assert "webUrl" in record.rejected[0].reason


async def test_autocomplete(seeded: Database) -> None:
    assert await queries.suggest_topics(seeded, "vis") == ["Computer Vision"]
    assert await queries.suggest_topics(seeded, "") == ["AI", "Computer Vision"]
    assert await queries.suggest_providers(seeded, "NOLA") == ["NOLA.com"]
    assert await queries.suggest_providers(seeded, "%") == []
    suggestions = await queries.suggest_articles(seeded, "nine mon")
    assert suggestions == [
        ("7e22685a7d214d17",
         "New Orleans police use of facial recognition technology nets zero arrests in nine months")
    ]
    assert len(await queries.suggest_articles(seeded, "orleans", limit=2)) == 2
    assert len(await queries.suggest_articles(seeded, "")) == 5
    assert (await queries.suggest_articles(seeded, "4f079d8d5eeb6983"))[0][0] == "4f079d8d5eeb6983"
    assert await queries.suggest_articles(seeded, '"(') == []


async def test_filter_strategies_return_the_same_pages(db: Database, corpus: Path) -> None:
    topics = (("AI",), ("Cooking",), ("AI", "Cooking"))
    for index in range(60):
        day = 1 + index % 28
        write_article(
            corpus, f"{index:02d}_{index:016x}.txt",
            title=f"Harbour {'storm' if index % 3 else 'calm'} {index}",
            url=f"https://e.com/{index}", published=f"2024-0{1 + index % 3}-{day:02d}T08:00:00Z",
            quality=(index * 37) % 101, excerpt=f"Electric ferries and storms, report {index}",
            topics=topics[index % 3],
        )
    await load_corpus(db, corpus, now=NOW)
    cases = [
        SearchFilters(),
        SearchFilters(topic="cooking"),
        SearchFilters(provider="EXAMPLE.com"),
        SearchFilters(provider="nowhere"),
        SearchFilters(min_quality=40),
        SearchFilters(min_quality=0),
        SearchFilters(min_quality=100),
        SearchFilters(since=date(2024, 2, 1), until=date(2024, 2, 29)),
        SearchFilters(since=date(2024, 3, 1)),
        SearchFilters(until=date(2024, 1, 15), topic="ai", min_quality=20),
        SearchFilters(published_only=True),
    ]
    for text in ("storm", "harbour", "elect*", '"electric ferries"', "nothing"):
        for filters in cases:
            pages = {
                strategy: await search_module._search(db, text, filters, limit=7, offset=2, strategy=strategy)
                for strategy in ("lookup", "sets", "auto")
            }
            summaries = {
                strategy: ([(hit.article.id, hit.snippet) for hit in page.hits], page.total,
                           page.total_capped)
                for strategy, page in pages.items()
            }
            assert summaries["lookup"] == summaries["sets"] == summaries["auto"], (text, filters)


async def test_filter_strategies_agree_on_the_capped_candidates(
    db: Database, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for index in range(30):
        write_article(corpus, f"{index:02d}_{index:016x}.txt", title=f"Common word {index}",
                      url=f"https://e.com/{index}", quality=index * 3,
                      topics=("AI",) if index % 2 else ("Cooking",))
    await load_corpus(db, corpus, now=NOW)
    monkeypatch.setattr(search_module, "SEARCH_CANDIDATES", 4)
    filters = SearchFilters(topic="cooking")
    pages = [
        await search_module._search(db, "common", filters, limit=10, offset=0, strategy=strategy)
        for strategy in ("lookup", "sets")
    ]
    assert pages[0] == pages[1]
    assert pages[0].total == 4 and pages[0].total_capped
    # the best-quality matches that pass the filter: even rows 28, 26, 24, 22
    assert sorted(hit.article.quality or 0 for hit in pages[0].hits) == [66, 72, 78, 84]
