"""The read side of the corpus store: search, lookups, counts and stats for people and digests.

Every function takes the `Database`, runs on a read-only connection inside one read transaction, and
returns `bot.corpus.model` dataclasses with `id` filled in and `secured` always None (it is stored, but
nothing meant for people may ever carry it). Timestamps are stored as unix seconds (UTC).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from math import isqrt
from typing import Any, Literal

import aiosqlite

from bot.corpus.model import Article, Duplicate, Image, Provider, Rejection, Related
from bot.render.text import HIGHLIGHT_END, HIGHLIGHT_START
from bot.store.db import Database, QueryBudgetExceeded
from bot.store.fts import QueryTooBroad, build_match

log = logging.getLogger(__name__)

#: bm25 weights for (title, excerpt, related titles): a word in the title says most about the article.
BM25_WEIGHTS = (10.0, 2.0, 1.0)
#: At most this many matches are ranked by bm25 (see `search`); `SearchPage.total` is capped here too.
SEARCH_CANDIDATES = 1000
#: The time one search (or one page of it) may take inside SQLite before it is interrupted, and the
#: smaller budget of an autocomplete (Discord waits 3 s for its choices, members type on meanwhile).
SEARCH_BUDGET_SECONDS = 0.5
AUTOCOMPLETE_BUDGET_SECONDS = 0.2
SNIPPET_TOKENS = 24
#: The FTS5 column snippets come from: the excerpt (0 is the title, 2 the related headlines, neither of
#: which is the article's own text).
SNIPPET_COLUMN = 1

_ARTICLE_COLUMNS = """
    a.rowid, a.id, a.url, a.title, a.excerpt, a.original_url, a.amp_url, a.published_at, a.quality, a.heat,
    a.published, a.category, p.name, p.domain, a.images, a.source_file, a.first_load
"""
_ARTICLE_FROM = "articles a LEFT JOIN providers p ON p.id = a.provider_id"


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Narrowing of a search: `provider` matches a name or domain, case-insensitively; dates are inclusive."""

    topic: str | None = None
    provider: str | None = None
    min_quality: int | None = None
    since: date | None = None
    until: date | None = None
    published_only: bool = False


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A ranked match. `snippet` is a passage of the article's excerpt (empty when it has none) with the
    matched words between `HIGHLIGHT_START` and `HIGHLIGHT_END` (`bot.render.text.highlighted_pieces`
    splits it)."""

    article: Article
    snippet: str


def normalize_id(article_id: str) -> str:
    """An article id as stored: ids are hex digests, kept in lower case, so `4F07…` finds `4f07…`."""
    return article_id.strip().lower()


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of ranked hits. `total` counts matches up to `SEARCH_CANDIDATES`; beyond, `total_capped`.
    `keys` are the FTS keys of every ranked match in rank order, so later pages need no new ranking."""

    hits: tuple[SearchHit, ...]
    total: int
    total_capped: bool = False
    keys: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class LoadRecord:
    """What a past load did, as recorded in `loads`."""

    seq: int
    started_at: datetime
    finished_at: datetime | None
    added: int
    updated: int
    unchanged: int
    removed: int
    articles: int
    rejected: tuple[Rejection, ...] = ()
    duplicates: tuple[Duplicate, ...] = ()


@dataclass(frozen=True, slots=True)
class CorpusStats:
    articles: int
    providers: int
    topics: int
    earliest: datetime | None
    latest: datetime | None
    last_load: LoadRecord | None = field(default=None)


# --- row → dataclass ----------------------------------------------------------------------------------


