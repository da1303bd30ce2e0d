"""Full-text search over the corpus: ranked by bm25 over the best-quality matches, filtered without
walking more than it must, with a highlighted passage of each hit's excerpt.

Runs on a read-only connection inside one read transaction, under a time budget; articles come back as
`bot.store.articles` builds them (`secured` always None).
"""

from __future__ import annotations

import json
from calendar import monthrange
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from math import isqrt
from typing import Any, Literal

import aiosqlite

from bot.corpus.model import Article
from bot.store.articles import (
    ARTICLE_COLUMNS,
    ARTICLE_FROM,
    SEARCH_CANDIDATES,
    Condition,
    SearchFilters,
    bounded_count,
    conditions_of,
    hydrate,
)
from bot.store.db import Database, fetch_all
from bot.store.fts import build_match, query_phrases
from bot.store.snippets import Phrase, snippet

#: A search with no filter.
NO_FILTERS = SearchFilters()

#: bm25 weights for (title, excerpt, related titles, date terms): a word in the title says most about the
#: article; the date terms only filter.
BM25_WEIGHTS = (10.0, 2.0, 1.0, 0.0)
#: The time one search (or one page of it) may take inside SQLite before it is interrupted.
SEARCH_BUDGET_SECONDS = 0.5
#: A snippet is a passage of about this many words of the excerpt (never the title or other outlets'
#: headlines, which are not the article's own text), as FTS5's `snippet()` would choose it.
SNIPPET_TOKENS = 24


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A ranked match. `snippet` is a passage of the article's excerpt (empty when it has none) with the
    matched words between `HIGHLIGHT_START` and `HIGHLIGHT_END` (`bot.render.text.highlighted_pieces`
    splits it)."""

    article: Article
    snippet: str


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of ranked hits. `total` counts the ranked matches: all of them up to `SEARCH_CANDIDATES`
    (`BROAD_CANDIDATES` for a broad query); beyond, `total_capped`.
    `keys` are the FTS keys of every ranked match in rank order, so later pages need no new ranking."""

    hits: tuple[SearchHit, ...]
    total: int
    total_capped: bool = False
    keys: tuple[int, ...] = ()


# --- search -------------------------------------------------------------------------------------------

#: `articles.fts_key` is `(quality bucket << _QUALITY_SHIFT) | rowid`, the bucket being quality + 1 (0: none).
_QUALITY_SHIFT = 40
_ROWID_MASK = (1 << _QUALITY_SHIFT) - 1
_ROWID = f"(articles_fts.rowid & {_ROWID_MASK})"

#: A query whose words match more articles than this (before filters) is broad: ranking its matches by
#: bm25 would cost a pass over all of them (FTS5 counts each phrase's matches to weigh it), which grows
#: with the corpus. Broad queries rank their best-quality matches headline first instead (`_headline_first`).
EXACT_RANKING_MATCHES = SEARCH_CANDIDATES
#: How many best-quality matches a broad query ranks. Members page through at most 100 results (10 pages
#: of at most 10), so twice that leaves the headline matches put first a wider pool than the pages; more
#: would only make a narrow filter (one month) walk further, at a cost that grows with the corpus.
BROAD_CANDIDATES = 200

#: A date range needing more index terms than this is checked per match instead (see `_dates_as_terms`);
#: the most any range inside one century needs is 2 × 30 days + 2 × 11 months + 98 years.
MAX_DATE_TERMS = 200

#: A filter admitting more articles than this is never read into a set: reading it costs more than
#: checking the matches one by one, which then stops early because most of them pass.
FILTER_SET_ROWS = 20_000
#: Relative costs per row, measured at 100,000 articles: checking a match against its `articles` row
#: (a read of a wide row), adding an index entry to a filter set, and checking a match against a set.
_LOOKUP_COST, _SET_BUILD_COST, _SET_PROBE_COST = 1.7, 0.3, 0.2

