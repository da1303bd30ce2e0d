"""Digest definitions and the candidate pool of a run.

The database is the source of truth for digests: the scheduler only asks it what is due. Every write goes
through `db.write()` (the in-process write lock plus `BEGIN IMMEDIATE`), so a definition change never
interleaves with a corpus load. The run ledger lives in `runs`, the audit log in `audit_log`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from bot.config import DigestDefaults, DigestSettings, digest_settings_from_mapping
from bot.corpus.model import Article
from bot.store.articles import current_load_seq, get_articles_by_url
from bot.store.db import Database
from bot.store.fts import build_match
from bot.store.rows import chunked, placeholders, to_json, utc_or_none, utc_text

log = logging.getLogger(__name__)

DIGEST_SOURCES = ("config", "runtime")
#: How many new articles (best first) a run's pool holds at most: far more than the stories a run posts,
#: enough for story grouping to fold in the coverage that matters, small enough to compose in milliseconds.
POOL_LIMIT = 200


class DigestError(Exception):
    """A digest operation that cannot be done as asked; the message says why in the operator's terms."""


class DigestNotFound(DigestError):
    pass


class DuplicateDigest(DigestError):
    pass


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """A digest as stored: its settings plus where its schedule and backlog stand."""

    settings: DigestSettings
    guild_id: int | None
    source: str
    watermark: int
    created_at: datetime
    schedule_from: datetime
    last_checked: datetime
    paused_reason: str | None
    paused_at: datetime | None
    first_run_claimed: bool

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def channel_id(self) -> int:
        return self.settings.channel_id

    @property
    def paused(self) -> bool:
        return self.paused_reason is not None


@dataclass(frozen=True, slots=True)
class ConfigDigestChanges:
    """What syncing the configured digests into the database did, by digest name.

    `conflicts` are configured names already taken by a runtime digest (the runtime digest is kept).
    """

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()


# --- conversions ------------------------------------------------------------------------------------


def _settings(raw: str, name: str) -> DigestSettings:
    """Stored settings are complete (as_mapping), so no defaults apply; validation still guards the row."""
    return digest_settings_from_mapping(json.loads(raw), DigestDefaults(), where=f"stored digest {name}",
                                        file=None)


_DIGEST_COLUMNS = (
    "name, guild_id, source, settings, watermark, created_at, schedule_from, last_checked, "
    "paused_reason, paused_at, first_run_claimed"
)


def _record(row: Sequence[Any]) -> DigestRecord:
    (name, guild_id, source, settings, watermark, created, schedule_from, checked, reason, paused_at,
     first) = row
    return DigestRecord(
        settings=_settings(settings, name),
        guild_id=guild_id,
        source=source,
        watermark=int(watermark),
        created_at=datetime.fromisoformat(created),
        schedule_from=datetime.fromisoformat(schedule_from),
        last_checked=datetime.fromisoformat(checked),
        paused_reason=reason,
        paused_at=utc_or_none(paused_at),
        first_run_claimed=bool(first),
    )


# --- digest definitions -----------------------------------------------------------------------------


async def _fetch_record(conn: aiosqlite.Connection, name: str) -> DigestRecord | None:
    async with conn.execute(f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE name = ?", (name,)) as cursor:
        row = await cursor.fetchone()
    return None if row is None else _record(row)


async def require_digest(conn: aiosqlite.Connection, name: str) -> DigestRecord:
    record = await _fetch_record(conn, name)
    if record is None:
        raise DigestNotFound(f"there is no digest called {name!r}")
    return record


async def get_digest(db: Database, name: str) -> DigestRecord | None:
    async with db.read() as conn:
        return await _fetch_record(conn, name)


async def list_digests(db: Database, *, guild_id: int | None = None) -> list[DigestRecord]:
    """Every digest by name, or only those of one guild."""
    query = f"SELECT {_DIGEST_COLUMNS} FROM digests"
    params: tuple[Any, ...] = ()
    if guild_id is not None:
        query += " WHERE guild_id = ?"
        params = (guild_id,)
    async with db.read() as conn, conn.execute(query + " ORDER BY name", params) as cursor:
        rows = await cursor.fetchall()
    return [_record(row) for row in rows]


async def _insert_digest(
    conn: aiosqlite.Connection,
    settings: DigestSettings,
    *,
    guild_id: int | None,
    source: str,
    watermark: int,
    now: datetime,
) -> None:
    stamp = utc_text(now)
    await conn.execute(
        "INSERT INTO digests (name, guild_id, channel_id, source, settings, watermark, created_at, "
        "schedule_from, last_checked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (settings.name, guild_id, settings.channel_id, source, to_json(settings.as_mapping()), watermark,
         stamp, stamp, stamp),
    )


def _schedule_changed(old: DigestSettings, new: DigestSettings) -> bool:
    return old.schedule != new.schedule or old.timezone != new.timezone


