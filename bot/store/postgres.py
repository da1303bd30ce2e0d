"""Shared state in PostgreSQL (asyncpg): what lets several bot processes of one cluster work as one bot.

The store's shared-state SQL is written once with `?` placeholders; `translate` numbers them (`$1`, `$2`…)
for PostgreSQL. Writes run in a transaction on a pooled connection; reads in a read-only REPEATABLE READ
transaction, a consistent snapshot like SQLite's read transactions. Migrations come from
`migrations_pg/` (their own numbering), each in a transaction under an advisory lock, so processes
starting together migrate once; a schema newer than this digestbot is refused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import asyncpg

from bot.config import redact_url
from bot.store.db import MigrationFailed, SchemaTooNew, StateUnavailable, migrations
from bot.store.engine import Row, StateConnection

log = logging.getLogger(__name__)

#: Connections per process: deliveries, the scheduler's sweep and interactions overlap.
POOL_SIZE = 8
#: How long a step waits for a free pooled connection before it fails (instead of hanging).
ACQUIRE_TIMEOUT_SECONDS = 30.0
#: Any constant shared by every digestbot: the advisory lock migrations run under.
_MIGRATION_LOCK = 0x6469_6765_7374
_STATEMENT_TIMEOUT_MS = 30_000


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """`?` placeholders → `$1`, `$2`… (a `?` inside a quoted literal or identifier stays as it is)."""
    out: list[str] = []
    number = 0
    quote: str | None = None
    for char in sql:
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "?":
            number += 1
            out.append(f"${number}")
            continue
        out.append(char)
    return "".join(out)


def _count(status: str) -> int:
    """Rows affected, from a command status such as 'INSERT 0 3', 'UPDATE 2' or 'DELETE 0'."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresConnection:
    """`StateConnection` over an asyncpg connection."""

    row_lock = " FOR UPDATE"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return _count(await self._conn.execute(translate(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(translate(sql), list(rows))

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [tuple(row) for row in await self._conn.fetch(translate(sql), *params)]

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = await self._conn.fetchrow(translate(sql), *params)
        return None if row is None else tuple(row)


async def _migrate(conn: asyncpg.Connection, where: str) -> int:
    """Apply every `migrations_pg/` script newer than the recorded version, each in its own transaction."""
    known = migrations("migrations_pg")
    newest = known[-1].version if known else 0
    for migration in [None, *known]:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))
            if current > newest:
                raise SchemaTooNew(
                    f"database {where} has schema version {current} but this digestbot only knows up to "
                    f"{newest}; upgrade digestbot or use another database"
                )
            if migration is None or migration.version <= current:
                continue
            try:
                await conn.execute(migration.sql)
            except asyncpg.PostgresError as error:
                raise MigrationFailed(
                    f"database {where}: migration {migration.name} failed: {error}"
                ) from error
            await conn.execute("DELETE FROM schema_version")
            await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", migration.version)
        log.info("database %s: applied migration %s", where, migration.name)
    return newest


async def stored_schema_version(url: str) -> int | None:
    """The schema version a PostgreSQL database holds (None before the first migration), read without
    changing anything; StateUnavailable when it cannot be reached."""
    try:
        conn = await asyncpg.connect(url, timeout=10)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError, TimeoutError) as error:
        raise StateUnavailable(f"cannot connect to PostgreSQL at {redact_url(url)}: {error}") from None
    try:
        if await conn.fetchval("SELECT to_regclass('schema_version')") is None:
            return None
        return int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))
    finally:
        await conn.close()


class PostgresState:
    """The shared state in PostgreSQL. Open with `await PostgresState.open(url)`; close with `close()`."""

    engine = "postgresql"
    beside_corpus = False

    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        self.where = redact_url(url)
        self._pool = pool
        self._write_turn = asyncio.Lock()
        self._current: ContextVar[tuple[asyncio.Task[Any] | None, PostgresConnection] | None] = ContextVar(
            f"digestbot-state-{id(self)}", default=None
        )

    @classmethod
    async def open(cls, url: str, *, pool_size: int = POOL_SIZE) -> PostgresState:
        """Connect, then bring the schema up to date (or refuse a newer one)."""
        where = redact_url(url)
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=pool_size,
                server_settings={"statement_timeout": str(_STATEMENT_TIMEOUT_MS)},
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError, TimeoutError) as error:
            raise StateUnavailable(f"cannot connect to PostgreSQL at {where}: {error}") from None
        try:
            async with pool.acquire() as conn:
                await _migrate(conn, where)
        except BaseException:
            await pool.close()
            raise
        return cls(url, pool)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[StateConnection]:
        """A transaction on a pooled connection. This process's writes take turns, in the order they asked,
        as they do on SQLite (claims keep the order the scheduler requested them in; other processes are
        kept apart by PostgreSQL's row locks and unique rows). Inside it, the same task's further reads and
        writes join it: one task never holds two pooled connections, so concurrent deliveries cannot exhaust
        the pool waiting on each other."""
        joined = self._joinable()
        if joined is not None:
            yield joined
            return
        async with self._write_turn, self._pool.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS) as conn, \
                conn.transaction():
            connection = PostgresConnection(conn)
            token = self._current.set((asyncio.current_task(), connection))
            try:
                yield connection
            finally:
                self._current.reset(token)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[StateConnection]:
        joined = self._joinable()
        if joined is not None:
            yield joined
            return
        async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS) as conn, conn.transaction(
            isolation="repeatable_read", readonly=True
        ):
            yield PostgresConnection(conn)

    def _joinable(self) -> PostgresConnection | None:
        """The write transaction this very task has open, if any (a task started inside one gets its own)."""
        current = self._current.get()
        if current is None or current[0] is not asyncio.current_task():
            return None
        return current[1]

    async def close(self) -> None:
        await self._pool.close()