SearchStrategy = Literal["auto", "lookup", "sets"]
"""How filters meet matches: `lookup` checks each match (best quality first) against its `articles` row;
`sets` reads what each indexed filter admits into a set and checks matches against it; `auto` chooses per
filter by estimated cost. All give the same results."""


def _quality_floor(min_quality: int) -> int:
    """The least `fts_key` of an article with quality ≥ `min_quality`.

    Quality is stored as an integer 0–100 or NULL (the normaliser clamps it), so `quality >= m` is exactly
    `fts_key >= floor`, a rowid range FTS5 walks without reading `articles` and stops at when it is done.
    """
    return (min(max(min_quality, 0), 101) + 1) << _QUALITY_SHIFT


def _largest_useful_set(articles: int) -> int:
    """The most rows a filter set may admit and still pay off, whatever the matches.

    Checking matches one by one walks at most candidates × articles ÷ admitted of them, so a set admitting
    `a` rows can only win when a × set build < that × saving, i.e. a² < candidates × articles × saving ÷
    set build (about 22,000 at 100,000 articles, 3,900 at 3,000).
    """
    saving = _LOOKUP_COST - _SET_PROBE_COST
    return min(FILTER_SET_ROWS, isqrt(int(SEARCH_CANDIDATES * articles * saving / _SET_BUILD_COST)))


def _matches_worth_counting(admitted: int) -> int:
    """How far the matches must be counted to tell whether a set admitting `admitted` rows pays off: it
    needs more matches walked than `admitted × set build ÷ saving`, so one more than that settles it."""
    return int(admitted * _SET_BUILD_COST / (_LOOKUP_COST - _SET_PROBE_COST)) + 1


def _set_pays_off(admitted: int, matches: int, articles: int) -> bool:
    """Whether a filter admitting `admitted` of `articles` rows costs less read into a set than checked
    per match, for a query with `matches` matches (counted at least to `_matches_worth_counting`).

    Checking matches one by one, best quality first, walks about min(matches, candidates × articles ÷
    admitted) of them before enough pass; a set costs what it admits to build, then a cheap probe per
    match walked.
    """
    walked = min(matches, SEARCH_CANDIDATES * articles / max(admitted, 1))
    saving = _LOOKUP_COST - _SET_PROBE_COST
    return admitted <= FILTER_SET_ROWS and admitted * _SET_BUILD_COST < walked * saving


_MATCHES_SQL = "SELECT 1 FROM articles_fts WHERE articles_fts MATCH ?"


async def _walked_match(db: Database, conn: aiosqlite.Connection, text: str, match: str) -> str:
    """`match` with its one-word prefixes written out as the words they cover, when the vocabulary of this
    snapshot is at hand (`bot.store.vocabulary`): the same matches, walked without merging them all first.
    bm25 keeps `match` itself, which weighs a prefix as one term."""
    vocabulary = None if db.vocabulary is None else await db.vocabulary.current(conn)
    if vocabulary is None:
        return match
    return build_match(text, expand=vocabulary.expansion) or match


async def _count_matches(conn: aiosqlite.Connection, match: str, bound: int) -> int:
    """How many articles `match` matches, counting no further than `bound`."""
    return await bounded_count(conn, _MATCHES_SQL, (match,), bound)


def date_terms(first: date, last: date) -> list[str]:
    """The fewest index terms (`y2022`, `m202203`, `d20220315`; migration 0005) whose union is the UTC days
    from `first` to `last`, inclusive: whole years, then whole months, then single days."""
    terms: list[str] = []
    day = first
    while day <= last:
        year_end = date(day.year, 12, 31)
        month_end = date(day.year, day.month, monthrange(day.year, day.month)[1])
        if (day.month, day.day) == (1, 1) and year_end <= last:
            terms.append(f"y{day:%Y}")
            day = year_end + timedelta(days=1)
        elif day.day == 1 and month_end <= last:
            terms.append(f"m{day:%Y%m}")
            day = month_end + timedelta(days=1)
        else:
            terms.append(f"d{day:%Y%m%d}")
            day += timedelta(days=1)
    return terms


