"""Digest definitions, the run ledger (one row per slot, claimed once), the per-channel delivered-URL record
and the audit log.

A digest is identified by its key (`digest_key`): its name for a digest from config.yaml, `<guild id>/<name>`
for one created from Discord, so names are unique per server and one server's names never block another's.

The database is the source of truth for digests: the scheduler only asks it what is due, a slot is claimed
by inserting its row (unique per digest and slot) together with the exact messages it will post, and each
message is recorded right after Discord confirms it. Every write goes through `db.write()` (the in-process
write lock plus `BEGIN IMMEDIATE`), so a claim never interleaves with a corpus load.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite

from bot.config import DigestDefaults, DigestSettings, digest_settings_from_mapping
from bot.corpus.model import Article
from bot.digest.model import Plan, PlannedMessage
from bot.digest.schedule import Slot
from bot.digest.select import BACKLOG_FRESH_DAYS, Delivered
from bot.store import publishing
from bot.store.articles import current_load_seq, get_articles_by_url
from bot.store.db import Database
from bot.store.fts import build_match

log = logging.getLogger(__name__)

DIGEST_SOURCES = ("config", "runtime")
RUN_KINDS = ("scheduled", "manual")
RUN_STATUSES = ("pending", "posted", "partial", "empty", "skipped", "failed", "paused")
FINAL_STATUSES = ("posted", "partial", "empty", "failed", "paused")
SKIP_REASONS = ("downtime", "paused")
#: How many new articles (best first) a run's pool holds at most: far more than the stories a run posts,
#: enough for story grouping to fold in the coverage that matters, small enough to compose in milliseconds.
POOL_LIMIT = 200
#: SQLite's default limit on bound parameters is 32766; stay well below it per statement.
_PARAMETER_CHUNK = 900


class DigestError(Exception):
    """A digest operation that cannot be done as asked; the message says why in the operator's terms."""


class DigestNotFound(DigestError):
    pass


class DuplicateDigest(DigestError):
    pass


class DigestLimitReached(DigestError):
    """The server already has as many digests made in Discord as the operator allows."""


class StalePlan(DigestError):
    """A precomposed plan no longer fits the store (a load or a delivery came in between): compose again."""


def digest_key(name: str, *, guild_id: int | None, source: str) -> str:
    """The stored identity of a digest: config digests by name (unique in config.yaml), digests created from
    Discord by server and name (unique in that server)."""
    return f"{guild_id}/{name}" if source == "runtime" and guild_id is not None else name


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """A digest as stored: its key, its settings plus where its schedule and backlog stand."""

    key: str
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

    `conflicts` are configured names taken by a digest created from Discord before names were per server
    whose server is not known (it is kept; digests with a known server never conflict).
    """

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunMessage:
    """One planned message of a run (`part` from 1) and, once Discord confirmed it, where it went."""

    run_id: int
    part: int
    planned: PlannedMessage
    message_id: int | None = None
    channel_id: int | None = None
    sent_at: datetime | None = None

    @property
    def sent(self) -> bool:
        return self.message_id is not None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One ledger row: a claimed slot (with its messages) or a summary of skipped slots. `digest` is the
    digest's key, `digest_name` its name."""

    id: int
    digest: str
    digest_name: str
    slot_key: str
    kind: str
    fire_time: datetime | None
    claimed_at: datetime
    status: str
    error: str | None
    skipped_first: str | None
    skipped_last: str | None
    skipped_count: int | None
    thread_id: int | None
    finished_at: datetime | None
    messages: tuple[RunMessage, ...] = ()

    @property
    def plan(self) -> Plan:
        """The plan exactly as claimed."""
        return Plan(digest=self.digest_name, messages=tuple(message.planned for message in self.messages))

    @property
    def next_part(self) -> RunMessage | None:
        """The first message not yet confirmed by Discord (None when all were sent)."""
        return next((message for message in self.messages if not message.sent), None)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of a digest's delivery log."""

    run_id: int
    slot_key: str
    kind: str
    status: str
    fire_time: datetime | None
    claimed_at: datetime
    finished_at: datetime | None
    messages_planned: int
    messages_sent: int
    article_count: int
    error: str | None
    skipped_first: str | None
    skipped_last: str | None
    skipped_count: int | None
    published: int = 0
    publish_pending: int = 0
    publish_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None
    guild_id: int | None
    action: str
    target: str | None
    before: Any
    after: Any
    outcome: str


