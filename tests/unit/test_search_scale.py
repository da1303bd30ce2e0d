"""What keeps a lookup's cost from growing with the corpus, each checked to give the answer it replaces:
broad queries ranked headline first, date filters as index terms (migration 0005), and prefixes written
out from the index's vocabulary."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import search as queries
from bot.store.articles import SearchFilters, suggest_articles
from bot.store.db import Database, migrations
from bot.store.fts import build_match
from bot.store.loader import load_corpus
from bot.store.vocabulary import MAX_EXPANSION, Vocabulary
from tests.unit.test_loader import write_article

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
FIRST_DAY = date(2022, 11, 20)
ARTICLES = 90


def _day(index: int) -> date:
    return FIRST_DAY + timedelta(days=index * 7)


@pytest.fixture
async def corpus(tmp_path: Path) -> Path:
    """90 articles a week apart from 2022-11-20: "harbour" in every excerpt and in every third headline,
    words starting with "harb" in some; one published at the last second of a day, one at midnight."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for index in range(ARTICLES):
        moment = "23:59:59" if index == 10 else "00:00:00" if index == 11 else "08:00:00"
        in_title = "Harbour " if index % 3 == 0 else ""
        extra = ("harbourmaster", "harbinger", "harbor")[index % 3] if index % 4 == 0 else "quay"
        write_article(
            folder, f"{index:03d}_{index:016x}.txt", title=f"{in_title}news {index} {extra}",
            url=f"https://e.com/{index}", published=f"{_day(index).isoformat()}T{moment}Z",
            quality=(index * 37) % 101, excerpt=f"The harbour report number {index} on the {extra}",
        )
    return folder


@pytest.fixture
async def db(tmp_path: Path, corpus: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "store.sqlite3")
    await load_corpus(database, corpus, now=NOW)
    try:
        yield database
    finally:
        await database.close()


async def _page(db: Database, text: str, filters: SearchFilters = queries.NO_FILTERS) -> tuple:
    page = await queries.search(db, text, filters, limit=10)
    return page.keys, [(hit.article.id, hit.snippet) for hit in page.hits], page.total


async def _rows(db: Database, keys: tuple[int, ...]) -> list[tuple[str, str, int]]:
    """(title, excerpt, quality) of each key, in order."""
    async with db.read() as conn:
        found = {
            key: (title, excerpt, quality)
            for key, title, excerpt, quality in await conn.execute_fetchall(
                "SELECT fts_key, title, excerpt, quality FROM articles"
            )
        }
    return [found[key] for key in keys]


# --- date terms ---------------------------------------------------------------------------------------