async def _dates_as_terms(conn: aiosqlite.Connection, filters: SearchFilters) -> list[str] | None:
    """The filters' date range as date terms (none when no article can be in it), or None when they set
    no dates or the range would need more than `MAX_DATE_TERMS` terms (it is then checked per match).

    An open end is closed at the corpus's first or last publication day, so "since last week" needs a
    handful of terms, not every day until the end of time.
    """
    if filters.since is None and filters.until is None:
        return None
    span = (await fetch_all(  # two statements: each is one step along the index on `published_at`
        conn, "SELECT (SELECT min(published_at) FROM articles), (SELECT max(published_at) FROM articles)"
    ))[0]
    if span[0] is None:
        return []
    first = max(filters.since or date.min, datetime.fromtimestamp(span[0], UTC).date())
    last = min(filters.until or date.max, datetime.fromtimestamp(span[1], UTC).date())
    terms = date_terms(first, last)
    return None if len(terms) > MAX_DATE_TERMS else terms


async def _choose_sets(
    conn: aiosqlite.Connection, match: str, conditions: Sequence[Condition], strategy: SearchStrategy
) -> list[bool]:
    """For each condition, whether to apply it as a set of admitted rowids (True) or per match (False).

    The estimate stays far cheaper than either plan: what each indexed filter admits is counted from its
    index, in one statement, only as far as a set could pay off (`_largest_useful_set`); the matches are
    counted only when some filter is small enough, and only as far as the comparison needs. A broad
    filter (a year of articles) therefore costs no count of the matches at all, which for a prefix would
    expand every term it covers once more.
    """
    if strategy != "auto":
        return [strategy == "sets" and condition.rows is not None for condition in conditions]
    indexed = [condition for condition in conditions if condition.rows is not None]
    if not indexed:
        return [False] * len(conditions)
    articles = int((await fetch_all(conn, "SELECT coalesce(max(rowid), 0) FROM articles"))[0][0])
    largest = _largest_useful_set(articles)
    counts = ", ".join(f"(SELECT count(*) FROM ({condition.rows} LIMIT ?))" for condition in indexed)
    params = [value for condition in indexed for value in (*condition.params, largest + 1)]
    admitted = iter((await fetch_all(conn, f"SELECT {counts}", params))[0])
    counted = [None if condition.rows is None else int(next(admitted)) for condition in conditions]
    contenders = [count for count in counted if count is not None and count <= largest]
    if not contenders:
        return [False] * len(conditions)
    matches = await _count_matches(conn, match, max(map(_matches_worth_counting, contenders)))
    return [count is not None and _set_pays_off(count, matches, articles) for count in counted]


def _candidates_sql(
    columns: str, conditions: Sequence[Condition], as_sets: Sequence[bool], key_floor: int | None
) -> tuple[str, list[Any]]:
    """The best-quality matches passing the filters, best first (parameters: the MATCH, these, a LIMIT).

    FTS5 walks the matches in descending rowid order from its doclists; the walk drives the query (the
    CROSS JOIN keeps SQLite from driving it from an `articles` index and probing FTS5 once per row).
    Set conditions test the match's article rowid (taken from the key's low bits, an expression FTS5
    cannot turn into one lookup per set member) against an index-built set; conditions checked per match
    read the covering index on `fts_key` (migration 0004), never the wide `articles` row. `key_floor`
    (a minimum quality, see `_quality_floor`, or the last candidate of an earlier walk) is where the walk
    stops.
    """
    clauses: list[str] = []
    params: list[Any] = []
    if key_floor is not None:
        clauses.append("articles_fts.rowid >= ?")
        params.append(key_floor)
    checked: list[Condition] = []
    for condition, as_set in zip(conditions, as_sets, strict=True):
        if as_set:
            clauses.append(f"{_ROWID} IN ({condition.rows})")
            params += condition.params
        else:
            checked.append(condition)
    for condition in checked:
        clauses.append(condition.check)
        params += condition.params
    # Joined on `fts_key`, the checks read the covering index `articles_fts_key`, not the wide row.
    join = " CROSS JOIN articles a ON a.fts_key = articles_fts.rowid" if checked else ""
    where = "".join(f" AND {clause}" for clause in clauses)
    sql = (
        f"SELECT {columns} FROM articles_fts{join} WHERE articles_fts MATCH ?{where} "
        "ORDER BY articles_fts.rowid DESC LIMIT ?"
    )
    return sql, params


