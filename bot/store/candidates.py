"""The candidate pool of a digest run: the corpus (local to every process) narrowed by the digest's filters,
minus what its channel already received (shared state).

With the state beside the corpus (SQLite) one query excludes the delivered URLs; with the state elsewhere
(PostgreSQL) the ranked candidates are read page by page and the delivered ones dropped, until the pool is
full or the candidates run out — the same pool either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from bot.config import DigestSettings
from bot.corpus.model import Article
from bot.digest.select import BACKLOG_FRESH_DAYS
from bot.store.articles import get_articles_by_url
from bot.store.db import Database
from bot.store.fts import build_match
from bot.store.rows import chunked, placeholders
from bot.store.runs import channel_deliveries

#: How many new articles (best first) a run's pool holds at most: far more than the stories a run posts,
#: enough for story grouping to fold in the coverage that matters, small enough to compose in milliseconds.
POOL_LIMIT = 200


def _is_ascii(values: Iterable[str]) -> bool:
    return all(value.isascii() for value in values)


def _bare_domain(domain: str) -> str:
    return domain.casefold().strip().rstrip(".").removeprefix("www.")


def _keyword_match(keywords: Sequence[str]) -> str | None:
    """One FTS5 expression matching any keyword (each built like a /search query), or None if none is
    searchable."""
    expressions = [f"({match})" for match in map(build_match, keywords) if match is not None]
    return " OR ".join(expressions) if expressions else None


def _topic_test(topics: Sequence[str]) -> tuple[str, list[Any]]:
    """An SQL test: the article has one of `topics`."""
    return (
        "EXISTS (SELECT 1 FROM article_topics t WHERE t.article = a.rowid "
        f"AND t.topic IN ({placeholders(len(topics))}))",
        list(topics),
    )


def _provider_test(providers: Sequence[str]) -> tuple[str, list[Any]]:
    """An SQL test: the article's provider is one of `providers`, by name or by (parent) domain."""
    names = [entry.strip().lower() for entry in providers]
    domains = [_bare_domain(entry) for entry in providers]
    domain_test = "lower(p.domain) = ? OR lower(p.domain) LIKE ? ESCAPE '\\'"
    domain_tests = " OR ".join([domain_test] * len(domains))
    params: list[Any] = list(names)
    for domain in domains:
        escaped = domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params.extend([domain, f"%.{escaped}"])
    test = (
        "EXISTS (SELECT 1 FROM providers p WHERE p.id = a.provider_id AND "
        f"(lower(p.name) IN ({placeholders(len(names))}) OR {domain_tests}))"
    )
    return test, params


