"""The SQLite database: one write connection, read-only reader connections, numbered migrations.

WAL mode lets readers run while a writer works; every reader query runs inside a read transaction, so it
sees the corpus before a load or after it, never a mix. Every writer in the process goes through
`Database.write()`, which takes `write_lock` and opens a `BEGIN IMMEDIATE` transaction: a corpus load
and a digest claim never interleave on the shared write connection.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import aiosqlite

from bot.store.engine import SqliteState, StateStore

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
READERS = 2
_MIGRATION_NAME = re.compile(r"^(\d{4})_[A-Za-z0-9_]+\.sql$")


class SchemaTooNew(Exception):
    """The database was written by a newer digestbot than this one."""


class Fts5Unavailable(Exception):
    """The SQLite library this Python uses was built without FTS5."""


class MigrationFailed(Exception):
    """A migration script failed; it was rolled back and the database keeps its previous schema."""


class StateUnavailable(Exception):
    """The shared-state database (PostgreSQL) could not be reached or refused the connection."""


class DatabaseMissing(Exception):
    """`Database.open(..., create=False)` on a path where no database exists."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(folder_name: str = "migrations") -> list[Migration]:
    """Every numbered `NNNN_name.sql` of a migrations folder (`migrations` for SQLite, `migrations_pg` for
    PostgreSQL), in order; numbering must run 1, 2, 3… without gaps."""
    folder = resources.files("bot.store").joinpath(folder_name)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(
                f"migrations are numbered 0001, 0002, … without gaps or repeats; found {migration.name} "
                f"where {expected:04d}_… was expected"
            )
    return found


async def _configure(conn: aiosqlite.Connection) -> None:
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA foreign_keys = ON")


async def _check_fts5(conn: aiosqlite.Connection) -> None:
    try:
        await conn.execute("CREATE VIRTUAL TABLE temp.fts5_probe USING fts5(probe)")
        await conn.execute("DROP TABLE temp.fts5_probe")
    except sqlite3.OperationalError as error:
        raise Fts5Unavailable(
            f"this SQLite ({sqlite3.sqlite_version}) lacks the FTS5 full-text extension ({error}); "
            "digestbot needs a Python whose SQLite is built with FTS5"
        ) from None


async def _migrate(conn: aiosqlite.Connection, path: Path) -> int:
    """Apply every migration newer than `PRAGMA user_version`, each in its own transaction."""
    known = migrations()
    newest = known[-1].version if known else 0
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    if current > newest:
        raise SchemaTooNew(
            f"database {path} has schema version {current} but this digestbot only knows up to {newest}; "
            "upgrade digestbot or use another database"
        )
    for migration in known:
        if migration.version <= current:
            continue
        script = f"BEGIN IMMEDIATE;\n{migration.sql}\n;PRAGMA user_version = {migration.version};\nCOMMIT;"
        try:
            await conn.executescript(script)
        except sqlite3.Error as error:
            if conn.in_transaction:
                await conn.rollback()
            raise MigrationFailed(f"database {path}: migration {migration.name} failed: {error}") from error
        log.info("database %s: applied migration %s", path, migration.name)
    return newest


class Database:
    """The store's connections. Open with `await Database.open(path)`; always `await db.close()`.

    `state` is where digests, runs, delivered URLs and the audit log live: this SQLite file by default, or
    PostgreSQL when `open` is given a `state_url` (the corpus then stays here, local to the process).
    """

    def __init__(self, path: Path, writer: aiosqlite.Connection, readers: list[aiosqlite.Connection]) -> None:
        self.path = path
        self.state: StateStore = SqliteState(self)
        self.write_lock = asyncio.Lock()
        self._writer = writer
        self._readers = readers
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for reader in readers:
            self._idle.put_nowait(reader)

    @classmethod
    async def open(
        cls, path: Path | str, *, create: bool = True, readers: int = READERS, state_url: str | None = None
    ) -> Database:
        """Open (and with `create`, create) the database, check FTS5 and bring the schema up to date; with
        `state_url` (postgresql://…), connect to the shared state there and bring its schema up to date."""
        path = Path(path)
        if not create and not path.exists():
            raise DatabaseMissing(f"no database at {path} (run `digestbot load` first)")
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await aiosqlite.connect(path, isolation_level=None)
        opened: list[aiosqlite.Connection] = [writer]
        try:
            await _configure(writer)
            await _check_fts5(writer)
            await writer.execute("PRAGMA journal_mode = WAL")
            await writer.execute("PRAGMA synchronous = NORMAL")
            await _migrate(writer, path)
            uri = f"file:{quote(str(path.resolve()))}?mode=ro"
            for _ in range(max(1, readers)):
                reader = await aiosqlite.connect(uri, uri=True, isolation_level=None)
                opened.append(reader)
                await _configure(reader)
                await reader.execute("PRAGMA query_only = ON")
            database = cls(path, writer, opened[1:])
            if state_url is not None:
                from bot.store.postgres import PostgresState

                database.state = await PostgresState.open(state_url)
        except BaseException:
            for conn in opened:
                await conn.close()
            raise
        return database

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """The write connection in a `BEGIN IMMEDIATE` transaction under `write_lock`; rolls back on error."""
        async with self.write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.rollback()
                raise
            await self._writer.commit()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read-only connection inside one read transaction: a consistent snapshot for every query in it."""
        conn = await self._idle.get()
        try:
            await conn.execute("BEGIN")
            try:
                yield conn
            finally:
                await conn.rollback()
        finally:
            self._idle.put_nowait(conn)

    async def get_state(self, key: str) -> str | None:
        async with self.read() as conn:
            rows = await conn.execute_fetchall("SELECT value FROM bot_state WHERE key = ?", (key,))
        row = next(iter(rows), None)
        return None if row is None else str(row[0])

    async def set_state(self, key: str, value: str) -> None:
        async with self.write() as conn:
            await conn.execute(
                "INSERT INTO bot_state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def close(self) -> None:
        """Close every connection (each owns a thread that would otherwise keep the process alive)."""
        await self.state.close()
        for conn in [*self._readers, self._writer]:
            try:
                await conn.close()
            except sqlite3.Error as error:
                log.warning("database %s: error while closing a connection: %s", self.path, error)
        self._readers = []