async def search(
    db: Database, text: str, filters: SearchFilters = NO_FILTERS, *, limit: int = 5, offset: int = 0,
    budget: float | None = None,
) -> SearchPage:
    """Ranked full-text search with filters and a highlighted snippet of each hit's excerpt (see `SearchHit`).

    Raises `EmptyQuery` for blank text, `QueryTooBroad` past the term caps and `QueryBudgetExceeded` when
    SQLite needed more than `budget` seconds (default `SEARCH_BUDGET_SECONDS`); text with nothing
    searchable (punctuation only) matches nothing.

    How ranking stays fast: the index's rowid (`articles.fts_key`) is the article's quality in the high
    bits and its row in the low bits, so walking the matches in descending rowid order — which FTS5 does
    straight from its doclists, without scoring — yields them best quality first, and a walk can stop as
    soon as it has enough. A query whose words match at most `EXACT_RANKING_MATCHES` articles — rare
    words, most phrases — is ranked exactly by bm25 (title weighted highest). A broader one cannot be
    ranked by bm25 at a cost independent of the corpus: FTS5 weighs each word by counting all of its
    matches first. Its best-quality `BROAD_CANDIDATES` matches are ranked headline first instead (every
    word in the title, then the rest, each best quality first): two walks that stop early. Over a common
    word bm25 is nearly flat anyway, and its headline weight is what decided.

    How filters stay fast: a minimum quality is a rowid range of the walk. A date range of a broad query is
    a union of date terms FTS5 intersects with the words (`date_terms`). A selective topic or provider
    would leave the walk reading thousands of matches that fail it, so it is read from its index into a
    set the walk checks cheaply (see `_choose_sets`). A one-word prefix is written out as the words it
    covers when the process keeps the index's vocabulary (`bot.store.vocabulary`), so its walk stops
    early too instead of merging every match of every such word first.
    """
    return await _search(db, text, filters, limit=limit, offset=offset, strategy="auto",
                         budget=SEARCH_BUDGET_SECONDS if budget is None else budget)


async def _search(
    db: Database, text: str, filters: SearchFilters, *, limit: int, offset: int, strategy: SearchStrategy,
    budget: float = SEARCH_BUDGET_SECONDS,
) -> SearchPage:
    """`search`, with how filters are applied chosen by `strategy` (the results never depend on it)."""
    match = build_match(text)
    if match is None:
        return SearchPage(hits=(), total=0)
    conditions = conditions_of(filters)
    floor = None if filters.min_quality is None else _quality_floor(filters.min_quality)
    async with db.read(budget) as conn:
        walked = await _walked_match(db, conn, text, match)
        broad = await bounded_count(conn, _MATCHES_SQL, (walked,), EXACT_RANKING_MATCHES + 1)
        if broad > EXACT_RANKING_MATCHES:
            dates = await _dates_as_terms(conn, filters)
            if dates is not None:
                conditions = conditions_of(replace(filters, since=None, until=None))
            as_sets = await _choose_sets(conn, walked, conditions, strategy)
            keys = await _headline_first(conn, walked, dates, conditions, as_sets, floor)
        else:
            as_sets = await _choose_sets(conn, match, conditions, strategy)
            keys = await _by_bm25(conn, match, conditions, as_sets, floor)
        start = max(0, offset)
        hits = await _hits(conn, query_phrases(text), keys[start : start + max(0, limit)])
    capped = len(keys) >= (BROAD_CANDIDATES if broad > EXACT_RANKING_MATCHES else SEARCH_CANDIDATES)
    return SearchPage(hits=hits, total=len(keys), total_capped=capped, keys=keys)


