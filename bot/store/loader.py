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
from collections.abc import AsyncIterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import aiosqlite

from bot.corpus.model import Duplicate, LoadReport, Rejection
from bot.store.cluster_loads import adopt_first_seen, seq_for_load
from bot.store.db import Database, fetch_all
from bot.store.load_apply import CorpusWriter, KnownFile, LoadRefused, batches, winner_key
from bot.store.load_worker import FileTask, ParsedFile, read_files

log = logging.getLogger(__name__)

CORPUS_SUFFIXES = (".txt", ".md")
#: Below this many files to read, worker processes cost more to start than they save: starting the pool
#: takes about 0.7 s, what two workers save on 2,000 files (about 0.7 ms of parsing each, halved); a 1%
#: reload of 20,000 files took 1.38 s with workers and 1.04 s without (bench/ingest.py step d).
PARALLEL_MIN_FILES = 2_000
#: Files per worker task: large enough to amortise inter-process overhead, small enough to stream.
CHUNK_FILES = 512
#: Chunks in flight per worker: keeps the workers busy while bounding memory.
CHUNKS_PER_WORKER = 3
#: Page cache of the write connection during a load: with SQLite's 2 MiB default, a cold load spills dirty
#: pages to the WAL over and over (twice the system time); this bounds that at a modest memory cost.
LOAD_CACHE_KIB = 16 * 1024


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


# --- orchestration ------------------------------------------------------------------------------------


def _pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes from a fork server: forking this process is unsafe once aiosqlite's threads exist,
    while a fork server is a fresh single-threaded process (it preloads the parser, so workers start warm,
    and `worker_signals`, so they leave SIGINT and SIGTERM to this process). Like `spawn`, it re-imports the
    main module in each worker, which `bot/__main__.py` guards against."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["bot.store.worker_signals", "bot.store.load_worker"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


@asynccontextmanager
async def _page_cache(conn: aiosqlite.Connection, kib: int) -> AsyncIterator[None]:
    """Run with a page cache of `kib` KiB on `conn`, then restore the connection's previous setting."""
    previous = (await fetch_all(conn, "PRAGMA cache_size"))[0][0]
    await conn.execute(f"PRAGMA cache_size = {-kib}")
    try:
        yield
    finally:
        await conn.execute(f"PRAGMA cache_size = {int(previous)}")


async def _read_all(
    tasks: list[FileTask], *, max_bytes: int, workers: int, on_chunk: Any
) -> None:
    """Read `tasks` chunk by chunk, handing each chunk's results to `on_chunk` in submission order."""
    chunks = list(batches(tasks, CHUNK_FILES))
    if workers <= 0 or len(chunks) < 2:
        for chunk in chunks:
            await on_chunk(await asyncio.to_thread(read_files, chunk, max_bytes))
        return
    loop = asyncio.get_running_loop()
    pool: Executor = _pool(workers)
    pending: deque[asyncio.Future[list[ParsedFile]]] = deque()
    try:
        # The pool takes a few tenths of a second to start (a fork server, its imports, the workers): this
        # process reads the first chunk meanwhile, on a core that would otherwise wait for it.
        pending.append(asyncio.ensure_future(asyncio.to_thread(read_files, chunks[0], max_bytes)))
        for chunk in chunks[1:]:
            pending.append(loop.run_in_executor(pool, read_files, chunk, max_bytes))
            if len(pending) > workers * CHUNKS_PER_WORKER:
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
            row[0]: KnownFile(row[1], row[2], row[3], row[4])
            for row in await fetch_all(conn, "SELECT name, size, mtime_ns, hash, url FROM files")
        }
        articles_before = (await fetch_all(conn, "SELECT count(*) FROM articles"))[0][0]
        async with conn.execute(
            "INSERT INTO loads (seq, started_at, corpus_path) VALUES (?, ?, ?) RETURNING seq",
            (cluster_seq, now.astimezone(UTC).isoformat(), str(folder)),
        ) as cursor:
            seq_row = await cursor.fetchone()
        assert seq_row is not None
        seq = int(seq_row[0])
        apply = CorpusWriter(conn, seq)

        present = {item.name for item in on_disk}
        tasks = []
        for item in on_disk:
            before = known.get(item.name)
            if before is None or (before.size, before.mtime_ns) != (item.size, item.mtime_ns):
                tasks.append(FileTask(item.name, item.path, before.hash if before else None))
        tasks.sort()
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
            for name, reason, kept in await fetch_all(
                conn,
                "SELECT name, reason, article IS NOT NULL FROM files WHERE status = 'rejected' ORDER BY name",
            )
        )
        duplicates = await _duplicates(conn)
        articles = (await fetch_all(conn, "SELECT count(*) FROM articles"))[0][0]
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
    rows = await fetch_all(
        conn,
        "SELECT url, name, published_at, status FROM files WHERE url IN "
        "(SELECT url FROM files WHERE url IS NOT NULL GROUP BY url HAVING count(*) > 1) ORDER BY name",
    )
    by_url: dict[str, list[tuple[str, int, str]]] = {}
    for url, name, published_at, status in rows:
        by_url.setdefault(url, []).append((name, published_at, status))
    found: list[Duplicate] = []
    for files in by_url.values():
        winner = min(files, key=lambda file: winner_key(file[0], file[1]))[0]
        found.extend(Duplicate(file=name, duplicate_of=winner) for name, _, status in files
                     if name != winner and status == "ok")
    return tuple(sorted(found, key=lambda duplicate: duplicate.file))
