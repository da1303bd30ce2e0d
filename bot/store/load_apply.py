"""The write side of a corpus load: one write transaction's worth of files, articles, related coverage,
topics and the search index, applied in batches (bot/store/loader.py orchestrates the load).

A cold load writes each URL's article as soon as its first file arrives; other loads resolve the winner
of each touched URL (the later `published_at`, then the name sorting first) and write only what changed.
New articles are indexed for search in one pass at the end.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import aiosqlite

from bot.corpus.normalize import id_from_url
from bot.store.db import fetch_all
from bot.store.load_worker import PROVIDER_COLUMN, ArticleRow, ParsedFile, article_row

log = logging.getLogger(__name__)

#: Articles decoded and written per batch in the resolve step.
APPLY_BATCH = 500


class LoadRefused(Exception):
    """The load was not applied because it looks like a mistake (the message says why)."""



class KnownFile(NamedTuple):
    size: int
    mtime_ns: int
    hash: str
    url: str | None


@dataclass
class Tally:
    added: int = 0
    updated: int = 0
    removed: int = 0


_UPSERT_OK_FILE = """
INSERT INTO files (name, size, mtime_ns, hash, status, reason, url, published_at, id_hint, fingerprint,
    article)
VALUES (?, ?, ?, ?, 'ok', NULL, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
    size = excluded.size, mtime_ns = excluded.mtime_ns, hash = excluded.hash, status = 'ok', reason = NULL,
    url = excluded.url, published_at = excluded.published_at, id_hint = excluded.id_hint,
    fingerprint = excluded.fingerprint, article = excluded.article
"""
# A rejected file keeps its last good article (url, article, …) when it had one.
_UPSERT_REJECTED_FILE = """
INSERT INTO files (name, size, mtime_ns, hash, status, reason) VALUES (?, ?, ?, ?, 'rejected', ?)
ON CONFLICT (name) DO UPDATE SET
    size = excluded.size, mtime_ns = excluded.mtime_ns, hash = excluded.hash, status = 'rejected',
    reason = excluded.reason
"""
_INSERT_ARTICLE = """
INSERT INTO articles (rowid, id, url, title, excerpt, related_titles, original_url, amp_url, published_at,
    quality, heat, published, category, provider_id, image, images, secured, source_file, fingerprint,
    first_load, last_load)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_UPDATE_ARTICLE = """
UPDATE articles SET title = ?, excerpt = ?, related_titles = ?, original_url = ?, amp_url = ?,
    published_at = ?, quality = ?, heat = ?, published = ?, category = ?, provider_id = ?, image = ?,
    images = ?, secured = ?, source_file = ?, fingerprint = ?, last_load = ?
WHERE rowid = ?
"""
_INSERT_RELATED = """
INSERT INTO related (article, position, title, url, excerpt, provider_name, provider_domain, published_at,
    quality) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_FTS_INSERT_TRIGGER = "articles_fts_insert"
_INDEX_ADDED = """
INSERT INTO articles_fts (rowid, title, excerpt, related_titles, fts_dates)
SELECT fts_key, title, excerpt, related_titles, fts_dates FROM articles WHERE rowid >= ? ORDER BY fts_key
"""
_INSERT_TOPIC = "INSERT INTO article_topics (article, position, topic) VALUES (?, ?, ?)"


def winner_key(name: str, published_at: int) -> tuple[int, str]:
    """Which file serves a URL: the later publication first, then the name sorting first."""
    return (-published_at, name)


def batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _free_id(hint: str, url: str, taken: set[str]) -> str:
    """The file's id hint, else the id derived from the URL, else that id with the first free suffix."""
    if hint not in taken:
        return hint
    base = id_from_url(url)
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


class CorpusWriter:
    """The write side of one load, on the write connection inside its transaction."""

    def __init__(self, conn: aiosqlite.Connection, seq: int) -> None:
        self.conn = conn
        self.seq = seq
        self.dirty_urls: set[str] = set()
        self.warnings: list[str] = []
        self.providers: dict[tuple[str, str], int] = {}
        #: On a cold load (empty store) each URL's article is written as its first file arrives, while
        #: the workers parse on; a later file with the same URL is resolved at the end like any change.
        self.streamed: set[str] = set()
        self._stream_taken: set[str] = set()
        self._stream_next_rowid = 1
        self._stream_trigger: str | None = None

    async def start_streaming(self) -> None:
        """Write articles as files arrive (only for a load into an empty store), indexing them at the end."""
        self._stream_trigger = await self._defer_fts_index()

    async def finish_streaming(self) -> None:
        """Index every streamed article and restore the insert trigger, before anything updates them."""
        if self._stream_trigger is not None:
            await self._index_since(1, self._stream_trigger)
            self._stream_trigger = None

    async def _defer_fts_index(self) -> str:
        """Drop the FTS insert trigger; returns its SQL for `_index_since`.

        Indexing new rows in one pass in `fts_key` order, instead of row by row through the trigger in
        rowid order, builds the same index about four times faster. Dropping the trigger is part of the
        load's transaction, so a failure restores it with everything else."""
        rows = await fetch_all(
            self.conn, "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
            (_FTS_INSERT_TRIGGER,),
        )
        await self.conn.execute(f"DROP TRIGGER {_FTS_INSERT_TRIGGER}")
        return str(rows[0][0])

    async def _index_since(self, first_rowid: int, trigger_sql: str) -> None:
        await self.conn.execute(_INDEX_ADDED, (first_rowid,))
        await self.conn.execute(trigger_sql)

    async def _stream(self, items: list[ParsedFile]) -> None:
        """Insert the article of each file whose URL this load has not seen yet (files arrive in name order,
        so the first file of a URL is the one whose name sorts first: ids come out as in `_write_added`)."""
        rows: list[tuple[Any, ...]] = []
        related: list[tuple[Any, ...]] = []
        topics: list[tuple[Any, ...]] = []
        for item in items:
            url = item.url
            assert url is not None and item.row is not None and item.id_hint is not None
            if url in self.streamed:
                self.dirty_urls.add(url)
                continue
            self.streamed.add(url)
            article_id = _free_id(item.id_hint, url, self._stream_taken)
            self._stream_taken.add(article_id)
            rowid = self._stream_next_rowid
            self._stream_next_rowid += 1
            row = item.row
            rows.append(
                (rowid, article_id, url, *await self._columns(row), item.name, item.fingerprint,
                 self.seq, self.seq)
            )
            more_related, more_topics = self._children(rowid, row)
            related += more_related
            topics += more_topics
        if rows:
            await self.conn.executemany(_INSERT_ARTICLE, rows)
            await self._write_children(related, topics)

    async def record(self, parsed: list[ParsedFile], known: dict[str, KnownFile]) -> None:
        """Write one chunk of read files to `files`, noting which URLs need resolving."""
        stat_only: list[tuple[int, int, str]] = []
        ok_rows: list[tuple[Any, ...]] = []
        rejected_rows: list[tuple[Any, ...]] = []
        for item in parsed:
            before = known.get(item.name)
            if item.same_content:
                stat_only.append((item.size, item.mtime_ns, item.name))
            elif item.reason is not None:
                log.info("corpus: rejected %s: %s", item.name, item.reason)
                rejected_rows.append((item.name, item.size, item.mtime_ns, item.hash, item.reason))
            else:
                ok_rows.append(
                    (item.name, item.size, item.mtime_ns, item.hash, item.url, item.published_at,
                     item.id_hint, item.fingerprint, item.article)
                )
                if self._stream_trigger is None:
                    self.dirty_urls.add(item.url)  # type: ignore[arg-type]
                if before is not None and before.url:
                    self.dirty_urls.add(before.url)
                self.warnings.extend(f"{item.name}: {warning}" for warning in item.warnings)
        if stat_only:
            await self.conn.executemany("UPDATE files SET size = ?, mtime_ns = ? WHERE name = ?", stat_only)
        if ok_rows:
            await self.conn.executemany(_UPSERT_OK_FILE, ok_rows)
        if rejected_rows:
            await self.conn.executemany(_UPSERT_REJECTED_FILE, rejected_rows)
        if self._stream_trigger is not None:
            await self._stream([item for item in parsed if not item.same_content and item.reason is None])

    async def forget(self, names: list[str], known: dict[str, KnownFile]) -> None:
        """Files gone from the folder."""
        for batch in batches(names, APPLY_BATCH):
            await self.conn.execute(
                "DELETE FROM files WHERE name IN (SELECT value FROM json_each(?))", (json.dumps(batch),)
            )
        self.dirty_urls.update(known[name].url for name in names if known[name].url)  # type: ignore[misc]

    async def resolve(self, *, force: bool, articles_before: int) -> Tally:
        """Bring `articles` in line with `files` for every URL this load touched."""
        tally = Tally(added=len(self.streamed))
        if not self.dirty_urls:
            return tally
        urls = json.dumps(sorted(self.dirty_urls))
        candidates: dict[str, list[tuple[str, int, str, str]]] = {}
        for url, name, published_at, fingerprint, id_hint in await fetch_all(
            self.conn,
            "SELECT url, name, published_at, fingerprint, id_hint FROM files "
            "WHERE url IN (SELECT value FROM json_each(?)) AND article IS NOT NULL",
            (urls,),
        ):
            candidates.setdefault(url, []).append((name, published_at, fingerprint, id_hint))
        current = {
            row[0]: row[1:]
            for row in await fetch_all(
                self.conn,
                "SELECT url, rowid, fingerprint, source_file FROM articles "
                "WHERE url IN (SELECT value FROM json_each(?))",
                (urls,),
            )
        }

        removed: list[int] = []
        added: list[tuple[str, str, str]] = []  # (first file name, url, winner name)
        id_hints: dict[str, str] = {}
        updated: list[tuple[int, str]] = []  # (rowid, winner name)
        moved: list[tuple[str, int]] = []  # same content, now served from another file
        for url in sorted(self.dirty_urls):
            files = candidates.get(url)
            present = current.get(url)
            if not files:
                if present is not None:
                    removed.append(present[0])
                continue
            winner = min(files, key=lambda file: winner_key(file[0], file[1]))
            if present is None:
                first = min(files, key=lambda file: file[0])
                added.append((first[0], url, winner[0]))
                id_hints[url] = first[3]
            elif present[1] != winner[2]:
                updated.append((present[0], winner[0]))
            elif present[2] != winner[0]:
                moved.append((winner[0], present[0]))

        if removed and not force and len(removed) * 2 > articles_before:
            raise LoadRefused(
                f"this load would remove {len(removed)} of the {articles_before} articles in service (more "
                "than half); refusing in case the corpus folder is incomplete (a failed mount?); use "
                "--force to apply it anyway"
            )
        for batch in batches(removed, APPLY_BATCH):
            await self.conn.execute(
                "DELETE FROM articles WHERE rowid IN (SELECT value FROM json_each(?))", (json.dumps(batch),)
            )
        if moved:
            await self.conn.executemany("UPDATE articles SET source_file = ? WHERE rowid = ?", moved)
        self.providers = {
            (name, domain): provider_id
            for provider_id, name, domain in await fetch_all(
                self.conn, "SELECT id, name, domain FROM providers"
            )
        }
        await self._write_updated(updated)
        await self._write_added(added, id_hints)
        streamed_rowids = {current[url][0] for url in self.streamed & current.keys()}
        tally.added += len(added)
        tally.updated = sum(1 for rowid, _ in updated if rowid not in streamed_rowids)
        tally.removed = len(removed)
        return tally

    async def _assign_ids(
        self, added: list[tuple[str, str, str]], id_hints: dict[str, str]
    ) -> dict[str, str]:
        """Ids for new URLs, in the order of each URL's first file name: its hint, else from the URL."""
        taken = {row[0] for row in await fetch_all(self.conn, "SELECT id FROM articles")}
        assigned: dict[str, str] = {}
        for _, url, _ in sorted(added):
            candidate = _free_id(id_hints[url], url, taken)
            taken.add(candidate)
            assigned[url] = candidate
        return assigned

    async def _contents(self, names: list[str]) -> dict[str, tuple[ArticleRow, str]]:
        """The rows and fingerprint of each named file's stored article."""
        rows = await fetch_all(
            self.conn,
            "SELECT name, article, fingerprint FROM files WHERE name IN (SELECT value FROM json_each(?))",
            (json.dumps(names),),
        )
        return {name: (article_row(json.loads(article)), fingerprint) for name, article, fingerprint in rows}

    async def _provider_id(self, key: tuple[str, str]) -> int:
        async with self.conn.execute(
            "INSERT INTO providers (name, domain) VALUES (?, ?) RETURNING id", key
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        provider_id = self.providers[key] = int(row[0])
        return provider_id

    async def _columns(self, row: ArticleRow) -> tuple[Any, ...]:
        """The `articles` columns from title to secured, in `_INSERT_ARTICLE` order (the provider's id in
        place of its key, the provider added on first sight)."""
        columns = row.columns
        key = columns[PROVIDER_COLUMN]
        if key is None:
            return columns
        provider_id = self.providers.get(key)
        if provider_id is None:
            provider_id = await self._provider_id(key)
        return (*columns[:PROVIDER_COLUMN], provider_id, *columns[PROVIDER_COLUMN + 1 :])

    @staticmethod
    def _children(rowid: int, row: ArticleRow) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        return [(rowid, *item) for item in row.related], [(rowid, *topic) for topic in row.topics]

    async def _write_children(self, related: list[tuple[Any, ...]], topics: list[tuple[Any, ...]]) -> None:
        if related:
            await self.conn.executemany(_INSERT_RELATED, related)
        if topics:
            await self.conn.executemany(_INSERT_TOPIC, topics)

    async def _write_updated(self, updated: list[tuple[int, str]]) -> None:
        for batch in batches(updated, APPLY_BATCH):
            contents = await self._contents([name for _, name in batch])
            rows: list[tuple[Any, ...]] = []
            related: list[tuple[Any, ...]] = []
            topics: list[tuple[Any, ...]] = []
            for rowid, name in batch:
                row, fingerprint = contents[name]
                rows.append((*await self._columns(row), name, fingerprint, self.seq, rowid))
                more_related, more_topics = self._children(rowid, row)
                related += more_related
                topics += more_topics
            ids = json.dumps([rowid for rowid, _ in batch])
            await self.conn.execute(
                "DELETE FROM related WHERE article IN (SELECT value FROM json_each(?))", (ids,)
            )
            await self.conn.execute(
                "DELETE FROM article_topics WHERE article IN (SELECT value FROM json_each(?))", (ids,)
            )
            await self.conn.executemany(_UPDATE_ARTICLE, rows)
            await self._write_children(related, topics)

    async def _write_added(self, added: list[tuple[str, str, str]], id_hints: dict[str, str]) -> None:
        if not added:
            return
        ids = await self._assign_ids(added, id_hints)
        rows_before = await fetch_all(self.conn, "SELECT coalesce(max(rowid), 0) FROM articles")
        first_rowid = next_rowid = int(rows_before[0][0]) + 1
        trigger_sql = await self._defer_fts_index()
        for batch in batches(sorted(added), APPLY_BATCH):
            contents = await self._contents([winner for _, _, winner in batch])
            rows: list[tuple[Any, ...]] = []
            related: list[tuple[Any, ...]] = []
            topics: list[tuple[Any, ...]] = []
            for _, url, winner in batch:
                row, fingerprint = contents[winner]
                rowid = next_rowid
                next_rowid += 1
                rows.append(
                    (rowid, ids[url], url, *await self._columns(row), winner, fingerprint,
                     self.seq, self.seq)
                )
                more_related, more_topics = self._children(rowid, row)
                related += more_related
                topics += more_topics
            await self.conn.executemany(_INSERT_ARTICLE, rows)
            await self._write_children(related, topics)
        await self._index_since(first_rowid, trigger_sql)