def _moment(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _provider(name: str | None, domain: str | None) -> Provider | None:
    if not name and not domain:
        return None
    return Provider(name=name or None, domain=domain or None)


def _article(row: Sequence[Any], topics: tuple[str, ...], related: tuple[Related, ...]) -> Article:
    (_, article_id, url, title, excerpt, original_url, amp_url, published_at, quality, heat, published,
     category, provider_name, provider_domain, images, source_file, first_load) = row
    return Article(
        id=article_id,
        url=url,
        title=title,
        published_at=datetime.fromtimestamp(published_at, UTC),
        source_file=source_file,
        id_hint=article_id,
        excerpt=excerpt,
        original_url=original_url,
        amp_url=amp_url,
        quality=quality,
        heat=heat,
        published=None if published is None else bool(published),
        category=category,
        provider=_provider(provider_name, provider_domain),
        topics=topics,
        images=tuple(Image(url=item[0], width=item[1], height=item[2]) for item in json.loads(images)),
        related=related,
        secured=None,
        first_load=first_load,
    )


async def _fetchall(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[Any]:
    """Every row of one query, in one trip to the connection's thread.

    Each trip waits for the event loop to resume this task, and the reader stays taken meanwhile: with
    many members at once, a cursor's three trips (execute, fetch, close) kept readers held and others
    queued for them longer than the queries took.
    """
    return list(await conn.execute_fetchall(sql, tuple(params)))


async def _hydrate(conn: aiosqlite.Connection, rows: list[Any], *, with_related: bool) -> list[Article]:
    """Articles for `articles` rows (`_ARTICLE_COLUMNS`), in the rows' order, with topics (and related)."""
    if not rows:
        return []
    keys = json.dumps([row[0] for row in rows])
    topics: dict[int, list[str]] = {}
    for rowid, topic in await _fetchall(
        conn,
        "SELECT article, topic FROM article_topics WHERE article IN (SELECT value FROM json_each(?)) "
        "ORDER BY article, position",
        (keys,),
    ):
        topics.setdefault(rowid, []).append(topic)
    related: dict[int, list[Related]] = {}
    if with_related:
        for rowid, title, url, excerpt, name, domain, published_at, quality in await _fetchall(
            conn,
            "SELECT article, title, url, excerpt, provider_name, provider_domain, published_at, quality "
            "FROM related WHERE article IN (SELECT value FROM json_each(?)) "
            "ORDER BY article, quality IS NULL, quality DESC, position",
            (keys,),
        ):
            related.setdefault(rowid, []).append(
                Related(
                    title=title,
                    url=url,
                    excerpt=excerpt,
                    provider=_provider(name, domain),
                    published_at=_moment(published_at),
                    quality=quality,
                )
            )
    return [_article(row, tuple(topics.get(row[0], ())), tuple(related.get(row[0], ()))) for row in rows]


# --- filters ------------------------------------------------------------------------------------------


def _day_start(day: date) -> int:
    return int(datetime.combine(day, time(), tzinfo=UTC).timestamp())


@dataclass(frozen=True, slots=True)
class _Condition:
    """One filter, in the two forms a search can apply it.

    `check` is an SQL condition on `articles a`, for a matching article already in hand. `rows` (None when
    no index can list them) selects the rowids of every article the filter admits straight from an index,
    without reading the wide `articles` rows; `params` serve either form.
    """

    check: str
    rows: str | None
    params: tuple[Any, ...]


def _conditions(filters: SearchFilters) -> list[_Condition]:
    """The filters other than `min_quality` (see `_quality_floor`), each as a `_Condition`."""
    found: list[_Condition] = []
    if filters.topic and filters.topic.strip():
        found.append(_Condition(
            check="EXISTS (SELECT 1 FROM article_topics t WHERE t.article = a.rowid AND t.topic = ?)",
            rows="SELECT article FROM article_topics WHERE topic = ?",
            params=(filters.topic.strip(),),
        ))
    if filters.provider and filters.provider.strip():
        providers = "SELECT id FROM providers WHERE name = ? COLLATE NOCASE OR domain = ? COLLATE NOCASE"
        found.append(_Condition(
            check=f"a.provider_id IN ({providers})",
            rows=f"SELECT rowid FROM articles WHERE provider_id IN ({providers})",
            params=(filters.provider.strip(),) * 2,
        ))
    bounds: list[tuple[str, int]] = []
    if filters.since is not None:
        bounds.append(("published_at >= ?", _day_start(filters.since)))
    if filters.until is not None:
        bounds.append(("published_at < ?", _day_start(filters.until + timedelta(days=1))))
    if bounds:
        found.append(_Condition(
            check=" AND ".join(f"a.{bound}" for bound, _ in bounds),
            rows="SELECT rowid FROM articles WHERE " + " AND ".join(bound for bound, _ in bounds),
            params=tuple(value for _, value in bounds),
        ))
    if filters.published_only:
        found.append(_Condition(check="a.published = 1", rows=None, params=()))
    return found


def _filter_sql(filters: SearchFilters) -> tuple[str, list[Any]]:
    """SQL conditions on `articles a` for the filters (starting with AND), and their parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    for condition in _conditions(filters):
        clauses.append(condition.check)
        params += condition.params
    if filters.min_quality is not None:
        clauses.append("a.quality >= ?")
        params.append(filters.min_quality)
    return "".join(f" AND {clause}" for clause in clauses), params


# --- search -------------------------------------------------------------------------------------------

#: `articles.fts_key` is `(quality bucket << _QUALITY_SHIFT) | rowid`, the bucket being quality + 1 (0: none).
_QUALITY_SHIFT = 40
_ROWID_MASK = (1 << _QUALITY_SHIFT) - 1
_ROWID = f"(articles_fts.rowid & {_ROWID_MASK})"

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


async def _bounded_count(conn: aiosqlite.Connection, sql: str, params: Sequence[Any], bound: int) -> int:
    """How many rows `sql` yields, counting no further than `bound` (so the count costs at most that)."""
    rows = await _fetchall(conn, f"SELECT count(*) FROM ({sql} LIMIT ?)", [*params, bound])
    return int(rows[0][0])


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


async def _count_matches(conn: aiosqlite.Connection, match: str, bound: int) -> int:
    """How many articles `match` matches, counting no further than `bound`."""
    sql = "SELECT 1 FROM articles_fts WHERE articles_fts MATCH ?"
    return await _bounded_count(conn, sql, (match,), bound)


async def _choose_sets(
    conn: aiosqlite.Connection, match: str, conditions: Sequence[_Condition], strategy: SearchStrategy
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
    articles = int((await _fetchall(conn, "SELECT coalesce(max(rowid), 0) FROM articles"))[0][0])
    largest = _largest_useful_set(articles)
    counts = ", ".join(f"(SELECT count(*) FROM ({condition.rows} LIMIT ?))" for condition in indexed)
    params = [value for condition in indexed for value in (*condition.params, largest + 1)]
    admitted = iter((await _fetchall(conn, f"SELECT {counts}", params))[0])
    counted = [None if condition.rows is None else int(next(admitted)) for condition in conditions]
    contenders = [count for count in counted if count is not None and count <= largest]
    if not contenders:
        return [False] * len(conditions)
    matches = await _count_matches(conn, match, max(map(_matches_worth_counting, contenders)))
    return [count is not None and _set_pays_off(count, matches, articles) for count in counted]


def _candidates_sql(
    columns: str, conditions: Sequence[_Condition], as_sets: Sequence[bool], min_quality: int | None
) -> tuple[str, list[Any]]:
    """The best-quality matches passing the filters, best first (parameters: the MATCH, these, a LIMIT).

    FTS5 walks the matches in descending rowid order from its doclists; the walk drives the query (the
    CROSS JOIN keeps SQLite from driving it from an `articles` index and probing FTS5 once per row).
    Set conditions test the match's article rowid (taken from the key's low bits, an expression FTS5
    cannot turn into one lookup per set member) against an index-built set; conditions checked per match
    read the covering index on `fts_key` (migration 0004), never the wide `articles` row.
    """
    clauses: list[str] = []
    params: list[Any] = []
    if min_quality is not None:
        clauses.append("articles_fts.rowid >= ?")
        params.append(_quality_floor(min_quality))
    checked: list[_Condition] = []
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


def _snippets_sql(match: str, keys: Sequence[int]) -> tuple[str, tuple[Any, ...]]:
    """The query for the snippets of the hits with these FTS keys.

    `rowid IN (…)` makes FTS5 restart the query for every hit: cheap for words and phrases, but a prefix
    is re-expanded into all its terms each time. For a prefix, one walk over the hits' key range checks
    each match against the keys instead (the unary plus keeps the IN a check, not a per-key restart).
    """
    snippet = (
        f"SELECT rowid, snippet(articles_fts, {SNIPPET_COLUMN}, '{HIGHLIGHT_START}', '{HIGHLIGHT_END}', '…', "
        f"{SNIPPET_TOKENS}) FROM articles_fts"
    )
    wanted = json.dumps(list(keys))
    if "*" in match:
        return (
            f"{snippet} WHERE articles_fts MATCH ? AND rowid BETWEEN ? AND ? "
            "AND +rowid IN (SELECT value FROM json_each(?))",
            (match, min(keys), max(keys), wanted),
        )
    per_hit = f"{snippet} WHERE articles_fts MATCH ? AND rowid IN (SELECT value FROM json_each(?))"
    return per_hit, (match, wanted)


async def search(
    db: Database, text: str, filters: SearchFilters = SearchFilters(), *, limit: int = 5, offset: int = 0,
    budget: float | None = None,
) -> SearchPage:
    """Ranked full-text search with filters and a highlighted snippet of each hit's excerpt (see `SearchHit`).

    Raises `EmptyQuery` for blank text, `QueryTooBroad` past the term caps and `QueryBudgetExceeded` when
    SQLite needed more than `budget` seconds (default `SEARCH_BUDGET_SECONDS`); text with nothing
    searchable (punctuation only) matches nothing.

    How ranking stays fast: bm25 has to read every candidate's position lists, so scoring all 25,000
    matches of a common word costs tens of milliseconds. The index's rowid (`articles.fts_key`) is the
    article's quality in the high bits and its row in the low bits, so walking the matches in descending
    rowid order — which FTS5 does straight from its doclists, without scoring — yields them best quality
    first. Only the first `SEARCH_CANDIDATES` matches that pass the filters are scored with bm25 (title
    weighted highest) and ranked. When a query matches fewer than that — rare words, phrases, most
    filtered searches — this is exactly bm25 over every match; when it matches more, the words say little
    about relevance (bm25 is nearly flat over a common word) and the best-quality matches are what people
    want anyway, ranked by how well they match.

    How filters stay fast: a minimum quality is a rowid range of the walk. A selective filter (a topic,
    a month) would leave the walk reading the `articles` row of thousands of matches that fail it, so
    such a filter is instead read from its index into a set the walk checks cheaply (see `_choose_sets`).
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
    conditions = _conditions(filters)
    weights = ", ".join(str(weight) for weight in BM25_WEIGHTS)
    async with db.read(budget) as conn:
        as_sets = await _choose_sets(conn, match, conditions, strategy)
        candidates, params = _candidates_sql(
            f"articles_fts.rowid AS fts_key, bm25(articles_fts, {weights}) AS score",
            conditions, as_sets, filters.min_quality,
        )
        ranked = await _fetchall(
            conn, f"SELECT fts_key FROM ({candidates}) ORDER BY score, fts_key DESC",
            [match, *params, SEARCH_CANDIDATES],
        )
        keys = tuple(int(row[0]) for row in ranked)
        start = max(0, offset)
        hits = await _hits(conn, match, keys[start : start + max(0, limit)])
    return SearchPage(hits=hits, total=len(keys), total_capped=len(keys) >= SEARCH_CANDIDATES, keys=keys)


async def search_hits(
    db: Database, text: str, keys: Sequence[int], *, budget: float | None = None
) -> tuple[SearchHit, ...]:
    """The hits for `keys` (a slice of an earlier `SearchPage.keys`), in that order: a later page of a
    search without ranking it again. Articles gone since the search are left out."""
    match = build_match(text)
    if match is None or not keys:
        return ()
    async with db.read(SEARCH_BUDGET_SECONDS if budget is None else budget) as conn:
        return await _hits(conn, match, keys)


async def _hits(conn: aiosqlite.Connection, match: str, keys: Sequence[int]) -> tuple[SearchHit, ...]:
    """Articles and highlighted snippets for these FTS keys, in their order."""
    if not keys:
        return ()
    snippets = dict(await _fetchall(conn, *_snippets_sql(match, keys)))
    rowids = [key & _ROWID_MASK for key in keys]
    rows = await _fetchall(
        conn,
        f"SELECT {_ARTICLE_COLUMNS} FROM {_ARTICLE_FROM} WHERE a.rowid IN (SELECT value FROM json_each(?))",
        (json.dumps(rowids),),
    )
    by_rowid = {article_row[0]: article_row for article_row in rows}
    present = [(key, by_rowid[rowid]) for key, rowid in zip(keys, rowids, strict=True) if rowid in by_rowid]
    articles = await _hydrate(conn, [row for _, row in present], with_related=False)
    return tuple(
        SearchHit(article=article, snippet=snippets.get(key) or "")
        for article, (key, _) in zip(articles, present, strict=True)
    )


# --- lookups ------------------------------------------------------------------------------------------


async def get_article(db: Database, article_id: str) -> Article | None:
    """The article with this id (in any letter case), with its related coverage (best quality first)."""
    async with db.read() as conn:
        rows = await _fetchall(
            conn, f"SELECT {_ARTICLE_COLUMNS} FROM {_ARTICLE_FROM} WHERE a.id = ?",
            (normalize_id(article_id),),
        )
        articles = await _hydrate(conn, rows, with_related=True)
    return articles[0] if articles else None


async def get_articles_by_url(db: Database, urls: Iterable[str]) -> dict[str, Article]:
    """The articles in service among these canonical URLs, keyed by URL, with related coverage."""
    wanted = json.dumps(sorted(set(urls)))
    async with db.read() as conn:
        rows = await _fetchall(
            conn,
            f"SELECT {_ARTICLE_COLUMNS} FROM {_ARTICLE_FROM} WHERE a.url IN (SELECT value FROM json_each(?))",
            (wanted,),
        )
        articles = await _hydrate(conn, rows, with_related=True)
    return {article.url: article for article in articles}


def _topic_condition(topic: str | None) -> tuple[str, list[Any]]:
    return _filter_sql(SearchFilters(topic=topic))


async def latest(
    db: Database, *, topic: str | None = None, limit: int = 10, offset: int = 0, with_related: bool = False
) -> list[Article]:
    """Newest first."""
    condition, params = _topic_condition(topic)
    async with db.read() as conn:
        rows = await _fetchall(
            conn,
            f"SELECT {_ARTICLE_COLUMNS} FROM {_ARTICLE_FROM} WHERE 1{condition} "
            "ORDER BY a.published_at DESC, a.rowid DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return await _hydrate(conn, rows, with_related=with_related)


async def top(
    db: Database,
    *,
    topic: str | None = None,
    days: int | None = None,
    now: datetime,
    limit: int = 10,
    offset: int = 0,
    with_related: bool = False,
) -> list[Article]:
    """Best quality first, heat breaking ties (then the newest); `days` keeps those published since."""
    condition, params = _topic_condition(topic)
    if days is not None:
        condition += " AND a.published_at >= ?"
        params.append(int((now - timedelta(days=days)).timestamp()))
    async with db.read() as conn:
        rows = await _fetchall(
            conn,
            f"SELECT {_ARTICLE_COLUMNS} FROM {_ARTICLE_FROM} WHERE 1{condition} "
            "ORDER BY a.quality IS NULL, a.quality DESC, a.heat IS NULL, a.heat DESC, a.published_at DESC, "
            "a.rowid DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return await _hydrate(conn, rows, with_related=with_related)


async def count_listed(
    db: Database, *, topic: str | None = None, days: int | None = None, now: datetime | None = None,
    bound: int = SEARCH_CANDIDATES,
) -> int:
    """How many articles `latest`/`top` with these filters can list, counted no further than `bound`."""
    condition, params = _topic_condition(topic)
    if days is not None:
        if now is None:
            raise ValueError("count_listed needs `now` to count the past `days`")
        condition += " AND a.published_at >= ?"
        params.append(int((now - timedelta(days=days)).timestamp()))
    async with db.read() as conn:
        return await _bounded_count(conn, f"SELECT 1 FROM articles a WHERE 1{condition}", params, bound)


async def topic_counts(db: Database) -> list[tuple[str, int]]:
    """Every topic (case-insensitively one) with its number of articles, most used first."""
    async with db.read() as conn:
        rows = await _fetchall(
            conn, "SELECT topic, count(*) AS n FROM article_topics GROUP BY topic ORDER BY n DESC, topic"
        )
    return [(str(topic), int(count)) for topic, count in rows]


_PROVIDER_LABEL = "coalesce(nullif(p.name, ''), p.domain)"


async def provider_counts(db: Database) -> list[tuple[str, int]]:
    """Every provider (its name, else its domain) with its number of articles, most first."""
    async with db.read() as conn:
        rows = await _fetchall(
            conn,
            f"SELECT {_PROVIDER_LABEL} AS label, count(*) AS n FROM articles a JOIN providers p "
            "ON p.id = a.provider_id GROUP BY p.id ORDER BY n DESC, label COLLATE NOCASE",
        )
    return [(str(label), int(count)) for label, count in rows]


def _load_record(row: Sequence[Any]) -> LoadRecord:
    seq, started_at, finished_at, added, updated, unchanged, removed, articles, rejected, duplicates = row
    return LoadRecord(
        seq=seq,
        started_at=datetime.fromisoformat(started_at),
        finished_at=None if finished_at is None else datetime.fromisoformat(finished_at),
        added=added,
        updated=updated,
        unchanged=unchanged,
        removed=removed,
        articles=articles,
        rejected=tuple(
            Rejection(file=item["file"], reason=item["reason"], kept_previous=item["kept_previous"])
            for item in json.loads(rejected)
        ),
        duplicates=tuple(
            Duplicate(file=item["file"], duplicate_of=item["duplicate_of"]) for item in json.loads(duplicates)
        ),
    )


async def _last_load(conn: aiosqlite.Connection) -> LoadRecord | None:
    rows = await _fetchall(
        conn,
        "SELECT seq, started_at, finished_at, added, updated, unchanged, removed, articles, rejected, "
        "duplicates FROM loads ORDER BY seq DESC LIMIT 1",
    )
    return _load_record(rows[0]) if rows else None


async def last_load(db: Database) -> LoadRecord | None:
    async with db.read() as conn:
        return await _last_load(conn)


async def current_load_seq(db: Database) -> int:
    """The sequence number of the latest load (0 before the first); digests use it as a watermark."""
    async with db.read() as conn:
        rows = await _fetchall(conn, "SELECT coalesce(max(seq), 0) FROM loads")
    return int(rows[0][0])


async def corpus_stats(db: Database) -> CorpusStats:
    async with db.read() as conn:
        articles, providers, earliest, newest = (
            await _fetchall(
                conn,
                "SELECT count(*), count(DISTINCT provider_id), min(published_at), max(published_at) "
                "FROM articles",
            )
        )[0]
        topics = (await _fetchall(conn, "SELECT count(DISTINCT topic) FROM article_topics"))[0][0]
        record = await _last_load(conn)
    return CorpusStats(
        articles=int(articles),
        providers=int(providers),
        topics=int(topics),
        earliest=_moment(earliest),
        latest=_moment(newest),
        last_load=record,
    )


# --- autocomplete -------------------------------------------------------------------------------------


def _like_pattern(typed: str) -> str:
    escaped = typed.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def suggest_topics(
    db: Database, typed: str, limit: int = 25, *, budget: float | None = None
) -> list[str]:
    """Topics containing what was typed (case-insensitive): those starting with it first, then most used."""
    budget = AUTOCOMPLETE_BUDGET_SECONDS if budget is None else budget
    async with db.read(budget) as conn:
        rows = await _fetchall(
            conn,
            "SELECT topic FROM article_topics WHERE topic LIKE ?1 ESCAPE '\\' GROUP BY topic "
            "ORDER BY instr(lower(topic), lower(?2)) != 1, count(*) DESC, topic LIMIT ?3",
            (_like_pattern(typed), typed.strip(), limit),
        )
    return [str(row[0]) for row in rows]


async def suggest_providers(
    db: Database, typed: str, limit: int = 25, *, budget: float | None = None
) -> list[str]:
    """Provider names (else domains) whose name or domain contains what was typed; most articles first."""
    budget = AUTOCOMPLETE_BUDGET_SECONDS if budget is None else budget
    async with db.read(budget) as conn:
        rows = await _fetchall(
            conn,
            f"SELECT {_PROVIDER_LABEL} AS label FROM providers p JOIN articles a ON a.provider_id = p.id "
            "WHERE p.name LIKE ?1 ESCAPE '\\' OR p.domain LIKE ?1 ESCAPE '\\' GROUP BY p.id "
            "ORDER BY instr(lower(label), lower(?2)) != 1, count(*) DESC, label COLLATE NOCASE LIMIT ?3",
            (_like_pattern(typed), typed.strip(), limit),
        )
    return [str(row[0]) for row in rows]


async def suggest_articles(
    db: Database, typed: str, limit: int = 25, *, budget: float | None = None
) -> list[tuple[str, str]]:
    """(id, title) of articles whose title has the typed words, the last one as a prefix; best quality first.

    Nothing typed offers the best articles. An id typed in full is offered as itself first. Typing is
    cheap to repeat, so it gets the small budget (default `AUTOCOMPLETE_BUDGET_SECONDS`): past it (or past
    the term caps) only an id typed in full is offered, never an error.
    """
    budget = AUTOCOMPLETE_BUDGET_SECONDS if budget is None else budget
    if not typed.strip():
        async with db.read(budget) as conn:
            rows = await _fetchall(
                conn, "SELECT id, title FROM articles ORDER BY fts_key DESC LIMIT ?", (limit,)
            )
        return [(str(i), str(t)) for i, t in rows]
    async with db.read(budget) as conn:
        exact = await _fetchall(conn, "SELECT id, title FROM articles WHERE id = ?", (normalize_id(typed),))
    found = [(str(i), str(t)) for i, t in exact]
    try:
        match = build_match(typed, prefix_last=True)
    except QueryTooBroad:
        return found
    if match is None:
        return found
    try:
        async with db.read(budget) as conn:
            rows = await _fetchall(
                conn,
                "SELECT a.id, a.title FROM articles_fts JOIN articles a ON a.fts_key = articles_fts.rowid "
                "WHERE articles_fts MATCH ? ORDER BY articles_fts.rowid DESC LIMIT ?",
                (f"{{title}} : ({match})", limit),
            )
    except QueryBudgetExceeded:
        log.info("article autocomplete: %d characters ran past the budget; offering the exact id only",
                 len(typed))
        return found
    found += [(str(i), str(t)) for i, t in rows if (i, t) not in exact]
    return found[:limit]