def _days(terms: list[str]) -> list[date]:
    """Every day the terms cover, in order."""
    days: list[date] = []
    for term in terms:
        kind, digits = term[0], term[1:]
        year, month, day = int(digits[:4]), int(digits[4:6] or 1), int(digits[6:] or 1)
        start = date(year, month, day)
        if kind == "y":
            end = date(year, 12, 31)
        elif kind == "m":
            end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        else:
            end = start
        days += [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    return days


def test_date_terms_cover_each_day_of_the_range_once_with_the_fewest_terms() -> None:
    generator = random.Random(5)
    for _ in range(400):
        first = date(2019, 1, 1) + timedelta(days=generator.randrange(2000))
        last = first + timedelta(days=generator.choice([0, 1, 27, 30, 31, 58, 364, 365, 366, 800, 1500]))
        terms = queries.date_terms(first, last)
        assert _days(terms) == [first + timedelta(days=n) for n in range((last - first).days + 1)], terms
        # Fewest: no run of a whole month as days, no whole year as months.
        months = {term[1:7] for term in terms if term[0] == "d"}
        for month in months:
            days_in_it = [term for term in terms if term.startswith(f"d{month}")]
            whole = _days([f"m{month}"])
            assert len(days_in_it) < len(whole), (month, terms)
        years = {term[1:5] for term in terms if term[0] == "m"}
        assert all(sum(term.startswith(f"m{year}") for term in terms) < 12 for year in years), terms
    assert queries.date_terms(date(2022, 3, 1), date(2022, 3, 31)) == ["m202203"]
    assert queries.date_terms(date(2022, 1, 1), date(2023, 1, 2)) == ["y2022", "d20230101", "d20230102"]
    assert queries.date_terms(date(2022, 3, 2), date(2022, 3, 1)) == []


@pytest.mark.parametrize(
    "filters",
    [
        SearchFilters(since=date(2023, 1, 1), until=date(2023, 12, 31)),
        SearchFilters(since=_day(10), until=_day(10)),  # the article at 23:59:59 UTC, that day only
        SearchFilters(since=_day(11), until=_day(11)),  # the article at midnight UTC
        SearchFilters(since=_day(10) + timedelta(days=1), until=_day(11) - timedelta(days=1)),  # between
        SearchFilters(since=date(2023, 2, 14)),
        SearchFilters(until=date(2023, 2, 14)),
        SearchFilters(since=date(2030, 1, 1)),  # after the corpus: nothing
        SearchFilters(since=date(2022, 12, 5), until=date(2024, 3, 3), min_quality=40, topic="AI"),
    ],
)
async def test_dates_as_index_terms_find_what_checking_each_match_finds(
    db: Database, filters: SearchFilters, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "EXACT_RANKING_MATCHES", 5)  # "harbour" (90 matches) is broad
    as_terms = await _page(db, "harbour", filters)
    monkeypatch.setattr(queries, "MAX_DATE_TERMS", 0)  # every range is checked per match instead
    assert await _page(db, "harbour", filters) == as_terms


async def test_a_changed_publication_date_moves_the_article_to_its_new_date_terms(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_article(corpus, "a_000000000000000a.txt", title="Harbour", url="https://e.com/a",
                  published="2023-05-05T10:00:00Z")
    db = await Database.open(tmp_path / "store.sqlite3")
    try:
        await load_corpus(db, corpus, now=NOW)
        match = build_match("harbour")
        query = "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?"
        async with db.read() as conn:
            assert (await conn.execute_fetchall(query, (f"({match}) AND m202305",)))[0][0] == 1
        write_article(corpus, "a_000000000000000a.txt", title="Harbour", url="https://e.com/a",
                      published="2023-07-01T10:00:00Z")
        await load_corpus(db, corpus, now=NOW, force=True)
        async with db.read() as conn:
            assert (await conn.execute_fetchall(query, (f"({match}) AND m202305",)))[0][0] == 0
            assert (await conn.execute_fetchall(query, (f"({match}) AND d20230701",)))[0][0] == 1
        # Any writer changing only the date keeps the index exact (the trigger follows `published_at`).
        async with db.write() as conn:
            await conn.execute("UPDATE articles SET published_at = ?",
                               (int(datetime(2021, 2, 3, tzinfo=UTC).timestamp()),))
        async with db.read() as conn:
            assert (await conn.execute_fetchall(query, (f"({match}) AND d20230701",)))[0][0] == 0
            assert (await conn.execute_fetchall(query, (f"({match}) AND d20210203",)))[0][0] == 1
    finally:
        await db.close()


async def test_migration_0005_indexes_the_dates_of_articles_already_stored(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    conn = sqlite3.connect(path)
    for migration in migrations()[:4]:
        conn.executescript(f"BEGIN;\n{migration.sql}\n;PRAGMA user_version = {migration.version};\nCOMMIT;")
    conn.execute("INSERT INTO loads (started_at, corpus_path, added) VALUES ('2024-01-01', '/c', 1)")
    conn.execute(
        "INSERT INTO articles (id, url, title, excerpt, published_at, quality, source_file, first_load, "
        "last_load, fingerprint) VALUES ('a1', 'https://e.com/a', 'Harbour news', 'The harbour', ?, 70, "
        "'a.txt', 1, 1, 'f')",
        (int(datetime(2023, 3, 15, 12, tzinfo=UTC).timestamp()),),
    )
    conn.commit()
    conn.close()
    db = await Database.open(path)
    try:
        march = SearchFilters(since=date(2023, 3, 1), until=date(2023, 3, 31))
        april = SearchFilters(since=date(2023, 4, 1), until=date(2023, 4, 30))
        assert [hit.article.id for hit in (await queries.search(db, "harbour", march)).hits] == ["a1"]
        assert (await queries.search(db, "harbour", april)).total == 0
        async with db.read() as conn:
            rows = await conn.execute_fetchall(
                "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'y2023 AND m202303 AND d20230315'"
            )
        assert len(list(rows)) == 1
    finally:
        await db.close()


# --- broad queries --------------------------------------------------------------------------------------


async def test_a_broad_query_ranks_headline_matches_first_then_the_rest_each_best_quality_first(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "EXACT_RANKING_MATCHES", 5)
    page = await queries.search(db, "harbour")
    rows = await _rows(db, page.keys)
    in_title = [("harbour" in title.lower()) for title, _, _ in rows]
    assert in_title == sorted(in_title, reverse=True) and in_title.count(True) == ARTICLES // 3
    for group in (True, False):
        qualities = [quality for (_, _, quality), flag in zip(rows, in_title, strict=True) if flag is group]
        assert qualities == sorted(qualities, reverse=True)
    assert page.total == ARTICLES


async def test_a_broad_query_keeps_its_best_quality_candidates(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past `BROAD_CANDIDATES` matches, the candidates are the best-quality ones, as for bm25."""
    monkeypatch.setattr(queries, "EXACT_RANKING_MATCHES", 5)
    monkeypatch.setattr(queries, "BROAD_CANDIDATES", 20)
    page = await queries.search(db, "harbour", limit=20)
    qualities = sorted((quality for _, _, quality in await _rows(db, page.keys)), reverse=True)
    async with db.read() as conn:
        best = [row[0] for row in await conn.execute_fetchall(
            "SELECT quality FROM articles ORDER BY fts_key DESC LIMIT 20"
        )]
    assert qualities == best and page.total_capped


async def test_a_narrow_query_is_still_ranked_by_bm25(db: Database) -> None:
    """"quay" is in 67 excerpts and 67 headlines: bm25 puts the shorter headline's article first, where
    the headline-first order would go by quality."""
    page = await queries.search(db, "quay")
    async with db.read() as conn:
        expected = [row[0] for row in await conn.execute_fetchall(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? "
            f"ORDER BY bm25(articles_fts, {', '.join(map(str, queries.BM25_WEIGHTS))}), rowid DESC",
            (build_match("quay"),),
        )]
    assert list(page.keys) == expected


# --- the vocabulary ---------------------------------------------------------------------------------------


async def _vocabulary_of(db: Database) -> Vocabulary:
    db.keep_vocabulary()
    assert db.vocabulary is not None
    await db.vocabulary.ready()
    return db.vocabulary


@pytest.mark.parametrize("text", ["harb*", "harbo*", "harbour*", "news harb*", "repo*", "ha*", "zzzz*"])
@pytest.mark.parametrize("exact", [5, 1000])
async def test_prefixes_written_out_find_what_fts5_prefixes_find(
    db: Database, text: str, exact: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "EXACT_RANKING_MATCHES", exact)
    as_prefix = await _page(db, text)
    suggested = await suggest_articles(db, text.rstrip("*"))
    await _vocabulary_of(db)
    assert await _page(db, text) == as_prefix
    assert await suggest_articles(db, text.rstrip("*")) == suggested


async def test_the_vocabulary_writes_out_prefixes_it_covers(db: Database) -> None:
    vocabulary = await _vocabulary_of(db)
    assert vocabulary.expansion("harb") == ["harbinger", "harbor", "harbour", "harbourmaster"]
    assert vocabulary.expansion("har") is None, "three letters are the prefix index's"
    assert vocabulary.expansion("zzzz") == []
    async with db.read() as conn:
        assert await vocabulary.current(conn) is vocabulary
        walked = await queries._walked_match(db, conn, "harb*", build_match("harb*") or "")
    assert '"harbinger" OR "harbor" OR "harbour" OR "harbourmaster"' in walked


def test_a_prefix_covering_too_many_words_stays_a_prefix() -> None:
    vocabulary = Vocabulary(Path("unused"))
    vocabulary._words = sorted(f"word{n:03d}" for n in range(MAX_EXPANSION + 1))
    assert vocabulary.expansion("word") is None
    assert vocabulary.expansion("word00") is not None


async def test_after_a_load_that_changes_words_the_old_vocabulary_is_not_used(
    db: Database, corpus: Path
) -> None:
    vocabulary = await _vocabulary_of(db)
    write_article(corpus, "zz_00000000000000ff.txt", title="Harbourside market", url="https://e.com/new",
                  published="2023-06-01T08:00:00Z")
    await load_corpus(db, corpus, now=NOW)
    async with db.read() as conn:
        assert await vocabulary.current(conn) is None, "the snapshot has words the vocabulary lacks"
    ids = [hit.article.id for hit in (await queries.search(db, "harbours*")).hits]
    assert ids == ["00000000000000ff"], "found as an FTS5 prefix meanwhile"
    await vocabulary.ready()
    async with db.read() as conn:
        assert await vocabulary.current(conn) is vocabulary
    assert "harbourside" in (vocabulary.expansion("harbours") or [])
    assert [hit.article.id for hit in (await queries.search(db, "harbours*")).hits] == ids


async def test_loads_that_change_nothing_are_looked_past_once(
    db: Database, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every search asks whether the vocabulary is current; after a load that changed nothing it stays in
    use, and the look back past such loads is made once, not on every search."""
    from bot.store import vocabulary as module

    vocabulary = await _vocabulary_of(db)
    await load_corpus(db, corpus, now=NOW)  # nothing changed
    async with db.read() as conn:
        assert await vocabulary.current(conn) is vocabulary
    monkeypatch.setattr(module, "_CHANGING_LOAD", "SELECT no_such_column FROM loads")
    async with db.read() as conn:
        assert await vocabulary.current(conn) is vocabulary
