"""One corpus load sequence for a cluster of bot processes.

Every process keeps the corpus in its own SQLite file, built from the corpus folder. With the shared state
in PostgreSQL, their loads are numbered from one sequence there (`corpus_loads`): a reload in one process
announces the next number, the others see it and reload under that same number. So a digest's watermark
(the load at its creation) means the same in every process. `article_first_seen` keeps the load in which
the cluster first saw each article, so a process that builds its corpus later still tells a digest's new
articles from its backlog exactly as the others do. With the state beside the corpus (one process) none of
this applies: the SQLite file numbers its own loads.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.store.articles import current_load_seq
from bot.store.db import Database
from bot.store.rows import chunked, utc_text

log = logging.getLogger(__name__)


async def cluster_load_seq(db: Database) -> int | None:
    """The newest load announced to the cluster (0 before the first); None with a single process."""
    if db.state.beside_corpus:
        return None
    async with db.state.read() as conn:
        row = await conn.fetchone("SELECT coalesce(max(seq), 0) FROM corpus_loads")
    return 0 if row is None else int(row[0])


async def seq_for_load(db: Database, *, follow: int | None, now: datetime) -> int | None:
    """The number the next local load takes: None with a single process (the SQLite file numbers it); in a
    cluster `follow` when it is newer than this process's latest load, else a new number announced to the
    cluster (past both the cluster's and this process's latest, so local numbers only grow)."""
    if db.state.beside_corpus:
        return None
    local = await current_load_seq(db)
    if follow is not None and follow > local:
        return follow
    while True:
        async with db.state.write() as conn:
            row = await conn.fetchone("SELECT coalesce(max(seq), 0) FROM corpus_loads")
            candidate = max(0 if row is None else int(row[0]), local) + 1
            announced = await conn.fetchone(
                "INSERT INTO corpus_loads (seq, announced_at) VALUES (?, ?) ON CONFLICT (seq) DO NOTHING "
                "RETURNING seq",
                (candidate, utc_text(now)),
            )
        if announced is not None:
            log.info("corpus load %d announced to the cluster", candidate)
            return candidate


async def adopt_first_seen(db: Database, seq: int) -> int:
    """After local load `seq`: record the articles it added as first seen in `seq` unless the cluster saw
    them earlier, and give them the cluster's first load. Returns how many took an earlier load."""
    async with db.read() as conn:
        rows = await conn.execute_fetchall("SELECT url FROM articles WHERE first_load = ?", (seq,))
    urls = [row[0] for row in rows]
    adopted: list[tuple[int, str]] = []
    for chunk in chunked(urls):
        async with db.state.write() as conn:
            values = [value for url in chunk for value in (url, seq)]
            rows = ", ".join(["(?, ?)"] * len(chunk))
            await conn.execute(
                f"INSERT INTO article_first_seen (url, load_seq) VALUES {rows} ON CONFLICT (url) DO NOTHING",
                values,
            )
            found = await conn.fetch(
                f"SELECT url, load_seq FROM article_first_seen WHERE load_seq <> ? AND url IN "
                f"({', '.join('?' * len(chunk))})",
                [seq, *chunk],
            )
        adopted.extend((int(load_seq), url) for url, load_seq in found)
    if adopted:
        async with db.write() as conn:
            await conn.executemany("UPDATE articles SET first_load = ? WHERE url = ?", adopted)
        log.info("corpus load %d: %d article(s) keep the load the cluster first saw them in", seq,
                 len(adopted))
    return len(adopted)
