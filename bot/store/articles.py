"""The read side of the corpus store: lookups, lists, counts, stats and autocomplete for people and
digests (full-text search: bot/store/search.py).

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
from typing import Any

import aiosqlite

from bot.corpus.model import Article, Duplicate, Image, Provider, Rejection, Related
from bot.store.db import Database, QueryBudgetExceeded, fetch_all
from bot.store.fts import QueryTooBroad, build_match

log = logging.getLogger(__name__)

#: At most this many matches are ranked by bm25 (see `search`); `SearchPage.total` is capped here too.
SEARCH_CANDIDATES = 1000
#: The smaller budget of an autocomplete (Discord waits 3 s for its choices, members type on meanwhile).
AUTOCOMPLETE_BUDGET_SECONDS = 0.2

ARTICLE_COLUMNS = """
    a.rowid, a.id, a.url, a.title, a.excerpt, a.original_url, a.amp_url, a.published_at, a.quality, a.heat,
    a.published, a.category, p.name, p.domain, a.images, a.source_file, a.first_load
"""
ARTICLE_FROM = "articles a LEFT JOIN providers p ON p.id = a.provider_id"


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Narrowing of a search: `provider` matches a name or domain, case-insensitively; dates are inclusive."""

    topic: str | None = None
    provider: str | None = None
    min_quality: int | None = None
    since: date | None = None
    until: date | None = None
    published_only: bool = False


def normalize_id(article_id: str) -> str:
    """An article id as stored: ids are hex digests, kept in lower case, so `4F07…` finds `4f07…`."""
    return article_id.strip().lower()


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


