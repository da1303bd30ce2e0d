"""The incremental, atomic corpus load: scan the folder, parse what changed (in worker processes when there
is much to parse), and apply everything in one write transaction.

How a load goes:

1. **Scan** `*.txt`/`*.md` directly in the folder (no dotfiles; symlinks leaving the folder ignored) and
   compare each file's (size, mtime_ns) with the `files` table. Unchanged stat → not even read.
2. **Read and parse** the rest, streamed in chunks with bounded in-flight work: a file whose content hash
   is unchanged only gets its stat refreshed; others are parsed to an article (as JSON) or a rejection.
   Each chunk is written to `files` as it arrives, so memory never holds the corpus.
3. **Resolve** the canonical URLs the changed files touched: the winner of each URL is the file with the
   later `published_at` (the name sorting first breaks ties); compared with `articles` by content
   fingerprint this gives added / updated / removed. Only those are decoded and written, in batches.
   New articles are indexed for search in one pass in index order at the end (not row by row).
4. **Cold load** (empty store): each URL's article is written as soon as its first file arrives, while the
   workers parse on; only URLs that a later file shares go through the resolve step.

Everything happens inside one `BEGIN IMMEDIATE` transaction under `db.write_lock`, so a failure anywhere
leaves the previous corpus in place and readers see the old corpus or the new one. Every applied load
records a row in `loads` (also one that changed nothing: the record says when the corpus was last checked
and what it rejected); articles and files are untouched by a load with nothing to do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import aiosqlite

from bot.corpus.model import Duplicate, LoadReport, Rejection
from bot.corpus.normalize import id_from_url
from bot.store.cluster_loads import adopt_first_seen, seq_for_load
from bot.store.db import Database
from bot.store.load_worker import PROVIDER_COLUMN, ArticleRow, FileTask, ParsedFile, article_row, read_files

log = logging.getLogger(__name__)

CORPUS_SUFFIXES = (".txt", ".md")
#: Below this many files to read, worker processes cost more to start than they save.
PARALLEL_MIN_FILES = 200
#: Files per worker task: large enough to amortise inter-process overhead, small enough to stream.
CHUNK_FILES = 512
#: Chunks in flight per worker: keeps the workers busy while bounding memory.
CHUNKS_PER_WORKER = 3
#: Articles decoded and written per batch in the resolve step.
APPLY_BATCH = 500
#: Page cache of the write connection during a load: with SQLite's 2 MiB default, a cold load spills dirty
#: pages to the WAL over and over (twice the system time); this bounds that at a modest memory cost.
LOAD_CACHE_KIB = 16 * 1024


class LoadRefused(Exception):
    """The load was not applied because it looks like a mistake (the message says why)."""


# --- scanning -----------------------------------------------------------------------------------------


class FileStat(NamedTuple):
    name: str
    path: str
    size: int
    mtime_ns: int


def scan_corpus(folder: Path) -> list[FileStat]:
    """The corpus files directly in `folder`; symlinks are followed only when they stay inside it."""
    root = folder.resolve()
    found: list[FileStat] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith(".") or not name.endswith(CORPUS_SUFFIXES):
                continue
            try:
                if entry.is_symlink():
                    target = Path(entry.path).resolve()
                    if not target.is_relative_to(root) or not target.is_file():
                        log.warning("corpus: ignoring %s: a symlink leaving the corpus folder", name)
                        continue
                elif not entry.is_file():
                    continue
                stat = entry.stat()
            except OSError as error:
                log.warning("corpus: ignoring %s: %s", name, error)
                continue
            found.append(FileStat(name, entry.path, stat.st_size, stat.st_mtime_ns))
    return found


# --- applying -----------------------------------------------------------------------------------------


class _Known(NamedTuple):
    size: int
    mtime_ns: int
    hash: str
    url: str | None
    has_article: bool


@dataclass
class _Tally:
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
INSERT INTO articles_fts (rowid, title, excerpt, related_titles)
SELECT fts_key, title, excerpt, related_titles FROM articles WHERE rowid >= ? ORDER BY fts_key
"""
_INSERT_TOPIC = "INSERT INTO article_topics (article, position, topic) VALUES (?, ?, ?)"


