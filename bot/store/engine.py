"""The seam between the shared-state tables and the database engine that holds them.

Digests, runs, run messages, delivered URLs, per-server settings, the audit log and the cluster's corpus
loads are shared state: with one process they live in the corpus's SQLite file, with a cluster in
PostgreSQL. The store code for them speaks portable SQL (`?` placeholders, `ON CONFLICT`, `RETURNING`, no
engine functions) to a `StateConnection`, so one query serves both engines. `SqliteState` runs it on the
corpus database's write connection under its write lock; `bot.store.postgres.PostgresState` on a
connection pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

import aiosqlite

if TYPE_CHECKING:
    from bot.store.db import Database

Row = tuple[Any, ...]


class StateConnection(Protocol):
    """One connection inside one transaction (a write, or a consistent read snapshot)."""

    #: Appended to a `SELECT` that reads a row about to be changed: it locks the row where the engine lets
    #: several writers run at once (PostgreSQL); SQLite writers already run one at a time.
    row_lock: str

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; how many rows it inserted, changed or deleted."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...


class StateStore(Protocol):
    """Where the shared state lives."""

    #: 'sqlite' or 'postgresql'.
    engine: str
    #: True when the state tables sit in the corpus database itself, so a corpus query may join them.
    beside_corpus: bool

    def write(self) -> AbstractAsyncContextManager[StateConnection]: ...

    def read(self) -> AbstractAsyncContextManager[StateConnection]: ...

    async def close(self) -> None: ...


class SqliteConnection:
    """`StateConnection` over an aiosqlite connection."""

    row_lock = ""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        try:
            return cursor.rowcount
        finally:
            await cursor.close()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._conn.execute(sql, params) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._conn.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return None if row is None else tuple(row)


class SqliteState:
    """The shared state in the corpus's own SQLite file: the single-process default."""

    engine = "sqlite"
    beside_corpus = True

    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def write(self) -> AsyncIterator[StateConnection]:
        async with self._db.write() as conn:
            yield SqliteConnection(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[StateConnection]:
        async with self._db.read() as conn:
            yield SqliteConnection(conn)

    async def close(self) -> None:
        """Nothing of its own to close: the database owns the connections."""