async def _update_settings(
    conn: aiosqlite.Connection, old: DigestRecord, settings: DigestSettings, now: datetime
) -> None:
    """Store new settings; a new schedule counts slots from `now`, a new channel forgets the guild."""
    stamp = utc_text(now)
    reschedule = _schedule_changed(old.settings, settings)
    await conn.execute(
        "UPDATE digests SET settings = ?, channel_id = ?, "
        "guild_id = CASE WHEN channel_id = ? THEN guild_id ELSE NULL END, "
        "schedule_from = CASE WHEN ? THEN ? ELSE schedule_from END, "
        "last_checked = CASE WHEN ? THEN ? ELSE last_checked END WHERE name = ?",
        (to_json(settings.as_mapping()), settings.channel_id, settings.channel_id,
         reschedule, stamp, reschedule, stamp, settings.name),
    )


async def sync_config_digests(
    db: Database, digests: Sequence[DigestSettings], *, now: datetime
) -> ConfigDigestChanges:
    """Bring the stored config digests in line with config.yaml, leaving runtime digests alone.

    A configured digest seen for the first time is created now (watermark: the current load). A changed
    schedule or timezone counts slots from now. A digest gone from the file is deleted with its runs; what
    it delivered stays recorded for its channel.
    """
    watermark = await current_load_seq(db)
    added: list[str] = []
    changed: list[str] = []
    removed: list[str] = []
    conflicts: list[str] = []
    wanted = {settings.name: settings for settings in digests}
    async with db.write() as conn:
        async with conn.execute(f"SELECT {_DIGEST_COLUMNS} FROM digests") as cursor:
            stored = {record.name: record for record in map(_record, await cursor.fetchall())}
        for name, settings in wanted.items():
            record = stored.get(name)
            if record is None:
                await _insert_digest(conn, settings, guild_id=None, source="config", watermark=watermark,
                                     now=now)
                added.append(name)
            elif record.source != "config":
                conflicts.append(name)
            elif record.settings != settings:
                await _update_settings(conn, record, settings, now)
                changed.append(name)
        for name, record in stored.items():
            if record.source == "config" and name not in wanted:
                await conn.execute("DELETE FROM digests WHERE name = ?", (name,))
                removed.append(name)
    for name in conflicts:
        log.warning("config digest %r is not applied: a digest created from Discord already has that name",
                    name)
    if added or changed or removed:
        log.info("config digests synced: added %s, changed %s, removed %s", added, changed, removed)
    return ConfigDigestChanges(tuple(added), tuple(changed), tuple(removed), tuple(conflicts))


async def create_digest(
    db: Database, settings: DigestSettings, *, guild_id: int | None, now: datetime, source: str = "runtime"
) -> DigestRecord:
    """Store a new digest, created now (its watermark is the current load). Names are unique bot-wide."""
    if source not in DIGEST_SOURCES:
        raise ValueError(f"digest source must be one of {DIGEST_SOURCES}, got {source!r}")
    watermark = await current_load_seq(db)
    async with db.write() as conn:
        existing = await _fetch_record(conn, settings.name)
        if existing is not None:
            origin = "config.yaml" if existing.source == "config" else "a digest created from Discord"
            raise DuplicateDigest(
                f"a digest called {settings.name!r} already exists ({origin}); pick another name"
            )
        await _insert_digest(conn, settings, guild_id=guild_id, source=source, watermark=watermark, now=now)
        record = await require_digest(conn, settings.name)
    log.info(
        "digest %r created (%s, guild %s, watermark load %d)", settings.name, source, guild_id, watermark
    )
    return record


async def update_digest(db: Database, name: str, settings: DigestSettings, *, now: datetime) -> DigestRecord:
    """Replace a digest's settings; a schedule or timezone change takes effect from `now`."""
    if settings.name != name:
        raise DigestError(f"digest {name!r} cannot be renamed to {settings.name!r}")
    async with db.write() as conn:
        record = await require_digest(conn, name)
        await _update_settings(conn, record, settings, now)
        return await require_digest(conn, name)


async def delete_digest(db: Database, name: str) -> bool:
    """Delete a digest and its runs (the channel's delivered URLs stay). False when there was none."""
    async with db.write() as conn:
        cursor = await conn.execute("DELETE FROM digests WHERE name = ?", (name,))
        deleted = cursor.rowcount > 0
    if deleted:
        log.info("digest %r deleted", name)
    return deleted