def _winner_key(name: str, published_at: int) -> tuple[int, str]:
    """Which file serves a URL: the later publication first, then the name sorting first."""
    return (-published_at, name)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _fetchall(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[Any]:
    async with conn.execute(sql, tuple(params)) as cursor:
        return list(await cursor.fetchall())


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


class _Apply:
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
        rows = await _fetchall(
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

    async def record(self, parsed: list[ParsedFile], known: dict[str, _Known]) -> None:
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

    async def forget(self, names: list[str], known: dict[str, _Known]) -> None:
        """Files gone from the folder."""
        for batch in _chunks(names, APPLY_BATCH):
            await self.conn.execute(
                "DELETE FROM files WHERE name IN (SELECT value FROM json_each(?))", (json.dumps(batch),)
            )
        self.dirty_urls.update(known[name].url for name in names if known[name].url)  # type: ignore[misc]

    async def resolve(self, *, force: bool, articles_before: int) -> _Tally:
        """Bring `articles` in line with `files` for every URL this load touched."""
        tally = _Tally(added=len(self.streamed))
        if not self.dirty_urls:
            return tally
        urls = json.dumps(sorted(self.dirty_urls))
        candidates: dict[str, list[tuple[str, int, str, str]]] = {}
        for url, name, published_at, fingerprint, id_hint in await _fetchall(
            self.conn,
            "SELECT url, name, published_at, fingerprint, id_hint FROM files "
            "WHERE url IN (SELECT value FROM json_each(?)) AND article IS NOT NULL",
            (urls,),
        ):
            candidates.setdefault(url, []).append((name, published_at, fingerprint, id_hint))
        current = {
            row[0]: row[1:]
            for row in await _fetchall(
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
            winner = min(files, key=lambda file: _winner_key(file[0], file[1]))
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
        for batch in _chunks(removed, APPLY_BATCH):
            await self.conn.execute(
                "DELETE FROM articles WHERE rowid IN (SELECT value FROM json_each(?))", (json.dumps(batch),)
            )
        if moved:
            await self.conn.executemany("UPDATE articles SET source_file = ? WHERE rowid = ?", moved)
        self.providers = {
            (name, domain): provider_id
            for provider_id, name, domain in await _fetchall(
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
        taken = {row[0] for row in await _fetchall(self.conn, "SELECT id FROM articles")}
        assigned: dict[str, str] = {}
        for _, url, _ in sorted(added):
            candidate = _free_id(id_hints[url], url, taken)
            taken.add(candidate)
            assigned[url] = candidate
        return assigned

    async def _contents(self, names: list[str]) -> dict[str, tuple[ArticleRow, str]]:
        """The rows and fingerprint of each named file's stored article."""
        rows = await _fetchall(
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
        for batch in _chunks(updated, APPLY_BATCH):
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
        rows_before = await _fetchall(self.conn, "SELECT coalesce(max(rowid), 0) FROM articles")
        first_rowid = next_rowid = int(rows_before[0][0]) + 1
        trigger_sql = await self._defer_fts_index()
        for batch in _chunks(sorted(added), APPLY_BATCH):
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


# --- orchestration ------------------------------------------------------------------------------------


def _pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes from a fork server: forking this process is unsafe once aiosqlite's threads exist,
    while a fork server is a fresh single-threaded process (it preloads the parser, so workers start warm,
    and `worker_signals`, so they leave SIGINT and SIGTERM to this process). Like `spawn`, it re-imports the
    main module in each worker, which `bot/__main__.py` guards against."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["bot.store.worker_signals", "bot.store.loader"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


@asynccontextmanager
async def _page_cache(conn: aiosqlite.Connection, kib: int) -> AsyncIterator[None]:
    """Run with a page cache of `kib` KiB on `conn`, then restore the connection's previous setting."""
    previous = (await _fetchall(conn, "PRAGMA cache_size"))[0][0]
    await conn.execute(f"PRAGMA cache_size = {-kib}")
    try:
        yield
    finally:
        await conn.execute(f"PRAGMA cache_size = {int(previous)}")


async def _read_all(
    tasks: list[FileTask], *, max_bytes: int, workers: int, on_chunk: Any
) -> None:
    """Read `tasks` chunk by chunk, handing each chunk's results to `on_chunk` in submission order."""
    chunks = list(_chunks(tasks, CHUNK_FILES))
    if workers <= 0:
        for chunk in chunks:
            await on_chunk(await asyncio.to_thread(read_files, chunk, max_bytes))
        return
    loop = asyncio.get_running_loop()
    pool: Executor = _pool(workers)
    pending: deque[asyncio.Future[list[ParsedFile]]] = deque()
    try:
        queue = iter(chunks)
        for chunk in queue:
            pending.append(loop.run_in_executor(pool, read_files, chunk, max_bytes))
            if len(pending) >= workers * CHUNKS_PER_WORKER:
                await on_chunk(await pending.popleft())
        while pending:
            await on_chunk(await pending.popleft())
    finally:
        for future in pending:
            future.cancel()
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


def _choose_workers(workers: int | None, to_read: int) -> int:
    if workers is not None:
        return workers
    cores = os.cpu_count() or 1
    return cores if cores > 1 and to_read >= PARALLEL_MIN_FILES else 0


async def load_corpus(
    db: Database,
    corpus_dir: Path | str,
    *,
    force: bool = False,
    max_file_bytes: int = 1 << 20,
    workers: int | None = None,
    now: datetime,
    follow: int | None = None,
) -> LoadReport:
    """Load the corpus folder into the store; see the module docstring for how.

    `workers`: None picks automatically (all cores when there are many files to parse); 0 parses in this
    process (on a thread); n ≥ 1 uses n worker processes. Raises LoadRefused when nothing was applied.
    In a cluster (shared state in PostgreSQL) the load takes its number from the cluster's sequence:
    `follow`, a load another process announced, or else a new one announced to the others.
    """
    folder = Path(corpus_dir)
    clock_start = time.monotonic()
    if not folder.is_dir():
        raise LoadRefused(f"corpus folder {folder} does not exist or is not a folder")
    on_disk = await asyncio.to_thread(scan_corpus, folder)
    if not on_disk and not force:
        raise LoadRefused(
            f"corpus folder {folder} has no *.txt or *.md article files; refusing to empty the store (a "
            "failed mount?); use --force to load it anyway"
        )
    cluster_seq = await seq_for_load(db, follow=follow, now=now)

    async with db.write() as conn, _page_cache(conn, LOAD_CACHE_KIB):
        known = {
            row[0]: _Known(row[1], row[2], row[3], row[4], bool(row[5]))
            for row in await _fetchall(
                conn, "SELECT name, size, mtime_ns, hash, url, article IS NOT NULL FROM files"
            )
        }
        articles_before = (await _fetchall(conn, "SELECT count(*) FROM articles"))[0][0]
        async with conn.execute(
            "INSERT INTO loads (seq, started_at, corpus_path) VALUES (?, ?, ?) RETURNING seq",
            (cluster_seq, now.astimezone(UTC).isoformat(), str(folder)),
        ) as cursor:
            seq_row = await cursor.fetchone()
        assert seq_row is not None
        seq = int(seq_row[0])
        apply = _Apply(conn, seq)

        present = {item.name for item in on_disk}
        tasks = []
        for item in sorted(on_disk):
            before = known.get(item.name)
            if before is None or (before.size, before.mtime_ns) != (item.size, item.mtime_ns):
                tasks.append(FileTask(item.name, item.path, before.hash if before else None))
        chosen = _choose_workers(workers, len(tasks))
        log.info(
            "corpus load #%d from %s: %d files, %d to read, %s",
            seq, folder, len(on_disk), len(tasks), f"{chosen} worker processes" if chosen else "in process",
        )
        if not known and articles_before == 0:
            await apply.start_streaming()
        await _read_all(
            tasks, max_bytes=max_file_bytes, workers=chosen,
            on_chunk=lambda parsed: apply.record(parsed, known),
        )
        await apply.finish_streaming()
        await apply.forget(sorted(set(known) - present), known)
        tally = await apply.resolve(force=force, articles_before=articles_before)
        await conn.execute(
            "DELETE FROM providers WHERE id NOT IN "
            "(SELECT provider_id FROM articles WHERE provider_id IS NOT NULL)"
        )

        rejected = tuple(
            Rejection(file=name, reason=reason, kept_previous=bool(kept))
            for name, reason, kept in await _fetchall(
                conn,
                "SELECT name, reason, article IS NOT NULL FROM files WHERE status = 'rejected' ORDER BY name",
            )
        )
        duplicates = await _duplicates(conn)
        articles = (await _fetchall(conn, "SELECT count(*) FROM articles"))[0][0]
        finished_at = now + timedelta(seconds=time.monotonic() - clock_start)
        report = LoadReport(
            load=seq,
            added=tally.added,
            updated=tally.updated,
            unchanged=articles - tally.added - tally.updated,
            removed=tally.removed,
            articles=articles,
            rejected=rejected,
            duplicates=duplicates,
            started_at=now,
            finished_at=finished_at,
            warnings=tuple(apply.warnings),
        )
        await conn.execute(
            "UPDATE loads SET finished_at = ?, added = ?, updated = ?, unchanged = ?, removed = ?, "
            "articles = ?, rejected = ?, duplicates = ? WHERE seq = ?",
            (
                finished_at.astimezone(UTC).isoformat(),
                report.added, report.updated, report.unchanged, report.removed, report.articles,
                json.dumps([
                    {"file": r.file, "reason": r.reason, "kept_previous": r.kept_previous} for r in rejected
                ]),
                json.dumps([{"file": d.file, "duplicate_of": d.duplicate_of} for d in duplicates]),
                seq,
            ),
        )
    if cluster_seq is not None:
        await adopt_first_seen(db, seq)
    log.info(
        "corpus load #%d: %d articles (%d added, %d updated, %d removed), %d rejected, %d duplicates",
        seq, articles, tally.added, tally.updated, tally.removed, len(rejected), len(duplicates),
    )
    return report


async def _duplicates(conn: aiosqlite.Connection) -> tuple[Duplicate, ...]:
    """Every good file whose URL is served from another file, with the file it lost to."""
    rows = await _fetchall(
        conn,
        "SELECT url, name, published_at, status FROM files WHERE url IN "
        "(SELECT url FROM files WHERE url IS NOT NULL GROUP BY url HAVING count(*) > 1) ORDER BY name",
    )
    by_url: dict[str, list[tuple[str, int, str]]] = {}
    for url, name, published_at, status in rows:
        by_url.setdefault(url, []).append((name, published_at, status))
    found: list[Duplicate] = []
    for files in by_url.values():
        winner = min(files, key=lambda file: _winner_key(file[0], file[1]))[0]
        found.extend(Duplicate(file=name, duplicate_of=winner) for name, _, status in files
                     if name != winner and status == "ok")
    return tuple(sorted(found, key=lambda duplicate: duplicate.file))