async def hydrate(conn: aiosqlite.Connection, rows: list[Any], *, with_related: bool) -> list[Article]:
    """Articles for `articles` rows (`ARTICLE_COLUMNS`), in the rows' order, with topics (and related)."""
    if not rows:
        return []
    keys = json.dumps([row[0] for row in rows])
    topics: dict[int, list[str]] = {}
    for rowid, topic in await fetch_all(
        conn,
        "SELECT article, topic FROM article_topics WHERE article IN (SELECT value FROM json_each(?)) "
        "ORDER BY article, position",
        (keys,),
    ):
        topics.setdefault(rowid, []).append(topic)
    related: dict[int, list[Related]] = {}
    if with_related:
        for rowid, title, url, excerpt, name, domain, published_at, quality in await fetch_all(
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


async def bounded_count(conn: aiosqlite.Connection, sql: str, params: Sequence[Any], bound: int) -> int:
    """How many rows `sql` yields, counting no further than `bound` (so the count costs at most that)."""
    rows = await fetch_all(conn, f"SELECT count(*) FROM ({sql} LIMIT ?)", [*params, bound])
    return int(rows[0][0])


# --- filters ------------------------------------------------------------------------------------------


def _day_start(day: date) -> int:
    return int(datetime.combine(day, time(), tzinfo=UTC).timestamp())


@dataclass(frozen=True, slots=True)
class Condition:
    """One filter, in the two forms a search can apply it.

    `check` is an SQL condition on `articles a`, for a matching article already in hand. `rows` (None when
    no index can list them) selects the rowids of every article the filter admits straight from an index,
    without reading the wide `articles` rows; `params` serve either form.
    """

    check: str
    rows: str | None
    params: tuple[Any, ...]


def conditions_of(filters: SearchFilters) -> list[Condition]:
    """The filters other than `min_quality` (see `_quality_floor`), each as a `Condition`."""
    found: list[Condition] = []
    if filters.topic and filters.topic.strip():
        found.append(Condition(
            check="EXISTS (SELECT 1 FROM article_topics t WHERE t.article = a.rowid AND t.topic = ?)",
            rows="SELECT article FROM article_topics WHERE topic = ?",
            params=(filters.topic.strip(),),
        ))
    if filters.provider and filters.provider.strip():
        providers = "SELECT id FROM providers WHERE name = ? COLLATE NOCASE OR domain = ? COLLATE NOCASE"
        found.append(Condition(
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
        found.append(Condition(
            check=" AND ".join(f"a.{bound}" for bound, _ in bounds),
            rows="SELECT rowid FROM articles WHERE " + " AND ".join(bound for bound, _ in bounds),
            params=tuple(value for _, value in bounds),
        ))
    if filters.published_only:
        found.append(Condition(check="a.published = 1", rows=None, params=()))
    return found


def filter_sql(filters: SearchFilters) -> tuple[str, list[Any]]:
    """SQL conditions on `articles a` for the filters (starting with AND), and their parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    for condition in conditions_of(filters):
        clauses.append(condition.check)
        params += condition.params
    if filters.min_quality is not None:
        clauses.append("a.quality >= ?")
        params.append(filters.min_quality)
    return "".join(f" AND {clause}" for clause in clauses), params


# --- lookups ------------------------------------------------------------------------------------------


async def get_article(db: Database, article_id: str) -> Article | None:
    """The article with this id (in any letter case), with its related coverage (best quality first)."""
    async with db.read() as conn:
        rows = await fetch_all(
            conn, f"SELECT {ARTICLE_COLUMNS} FROM {ARTICLE_FROM} WHERE a.id = ?",
            (normalize_id(article_id),),
        )
        articles = await hydrate(conn, rows, with_related=True)
    return articles[0] if articles else None


async def get_articles_by_url(db: Database, urls: Iterable[str]) -> dict[str, Article]:
    """The articles in service among these canonical URLs, keyed by URL, with related coverage."""
    wanted = json.dumps(sorted(set(urls)))
    async with db.read() as conn:
        rows = await fetch_all(
            conn,
            f"SELECT {ARTICLE_COLUMNS} FROM {ARTICLE_FROM} WHERE a.url IN (SELECT value FROM json_each(?))",
            (wanted,),
        )
        articles = await hydrate(conn, rows, with_related=True)
    return {article.url: article for article in articles}


def _topic_condition(topic: str | None) -> tuple[str, list[Any]]:
    return filter_sql(SearchFilters(topic=topic))


async def latest(
    db: Database, *, topic: str | None = None, limit: int = 10, offset: int = 0, with_related: bool = False
) -> list[Article]:
    """Newest first."""
    condition, params = _topic_condition(topic)
    async with db.read() as conn:
        rows = await fetch_all(
            conn,
            f"SELECT {ARTICLE_COLUMNS} FROM {ARTICLE_FROM} WHERE 1{condition} "
            "ORDER BY a.published_at DESC, a.rowid DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return await hydrate(conn, rows, with_related=with_related)


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
        rows = await fetch_all(
            conn,
            f"SELECT {ARTICLE_COLUMNS} FROM {ARTICLE_FROM} WHERE 1{condition} "
            "ORDER BY a.quality IS NULL, a.quality DESC, a.heat IS NULL, a.heat DESC, a.published_at DESC, "
            "a.rowid DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return await hydrate(conn, rows, with_related=with_related)


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
        return await bounded_count(conn, f"SELECT 1 FROM articles a WHERE 1{condition}", params, bound)


async def topic_counts(db: Database) -> list[tuple[str, int]]:
    """Every topic (case-insensitively one) with its number of articles, most used first."""
    async with db.read() as conn:
        rows = await fetch_all(
            conn, "SELECT topic, count(*) AS n FROM article_topics GROUP BY topic ORDER BY n DESC, topic"
        )
    return [(str(topic), int(count)) for topic, count in rows]


_PROVIDER_LABEL = "coalesce(nullif(p.name, ''), p.domain)"


async def provider_counts(db: Database) -> list[tuple[str, int]]:
    """Every provider (its name, else its domain) with its number of articles, most first."""
    async with db.read() as conn:
        rows = await fetch_all(
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
    rows = await fetch_all(
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
        rows = await fetch_all(conn, "SELECT coalesce(max(seq), 0) FROM loads")
    return int(rows[0][0])


async def corpus_stats(db: Database) -> CorpusStats:
    async with db.read() as conn:
        articles, providers, earliest, newest = (
            await fetch_all(
                conn,
                "SELECT count(*), count(DISTINCT provider_id), min(published_at), max(published_at) "
                "FROM articles",
            )
        )[0]
        topics = (await fetch_all(conn, "SELECT count(DISTINCT topic) FROM article_topics"))[0][0]
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
        rows = await fetch_all(
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
        rows = await fetch_all(
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
            rows = await fetch_all(
                conn, "SELECT id, title FROM articles ORDER BY fts_key DESC LIMIT ?", (limit,)
            )
        return [(str(i), str(t)) for i, t in rows]
    async with db.read(budget) as conn:
        exact = await fetch_all(conn, "SELECT id, title FROM articles WHERE id = ?", (normalize_id(typed),))
    found = [(str(i), str(t)) for i, t in exact]
    try:
        match = build_match(typed, prefix_last=True)
    except QueryTooBroad:
        return found
    if match is None:
        return found
    try:
        async with db.read(budget) as conn:
            vocabulary = None if db.vocabulary is None else await db.vocabulary.current(conn)
            if vocabulary is not None:  # the word being typed, written out: 25 matches need no merge
                match = build_match(typed, prefix_last=True, expand=vocabulary.expansion) or match
            rows = await fetch_all(
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