# --- conversions ------------------------------------------------------------------------------------


def _ts(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamps must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _settings(raw: str, name: str) -> DigestSettings:
    """Stored settings are complete (as_mapping), so no defaults apply; validation still guards the row."""
    return digest_settings_from_mapping(json.loads(raw), DigestDefaults(), where=f"stored digest {name}",
                                        file=None)


_DIGEST_COLUMNS = (
    "key, name, guild_id, source, settings, watermark, created_at, schedule_from, last_checked, "
    "paused_reason, paused_at, first_run_claimed"
)


def _record(row: Sequence[Any]) -> DigestRecord:
    (key, name, guild_id, source, settings, watermark, created, schedule_from, checked, reason, paused_at,
     first) = row
    return DigestRecord(
        key=key,
        settings=_settings(settings, name),
        guild_id=guild_id,
        source=source,
        watermark=int(watermark),
        created_at=datetime.fromisoformat(created),
        schedule_from=datetime.fromisoformat(schedule_from),
        last_checked=datetime.fromisoformat(checked),
        paused_reason=reason,
        paused_at=_dt(paused_at),
        first_run_claimed=bool(first),
    )


_RUN_COLUMNS = (
    "id, digest, (SELECT d.name FROM digests d WHERE d.key = digest_runs.digest), slot_key, "
    "kind, fire_time, claimed_at, status, error, skipped_first, skipped_last, "
    "skipped_count, thread_id, finished_at"
)


def _run(row: Sequence[Any], messages: tuple[RunMessage, ...] = ()) -> RunRecord:
    return RunRecord(
        id=row[0],
        digest=row[1],
        digest_name=row[2],
        slot_key=row[3],
        kind=row[4],
        fire_time=_dt(row[5]),
        claimed_at=datetime.fromisoformat(row[6]),
        status=row[7],
        error=row[8],
        skipped_first=row[9],
        skipped_last=row[10],
        skipped_count=row[11],
        thread_id=row[12],
        finished_at=_dt(row[13]),
        messages=messages,
    )


def _run_message(row: Sequence[Any]) -> RunMessage:
    run_id, part, payload, article_ids, urls, in_thread, message_id, channel_id, sent_at = row
    planned = PlannedMessage(
        payload=json.loads(payload),
        article_ids=tuple(json.loads(article_ids)),
        delivered_urls=tuple(json.loads(urls)),
        in_thread=bool(in_thread),
    )
    return RunMessage(run_id, part, planned, message_id, channel_id, _dt(sent_at))


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _PARAMETER_CHUNK):
        yield items[start : start + _PARAMETER_CHUNK]


def _placeholders(count: int) -> str:
    return ",".join("?" * count)


# --- digest definitions -----------------------------------------------------------------------------


async def _fetch_record(conn: aiosqlite.Connection, key: str) -> DigestRecord | None:
    async with conn.execute(f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE key = ?", (key,)) as cursor:
        row = await cursor.fetchone()
    return None if row is None else _record(row)


async def _require(conn: aiosqlite.Connection, key: str) -> DigestRecord:
    record = await _fetch_record(conn, key)
    if record is None:
        raise DigestNotFound(f"there is no digest {key!r}")
    return record


async def get_digest(db: Database, key: str) -> DigestRecord | None:
    """The digest with this key (see `digest_key`)."""
    async with db.read() as conn:
        return await _fetch_record(conn, key)


async def list_digests(db: Database, *, guild_id: int | None = None) -> list[DigestRecord]:
    """Every digest by name (then key), or only those of one guild."""
    query = f"SELECT {_DIGEST_COLUMNS} FROM digests"
    params: tuple[Any, ...] = ()
    if guild_id is not None:
        query += " WHERE guild_id = ?"
        params = (guild_id,)
    async with db.read() as conn, conn.execute(query + " ORDER BY name, key", params) as cursor:
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
    stamp = _ts(now)
    key = digest_key(settings.name, guild_id=guild_id, source=source)
    await conn.execute(
        "INSERT INTO digests (key, name, guild_id, channel_id, source, settings, watermark, created_at, "
        "schedule_from, last_checked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (key, settings.name, guild_id, settings.channel_id, source, _json(settings.as_mapping()), watermark,
         stamp, stamp, stamp),
    )


def _schedule_changed(old: DigestSettings, new: DigestSettings) -> bool:
    return old.schedule != new.schedule or old.timezone != new.timezone