async def set_paused(db: Database, name: str, reason: str | None, *, now: datetime) -> DigestRecord:
    """Pause with `reason` (shown in /digest list), or resume with None.

    `last_checked` is left to the reconcile, which records the slots passing during a pause as skipped.
    """
    stamp = utc_text(now)
    async with db.write() as conn:
        await require_digest(conn, name)
        if reason is None:
            await conn.execute(
                "UPDATE digests SET paused_reason = NULL, paused_at = NULL WHERE name = ?", (name,)
            )
        else:
            await conn.execute(
                "UPDATE digests SET paused_reason = ?, paused_at = coalesce(paused_at, ?) WHERE name = ?",
                (reason, stamp, name),
            )
        record = await require_digest(conn, name)
    log.info("digest %r %s", name, f"paused: {reason}" if reason else "resumed")
    return record


async def set_last_checked(db: Database, name: str, at: datetime) -> None:
    """Slots up to `at` have been dealt with; the next look for due slots starts there."""
    async with db.write() as conn:
        await conn.execute("UPDATE digests SET last_checked = ? WHERE name = ?", (utc_text(at), name))


async def set_guild(db: Database, name: str, guild_id: int | None) -> None:
    """Record the guild of the digest's channel (resolved when the bot sees the channel)."""
    async with db.write() as conn:
        await conn.execute("UPDATE digests SET guild_id = ? WHERE name = ?", (guild_id, name))

# --- the pool of a run ------------------------------------------------------------------------------


def _is_ascii(values: Iterable[str]) -> bool:
    return all(value.isascii() for value in values)


def _bare_domain(domain: str) -> str:
    return domain.casefold().strip().rstrip(".").removeprefix("www.")


def _keyword_match(keywords: Sequence[str]) -> str | None:
    """One FTS5 expression matching any keyword (each built like a /search query), or None if none is
    searchable."""
    expressions = [f"({match})" for match in map(build_match, keywords) if match is not None]
    return " OR ".join(expressions) if expressions else None


def _pool_filters(
    settings: DigestSettings, slot_time: datetime, *, keywords_in_where: bool = True
) -> tuple[list[str], list[Any]]:
    """SQL conditions narrowing the pool with the digest's filters (the pure rules re-apply them all).

    SQLite folds case for ASCII only, so a topic or provider filter with other letters is left to the pure
    rules rather than risk dropping an article they would keep.
    """
    conditions = ["coalesce(a.quality, 0) >= ?"]
    params: list[Any] = [settings.min_quality]
    if settings.topics and _is_ascii(settings.topics):
        conditions.append(
            "EXISTS (SELECT 1 FROM article_topics t WHERE t.article = a.rowid "
            f"AND t.topic IN ({placeholders(len(settings.topics))}))"
        )
        params.extend(settings.topics)
    if settings.providers and _is_ascii(settings.providers):
        names = [entry.strip().lower() for entry in settings.providers]
        domains = [_bare_domain(entry) for entry in settings.providers]
        domain_test = "lower(p.domain) = ? OR lower(p.domain) LIKE ? ESCAPE '\\'"
        domain_tests = " OR ".join([domain_test] * len(domains))
        conditions.append(
            "EXISTS (SELECT 1 FROM providers p WHERE p.id = a.provider_id AND "
            f"(lower(p.name) IN ({placeholders(len(names))}) OR {domain_tests}))"
        )
        params.extend(names)
        for domain in domains:
            escaped = domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.extend([domain, f"%.{escaped}"])
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
    them unless `existing_limit` asks for more (explain ranks the whole backlog). Story grouping only folds
    candidates together, so nothing outside these is needed for it.
    """
    conditions, params = _pool_filters(settings, slot_time, keywords_in_where=False)
    undelivered = "NOT EXISTS (SELECT 1 FROM delivered d WHERE d.channel_id = ? AND d.url = a.url)"
    where = " AND ".join([*conditions, undelivered])
    base = [*params, settings.channel_id]
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
    queries = [(f"SELECT a.url FROM {new_source} WHERE a.first_load > ? AND {where} {order} LIMIT ?",
                [watermark, *base, limit])] if new_count else []
    existing = settings.backlog if existing_limit is None else existing_limit
    if first_run and existing > 0:
        queries.append(
            (f"SELECT a.url FROM {source} WHERE a.first_load <= ? AND {where} {order} LIMIT ?",
             [watermark, *base, existing])
        )
    urls: list[str] = []
    async with db.read() as conn:
        for query, query_params in queries:
            async with conn.execute(query, query_params) as cursor:
                urls.extend(row[0] for row in await cursor.fetchall())
    found = await get_articles_by_url(db, urls)
    return [found[url] for url in urls if url in found]


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


async def matching_urls(db: Database, settings: DigestSettings, *, now: datetime) -> list[str]:
    """The canonical URLs of every article currently passing the digest's filters (for mark-seen)."""
    conditions, params = _pool_filters(settings, now)
    query = f"SELECT a.url FROM articles a WHERE {' AND '.join(conditions)}"
    async with db.read() as conn, conn.execute(query, params) as cursor:
        return [row[0] for row in await cursor.fetchall()]