async def _by_bm25(
    conn: aiosqlite.Connection, match: str, conditions: Sequence[Condition], as_sets: Sequence[bool],
    floor: int | None,
) -> tuple[int, ...]:
    """The keys of every match passing the filters, by bm25 (title weighted highest), best first."""
    weights = ", ".join(str(weight) for weight in BM25_WEIGHTS)
    candidates, params = _candidates_sql(
        f"articles_fts.rowid AS fts_key, bm25(articles_fts, {weights}) AS score", conditions, as_sets, floor
    )
    ranked = await fetch_all(
        conn, f"SELECT fts_key FROM ({candidates}) ORDER BY score, fts_key DESC",
        [match, *params, SEARCH_CANDIDATES],
    )
    return tuple(int(row[0]) for row in ranked)


async def _headline_first(
    conn: aiosqlite.Connection, match: str, dates: list[str] | None, conditions: Sequence[Condition],
    as_sets: Sequence[bool], floor: int | None,
) -> tuple[int, ...]:
    """The keys of the best-quality matches passing the filters: those with every word in the headline
    first, then the others, each best quality first.

    Two walks in quality order: the candidates (stopping after `BROAD_CANDIDATES` keys), then the
    headline matches down to the last candidate's key. Without other filters, all of those are candidates;
    with them, each is checked against the candidates (which passed the filters already: a filter set is
    not built twice). `dates` (see `_dates_as_terms`) is intersected
    by FTS5 itself in both, so a month's matches cost what the month holds.
    """
    if dates == []:
        return ()
    within = "" if dates is None else " AND {fts_dates} : (" + " OR ".join(dates) + ")"
    candidates, params = _candidates_sql("articles_fts.rowid", conditions, as_sets, floor)
    found = await fetch_all(conn, candidates, [f"{match}{within}", *params, BROAD_CANDIDATES])
    keys = [int(row[0]) for row in found]
    if not keys:
        return ()
    sql = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? AND rowid >= ?"
    params = [f"{{title}} : ({match}){within}", keys[-1]]
    if conditions:  # candidates spread over the keys: check each headline match in SQLite, not here
        # The unary plus keeps the IN a check of each headline match, not one FTS5 query per key.
        sql += " AND +rowid IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(keys))
    headline = {int(row[0]) for row in await fetch_all(conn, sql, params)}
    return tuple(key for key in keys if key in headline) + tuple(key for key in keys if key not in headline)


async def search_hits(
    db: Database, text: str, keys: Sequence[int], *, budget: float | None = None
) -> tuple[SearchHit, ...]:
    """The hits for `keys` (a slice of an earlier `SearchPage.keys`), in that order: a later page of a
    search without ranking it again. Articles gone since the search are left out."""
    match = build_match(text)
    if match is None or not keys:
        return ()
    async with db.read(SEARCH_BUDGET_SECONDS if budget is None else budget) as conn:
        return await _hits(conn, query_phrases(text), keys)


async def _hits(
    conn: aiosqlite.Connection, phrases: Sequence[Phrase], keys: Sequence[int]
) -> tuple[SearchHit, ...]:
    """Articles and highlighted snippets of their excerpts for these FTS keys, in their order."""
    if not keys:
        return ()
    rowids = [key & _ROWID_MASK for key in keys]
    rows = await fetch_all(
        conn,
        f"SELECT {ARTICLE_COLUMNS} FROM {ARTICLE_FROM} WHERE a.rowid IN (SELECT value FROM json_each(?))",
        (json.dumps(rowids),),
    )
    by_rowid = {article_row[0]: article_row for article_row in rows}
    present = [by_rowid[rowid] for rowid in rowids if rowid in by_rowid]
    articles = await hydrate(conn, present, with_related=False)
    return tuple(
        SearchHit(article=article, snippet=snippet(article.excerpt or "", phrases, SNIPPET_TOKENS))
        for article in articles
    )