async def _update_settings(
    conn: aiosqlite.Connection, old: DigestRecord, settings: DigestSettings, now: datetime
) -> None:
    """Store new settings; a new schedule counts slots from `now`, a new channel forgets the guild."""
    stamp = _ts(now)
    reschedule = _schedule_changed(old.settings, settings)
    await conn.execute(
        "UPDATE digests SET settings = ?, channel_id = ?, "
        "guild_id = CASE WHEN channel_id = ? THEN guild_id ELSE NULL END, "
        "schedule_from = CASE WHEN ? THEN ? ELSE schedule_from END, "
        "last_checked = CASE WHEN ? THEN ? ELSE last_checked END WHERE key = ?",
        (_json(settings.as_mapping()), settings.channel_id, settings.channel_id,
         reschedule, stamp, reschedule, stamp, old.key),
    )


async def sync_config_digests(
    db: Database, digests: Sequence[DigestSettings], *, now: datetime
) -> ConfigDigestChanges:
    """Bring the stored config digests in line with config.yaml, leaving runtime digests alone.

    A configured digest seen for the first time is created now (watermark: the current load). A changed
    schedule or timezone counts slots from now. A digest gone from the file is deleted with its runs; what
    it delivered stays recorded for its channel. Config digests are keyed by name, so a digest created from
    Discord (keyed by its server) never takes a name config.yaml needs; only one stored before names were
    per server, without a known server, can (`conflicts`).
    """
    watermark = await current_load_seq(db)
    added: list[str] = []
    changed: list[str] = []
    removed: list[str] = []
    conflicts: list[str] = []
    wanted = {settings.name: settings for settings in digests}
    async with db.write() as conn:
        async with conn.execute(f"SELECT {_DIGEST_COLUMNS} FROM digests") as cursor:
            stored = {record.key: record for record in map(_record, await cursor.fetchall())}
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
        for key, record in stored.items():
            if record.source == "config" and key not in wanted:
                await conn.execute("DELETE FROM digests WHERE key = ?", (key,))
                removed.append(record.name)
    for name in conflicts:
        log.warning("config digest %r is not applied: a digest created from Discord already has that name",
                    name)
    if added or changed or removed:
        log.info("config digests synced: added %s, changed %s, removed %s", added, changed, removed)
    return ConfigDigestChanges(tuple(added), tuple(changed), tuple(removed), tuple(conflicts))


async def create_digest(
    db: Database,
    settings: DigestSettings,
    *,
    guild_id: int | None,
    now: datetime,
    source: str = "runtime",
    per_guild_limit: int | None = None,
) -> DigestRecord:
    """Store a new digest, created now (its watermark is the current load). Names are unique per server:
    among the server's digests created from Discord and the config digests posting there; another
    server's digests are never compared (nor revealed).

    With `per_guild_limit`, a guild that already has that many runtime digests gets `DigestLimitReached`
    (counted in the same transaction as the insert, so simultaneous creates cannot overshoot it).
    """
    if source not in DIGEST_SOURCES:
        raise ValueError(f"digest source must be one of {DIGEST_SOURCES}, got {source!r}")
    watermark = await current_load_seq(db)
    key = digest_key(settings.name, guild_id=guild_id, source=source)
    async with db.write() as conn:
        existing = await _fetch_record(conn, key)
        if existing is None and guild_id is not None:
            async with conn.execute(
                f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE guild_id = ? AND name = ? LIMIT 1",
                (guild_id, settings.name),
            ) as cursor:
                row = await cursor.fetchone()
            existing = None if row is None else _record(row)
        if existing is not None:
            origin = "config.yaml" if existing.source == "config" else "created from Discord"
            where = "" if guild_id is None else " in this server"
            raise DuplicateDigest(
                f"a digest called {settings.name!r} already exists{where} ({origin}); pick another name"
            )
        if per_guild_limit is not None:
            async with conn.execute(
                "SELECT count(*) FROM digests WHERE guild_id = ? AND source = 'runtime'", (guild_id,)
            ) as cursor:
                count = int((await cursor.fetchone())[0])
            if count >= per_guild_limit:
                raise DigestLimitReached(
                    f"this server already has {count} digest{'s' if count != 1 else ''} made in Discord, "
                    f"the most allowed ({per_guild_limit}); delete one with `/admin digest delete` first"
                )
        await _insert_digest(conn, settings, guild_id=guild_id, source=source, watermark=watermark, now=now)
        record = await _require(conn, key)
    log.info(
        "digest %r created (%s, guild %s, watermark load %d)", settings.name, source, guild_id, watermark
    )
    return record