def _pool_filters(
    settings: DigestSettings, slot_time: datetime, *, keywords_in_where: bool = True
) -> tuple[list[str], list[Any]]:
    """SQL conditions narrowing the pool with the digest's filters (the pure rules re-apply them all).

    SQLite folds case for ASCII only, so a topic or provider filter with other letters is left to the pure
    rules rather than risk dropping an article they would keep.
    """
    conditions = ["coalesce(a.quality, 0) >= ?"]
    params: list[Any] = [settings.min_quality]
    for wanted, negate in ((settings.topics, False), (settings.exclude_topics, True)):
        if wanted and _is_ascii(wanted):
            test, values = _topic_test(wanted)
            conditions.append(f"NOT {test}" if negate else test)
            params.extend(values)
    for wanted, negate in ((settings.providers, False), (settings.exclude_providers, True)):
        if wanted and _is_ascii(wanted):
            test, values = _provider_test(wanted)
            conditions.append(f"NOT {test}" if negate else test)
            params.extend(values)
    excluded_match = _keyword_match(settings.exclude_keywords) if settings.exclude_keywords else None
    if excluded_match is not None:
        conditions.append("NOT EXISTS (SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? "
                          "AND articles_fts.rowid = a.fts_key)")
        params.append(excluded_match)
    if settings.published_only:
        conditions.append("a.published = 1")
    if settings.max_age_days is not None:
        conditions.append("a.published_at >= ?")
        params.append(int((slot_time - timedelta(days=settings.max_age_days)).timestamp()))
    if settings.keywords and keywords_in_where:
        match = _keyword_match(settings.keywords)
        if match is None:
            conditions.append("0")
        else:
            conditions.append("a.fts_key IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
            params.append(match)
    return conditions, params


#: Up to this many new articles, the pool is found through the first-load index rather than by quality.
_FEW_NEW = 5000
_RANK_ORDER = "ORDER BY a.quality DESC, a.heat DESC, a.published_at DESC, a.id, a.url"


async def digest_pool(
    db: Database,
    settings: DigestSettings,
    *,
    watermark: int,
    first_run: bool,
    slot_time: datetime,
    existing_limit: int | None = None,
    limit: int = POOL_LIMIT,
) -> list[Article]:
    """The articles a run of this digest chooses from, narrowed in SQL and bounded.

    Only articles passing the cheap filters and never delivered to the digest's channel: the best `limit`
    new ones (first seen after `watermark`) and, on the first run, the best existing ones — `backlog` of
    them unless `existing_limit` asks for more (explain ranks the whole backlog) — both among all of them
    and among the fresh ones (published within BACKLOG_FRESH_DAYS of the newest), which the backlog
    prefers. Story grouping only folds candidates together, so nothing outside these is needed for it.
    """
    conditions, base = _pool_filters(settings, slot_time, keywords_in_where=False)
    if db.state.beside_corpus:
        conditions.append("NOT EXISTS (SELECT 1 FROM delivered d WHERE d.channel_id = ? AND d.url = a.url)")
        base.append(settings.channel_id)
    where = " AND ".join(conditions)
    match = _keyword_match(settings.keywords) if settings.keywords else None
    if settings.keywords and match is None:
        return []
    async with db.read() as conn, conn.execute(
        "SELECT count(*) FROM articles WHERE first_load > ?", (watermark,)
    ) as cursor:
        new_count = int((await cursor.fetchone())[0])
    if match is not None:
        # Driven by the full-text index, whose rowid (`fts_key`) orders by quality: the best matches first.
        source = "articles_fts f JOIN articles a ON a.fts_key = f.rowid"
        where = f"articles_fts MATCH ? AND {where}"
        base = [match, *base]
        order = "ORDER BY f.rowid DESC"
    else:
        source = "articles a"
        order = _RANK_ORDER
    new_source = source
    if match is None and new_count <= _FEW_NEW:
        new_source = "articles a INDEXED BY articles_first_load"
    queries = [(f"SELECT a.url FROM {new_source} WHERE a.first_load > ? AND {where} {order}",
                [watermark, *base], limit)] if new_count else []
    existing = settings.backlog if existing_limit is None else existing_limit
    urls: list[str] = []
    async with db.read() as conn:
        if first_run and existing > 0:
            newest_first = (
                f"SELECT a.url, a.published_at FROM {source} WHERE {where} ORDER BY a.published_at DESC"
            )
            newest = await _undelivered(db, conn, newest_first, base, 1, settings.channel_id)
            if newest:
                fresh_from = int(newest[0][1]) - BACKLOG_FRESH_DAYS * 86400
                queries.append((
                    f"SELECT a.url FROM {source} WHERE a.first_load <= ? AND a.published_at >= ? AND {where} "
                    f"{order}", [watermark, fresh_from, *base], existing,
                ))
            queries.append((f"SELECT a.url FROM {source} WHERE a.first_load <= ? AND {where} {order}",
                            [watermark, *base], existing))
        for query, query_params, wanted in queries:
            rows = await _undelivered(db, conn, query, query_params, wanted, settings.channel_id)
            urls.extend(row[0] for row in rows)
    urls = list(dict.fromkeys(urls))
    found = await get_articles_by_url(db, urls)
    return [found[url] for url in urls if url in found]


async def _undelivered(
    db: Database, conn: aiosqlite.Connection, query: str, params: list[Any], wanted: int, channel_id: int
) -> list[Any]:
    """The first `wanted` rows of a ranked corpus query (URL first) never delivered to the channel."""
    if db.state.beside_corpus:
        async with conn.execute(f"{query} LIMIT ?", [*params, wanted]) as cursor:
            return list(await cursor.fetchall())
    kept: list[Any] = []
    page = max(2 * wanted, 50)
    offset = 0
    while len(kept) < wanted:
        async with conn.execute(f"{query} LIMIT ? OFFSET ?", [*params, page, offset]) as cursor:
            rows = list(await cursor.fetchall())
        delivered = await channel_deliveries(db, channel_id, [row[0] for row in rows])
        kept.extend(row for row in rows if row[0] not in delivered)
        if len(rows) < page:
            break
        offset += page
    return kept[:wanted]


async def keyword_hits(db: Database, keywords: Sequence[str], article_ids: Iterable[str]) -> frozenset[str]:
    """The ids among `article_ids` whose title, excerpt or related titles match any keyword (full text;
    a multi-word keyword is a phrase only when quoted, as in /search)."""
    ids = list(dict.fromkeys(article_ids))
    match = _keyword_match(keywords)
    if not ids or match is None:
        return frozenset()
    hits: set[str] = set()
    async with db.read() as conn:
        for chunk in chunked(ids):
            # Looking each article's index row up by rowid keeps this proportional to the ids asked about,
            # not to how many articles match.
            query = (
                f"SELECT a.id FROM articles a WHERE a.id IN ({placeholders(len(chunk))}) AND EXISTS "
                "(SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? AND articles_fts.rowid = a.fts_key)"
            )
            async with conn.execute(query, [*chunk, match]) as cursor:
                hits.update(row[0] for row in await cursor.fetchall())
    return frozenset(hits)


async def keyword_hits_each(
    db: Database, keywords: Sequence[str], article_ids: Iterable[str]
) -> dict[str, frozenset[str]]:
    """For each keyword, the ids among `article_ids` matching it (as `keyword_hits` matches)."""
    ids = list(dict.fromkeys(article_ids))
    return {keyword: await keyword_hits(db, [keyword], ids) for keyword in keywords}


async def matching_urls(db: Database, settings: DigestSettings, *, now: datetime) -> list[str]:
    """The canonical URLs of every article currently passing the digest's filters (for mark-seen)."""
    conditions, params = _pool_filters(settings, now)
    query = f"SELECT a.url FROM articles a WHERE {' AND '.join(conditions)}"
    async with db.read() as conn, conn.execute(query, params) as cursor:
        return [row[0] for row in await cursor.fetchall()]

