"""The index's words as of the last load that changed the corpus, so a prefix can become the words it covers.

FTS5 answers `elect*` (without a prefix index of that length) by merging the doclists of every word that
starts with `elect` into one list before it returns a single row, so even a search that needs the 25
best matches reads every match of every such word: a cost that grows with the corpus. The same words
written out, `(elected OR election OR electoral)`, are walked lazily, best quality first, and the walk
stops when it has enough. Finding those words needs the index's vocabulary, which FTS5 only lists by
reading every doclist (`fts5vocab`), about 5 µs per article: too slow per search, fine once per load. A
long-running process therefore keeps the vocabulary of the corpus load its readers see, rebuilt in a
thread after a load changed it; until then prefixes are searched as FTS5 prefixes, which find the same
articles.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from bisect import bisect_left
from pathlib import Path
from urllib.parse import quote

import aiosqlite

log = logging.getLogger(__name__)

#: A prefix covering more words than this stays an FTS5 prefix: the walk would advance too many lists.
MAX_EXPANSION = 64
#: Prefixes this short are served by the index's own prefix index (`prefix = '2 3'`), walked lazily.
INDEXED_PREFIX_CHARS = 3

#: The newest load that changed articles: the vocabulary of a snapshot is the vocabulary as of that load.
_NEWEST_LOAD = "SELECT max(seq) FROM loads"
_CHANGING_LOAD = "SELECT seq FROM loads WHERE added + updated + removed > 0 ORDER BY seq DESC LIMIT 1"


def _read_words(path: Path) -> tuple[int | None, list[str]]:
    """The changing load and the index's words, from one snapshot (runs in a thread)."""
    conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.index_words USING fts5vocab(main, articles_fts, 'row')")
        conn.execute("BEGIN")
        row = conn.execute(_CHANGING_LOAD).fetchone()
        words = [word for (word,) in conn.execute("SELECT term FROM temp.index_words")]
        conn.execute("COMMIT")
    finally:
        conn.close()
    return (None if row is None else int(row[0])), words


class Vocabulary:
    """The sorted words of the index as of one load; `expansion` turns a prefix into them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.load: int | None = None
        self._built = False
        #: The newest load (`loads.seq`) this vocabulary was found current for.
        self._confirmed: int | None = None
        self._words: list[str] = []
        self._building: asyncio.Task[None] | None = None

    def rebuild(self) -> None:
        """Start reading the vocabulary in a thread, unless that is under way."""
        if self._building is None or self._building.done():
            self._building = asyncio.create_task(self._build(), name="index vocabulary")

    async def ready(self) -> None:
        """Wait for the reading under way, if any."""
        if self._building is not None:
            await asyncio.shield(self._building)

    async def current(self, conn: aiosqlite.Connection) -> Vocabulary | None:
        """This vocabulary if it is the one of the snapshot `conn` reads, else None (and a rebuild starts).

        Each search asks, so the answer for the newest load is remembered: looking back for the last load
        that changed articles passes every load that changed nothing, and those only accumulate."""
        newest = (await conn.execute_fetchall(_NEWEST_LOAD))[0][0]
        if self._built and newest == self._confirmed:
            return self
        rows = list(await conn.execute_fetchall(_CHANGING_LOAD))
        load = int(rows[0][0]) if rows else None
        if self._built and load == self.load:
            self._confirmed = newest
            return self
        self.rebuild()
        return None

    async def _build(self) -> None:
        try:
            load, words = await asyncio.to_thread(_read_words, self.path)
        except sqlite3.Error as error:
            log.warning("database %s: the index's vocabulary could not be read (%s); prefixes stay FTS5 "
                        "prefixes", self.path, error)
            return
        self.load, self._words, self._built = load, words, True
        log.info("database %s: index vocabulary of %d words as of load %s", self.path, len(words), load)

    def expansion(self, prefix: str) -> list[str] | None:
        """Every word starting with `prefix` (folded as the index folds it), or None when the prefix is
        better left to FTS5: short enough for its prefix index, or covering more than `MAX_EXPANSION`."""
        if len(prefix) <= INDEXED_PREFIX_CHARS:
            return None
        first = bisect_left(self._words, prefix)
        end = bisect_left(self._words, prefix + "\U0010ffff", first)
        return self._words[first:end] if end - first <= MAX_EXPANSION else None

    async def close(self) -> None:
        """Wait for a rebuild under way (its thread holds a connection)."""
        if self._building is not None:
            await asyncio.gather(self._building, return_exceptions=True)