async def update_digest(db: Database, key: str, settings: DigestSettings, *, now: datetime) -> DigestRecord:
    """Replace a digest's settings; a schedule or timezone change takes effect from `now`."""
    async with db.write() as conn:
        record = await _require(conn, key)
        if settings.name != record.name:
            raise DigestError(f"digest {record.name!r} cannot be renamed to {settings.name!r}")
        await _update_settings(conn, record, settings, now)
        return await _require(conn, key)


async def delete_digest(db: Database, key: str) -> bool:
    """Delete a digest and its runs (the channel's delivered URLs stay). False when there was none."""
    async with db.write() as conn:
        cursor = await conn.execute("DELETE FROM digests WHERE key = ?", (key,))
        deleted = cursor.rowcount > 0
    if deleted:
        log.info("digest %r deleted", key)
    return deleted


async def set_paused(db: Database, key: str, reason: str | None, *, now: datetime) -> DigestRecord:
    """Pause with `reason` (shown in /digest list), or resume with None.

    `last_checked` is left to the reconcile, which records the slots passing during a pause as skipped.
    """
    stamp = _ts(now)
    async with db.write() as conn:
        await _require(conn, key)
        if reason is None:
            await conn.execute(
                "UPDATE digests SET paused_reason = NULL, paused_at = NULL WHERE key = ?", (key,)
            )
        else:
            await conn.execute(
                "UPDATE digests SET paused_reason = ?, paused_at = coalesce(paused_at, ?) WHERE key = ?",
                (reason, stamp, key),
            )
        record = await _require(conn, key)
    log.info("digest %r %s", key, f"paused: {reason}" if reason else "resumed")
    return record


async def set_last_checked(db: Database, key: str, at: datetime) -> None:
    """Slots up to `at` have been dealt with; the next look for due slots starts there."""
    async with db.write() as conn:
        await conn.execute("UPDATE digests SET last_checked = ? WHERE key = ?", (_ts(at), key))


async def set_guild(db: Database, key: str, guild_id: int | None) -> None:
    """Record the guild of the digest's channel (resolved when the bot sees the channel)."""
    async with db.write() as conn:
        await conn.execute("UPDATE digests SET guild_id = ? WHERE key = ?", (guild_id, key))


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


def _topic_test(topics: Sequence[str]) -> tuple[str, list[Any]]:
    """An SQL test: the article has one of `topics`."""
    return (
        "EXISTS (SELECT 1 FROM article_topics t WHERE t.article = a.rowid "
        f"AND t.topic IN ({_placeholders(len(topics))}))",
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
        f"(lower(p.name) IN ({_placeholders(len(names))}) OR {domain_tests}))"
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
    urls: list[str] = []
    async with db.read() as conn:
        if first_run and existing > 0:
            newest_query = f"SELECT a.published_at FROM {source} WHERE {where} ORDER BY a.published_at DESC"
            async with conn.execute(f"{newest_query} LIMIT 1", base) as cursor:
                newest = await cursor.fetchone()
            if newest is not None:
                fresh_from = int(newest[0]) - BACKLOG_FRESH_DAYS * 86400
                queries.append((
                    f"SELECT a.url FROM {source} WHERE a.first_load <= ? AND a.published_at >= ? AND {where} "
                    f"{order} LIMIT ?", [watermark, fresh_from, *base, existing],
                ))
            queries.append(
                (f"SELECT a.url FROM {source} WHERE a.first_load <= ? AND {where} {order} LIMIT ?",
                 [watermark, *base, existing])
            )
        for query, query_params in queries:
            async with conn.execute(query, query_params) as cursor:
                urls.extend(row[0] for row in await cursor.fetchall())
    urls = list(dict.fromkeys(urls))
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
        for chunk in _chunks(ids):
            # Looking each article's index row up by rowid keeps this proportional to the ids asked about,
            # not to how many articles match.
            query = (
                f"SELECT a.id FROM articles a WHERE a.id IN ({_placeholders(len(chunk))}) AND EXISTS "
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


# --- the per-channel delivered-URL record -----------------------------------------------------------


async def channel_deliveries(
    db: Database, channel_id: int, urls: Iterable[str] | None = None
) -> dict[str, Delivered]:
    """What was already posted to the channel (by any digest): all of it, or only among `urls`."""
    rows: list[Sequence[Any]] = []
    async with db.read() as conn:
        if urls is None:
            async with conn.execute(
                "SELECT url, delivered_at, digest FROM delivered WHERE channel_id = ?", (channel_id,)
            ) as cursor:
                rows.extend(await cursor.fetchall())
        else:
            for chunk in _chunks(list(dict.fromkeys(urls))):
                async with conn.execute(
                    "SELECT url, delivered_at, digest FROM delivered WHERE channel_id = ? "
                    f"AND url IN ({_placeholders(len(chunk))})",
                    [channel_id, *chunk],
                ) as cursor:
                    rows.extend(await cursor.fetchall())
    return {url: Delivered(url, datetime.fromisoformat(at), digest) for url, at, digest in rows}


async def _deliver(
    conn: aiosqlite.Connection, channel_id: int, urls: Iterable[str], *, digest: str, run_id: int | None,
    now: datetime,
) -> int:
    """Record URLs as delivered to the channel; the first delivery of a URL is the one kept."""
    stamp = _ts(now)
    rows = [(channel_id, url, stamp, digest, run_id) for url in dict.fromkeys(urls)]
    before = conn.total_changes
    await conn.executemany(
        "INSERT INTO delivered (channel_id, url, delivered_at, digest, run_id) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (channel_id, url) DO NOTHING",
        rows,
    )
    return conn.total_changes - before


async def mark_seen(db: Database, key: str, urls: Iterable[str], *, now: datetime) -> int:
    """Treat `urls` as delivered to the digest's channel without posting; returns how many were new."""
    async with db.write() as conn:
        record = await _require(conn, key)
        added = await _deliver(conn, record.channel_id, urls, digest=record.name, run_id=None, now=now)
    log.info("digest %r: %d URL(s) marked as seen in channel %d", key, added, record.channel_id)
    return added


# --- the run ledger ---------------------------------------------------------------------------------


async def _messages_of(conn: aiosqlite.Connection, run_ids: Sequence[int]) -> dict[int, list[RunMessage]]:
    found: dict[int, list[RunMessage]] = {run_id: [] for run_id in run_ids}
    for chunk in _chunks(list(run_ids)):
        async with conn.execute(
            "SELECT run_id, part, payload, article_ids, delivered_urls, in_thread, message_id, channel_id, "
            f"sent_at FROM run_messages WHERE run_id IN ({_placeholders(len(chunk))}) ORDER BY run_id, part",
            chunk,
        ) as cursor:
            for row in await cursor.fetchall():
                found[row[0]].append(_run_message(row))
    return found


async def _fetch_run(conn: aiosqlite.Connection, run_id: int) -> RunRecord:
    async with conn.execute(f"SELECT {_RUN_COLUMNS} FROM digest_runs WHERE id = ?", (run_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise DigestError(f"there is no digest run {run_id}")
    messages = await _messages_of(conn, [run_id])
    return _run(row, tuple(messages[run_id]))


async def slot_claimed(db: Database, key: str, slot_key: str) -> bool:
    """Whether the digest's slot already has its ledger row (then there is nothing to compose for it)."""
    async with db.read() as conn, conn.execute(
        "SELECT 1 FROM digest_runs WHERE digest = ? AND slot_key = ?", (key, slot_key)
    ) as cursor:
        return await cursor.fetchone() is not None


async def _stale_reason(conn: aiosqlite.Connection, key: str, plan: Plan, composed_from: int) -> str | None:
    """Why a plan composed from load `composed_from` may no longer be claimed, or None while it holds."""
    async with conn.execute("SELECT coalesce(max(seq), 0) FROM loads") as cursor:
        current = int((await cursor.fetchone())[0])
    if current != composed_from:
        return f"the corpus changed (load {composed_from} → {current}) while the run was composed"
    urls = [url for message in plan.messages for url in message.delivered_urls]
    if not urls:
        return None
    async with conn.execute(
        "SELECT d.url FROM delivered d JOIN digests g ON g.channel_id = d.channel_id WHERE g.key = ? "
        "AND d.url IN (SELECT value FROM json_each(?)) LIMIT 1",
        (key, json.dumps(urls)),
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else f"{row[0]} was delivered to the channel while the run was composed"


async def claim_run(
    db: Database,
    key: str,
    slot_key: str,
    *,
    kind: str,
    fire_time: datetime,
    plan: Plan,
    now: datetime,
    composed_from: int | None = None,
) -> RunRecord | None:
    """Claim the slot with its precomposed plan, in one transaction: None when the slot was already claimed.

    The plan is composed beforehand, outside the write lock (composing reads the corpus, and no writer —
    an admin's pause, another digest's claim — may wait for that). `composed_from` is the load sequence it
    was composed from: when a corpus load committed since, or an article the plan posts was delivered to
    the digest's channel meanwhile, `StalePlan` is raised and nothing is recorded, so the caller composes
    again. The plan's messages are stored as they will be sent, so a resume after a crash or a corpus
    reload posts exactly what was planned. An empty plan is recorded as `empty` (and finished). Any claim
    counts as the digest's first run, which ends its backlog.
    """
    if kind not in RUN_KINDS:
        raise ValueError(f"run kind must be one of {RUN_KINDS}, got {kind!r}")
    stamp = _ts(now)
    async with db.write() as conn:
        record = await _require(conn, key)
        async with conn.execute(
            "SELECT 1 FROM digest_runs WHERE digest = ? AND slot_key = ?", (key, slot_key)
        ) as cursor:
            if await cursor.fetchone() is not None:
                log.debug("digest %r slot %s already claimed", key, slot_key)
                return None
        if composed_from is not None:
            stale = await _stale_reason(conn, key, plan, composed_from)
            if stale is not None:
                raise StalePlan(f"digest {key!r} slot {slot_key}: {stale}")
        if plan.digest != record.name:
            raise ValueError(f"the plan is for digest {plan.digest!r}, not {record.name!r}")
        status = "empty" if plan.is_empty else "pending"
        summary = {
            "parts": len(plan.messages),
            "article_ids": [article_id for message in plan.messages for article_id in message.article_ids],
        }
        cursor = await conn.execute(
            "INSERT INTO digest_runs (digest, slot_key, kind, fire_time, claimed_at, status, plan, "
            "finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest, slot_key) DO NOTHING",
            (key, slot_key, kind, _ts(fire_time), stamp, status, _json(summary),
             stamp if plan.is_empty else None),
        )
        if cursor.rowcount == 0:
            log.debug("digest %r slot %s already claimed", key, slot_key)
            return None
        run_id = cursor.lastrowid
        await conn.executemany(
            "INSERT INTO run_messages (run_id, part, payload, article_ids, delivered_urls, in_thread) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (run_id, part, _json(message.payload), _json(list(message.article_ids)),
                 _json(list(message.delivered_urls)), int(message.in_thread))
                for part, message in enumerate(plan.messages, start=1)
            ],
        )
        await conn.execute("UPDATE digests SET first_run_claimed = 1 WHERE key = ?", (key,))
        record = await _fetch_run(conn, run_id)
    log.info("digest %r claimed slot %s (%s, %d message(s))", key, slot_key, kind, len(plan.messages))
    return record


def _slot_label(slot: str | Slot) -> str:
    return slot.key if isinstance(slot, Slot) else slot


async def record_skipped(
    db: Database,
    key: str,
    *,
    first: str | Slot,
    last: str | Slot,
    count: int,
    reason: str,
    now: datetime,
) -> RunRecord | None:
    """One ledger row for `count` slots that did not run (first … last), because of downtime or a pause.

    A range that directly follows the digest's latest entry, skipped for the same reason, extends that
    entry, so a week-long pause of a per-minute digest is one row, not one per sweep. Recording the same
    range twice is a no-op (None), so a reconcile retried after a crash stays exact.
    """
    if reason not in SKIP_REASONS:
        raise ValueError(f"skip reason must be one of {SKIP_REASONS}, got {reason!r}")
    if count < 1:
        raise ValueError(f"a skipped entry covers at least one slot, got {count}")
    first_key, last_key = _slot_label(first), _slot_label(last)
    fire_time = last.fire_time if isinstance(last, Slot) else None
    stamp = _ts(now)
    async with db.write() as conn:
        await _require(conn, key)
        async with conn.execute(
            "SELECT id, error, skipped_first, skipped_last, skipped_count FROM digest_runs "
            "WHERE digest = ? ORDER BY id DESC LIMIT 1",
            (key,),
        ) as cursor:
            latest = await cursor.fetchone()
        if latest is not None and latest[1] == reason and latest[3] is not None:
            latest_id, _, latest_first, latest_last, latest_count = latest
            if first_key <= latest_last:
                return None
            await conn.execute(
                "UPDATE digest_runs SET slot_key = ?, fire_time = coalesce(?, fire_time), skipped_last = ?, "
                "skipped_count = ?, finished_at = ? WHERE id = ?",
                (f"skipped-{latest_first}..{last_key}", None if fire_time is None else _ts(fire_time),
                 last_key, latest_count + count, stamp, latest_id),
            )
            record = await _fetch_run(conn, latest_id)
            log.info("digest %r: %d more slot(s) skipped (%s), up to %s", key, count, reason, last_key)
            return record
        cursor = await conn.execute(
            "INSERT INTO digest_runs (digest, slot_key, kind, fire_time, claimed_at, status, error, "
            "skipped_first, skipped_last, skipped_count, finished_at) "
            "VALUES (?, ?, 'skipped', ?, ?, 'skipped', ?, ?, ?, ?, ?) "
            "ON CONFLICT (digest, slot_key) DO NOTHING",
            (key, f"skipped-{first_key}..{last_key}", None if fire_time is None else _ts(fire_time), stamp,
             reason, first_key, last_key, count, stamp),
        )
        if cursor.rowcount == 0:
            return None
        record = await _fetch_run(conn, cursor.lastrowid)
    log.info("digest %r: %d slot(s) skipped (%s), %s … %s", key, count, reason, first_key, last_key)
    return record


async def unfinished_runs(db: Database, key: str) -> list[RunRecord]:
    """Claimed runs still to deliver (`pending`: a crash interrupted them), oldest first, with their
    messages. A run that ended `partial` gave up after its retries and stays as the log shows it."""
    async with db.read() as conn:
        async with conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM digest_runs WHERE digest = ? AND status = 'pending' "
            "ORDER BY id",
            (key,),
        ) as cursor:
            rows = await cursor.fetchall()
        messages = await _messages_of(conn, [row[0] for row in rows])
    return [_run(row, tuple(messages[row[0]])) for row in rows]


async def manual_runs_since(db: Database, key: str, since: datetime) -> list[datetime]:
    """When the digest's manual runs claimed after `since` were claimed, oldest first."""
    async with db.read() as conn, conn.execute(
        "SELECT claimed_at FROM digest_runs WHERE digest = ? AND kind = 'manual' AND claimed_at > ? "
        "ORDER BY claimed_at",
        (key, _ts(since)),
    ) as cursor:
        return [datetime.fromisoformat(row[0]) for row in await cursor.fetchall()]


async def get_run(db: Database, run_id: int) -> RunRecord:
    async with db.read() as conn:
        return await _fetch_run(conn, run_id)


async def run_messages(db: Database, run_id: int) -> list[RunMessage]:
    async with db.read() as conn:
        return (await _messages_of(conn, [run_id]))[run_id]


async def record_sent(
    db: Database, run_id: int, part: int, *, message_id: int, channel_id: int, now: datetime,
    publish: bool = False,
) -> None:
    """Discord confirmed the part: remember the message, and the URLs it shows as delivered to the digest's
    channel (the digest's own channel, also for thread items). With `publish`, the part waits to be
    published (recorded in the same transaction, so it cannot be forgotten)."""
    async with db.write() as conn:
        async with conn.execute(
            "SELECT d.name, d.channel_id, m.delivered_urls FROM run_messages m "
            "JOIN digest_runs r ON r.id = m.run_id JOIN digests d ON d.key = r.digest "
            "WHERE m.run_id = ? AND m.part = ?",
            (run_id, part),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise DigestError(f"digest run {run_id} has no part {part}")
        digest, digest_channel, urls = row
        await conn.execute(
            "UPDATE run_messages SET message_id = ?, channel_id = ?, sent_at = ? "
            "WHERE run_id = ? AND part = ?",
            (message_id, channel_id, _ts(now), run_id, part),
        )
        await _deliver(conn, digest_channel, json.loads(urls), digest=digest, run_id=run_id, now=now)
        if publish:
            await publishing.mark_pending(conn, run_id, part)


async def set_thread(db: Database, run_id: int, thread_id: int) -> None:
    async with db.write() as conn:
        await conn.execute("UPDATE digest_runs SET thread_id = ? WHERE id = ?", (thread_id, run_id))


async def finish_run(
    db: Database, run_id: int, status: str, error: str | None = None, *, now: datetime
) -> None:
    """Close a run with its outcome."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"a run finishes as one of {FINAL_STATUSES}, got {status!r}")
    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE digest_runs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
            (status, error, _ts(now), run_id),
        )
        if cursor.rowcount == 0:
            raise DigestError(f"there is no digest run {run_id}")


async def delivery_log(db: Database, key: str, *, limit: int = 20, offset: int = 0) -> list[LogEntry]:
    """The digest's ledger, newest first."""
    query = (
        "SELECT r.id, r.slot_key, r.kind, r.status, r.fire_time, r.claimed_at, r.finished_at, r.error, "
        "r.skipped_first, r.skipped_last, r.skipped_count, "
        "(SELECT count(*) FROM run_messages m WHERE m.run_id = r.id), "
        "(SELECT count(*) FROM run_messages m WHERE m.run_id = r.id AND m.message_id IS NOT NULL), "
        "coalesce(json_array_length(r.plan, '$.article_ids'), 0), r.plan "
        "FROM digest_runs r WHERE r.digest = ? ORDER BY r.id DESC LIMIT ? OFFSET ?"
    )
    async with db.read() as conn, conn.execute(query, (key, limit, offset)) as cursor:
        rows = await cursor.fetchall()
    return [
        LogEntry(
            run_id=row[0], slot_key=row[1], kind=row[2], status=row[3], fire_time=_dt(row[4]),
            claimed_at=datetime.fromisoformat(row[5]), finished_at=_dt(row[6]), error=row[7],
            skipped_first=row[8], skipped_last=row[9], skipped_count=row[10],
            messages_planned=row[11], messages_sent=row[12], article_count=row[13],
            **dict(zip(("published", "publish_pending", "publish_after"), publishing.counts(row[14]),
                       strict=True)),
        )
        for row in rows
    ]


async def prune_log(db: Database, *, now: datetime, keep_days: int = 90) -> int:
    """Forget finished runs claimed more than `keep_days` ago (unfinished ones stay until delivered).
    The per-channel delivered-URL record is kept forever."""
    cutoff = _ts(now - timedelta(days=keep_days))
    async with db.write() as conn:
        cursor = await conn.execute(
            "DELETE FROM digest_runs WHERE claimed_at < ? AND status != 'pending'", (cutoff,)
        )
        removed = cursor.rowcount
    if removed:
        log.info("delivery log: %d run(s) older than %d days pruned", removed, keep_days)
    return removed


# --- the audit log ----------------------------------------------------------------------------------


async def record_audit(
    db: Database,
    *,
    actor_id: int | None,
    guild_id: int | None,
    action: str,
    target: str | None,
    before: Any,
    after: Any,
    outcome: str,
    now: datetime,
) -> int:
    """Remember who changed what (state before → after, as JSON-ready data) and how it ended."""
    async with db.write() as conn:
        cursor = await conn.execute(
            "INSERT INTO audit_log (at, actor_id, guild_id, action, target, before, after, outcome) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (_ts(now), actor_id, guild_id, action, target,
             None if before is None else _json(before), None if after is None else _json(after), outcome),
        )
        return int(cursor.lastrowid)


async def prune_audit(db: Database, *, now: datetime, keep_days: int = 365) -> int:
    """Forget audit entries older than `keep_days`; returns how many went."""
    cutoff = _ts(now - timedelta(days=keep_days))
    async with db.write() as conn:
        cursor = await conn.execute("DELETE FROM audit_log WHERE at < ?", (cutoff,))
        removed = cursor.rowcount
    if removed:
        log.info("audit log: %d entr%s older than %d days pruned", removed, "y" if removed == 1 else "ies",
                 keep_days)
    return removed


async def audit_entries(
    db: Database,
    *,
    guild_id: int | None = None,
    target: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[AuditEntry]:
    """Audit entries newest first, optionally of one guild and/or one target."""
    conditions: list[str] = []
    params: list[Any] = []
    for column, value in (("guild_id", guild_id), ("target", target)):
        if value is not None:
            conditions.append(f"{column} = ?")
            params.append(value)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    query = (
        "SELECT id, at, actor_id, guild_id, action, target, before, after, outcome FROM audit_log "
        f"{where} ORDER BY id DESC LIMIT ? OFFSET ?"
    )
    async with db.read() as conn, conn.execute(query, [*params, limit, offset]) as cursor:
        rows = await cursor.fetchall()
    return [
        AuditEntry(
            id=row[0], at=datetime.fromisoformat(row[1]), actor_id=row[2], guild_id=row[3], action=row[4],
            target=row[5], before=None if row[6] is None else json.loads(row[6]),
            after=None if row[7] is None else json.loads(row[7]), outcome=row[8],
        )
        for row in rows
    ]

